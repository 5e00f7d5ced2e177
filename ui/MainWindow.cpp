#include "MainWindow.h"

#include "CurvesPanel.h"
#include "FootprintGauge.h"
#include "Formatting.h"
#include "InspectorDialog.h"
#include "PlotStyle.h"
#include "PolicyGrid.h"
#include "PolicyHeatmap.h"
#include "PpoPanel.h"
#include "RunStatusBar.h"
#include "SetupPanel.h"

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QFontDatabase>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStyle>
#include <QTabWidget>
#include <QTime>
#include <QToolBar>

namespace rlq::ui {

namespace {

// Redraw period of the live views. Episodes arriving in between wait in a buffer.
constexpr int kRedrawMilliseconds = 100;
constexpr int kLogMaxLines = 20000;
constexpr int kStatusMessageMilliseconds = 10000;

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("RLQ Studio"));
    controller_ = new SearchController(this);

    statusBar_ = new RunStatusBar(this);
    setStatusBar(statusBar_);
    buildViews();
    buildDocks();
    buildActions();
    buildMenus();
    connectController();

    redrawTimer_.setInterval(kRedrawMilliseconds);
    connect(&redrawTimer_, &QTimer::timeout, this, &MainWindow::flushPending);
    redrawTimer_.start();
    clockTimer_.setInterval(1000);
    connect(&clockTimer_, &QTimer::timeout, this, &MainWindow::updateStatus);

    connect(setupPanel_, &SetupPanel::validityChanged, this, &MainWindow::updateActions);
    restoreSettings();
    resetViews();
    updateActions();
}

MainWindow::~MainWindow()
{
    // Stop and join the worker first: the views below read runData_.
    delete controller_;
    controller_ = nullptr;
    if (checkpointWatcher_) {
        checkpointWatcher_->waitForFinished();
    }
}

void MainWindow::buildViews()
{
    heatmap_ = new PolicyHeatmap(runData_, this);
    policyGrid_ = new PolicyGrid(runData_, this);
    gauge_ = new FootprintGauge(runData_, this);
    curves_ = new CurvesPanel(runData_, this);
    ppoPanel_ = new PpoPanel(runData_, this);

    auto* lower = new QSplitter(Qt::Horizontal, this);
    lower->addWidget(policyGrid_);
    lower->addWidget(gauge_);
    auto* left = new QSplitter(Qt::Vertical, this);
    left->addWidget(heatmap_);
    left->addWidget(lower);
    left->setStretchFactor(0, 3);
    left->setStretchFactor(1, 2);
    left->setSizes({600, 400});

    auto* tabs = new QTabWidget(this);
    tabs->setObjectName(QStringLiteral("plotTabs"));
    tabs->addTab(curves_, tr("Training curves"));
    tabs->addTab(ppoPanel_, tr("PPO diagnostics"));

    auto* central = new QSplitter(Qt::Horizontal, this);
    central->addWidget(left);
    central->addWidget(tabs);
    central->setStretchFactor(0, 3);
    central->setStretchFactor(1, 2);
    central->setSizes({700, 480});
    setCentralWidget(central);

    connect(heatmap_, &PolicyHeatmap::unitActivated, this, &MainWindow::onUnitActivated);
    connect(policyGrid_, &PolicyGrid::unitActivated, this, &MainWindow::onUnitActivated);
}

void MainWindow::buildDocks()
{
    setupPanel_ = new SetupPanel(this);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(setupPanel_);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto* setupDock = new QDockWidget(tr("Set-up"), this);
    setupDock->setObjectName(QStringLiteral("setupDock"));
    setupDock->setWidget(scroll);
    setupDock->setMinimumWidth(setupPanel_->sizeHint().width() + 24);
    addDockWidget(Qt::LeftDockWidgetArea, setupDock);

    log_ = new QPlainTextEdit(this);
    log_->setObjectName(QStringLiteral("logPane"));
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(kLogMaxLines);
    log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* logDock = new QDockWidget(tr("Log"), this);
    logDock->setObjectName(QStringLiteral("logDock"));
    logDock->setWidget(log_);
    addDockWidget(Qt::BottomDockWidgetArea, logDock);
}

