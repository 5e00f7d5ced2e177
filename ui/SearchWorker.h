#pragma once

#include "MetaTypes.h"
#include "search/SearchControl.h"
#include "search/SearchTypes.h"

#include <QMutex>
#include <QObject>
#include <QString>

#include <memory>

namespace rlq {
class SearchSession;
}

namespace rlq::ui {

// Runs one SearchSession on the thread it was moved to and reports its
// progress as queued Qt signals carrying plain value types.
//
// Threading rule: run() and everything that touches the session (and so
// LibTorch) execute on the worker's thread only. The UI thread calls just
// requestPause(), resume(), requestStop() and requestInspection(); they go
// through SearchControl, which is thread-safe, or through a queued call. A
// busy run() never returns to the event loop, so these cannot be slots.
class SearchWorker : public QObject {
    Q_OBJECT

public:
    explicit SearchWorker(rlq::RunSettings settings);
    ~SearchWorker() override;

    // Any thread. The session blocks at its next checkpoint (between
    // episodes or fine-tuning steps) and then emits pauseReached().
    void requestPause();
    void resume();
    // Any thread. The session stops at its next checkpoint and still writes
    // the run folder for the episodes done, then run() emits runFinished().
    void requestStop();

    // Any thread. Computes the histograms of unit `unitIndex` at `bits` on
    // the worker's thread: at the session's next checkpoint while the run is
    // active (at once while paused), or as a queued call once it has ended.
    // Emits inspectionReady() or inspectionFailed() with requestId.
    void requestInspection(int requestId, int unitIndex, int bits);

public slots:
    // Worker thread. Blocks until the run ends, then emits runFinished() or
    // runFailed().
    void run();

signals:
    void runStarted(const rlq::RunInfo& info);
    void phaseChanged(const QString& phase);
    void logLine(const QString& line);
    void episodeFinished(const rlq::EpisodeResult& episode);
    void baselineMeasured(const rlq::PolicyReport& baseline);
    void pauseReached();
    void runFinished(const rlq::RunSummary& summary);
    void runFailed(const QString& message);
    void inspectionReady(int requestId, const rlq::LayerInspection& inspection);
    void inspectionFailed(int requestId, const QString& message);

private slots:
    void inspectWhenIdle(int requestId, int unitIndex, int bits);

private:
    class Observer;

    void inspect(int requestId, int unitIndex, int bits);
    void finishRun();

    const rlq::RunSettings settings_;
    // Outlives run(), because the session keeps a reference to it.
    std::unique_ptr<Observer> observer_;

    // Worker thread only: created and used inside run() and the inspection
    // tasks, which SearchControl also runs on the worker's thread.
    std::unique_ptr<rlq::SearchSession> session_;
    bool runSucceeded_ = false;   // run() returned normally, so inspect() may use the session

    // Thread-safe by itself.
    rlq::SearchControl control_;

    // stateMutex_ guards runActive_. requestInspection() reads it to choose
    // between SearchControl::post (run active) and a queued call (run over).
    // run() clears it before it runs the tasks posted last, so no request
    // falls between the two.
    QMutex stateMutex_;
    bool runActive_ = false;
};

} // namespace rlq::ui
