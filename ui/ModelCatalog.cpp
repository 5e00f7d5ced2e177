#include "ModelCatalog.h"

#include "model/ModelLocator.h"

namespace rlq::ui {

namespace {

QString toQString(const std::filesystem::path& path)
{
    return QString::fromStdString(path.string());
}

} // namespace

QList<ModelChoice> availableModels()
{
    QList<ModelChoice> choices;
    const auto demo = rlq::demoBundleFolder();
    if (!demo.empty()) {
        choices.append({QStringLiteral("demo"), toQString(demo / "model"), QStringLiteral("demo")});
    }
    for (const auto& source : rlq::listCachedGpt2Models()) {
        choices.append({QString::fromStdString(source.name), toQString(source.folder),
                        QString::fromStdString(source.origin)});
    }
    return choices;
}

QString resolveModelFolder(const QString& spec)
{
    return toQString(rlq::resolveModel(spec.toStdString()).folder);
}

QString resolveDatasetLocation(const QString& spec)
{
    return QString::fromStdString(rlq::resolveDatasetSpec(spec.toStdString()));
}

} // namespace rlq::ui