void MainWindow::buildActions()
{
    startAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Start"), this);
    startAction_->setShortcut(QKeySequence(tr("Ctrl+R")));
    pauseAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaPause), tr("&Pause"), this);
    pauseAction_->setToolTip(tr("Pause at the next checkpoint (between fine-tuning steps or episodes)"));
    resumeAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaSeekForward), tr("&Resume"), this);
    stopAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaStop), tr("S&top"), this);
    stopAction_->setToolTip(tr("Stop at the next checkpoint, evaluate the best policy and write the run folder"));

    connect(startAction_, &QAction::triggered, this, &MainWindow::startRun);
    connect(pauseAction_, &QAction::triggered, controller_, &SearchController::pause);
    connect(resumeAction_, &QAction::triggered, controller_, &SearchController::resume);
    connect(stopAction_, &QAction::triggered, this, [this] {
        appendLog(tr("Stop requested; the run ends at its next checkpoint and then writes its report."));
        stopRequested_ = true;
        controller_->stop();
    });

    auto* toolBar = addToolBar(tr("Run"));
    toolBar->setObjectName(QStringLiteral("runToolBar"));
    toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolBar->addActions({startAction_, pauseAction_, resumeAction_, stopAction_});
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    openRunAction_ = file->addAction(tr("&Open Run Folder…"), this, &MainWindow::chooseRunFolderToOpen);
    openRunAction_->setShortcut(QKeySequence::Open);
    file->addSeparator();
    exportPolicyAction_ = file->addAction(tr("Export &Best Policy…"), this, &MainWindow::chooseBestPolicyExport);
    exportCheckpointAction_ =
        file->addAction(tr("Export &Quantized Checkpoint…"), this, &MainWindow::chooseCheckpointExport);
    exportReportAction_ = file->addAction(tr("Export &Report…"), this, &MainWindow::chooseReportExport);
    exportPlotMenu_ = file->addMenu(tr("Export &Plot"));
    for (const ExportablePlot& plot : exportablePlots()) {
        const QString stem = plot.fileStem;
        exportPlotMenu_->addAction(plot.title + tr("…"), this, [this, stem] { choosePlotExport(stem); });
    }
    exportAllPlotsAction_ = file->addAction(tr("Export &All Plots…"), this, &MainWindow::chooseAllPlotsExport);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addActions({startAction_, pauseAction_, resumeAction_, stopAction_});

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>()) {
        view->addAction(dock->toggleViewAction());
    }

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About RLQ Studio"), this, [this] {
        QMessageBox::about(this, tr("About RLQ Studio"),
                           tr("<b>RLQ Studio %1</b><p>Searches per-layer weight bit-widths (2, 4, 8 or 16 bits) "
                              "of GPT-2 models with a PPO agent.</p>")
                               .arg(QStringLiteral(RLQ_VERSION)));
    });
}

void MainWindow::connectController()
{
    connect(controller_, &SearchController::stateChanged, this, &MainWindow::onStateChanged);
    connect(controller_, &SearchController::runStarted, this, &MainWindow::onRunStarted);
    connect(controller_, &SearchController::phaseChanged, this, [this](const QString& phase) {
        statusBar_->setPhase(phase);
        appendLog(tr("Phase: %1").arg(phase));
    });
    connect(controller_, &SearchController::logLine, this, &MainWindow::appendLog);
    connect(controller_, &SearchController::episodeFinished, this,
            [this](const rlq::EpisodeResult& episode) { pendingEpisodes_.push_back(episode); });
    connect(controller_, &SearchController::baselineMeasured, this,
            [this](const rlq::PolicyReport& baseline) { pendingBaselines_.push_back(baseline); });
    connect(controller_, &SearchController::runFinished, this, &MainWindow::onRunFinished);
    connect(controller_, &SearchController::runFailed, this, &MainWindow::onRunFailed);
}

// ---------------------------------------------------------------------------
// Run control

bool MainWindow::startRun()
{
    if (controller_->isActive()) {
        statusBar_->showMessage(tr("A run is active; stop it before starting another."), kStatusMessageMilliseconds);
        return false;
    }
    if (!setupPanel_->isValid()) {
        const QString problems = setupPanel_->isChecking() ? tr("the settings are still being checked")
                                                           : setupPanel_->problems();
        statusBar_->showMessage(tr("Cannot start: %1").arg(problems), kStatusMessageMilliseconds);
        return false;
    }

    const rlq::RunSettings settings = setupPanel_->settings();
    closeInspectors();
    pendingEpisodes_.clear();
    pendingBaselines_.clear();
    runData_.clear();
    resetViews();
    runFolder_ = QString::fromStdString(settings.runFolder.string());
    viewsShowControllerRun_ = true;
    stopRequested_ = false;
    setupPanel_->rememberModel(QString::fromStdString(settings.model));
    saveSettings();

    appendLog(tr("Starting a run of %n episode(s) on model %1 and dataset %2 in %3", nullptr, settings.episodes)
                  .arg(QString::fromStdString(settings.model), QString::fromStdString(settings.dataset), runFolder_));
    // On X11 and Windows, Qt appends the application display name to the title.
    setWindowTitle(QFileInfo(runFolder_).fileName());
    runClock_.start();
    clockTimer_.start();
    controller_->start(settings);
    return true;
}

