#include "RunFiles.h"

#include "search/RunFolder.h"
#include "search/SearchSession.h"
#include "util/Error.h"

#include <qcustomplot.h>

#include <QBuffer>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSaveFile>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

namespace rlq::ui {

namespace {

class Text {
    Q_DECLARE_TR_FUNCTIONS(RunFiles)
};

using Json = nlohmann::json;

// Size in pixels of an exported plot that is not on screen, and the smallest
// on-screen size exported as shown.
constexpr int kExportWidth = 800;
constexpr int kExportHeight = 500;
constexpr int kMinExportWidth = 300;
constexpr int kMinExportHeight = 200;

std::string utf8(const QString& text)
{
    return text.toStdString();
}

QByteArray readWholeFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        throw rlq::Error(utf8(Text::tr("%1 could not be read (%2); check that the file exists and is readable")
                                  .arg(path, file.errorString())));
    }
    return file.readAll();
}

Json readJsonFile(const QString& path)
{
    const QByteArray bytes = readWholeFile(path);
    try {
        return Json::parse(bytes.constData(), bytes.constData() + bytes.size());
    } catch (const Json::exception& error) {
        throw rlq::Error(utf8(Text::tr("%1 is not valid JSON (%2); the run folder may be damaged")
                                  .arg(path, QString::fromUtf8(error.what()))));
    }
}

// Kind and block of a unit from its name: "wte", "wpe", "h.3.mlp.c_fc"
// (block 3, kind "mlp.c_fc") or "h.3" (block 3, one decision per block).
void parseUnitName(rlq::UnitInfo& unit)
{
    static const QRegularExpression blockName(QStringLiteral("^h\\.(\\d+)(?:\\.(.+))?$"));
    const auto match = blockName.match(QString::fromStdString(unit.name));
    if (!match.hasMatch()) {
        unit.kind = unit.name;
        unit.block = -1;
        return;
    }
    unit.block = match.captured(1).toInt();
    unit.kind = match.captured(2).isEmpty() ? std::string("block") : utf8(match.captured(2));
}

void readUnits(const QDir& folder, LoadedRun& run)
{
    const QString policyPath = folder.filePath(QString::fromLatin1(rlq::runfile::kBestPolicy));
    const QString sensitivityPath = folder.filePath(QString::fromLatin1(rlq::runfile::kSensitivity));
    try {
        if (QFileInfo::exists(policyPath)) {
            for (const auto& entry : readJsonFile(policyPath).at("units")) {
                rlq::UnitInfo unit;
                unit.name = entry.at("name").get<std::string>();
                unit.parameterCount = entry.value("parameters", int64_t(0));
                parseUnitName(unit);
                run.info.units.push_back(unit);
            }
        }
        if (!QFileInfo::exists(sensitivityPath)) {
            return;
        }
        const auto sensitivity = readJsonFile(sensitivityPath).at("units");
        for (size_t i = 0; i < sensitivity.size(); ++i) {
            if (i >= run.info.units.size()) {
                rlq::UnitInfo unit;
                unit.name = sensitivity[i].at("unit").get<std::string>();
                parseUnitName(unit);
                run.info.units.push_back(unit);
            }
            run.info.units[i].sensitivity = sensitivity[i].at("loss_increase").get<std::vector<double>>();
        }
    } catch (const Json::exception& error) {
        throw rlq::Error(utf8(Text::tr("%1 lacks a field of its unit list (%2); the run folder may be damaged")
                                  .arg(folder.path(), QString::fromUtf8(error.what()))));
    }
}

std::optional<rlq::RunSummary> readSummary(const QDir& folder)
{
    const QString path = folder.filePath(QString::fromLatin1(rlq::runfile::kReportJson));
    if (!QFileInfo::exists(path)) {
        return std::nullopt;
    }
    const Json report = readJsonFile(path);
    try {
        rlq::RunSummary summary;
        summary.runFolder = utf8(folder.path());
        summary.episodesDone = report.value("episodes_done", 0);
        summary.stoppedEarly = report.value("stopped_early", false);
        summary.bestBits = report.value("best_bits", std::vector<int>{});
        summary.bestReward = report.value("best_reward", 0.0);
        summary.fp32Bytes = report.value("fp32_bytes", int64_t(0));
        summary.fp16Bytes = report.value("fp16_bytes", int64_t(0));
        summary.seconds = report.value("seconds", 0.0);
        for (const auto& policy : report.value("policies", Json::array())) {
            summary.reports.push_back(rlq::reportFromJson(policy));
        }
        return summary;
    } catch (const Json::exception& error) {
        throw rlq::Error(utf8(Text::tr("%1 has a field of the wrong type (%2); the run folder may be damaged")
                                  .arg(path, QString::fromUtf8(error.what()))));
    }
}

