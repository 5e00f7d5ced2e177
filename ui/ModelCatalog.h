#pragma once

// Model and dataset look-ups of the engine, behind a header without
// LibTorch: ModelCatalog.cpp is the only ui file that includes
// model/ModelLocator.h.

#include <QList>
#include <QString>

namespace rlq::ui {

struct ModelChoice {
    QString spec;      // what RunSettings::model takes: "demo", a cache name or a folder
    QString folder;    // where the files are
    QString origin;    // "demo", "huggingface-cache" or "folder"
};

// The built-in demo bundle (when present) followed by every GPT-2 model in
// the Hugging Face cache. Reads folders only; cheap enough for the UI thread.
QList<ModelChoice> availableModels();

// The folder that a model spec resolves to. Throws rlq::Error with the
// engine's message when it does not resolve.
QString resolveModelFolder(const QString& spec);

// The dataset spec with "demo" replaced by the demo bundle's data folder.
// Throws rlq::Error when the demo bundle is missing.
QString resolveDatasetLocation(const QString& spec);

} // namespace rlq::ui
