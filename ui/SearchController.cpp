#include "SearchController.h"

#include "SearchWorker.h"

#include <QThread>

namespace rlq::ui {

SearchController::SearchController(QObject* parent) : QObject(parent)
{
    registerMetaTypes();
}

SearchController::~SearchController()
{
    releaseWorker();
}

bool SearchController::isActive() const
{
    return state_ == State::Running || state_ == State::Pausing || state_ == State::Paused ||
           state_ == State::Stopping;
}

bool SearchController::canInspect() const
{
    return worker_ && (state_ == State::Paused || state_ == State::Finished);
}

bool SearchController::start(const rlq::RunSettings& settings)
{
    if (isActive()) {
        return false;
    }
    releaseWorker();

    const int generation = ++generation_;
    thread_ = new QThread(this);
    thread_->setObjectName(QStringLiteral("rlq-search"));
    auto* worker = new SearchWorker(settings);
    worker->moveToThread(thread_);
    worker_ = worker;

    connect(thread_, &QThread::started, worker, &SearchWorker::run);
    connect(thread_, &QThread::finished, worker, &QObject::deleteLater);
    connectWorker(worker, generation);

    setState(State::Running);
    thread_->start();
    return true;
}

void SearchController::connectWorker(SearchWorker* worker, int generation)
{
    const auto current = [this, generation] { return generation == generation_; };

    connect(worker, &SearchWorker::runStarted, this, [this, current](const rlq::RunInfo& info) {
        if (current()) {
            emit runStarted(info);
        }
    });
    connect(worker, &SearchWorker::phaseChanged, this, [this, current](const QString& phase) {
        if (current()) {
            emit phaseChanged(phase);
        }
    });
    connect(worker, &SearchWorker::logLine, this, [this, current](const QString& line) {
        if (current()) {
            emit logLine(line);
        }
    });
    connect(worker, &SearchWorker::episodeFinished, this, [this, current](const rlq::EpisodeResult& episode) {
        if (current()) {
            emit episodeFinished(episode);
        }
    });
    connect(worker, &SearchWorker::baselineMeasured, this, [this, current](const rlq::PolicyReport& baseline) {
        if (current()) {
            emit baselineMeasured(baseline);
        }
    });
    connect(worker, &SearchWorker::pauseReached, this, [this, current] {
        if (current() && state_ == State::Pausing) {
            setState(State::Paused);
        }
    });
    connect(worker, &SearchWorker::runFinished, this, [this, current](const rlq::RunSummary& summary) {
        if (current()) {
            setState(State::Finished);
            emit runFinished(summary);
        }
    });
    connect(worker, &SearchWorker::runFailed, this, [this, current](const QString& message) {
        if (current()) {
            setState(State::Failed);
            emit runFailed(message);
        }
    });
    connect(worker, &SearchWorker::inspectionReady, this,
            [this, current](int requestId, const rlq::LayerInspection& inspection) {
                if (current()) {
                    emit inspectionReady(requestId, inspection);
                }
            });
    connect(worker, &SearchWorker::inspectionFailed, this, [this, current](int requestId, const QString& message) {
        if (current()) {
            emit inspectionFailed(requestId, message);
        }
    });
}

void SearchController::pause()
{
    if (worker_ && state_ == State::Running) {
        setState(State::Pausing);
        worker_->requestPause();
    }
}

void SearchController::resume()
{
    if (worker_ && (state_ == State::Pausing || state_ == State::Paused)) {
        worker_->resume();
        setState(State::Running);
    }
}

void SearchController::stop()
{
    if (worker_ && (state_ == State::Running || state_ == State::Pausing || state_ == State::Paused)) {
        worker_->requestStop();
        setState(State::Stopping);
    }
}

int SearchController::requestInspection(int unitIndex, int bits)
{
    if (!worker_) {
        return -1;
    }
    const int requestId = nextRequestId_++;
    worker_->requestInspection(requestId, unitIndex, bits);
    return requestId;
}

void SearchController::setState(State state)
{
    if (state_ == state) {
        return;
    }
    state_ = state;
    emit stateChanged(state);
}

void SearchController::releaseWorker()
{
    if (!thread_) {
        return;
    }

    // A running session only notices the stop at its next checkpoint, and
    // the thread's event loop only quits once run() has returned.
    if (worker_) {
        worker_->requestStop();
    }
    thread_->quit();
    thread_->wait();

    delete thread_;
    thread_ = nullptr;
    ++generation_;
}

} // namespace rlq::ui
