#include "SearchWorker.h"

#include "search/SearchSession.h"
#include "util/Error.h"

#include <QMetaObject>
#include <QMutexLocker>

#include <exception>

namespace rlq::ui {

namespace {

// LibTorch errors (c10::Error) append a C++ stack trace after the first line.
QString firstLine(const char* text)
{
    const QString message = QString::fromUtf8(text);
    return message.section(QLatin1Char('\n'), 0, 0);
}

} // namespace

// Forwards the session's callbacks as signals of the worker. The session
// calls it on the worker's thread, so the signals reach UI-thread receivers
// through queued connections.
class SearchWorker::Observer : public rlq::SearchObserver {
public:
    explicit Observer(SearchWorker& worker) : worker_(worker) {}

    void onRunStarted(const rlq::RunInfo& info) override { emit worker_.runStarted(info); }
    void onPhase(const std::string& phase) override { emit worker_.phaseChanged(QString::fromStdString(phase)); }
    void onLog(const std::string& line) override { emit worker_.logLine(QString::fromStdString(line)); }
    void onEpisode(const rlq::EpisodeResult& episode) override { emit worker_.episodeFinished(episode); }
    void onBaseline(const rlq::PolicyReport& baseline) override { emit worker_.baselineMeasured(baseline); }

private:
    SearchWorker& worker_;
};

SearchWorker::SearchWorker(rlq::RunSettings settings)
    : settings_(std::move(settings)), observer_(std::make_unique<Observer>(*this))
{
}

// Defined here because SearchSession is incomplete in the header.
SearchWorker::~SearchWorker() = default;

void SearchWorker::requestPause()
{
    control_.requestPause();

    // checkpoint() runs queued tasks before it starts waiting, so this task
    // runs exactly when the session has reached its paused state.
    control_.post([this] { emit pauseReached(); });
}

void SearchWorker::resume()
{
    control_.resume();
}

void SearchWorker::requestStop()
{
    control_.requestStop();
}

void SearchWorker::requestInspection(int requestId, int unitIndex, int bits)
{
    QMutexLocker locker(&stateMutex_);
    if (runActive_) {
        control_.post([this, requestId, unitIndex, bits] { inspect(requestId, unitIndex, bits); });
        return;
    }
    QMetaObject::invokeMethod(this, "inspectWhenIdle", Qt::QueuedConnection, Q_ARG(int, requestId),
                              Q_ARG(int, unitIndex), Q_ARG(int, bits));
}

void SearchWorker::run()
{
    {
        QMutexLocker locker(&stateMutex_);
        runActive_ = true;
    }

    try {
        session_ = std::make_unique<rlq::SearchSession>(settings_);
        const rlq::RunSummary summary = session_->run(*observer_, control_);
        runSucceeded_ = true;
        finishRun();
        emit runFinished(summary);
    } catch (const rlq::Error& error) {
        finishRun();
        emit runFailed(QString::fromStdString(error.what()));
    } catch (const std::exception& error) {
        finishRun();
        emit runFailed(tr("Internal error in the search engine: %1").arg(firstLine(error.what())));
    }
}

void SearchWorker::finishRun()
{
    {
        QMutexLocker locker(&stateMutex_);
        runActive_ = false;
    }

    // Runs the inspection and pause tasks posted while the run was ending.
    control_.runPendingTasks();
}

void SearchWorker::inspectWhenIdle(int requestId, int unitIndex, int bits)
{
    inspect(requestId, unitIndex, bits);
}

void SearchWorker::inspect(int requestId, int unitIndex, int bits)
{
    if (!session_) {
        emit inspectionFailed(requestId, tr("No search session is loaded; start a run before inspecting a unit."));
        return;
    }
    if (!runSucceeded_ && !runActive_) {
        emit inspectionFailed(requestId, tr("The run failed, so its model cannot be inspected; start a new run."));
        return;
    }

    try {
        emit inspectionReady(requestId, session_->inspect(unitIndex, bits));
    } catch (const rlq::Error& error) {
        emit inspectionFailed(requestId, QString::fromStdString(error.what()));
    } catch (const std::exception& error) {
        emit inspectionFailed(requestId, tr("Internal error while inspecting unit %1: %2")
                                             .arg(unitIndex)
                                             .arg(firstLine(error.what())));
    }
}

} // namespace rlq::ui