void MainWindow::onStateChanged(SearchController::State state)
{
    setupPanel_->setLocked(controller_->isActive());
    switch (state) {
    case SearchController::State::Running:
        statusBar_->setPhase(tr("Running"));
        break;
    case SearchController::State::Pausing:
        statusBar_->setPhase(tr("Pausing at the next checkpoint…"));
        break;
    case SearchController::State::Paused:
        statusBar_->setPhase(tr("Paused: double-click a unit in the heatmap or the grid to inspect it"));
        appendLog(tr("Paused."));
        break;
    case SearchController::State::Stopping:
        statusBar_->setPhase(tr("Stopping: the run evaluates the best policy and writes its folder…"));
        break;
    case SearchController::State::Finished:
        statusBar_->setPhase(tr("Finished: double-click a unit to inspect it"));
        break;
    case SearchController::State::Failed:
        statusBar_->setPhase(tr("Failed; see the log"));
        break;
    case SearchController::State::Idle:
        break;
    }
    if (state == SearchController::State::Running && !runData_.episodes().empty()) {
        appendLog(tr("Resumed."));
    }
    if (!controller_->isActive()) {
        clockTimer_.stop();
    }
    updateActions();
}

void MainWindow::onRunStarted(const rlq::RunInfo& info)
{
    runData_.setInfo(info);
    resetViews();
    appendLog(tr("Model %1 with %n decision unit(s), float32 size %2, float16 size %3", nullptr, int(info.units.size()))
                  .arg(QString::fromStdString(info.modelName), formatMegabytes(info.fp32Bytes),
                       formatMegabytes(info.fp16Bytes)));
}

void MainWindow::onRunFinished(const rlq::RunSummary& summary)
{
    flushPending();
    runData_.setSummary(summary);
    // A stopped run has fewer episodes than planned, so the axes shrink.
    resetViews();

    const QString folder = QString::fromStdString(summary.runFolder.string());
    appendLog(summary.stoppedEarly
                  ? tr("Run stopped after %n episode(s); report written to %1", nullptr, summary.episodesDone).arg(folder)
                  : tr("Run finished: %n episode(s); report written to %1", nullptr, summary.episodesDone).arg(folder));
    setupPanel_->suggestRunName();
    updateActions();
    if (closeWhenStopped_) {
        close();
    }
}

void MainWindow::onRunFailed(const QString& message)
{
    flushPending();
    updateStatus();
    appendLog(tr("Run failed: %1").arg(message));
    setupPanel_->suggestRunName();
    updateActions();
    if (closeWhenStopped_) {
        close();
        return;
    }
    // A run stopped before its first episode ends with an error by design.
    if (!stopRequested_) {
        showError(tr("Run failed"), message);
    }
}

void MainWindow::onUnitActivated(int unitIndex, int bits)
{
    openInspector(unitIndex, bits);
}

