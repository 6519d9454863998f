#include "tombstone_purge.h"

#include <algorithm>
#include <cstdio>

namespace ferry::server {

using std::chrono::milliseconds;

TombstonePurge::TombstonePurge(milliseconds horizon, std::function<Status(int64_t)> purge)
    : horizon_(horizon), purge_(std::move(purge)), thread_([this] { Run(); }) {}

TombstonePurge::~TombstonePurge() {
  Stop();
}

void TombstonePurge::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

milliseconds TombstonePurge::Interval(milliseconds horizon) {
  return std::clamp(horizon / 10, milliseconds(100), milliseconds(std::chrono::hours(1)));
}

void TombstonePurge::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    // The commit records hold the wall clock (RecordCommit), so the cut-off
    // is wall time too.
    const int64_t now = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (Status purged = purge_(now - horizon_.count()); !purged.ok()) {
      std::fprintf(stderr, "ferry-server: tombstone purge failed (retried later): %s\n",
                   purged.ToString().c_str());
    }
    lock.lock();
    wake_.wait_for(lock, Interval(horizon_), [this] { return stopping_; });
  }
}

}  // namespace ferry::server
