// File menu of the main window: opening a finished run folder and exports.

#include "MainWindow.h"

#include "CurvesPanel.h"
#include "PlotStyle.h"
#include "PpoPanel.h"
#include "RunFiles.h"
#include "SetupPanel.h"

#include "export/ApplyPolicy.h"
#include "search/RunFolder.h"
#include "util/Error.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QMessageBox>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

namespace rlq::ui {

QString MainWindow::openRunFolder(const QString& folder)
{
    if (controller_->isActive()) {
        return tr("A run is active; stop it before opening another run folder.");
    }

    LoadedRun run;
    try {
        run = readRunFolder(folder);
    } catch (const rlq::Error& error) {
        return QString::fromStdString(error.what());
    }

    closeInspectors();
    pendingEpisodes_.clear();
    pendingBaselines_.clear();
    runData_.clear();
    runData_.setInfo(run.info);
    for (const auto& episode : run.episodes) {
        runData_.addEpisode(episode);
    }
    if (run.summary) {
        for (const auto& report : run.summary->reports) {
            runData_.addBaseline(report);
        }
        runData_.setSummary(*run.summary);
    }
    resetViews();

    runFolder_ = folder;
    viewsShowControllerRun_ = false;
    setWindowTitle(QFileInfo(folder).fileName());
    appendLog(tr("Opened run folder %1: %n episode(s)", nullptr, int(run.episodes.size())).arg(folder));
    if (!run.summary) {
        appendLog(tr("%1 has no report.json; the run did not finish, so baselines and sizes are missing.").arg(folder));
    }
    updateActions();
    return {};
}

QString MainWindow::exportBestPolicy(const QString& destination) const
{
    const QString source = QDir(runFolder_).filePath(QString::fromLatin1(rlq::runfile::kBestPolicy));
    if (runFolder_.isEmpty() || !QFileInfo::exists(source)) {
        return tr("No best_policy.json in the run folder yet; a run writes it when it finishes or stops.");
    }
    try {
        copyFileAtomically(source, destination);
    } catch (const rlq::Error& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

QString MainWindow::exportReport(const QString& destination) const
{
    const QString suffix = QFileInfo(destination).suffix().toLower();
    const char* name = suffix == QLatin1String("md")     ? rlq::runfile::kReportMarkdown
                       : suffix == QLatin1String("json") ? rlq::runfile::kReportJson
                                                         : nullptr;
    if (!name) {
        return tr("%1 has the suffix '%2'; export the report as .md or .json.").arg(destination, suffix);
    }
    const QString source = QDir(runFolder_).filePath(QString::fromLatin1(name));
    if (runFolder_.isEmpty() || !QFileInfo::exists(source)) {
        return tr("No %1 in the run folder yet; a run writes it when it finishes or stops.")
            .arg(QString::fromLatin1(name));
    }
    try {
        copyFileAtomically(source, destination);
    } catch (const rlq::Error& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

QString MainWindow::exportPlot(const QString& fileStem, const QString& destination) const
{
    for (const ExportablePlot& plot : exportablePlots()) {
        if (plot.fileStem != fileStem) {
            continue;
        }
        try {
            savePlot(*plot.plot, destination);
        } catch (const rlq::Error& error) {
            return QString::fromStdString(error.what());
        }
        return {};
    }
    return tr("There is no plot named %1.").arg(fileStem);
}

QString MainWindow::exportCheckpoint(const QString& destination)
{
    const QString policy = QDir(runFolder_).filePath(QString::fromLatin1(rlq::runfile::kBestPolicy));
    if (runFolder_.isEmpty() || !QFileInfo::exists(policy)) {
        return tr("No best_policy.json in the run folder yet; a run writes it when it finishes or stops.");
    }
    if (checkpointExportRunning_) {
        return tr("A checkpoint export is already running; wait for it to finish.");
    }
    if (controller_->isActive()) {
        return tr("A search is running; export the checkpoint after it finishes or stops.");
    }

    rlq::ApplyRequest request;
    request.policyFile = policy.toStdString();
    request.packedFolder = QDir(destination).filePath(QStringLiteral("packed")).toStdString();
    request.hfFolder = QDir(destination).filePath(QStringLiteral("hf")).toStdString();

    // Loading the model and replaying the fine-tuning takes seconds, so it
    // runs off the UI thread; log lines come back queued.
    QPointer<MainWindow> self(this);
    auto log = [self](const std::string& line) {
        QMetaObject::invokeMethod(
            self, [self, text = QString::fromStdString(line)] { if (self) self->appendLog(text); }, Qt::QueuedConnection);
    };
    auto* watcher = new QFutureWatcher<QString>(this);
    checkpointWatcher_ = watcher;
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher, destination] {
        const QString error = watcher->result();
        watcher->deleteLater();
        checkpointWatcher_ = nullptr;
        checkpointExportRunning_ = false;
        updateActions();
        if (error.isEmpty()) {
            appendLog(tr("Quantized checkpoints written to %1 (packed/ and hf/)").arg(destination));
        } else {
            appendLog(tr("Checkpoint export failed: %1").arg(error));
        }
        emit checkpointExportFinished(error);
    });
    watcher->setFuture(QtConcurrent::run([request, log]() -> QString {
        try {
            rlq::applyPolicy(request, log);
        } catch (const std::exception& error) {
            return QString::fromStdString(error.what());
        }
        return {};
    }));
    checkpointExportRunning_ = true;
    updateActions();
    appendLog(tr("Exporting quantized checkpoints to %1…").arg(destination));
    return {};
}

// ---------------------------------------------------------------------------
// The same operations behind file dialogs

void MainWindow::chooseRunFolderToOpen()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Open a run folder (with config.json and events.jsonl)"),
                                                             QFileInfo(runFolder_).path());
    if (folder.isEmpty()) {
        return;
    }
    const QString error = openRunFolder(folder);
    if (!error.isEmpty()) {
        showError(tr("Opening the run folder failed"), error);
    }
}

void MainWindow::chooseBestPolicyExport()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the best policy"),
                                                      QDir::home().filePath(QStringLiteral("best_policy.json")),
                                                      tr("Policy JSON (*.json)"));
    if (path.isEmpty()) {
        return;
    }
    const QString error = exportBestPolicy(path);
    if (!error.isEmpty()) {
        showError(tr("Export failed"), error);
        return;
    }
    statusBar()->showMessage(tr("Best policy written to %1").arg(path), 8000);
}