InspectorDialog* MainWindow::openInspector(int unitIndex, int bits)
{
    // NOTE: a run opened from a folder cannot be inspected, because
    // SearchSession::inspect() needs the engine that SearchSession::run() builds.
    if (!viewsShowControllerRun_ || !controller_->canInspect()) {
        statusBar_->showMessage(viewsShowControllerRun_
                                    ? tr("Pause the run, or wait until it finishes, to inspect a unit.")
                                    : tr("A run opened from a folder has no model loaded; start a run to inspect units."),
                                kStatusMessageMilliseconds);
        return nullptr;
    }
    if (unitIndex < 0 || unitIndex >= runData_.unitCount()) {
        return nullptr;
    }
    if (bits <= 0) {
        bits = runData_.bestBitsOf(unitIndex);
    }

    auto* dialog = new InspectorDialog(*controller_, runData_.info(), unitIndex, bits, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    inspectors_.append(dialog);
    dialog->show();
    return dialog;
}

void MainWindow::closeInspectors()
{
    for (const QPointer<InspectorDialog>& dialog : inspectors_) {
        if (dialog) {
            dialog->close();
        }
    }
    inspectors_.clear();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (checkpointExportRunning_) {
        event->ignore();
        statusBar_->showMessage(tr("A checkpoint export is running; close the window when it has finished."),
                                kStatusMessageMilliseconds);
        return;
    }
    if (controller_->isActive()) {
        event->ignore();
        if (closeWhenStopped_) {
            statusBar_->showMessage(tr("Waiting for the run to write its folder; the window closes then."),
                                    kStatusMessageMilliseconds);
            return;
        }
        const auto answer = QMessageBox::question(
            this, tr("Stop the run?"),
            tr("A search is running. Stop it and close RLQ Studio?\n\nThe run stops at its next checkpoint, "
               "evaluates the best policy so far and writes its folder; the window closes when that is done."),
            QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer == QMessageBox::Yes) {
            closeWhenStopped_ = true;
            stopRequested_ = true;
            controller_->stop();
        }
        return;
    }

    saveSettings();
    closeInspectors();
    event->accept();
}

// ---------------------------------------------------------------------------
// Views

void MainWindow::flushPending()
{
    if (pendingEpisodes_.empty() && pendingBaselines_.empty()) {
        return;
    }
    for (const auto& episode : pendingEpisodes_) {
        runData_.addEpisode(episode);
    }
    for (const auto& baseline : pendingBaselines_) {
        runData_.addBaseline(baseline);
    }
    pendingEpisodes_.clear();
    pendingBaselines_.clear();
    refreshViews();
    updateStatus();
}

void MainWindow::resetViews()
{
    heatmap_->reset();
    policyGrid_->refresh();
    gauge_->refresh();
    curves_->reset();
    ppoPanel_->reset();
    updateStatus();
}

void MainWindow::refreshViews()
{
    heatmap_->refresh();
    policyGrid_->refresh();
    gauge_->refresh();
    curves_->refresh();
    ppoPanel_->refresh();
}

void MainWindow::updateStatus()
{
    const bool active = controller_->isActive() && viewsShowControllerRun_;
    double elapsed = 0;
    if (active && runClock_.isValid()) {
        elapsed = double(runClock_.elapsed()) / 1000.0;
    } else if (runData_.summary()) {
        elapsed = runData_.summary()->seconds;
    } else if (const rlq::EpisodeResult* last = runData_.lastEpisode()) {
        elapsed = last->elapsedSeconds;
    }
    statusBar_->showProgress(runData_, elapsed, active);
}

void MainWindow::updateActions()
{
    const SearchController::State state = controller_->state();
    const bool active = controller_->isActive();
    const bool valid = setupPanel_->isValid();
    startAction_->setEnabled(!active && valid);
    startAction_->setToolTip(valid ? tr("Start a search with the settings on the left")
                                   : tr("Fix the settings marked in red on the left first"));
    pauseAction_->setEnabled(state == SearchController::State::Running);
    resumeAction_->setEnabled(state == SearchController::State::Pausing || state == SearchController::State::Paused);
    stopAction_->setEnabled(state == SearchController::State::Running || state == SearchController::State::Pausing ||
                            state == SearchController::State::Paused);
    openRunAction_->setEnabled(!active);

    const QDir folder(runFolder_);
    const bool hasFolder = !runFolder_.isEmpty();
    exportPolicyAction_->setEnabled(hasFolder && folder.exists(QStringLiteral("best_policy.json")));
    exportCheckpointAction_->setEnabled(hasFolder && folder.exists(QStringLiteral("best_policy.json")) &&
                                        !checkpointExportRunning_ && !active);
    exportReportAction_->setEnabled(hasFolder && (folder.exists(QStringLiteral("report.md")) ||
                                                  folder.exists(QStringLiteral("report.json"))));
}

void MainWindow::appendLog(const QString& line)
{
    log_->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")) + QStringLiteral("  ") + line);
}

QString MainWindow::logText() const
{
    return log_->toPlainText();
}

QList<ExportablePlot> MainWindow::exportablePlots() const
{
    QList<ExportablePlot> plots = {{tr("Policy heatmap"), QStringLiteral("policy-heatmap"), heatmap_}};
    plots += curves_->plots();
    plots += ppoPanel_->plots();
    return plots;
}

void MainWindow::showError(const QString& title, const QString& message)
{
    // Window-modal and non-blocking, so queued worker signals keep flowing.
    auto* box = new QMessageBox(QMessageBox::Critical, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(QStringLiteral("errorMessageBox"));
    box->open();
}

void MainWindow::restoreSettings()
{
    QSettings store;
    setupPanel_->restoreFrom(store);
    if (!restoreGeometry(store.value(QStringLiteral("window/geometry")).toByteArray())) {
        resize(1600, 1000);
    }
    restoreState(store.value(QStringLiteral("window/state")).toByteArray());
}

void MainWindow::saveSettings() const
{
    QSettings store;
    setupPanel_->saveTo(store);
    store.setValue(QStringLiteral("window/geometry"), saveGeometry());
    store.setValue(QStringLiteral("window/state"), saveState());
}

} // namespace rlq::ui