void fillInfo(LoadedRun& run)
{
    rlq::RunInfo& info = run.info;
    const rlq::RunSettings& settings = run.settings;
    info.modelName = settings.model;
    info.datasetName = settings.dataset;
    info.allowedBits = settings.quant.allowedBits;
    info.episodes = settings.episodes;
    if (settings.reward.mode == rlq::RewardMode::Budget) {
        info.budgetBits = settings.reward.targetBits;
        info.budgetBytes = int64_t(settings.reward.targetMegabytes * 1e6);
    }
    if (run.summary) {
        info.fp32Bytes = run.summary->fp32Bytes;
        info.fp16Bytes = run.summary->fp16Bytes;
    }
}

} // namespace

LoadedRun readRunFolder(const QString& folderPath)
{
    const QDir folder(folderPath);
    const QString configPath = folder.filePath(QString::fromLatin1(rlq::runfile::kConfig));
    if (!QFileInfo::exists(configPath)) {
        throw rlq::Error(utf8(Text::tr("%1 has no config.json; pick a folder that rlq search or RLQ Studio wrote")
                                  .arg(folderPath)));
    }

    LoadedRun run;
    run.settings = rlq::runSettingsFromJson(readWholeFile(configPath).toStdString(), utf8(configPath));
    run.settings.runFolder = utf8(folderPath);
    run.episodes = rlq::readEvents(utf8(folder.filePath(QString::fromLatin1(rlq::runfile::kEvents))));
    readUnits(folder, run);
    run.summary = readSummary(folder);
    fillInfo(run);
    return run;
}

void writeFileAtomically(const QString& path, const QByteArray& bytes)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        throw rlq::Error(utf8(Text::tr("%1 could not be opened for writing (%2); choose a writable folder")
                                  .arg(path, file.errorString())));
    }
    file.write(bytes);
    if (!file.commit()) {
        throw rlq::Error(utf8(Text::tr("writing %1 failed (%2); check the free space and permissions")
                                  .arg(path, file.errorString())));
    }
}

void copyFileAtomically(const QString& source, const QString& destination)
{
    writeFileAtomically(destination, readWholeFile(source));
}

void savePlot(QCustomPlot& plot, const QString& path)
{
    // A plot on a tab never shown still has its tiny initial size, so it is
    // exported at a fixed size; 0 x 0 means the size on screen.
    const bool onScreen = plot.isVisible() && plot.width() >= kMinExportWidth && plot.height() >= kMinExportHeight;
    const int width = onScreen ? 0 : kExportWidth;
    const int height = onScreen ? 0 : kExportHeight;

    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png")) {
        QByteArray bytes;
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        if (!plot.toPixmap(width, height, 2.0).save(&buffer, "PNG")) {
            throw rlq::Error(utf8(Text::tr("rendering the plot for %1 failed").arg(path)));
        }
        writeFileAtomically(path, bytes);
        return;
    }
    if (suffix == QLatin1String("pdf")) {
        // savePdf() writes to a path, so it writes to a private temporary
        // folder first and the bytes then reach `path` atomically.
        QTemporaryDir scratch;
        const QString temporary = scratch.filePath(QStringLiteral("plot.pdf"));
        if (!scratch.isValid() || !plot.savePdf(temporary, width, height)) {
            throw rlq::Error(utf8(Text::tr("rendering the plot as PDF for %1 failed").arg(path)));
        }
        copyFileAtomically(temporary, path);
        return;
    }
    throw rlq::Error(utf8(Text::tr("%1 has the suffix '%2'; save plots as .png or .pdf").arg(path, suffix)));
}

} // namespace rlq::ui