void MainWindow::chooseReportExport()
{
    QString filter;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the report"),
                                                      QDir::home().filePath(QStringLiteral("report.md")),
                                                      tr("Markdown (*.md);;JSON (*.json)"), &filter);
    if (path.isEmpty()) {
        return;
    }
    const QString error = exportReport(path);
    if (!error.isEmpty()) {
        showError(tr("Export failed"), error);
        return;
    }
    statusBar()->showMessage(tr("Report written to %1").arg(path), 8000);
}

void MainWindow::choosePlotExport(const QString& fileStem)
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the plot"),
                                                      QDir::home().filePath(fileStem + QStringLiteral(".png")),
                                                      tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty()) {
        return;
    }
    const QString error = exportPlot(fileStem, path);
    if (!error.isEmpty()) {
        showError(tr("Export failed"), error);
        return;
    }
    statusBar()->showMessage(tr("Plot written to %1").arg(path), 8000);
}

void MainWindow::chooseAllPlotsExport()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Export every plot as PNG and PDF into…"),
                                                             QDir::homePath());
    if (folder.isEmpty()) {
        return;
    }
    QStringList errors;
    for (const ExportablePlot& plot : exportablePlots()) {
        for (const QString& suffix : {QStringLiteral(".png"), QStringLiteral(".pdf")}) {
            const QString error = exportPlot(plot.fileStem, QDir(folder).filePath(plot.fileStem + suffix));
            if (!error.isEmpty()) {
                errors.append(error);
            }
        }
    }
    if (!errors.isEmpty()) {
        showError(tr("Export failed"), errors.join(QLatin1Char('\n')));
        return;
    }
    statusBar()->showMessage(tr("Plots written to %1").arg(folder), 8000);
}

void MainWindow::chooseCheckpointExport()
{
    const QString folder = QFileDialog::getExistingDirectory(
        this, tr("Export the quantized checkpoints (packed/ and hf/) into…"), QDir::homePath());
    if (folder.isEmpty()) {
        return;
    }
    const QString error = exportCheckpoint(folder);
    if (!error.isEmpty()) {
        showError(tr("Export failed"), error);
        return;
    }
    connect(
        this, &MainWindow::checkpointExportFinished, this,
        [this, folder](const QString& result) {
            if (!result.isEmpty()) {
                showError(tr("Export failed"), result);
                return;
            }
            statusBar()->showMessage(tr("Quantized checkpoints written to %1").arg(folder), 8000);
        },
        Qt::SingleShotConnection);
}

} // namespace rlq::ui
