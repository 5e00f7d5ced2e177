#include "search/SearchControl.h"

namespace rlq {

void SearchControl::requestPause()
{
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = true;
    changed_.notify_all();
}

void SearchControl::resume()
{
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = false;
    changed_.notify_all();
}

void SearchControl::requestStop()
{
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    paused_ = false;
    changed_.notify_all();
}

bool SearchControl::isPaused() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return paused_;
}

bool SearchControl::stopRequested() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return stopped_;
}

void SearchControl::post(std::function<void()> task)
{
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
    changed_.notify_all();
}

std::function<void()> SearchControl::takeTask(std::unique_lock<std::mutex>& lock)
{
    (void)lock;   // the caller holds mutex_
    if (tasks_.empty()) {
        return {};
    }
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    return task;
}

bool SearchControl::checkpoint()
{
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
        // Tasks run unlocked so that they may post or request freely.
        if (auto task = takeTask(lock)) {
            lock.unlock();
            task();
            lock.lock();
            continue;
        }
        if (stopped_) {
            return false;
        }
        if (!paused_) {
            return true;
        }
        changed_.wait(lock);
    }
}

void SearchControl::runPendingTasks()
{
    std::unique_lock<std::mutex> lock(mutex_);
    while (auto task = takeTask(lock)) {
        lock.unlock();
        task();
        lock.lock();
    }
}

} // namespace rlq
