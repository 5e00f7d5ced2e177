#pragma once

// Checks behind the set-up panel's inline messages. They read files, and the
// dataset check parses the whole dataset, so the panel runs them on a thread
// pool. Each function is safe to call from any thread.

#include "search/SearchTypes.h"

#include <QString>

#include <cstdint>

namespace rlq::ui {

struct ModelCheck {
    bool ok = false;
    QString message;   // the folder it resolves to, or the engine's error
};

// Resolves a model spec ("demo", a Hugging Face cache name or a folder).
ModelCheck checkModel(const QString& spec);

struct DatasetPreview {
    bool ok = false;
    QString message;    // the engine's error when !ok
    QString layout;     // e.g. "OpenBookQA (original JSONL)"
    QString sizes;      // rows (or characters) of the fine-tuning, validation and test parts
    QString firstRows;  // the first rows of the fine-tuning part as the model reads them
};

// Loads the dataset the way a run would (same seed and validation share)
// and describes its layout, split sizes and first rows.
DatasetPreview previewDataset(const QString& spec, uint64_t seed, double validationFraction);

// Runs the engine's validateRunSettings(). Returns an empty string when the
// settings are valid, else the engine's message.
QString checkRunSettings(const rlq::RunSettings& settings);

// The results of one round of checks for the set-up panel.
struct SetupCheckResults {
    int generation = 0;                 // the panel's edit counter when the round started
    ModelCheck model;
    bool hasDatasetPreview = false;     // false when the panel reused its last preview
    DatasetPreview dataset;
    QString settingsMessage;            // checkRunSettings()
};

// Runs checkModel(), previewDataset() when `previewData` is true, and
// checkRunSettings() on `settings`.
SetupCheckResults runSetupChecks(const rlq::RunSettings& settings, bool previewData, int generation);

} // namespace rlq::ui
