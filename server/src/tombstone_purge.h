// The tombstone horizon (--tombstone-horizon): a thread of its own that,
// every so often, purges the tombstones of deletes committed longer ago than
// the horizon. A client whose cursor is older gets 410 and resyncs
// (docs/SERVER.md, "The tombstone horizon").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "ferry/status.h"

namespace ferry::server {

class TombstonePurge {
 public:
  // Calls `purge(cutoff)` with cutoff = now - horizon (Unix ms) at once and
  // then every Interval(horizon), on its own thread, until Stop. A failure
  // is logged and the next round tries again.
  TombstonePurge(std::chrono::milliseconds horizon, std::function<Status(int64_t)> purge);
  ~TombstonePurge();
  TombstonePurge(const TombstonePurge&) = delete;
  TombstonePurge& operator=(const TombstonePurge&) = delete;

  // Waits for a round in progress; no call of `purge` after it returns.
  void Stop();

  // A tenth of the horizon, from 100 ms to an hour: a tombstone outlives the
  // horizon by at most a tenth, and short horizons (tests) act quickly.
  static std::chrono::milliseconds Interval(std::chrono::milliseconds horizon);

 private:
  void Run();

  const std::chrono::milliseconds horizon_;
  const std::function<Status(int64_t)> purge_;
  std::mutex mutex_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::server
