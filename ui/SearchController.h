#pragma once

#include "MetaTypes.h"

#include <QObject>
#include <QPointer>
#include <QString>

class QThread;

namespace rlq::ui {

class SearchWorker;

// Owns the worker thread of the current run and turns the worker's signals
// into a run state for the widgets. Lives on the UI thread; every signal it
// emits is delivered there.
class SearchController : public QObject {
    Q_OBJECT

public:
    enum class State {
        Idle,       // no run yet
        Running,
        Pausing,    // pause requested, the session has not reached a checkpoint yet
        Paused,
        Stopping,   // stop requested, the session is finishing and writing the run folder
        Finished,
        Failed,
    };
    Q_ENUM(State)

    explicit SearchController(QObject* parent = nullptr);
    // Requests a stop and waits for the worker thread, which includes the
    // session writing its run folder.
    ~SearchController() override;

    State state() const { return state_; }
    // True from start() until runFinished() or runFailed().
    bool isActive() const;
    // The inspector needs the session idle: paused, or after a finished run.
    bool canInspect() const;

    // Starts a run on a new worker thread. Returns false while a run is active.
    bool start(const rlq::RunSettings& settings);
    void pause();
    void resume();
    void stop();

    // Asks the worker for the histograms of one unit. Returns the request id
    // that inspectionReady() or inspectionFailed() will carry, or -1 when no
    // session exists.
    int requestInspection(int unitIndex, int bits);

signals:
    void stateChanged(rlq::ui::SearchController::State state);
    void runStarted(const rlq::RunInfo& info);
    void phaseChanged(const QString& phase);
    void logLine(const QString& line);
    void episodeFinished(const rlq::EpisodeResult& episode);
    void baselineMeasured(const rlq::PolicyReport& baseline);
    void runFinished(const rlq::RunSummary& summary);
    void runFailed(const QString& message);
    void inspectionReady(int requestId, const rlq::LayerInspection& inspection);
    void inspectionFailed(int requestId, const QString& message);

private:
    void connectWorker(SearchWorker* worker, int generation);
    void setState(State state);
    void releaseWorker();

    // Both are touched on the UI thread only. The worker object itself lives
    // on thread_ and is deleted there when thread_ finishes.
    QThread* thread_ = nullptr;
    QPointer<SearchWorker> worker_;

    // Queued signals of a released worker can still arrive. Each connection
    // carries the generation it was made for, and stale ones are dropped.
    int generation_ = 0;

    State state_ = State::Idle;
    int nextRequestId_ = 1;
};

} // namespace rlq::ui
