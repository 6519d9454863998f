// One thread that runs jobs one at a time, in the order they were posted:
// the worker that makes an AsyncClient's C calls off the JavaScript thread.
//
// Threading: Post from any thread; Stop from any thread but the worker's own.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ferry::async {

class FifoWorker {
 public:
  FifoWorker();
  // Stops (see Stop); from the worker's own thread it lets the thread end on
  // its own instead of joining itself.
  ~FifoWorker();
  FifoWorker(const FifoWorker&) = delete;
  FifoWorker& operator=(const FifoWorker&) = delete;

  void Post(std::function<void()> job);
  // Runs the jobs already posted, then ends the thread; later posts are
  // dropped. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::async
