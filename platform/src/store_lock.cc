// The parts of StoreLock every backend shares: waiting and the busy message.
#include "store_lock.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace ferry {

Result<std::unique_ptr<StoreLock>> StoreLock::Acquire(const std::string& path, int64_t timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto lock = TryAcquire(path);
    if (lock.ok() || lock.status().code() != ErrorCode::kBusy) return lock;
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return lock;
    // The OS offers no lock wait with a timeout; polling every few
    // milliseconds costs little next to opening a store.
    std::this_thread::sleep_for(
        std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(10)));
  }
}

Status StoreLock::Busy(const std::string& path, int64_t holder) {
  std::string by = "another client";
  if (holder == static_cast<int64_t>(::getpid())) {
    by += " in this process";
  } else if (holder > 0) {
    by += " (process " + std::to_string(holder) + ")";
  }
  return Status(ErrorCode::kBusy, "store is in use by " + by + ", lock file " + path +
                                      ": one store serves one client at a time; close the other "
                                      "first, or open with a store lock timeout to wait for it");
}

}  // namespace ferry
