#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace rlq {

// Pause, resume and stop requests for a running SearchSession, safe to call
// from any thread. The session calls checkpoint() between episodes and
// between fine-tuning steps; while paused, checkpoint() blocks and runs the
// tasks posted with post() on the session's thread, so that work on the
// session's tensors (such as a layer inspection) never races the search.
class SearchControl {
public:
    void requestPause();
    void resume();
    void requestStop();        // also wakes a paused session
    bool isPaused() const;
    bool stopRequested() const;

    // Queues `task` to run on the session's thread at its next checkpoint
    // (at once when the session is paused and waiting).
    void post(std::function<void()> task);

    // Called by the session: runs queued tasks, waits while paused, and
    // returns false when a stop was requested.
    bool checkpoint();

    // Runs the queued tasks without waiting (the session calls it after
    // finishing, so requests made late are still answered).
    void runPendingTasks();

private:
    std::function<void()> takeTask(std::unique_lock<std::mutex>& lock);

    // mutex_ guards every member below; changed_ signals any change.
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool paused_ = false;
    bool stopped_ = false;
    std::deque<std::function<void()>> tasks_;
};

} // namespace rlq
