#pragma once

#include "MetaTypes.h"
#include "RunData.h"
#include "SearchController.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QList>
#include <QMainWindow>
#include <QPointer>
#include <QTimer>

#include <vector>

class QAction;
class QMenu;
class QPlainTextEdit;

namespace rlq::ui {

class CurvesPanel;
class FootprintGauge;
class InspectorDialog;
class PolicyGrid;
class PolicyHeatmap;
class PpoPanel;
class RunStatusBar;
class SetupPanel;
struct ExportablePlot;

// RLQ Studio's main window: the set-up form, run controls, live views of
// the search, the log, and File menu exports.
//
// Threading rule: everything here runs on the UI thread. The search worker
// reaches it only through SearchController's queued signals. Episodes and
// baselines wait in pendingEpisodes_ and pendingBaselines_ until a 10 Hz
// timer moves them into runData_, so the views redraw at most ten times a
// second however fast episodes arrive.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    SetupPanel* setupPanel() const { return setupPanel_; }
    SearchController* controller() const { return controller_; }
    const RunData& runData() const { return runData_; }
    PolicyHeatmap* heatmap() const { return heatmap_; }
    PolicyGrid* policyGrid() const { return policyGrid_; }
    CurvesPanel* curves() const { return curves_; }
    PpoPanel* ppoPanel() const { return ppoPanel_; }
    QAction* startAction() const { return startAction_; }
    QAction* pauseAction() const { return pauseAction_; }
    QAction* resumeAction() const { return resumeAction_; }
    QAction* stopAction() const { return stopAction_; }
    QString logText() const;
    // The folder of the running, finished or opened run, or empty before the first.
    QString runFolder() const { return runFolder_; }
    QList<ExportablePlot> exportablePlots() const;

    // Starts a run with the set-up panel's settings. Returns false, with the
    // reason in the status bar, when the settings are invalid or a run is active.
    bool startRun();
    // Opens the inspector on one unit. Returns nullptr, with the reason in
    // the status bar, unless the run is paused or finished.
    InspectorDialog* openInspector(int unitIndex, int bits);
    // Moves buffered episodes into the views at once instead of at the next tick.
    void flushPending();

    // File menu operations without dialogs. Each returns an empty string on
    // success and the error message otherwise.
    QString openRunFolder(const QString& folder);
    QString exportBestPolicy(const QString& destination) const;
    QString exportReport(const QString& destination) const;   // .md or .json
    QString exportPlot(const QString& fileStem, const QString& destination) const;
    // Starts writing the run's best policy as quantized checkpoints on a
    // background thread: the packed checkpoint in DEST/packed and the
    // dequantized Hugging Face folder in DEST/hf, with the run's
    // fine-tuning replayed. Returns the reason when it cannot start;
    // checkpointExportFinished reports the end.
    QString exportCheckpoint(const QString& destination);
    bool checkpointExportRunning() const { return checkpointExportRunning_; }

signals:
    // Empty message on success, else the error.
    void checkpointExportFinished(const QString& error);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildActions();
    void buildMenus();
    void buildViews();
    void buildDocks();
    void connectController();

    void onStateChanged(SearchController::State state);
    void onRunStarted(const rlq::RunInfo& info);
    void onRunFinished(const rlq::RunSummary& summary);
    void onRunFailed(const QString& message);
    void onUnitActivated(int unitIndex, int bits);

    void resetViews();
    void refreshViews();
    void updateActions();
    void updateStatus();
    void appendLog(const QString& line);
    void closeInspectors();
    void restoreSettings();
    void saveSettings() const;

    void chooseRunFolderToOpen();
    void chooseBestPolicyExport();
    void chooseReportExport();
    void choosePlotExport(const QString& fileStem);
    void chooseAllPlotsExport();
    void chooseCheckpointExport();
    void showError(const QString& title, const QString& message);

    SearchController* controller_ = nullptr;
    RunData runData_;
    std::vector<rlq::EpisodeResult> pendingEpisodes_;
    std::vector<rlq::PolicyReport> pendingBaselines_;
    QTimer redrawTimer_;
    QTimer clockTimer_;
    QElapsedTimer runClock_;
    QString runFolder_;
    // True while the views show the controller's current run, so the
    // inspector reads the weights of the run on screen.
    bool viewsShowControllerRun_ = false;
    bool stopRequested_ = false;     // by Stop or by closing the window, for the current run
    bool closeWhenStopped_ = false;
    bool checkpointExportRunning_ = false;
    // The running export; the destructor waits for it, so its queued log
    // lines never reach a destroyed window.
    QFutureWatcher<QString>* checkpointWatcher_ = nullptr;
    QList<QPointer<InspectorDialog>> inspectors_;

    SetupPanel* setupPanel_ = nullptr;
    PolicyHeatmap* heatmap_ = nullptr;
    PolicyGrid* policyGrid_ = nullptr;
    FootprintGauge* gauge_ = nullptr;
    CurvesPanel* curves_ = nullptr;
    PpoPanel* ppoPanel_ = nullptr;
    QPlainTextEdit* log_ = nullptr;
    RunStatusBar* statusBar_ = nullptr;

    QAction* startAction_ = nullptr;
    QAction* pauseAction_ = nullptr;
    QAction* resumeAction_ = nullptr;
    QAction* stopAction_ = nullptr;
    QAction* openRunAction_ = nullptr;
    QAction* exportPolicyAction_ = nullptr;
    QAction* exportReportAction_ = nullptr;
    QAction* exportAllPlotsAction_ = nullptr;
    QAction* exportCheckpointAction_ = nullptr;
    QMenu* exportPlotMenu_ = nullptr;
};

} // namespace rlq::ui
