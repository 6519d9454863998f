// See fifo_worker.h.
#include "fifo_worker.h"

#include <utility>

namespace ferry::async {

FifoWorker::FifoWorker() : thread_([this] { Run(); }) {}

FifoWorker::~FifoWorker() {
  if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    thread_.detach();
    return;
  }
  Stop();
}

void FifoWorker::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  posted_.notify_one();
}

void FifoWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  posted_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void FifoWorker::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      posted_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every job posted before has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace ferry::async
