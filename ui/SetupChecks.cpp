#include "SetupChecks.h"

#include "ModelCatalog.h"

#include "data/Dataset.h"
#include "search/SearchSession.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <QLocale>

#include <exception>

namespace rlq::ui {

namespace {

class Text {
    Q_DECLARE_TR_FUNCTIONS(SetupChecks)
};

// Rows of the preview, and characters shown of each row or of plain text.
constexpr size_t kPreviewRows = 3;
constexpr int kPreviewCharacters = 400;

QString partSize(const rlq::DatasetPart& part, bool questionAnswering)
{
    if (questionAnswering) {
        return Text::tr("%n row(s)", nullptr, int(part.items.size()));
    }
    return Text::tr("%1 characters").arg(QLocale().toString(qlonglong(part.text.size())));
}

QString describeSizes(const rlq::DatasetSplits& splits)
{
    const bool qa = rlq::isQuestionAnswering(splits.layout);
    return Text::tr("Fine-tuning %1, validation %2, test %3")
        .arg(partSize(splits.finetune, qa), partSize(splits.validation, qa), partSize(splits.test, qa));
}

QString describeFirstRows(const rlq::DatasetSplits& splits)
{
    if (!rlq::isQuestionAnswering(splits.layout)) {
        return QString::fromStdString(splits.finetune.text).left(kPreviewCharacters);
    }
    QStringList rows;
    const auto& items = splits.finetune.items;
    for (size_t i = 0; i < items.size() && i < kPreviewRows; ++i) {
        rows.append(QString::fromStdString(rlq::renderQaItem(items[i])).trimmed().left(kPreviewCharacters));
    }
    return rows.join(QStringLiteral("\n\n"));
}

} // namespace

ModelCheck checkModel(const QString& spec)
{
    try {
        return {true, Text::tr("Folder: %1").arg(resolveModelFolder(spec))};
    } catch (const rlq::Error& error) {
        return {false, QString::fromStdString(error.what())};
    }
}

DatasetPreview previewDataset(const QString& spec, uint64_t seed, double validationFraction)
{
    DatasetPreview preview;
    try {
        rlq::SplitSettings settings;
        settings.seed = seed;
        settings.validationFraction = validationFraction;
        const rlq::DatasetSplits splits = rlq::loadDatasetSplits(resolveDatasetLocation(spec).toStdString(), settings);
        preview.ok = true;
        preview.layout = QString::fromStdString(rlq::layoutName(splits.layout));
        preview.sizes = describeSizes(splits);
        preview.firstRows = describeFirstRows(splits);
    } catch (const rlq::Error& error) {
        preview.message = QString::fromStdString(error.what());
    } catch (const std::exception& error) {
        preview.message = Text::tr("Reading the dataset failed: %1").arg(QString::fromUtf8(error.what()));
    }
    return preview;
}

QString checkRunSettings(const rlq::RunSettings& settings)
{
    try {
        rlq::validateRunSettings(settings);
        return {};
    } catch (const rlq::Error& error) {
        return QString::fromStdString(error.what());
    } catch (const std::exception& error) {
        return Text::tr("Checking the settings failed: %1").arg(QString::fromUtf8(error.what()));
    }
}

SetupCheckResults runSetupChecks(const rlq::RunSettings& settings, bool previewData, int generation)
{
    SetupCheckResults results;
    results.generation = generation;
    results.model = checkModel(QString::fromStdString(settings.model));
    if (previewData) {
        results.hasDatasetPreview = true;
        results.dataset =
            previewDataset(QString::fromStdString(settings.dataset), settings.seed, settings.validationFraction);
    }
    results.settingsMessage = checkRunSettings(settings);
    return results;
}

} // namespace rlq::ui
