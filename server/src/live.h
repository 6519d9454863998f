// LiveChannel: per-user change counters that Server-Sent Events streams wait
// on. A push that applies mutations pokes its user; every open /v1/live
// stream of that user wakes and sends "event: poke".
// Thread-safe: pokes come from request threads, waits from stream threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace ferry::server {

class LiveChannel {
 public:
  void Poke(const std::string& user) {
    {
      std::lock_guard lock(mutex_);
      ++versions_[user];
    }
    changed_.notify_all();
  }

  uint64_t Version(const std::string& user) {
    std::lock_guard lock(mutex_);
    return versions_[user];
  }

  // The user's version once it differs from `seen`, or `seen` again after
  // `timeout` (time for a keep-alive); nullopt once stopping.
  std::optional<uint64_t> WaitForChange(const std::string& user, uint64_t seen,
                                        std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ++listeners_[user];
    changed_.wait_for(lock, timeout, [&] { return stopping_ || versions_[user] != seen; });
    --listeners_[user];
    if (stopping_) return std::nullopt;
    return versions_[user];
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
  }

  // The user's streams waiting for a change (/v1/stats shows a user only theirs).
  int listeners(const std::string& user) {
    std::lock_guard lock(mutex_);
    auto found = listeners_.find(user);
    return found == listeners_.end() ? 0 : found->second;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, uint64_t> versions_;
  std::map<std::string, int> listeners_;
  bool stopping_ = false;
};

}  // namespace ferry::server
