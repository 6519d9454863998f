// StoreLock: an exclusive claim on a store, held for as long as the object
// lives.
//
// Two clients on one store hand out the same client id and sequence numbers,
// and the server drops one's writes as duplicates of the other's. So a store
// is claimed at open: a second claim on the same lock file, from another
// process or from this one, fails with kBusy (or waits up to a timeout).
//
// The claim itself is per backend, chosen by CMake: store_lock_posix.cc takes
// an open-file-description lock (F_OFD_SETLK), which the OS drops when the
// process dies and which, unlike a classic fcntl lock, also conflicts within
// one process; store_lock_none.cc, for file systems that cannot lock (e.g.
// Emscripten's), keeps a registry of the paths this process holds.
//
// Internal to platform/: not installed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ferry/status.h"

namespace ferry {

class StoreLock {
 public:
  // Claims `path` (created if missing). A claim held elsewhere fails at once
  // with kBusy when timeout_ms is 0; otherwise it is tried again until
  // timeout_ms have passed.
  [[nodiscard]] static Result<std::unique_ptr<StoreLock>> Acquire(const std::string& path,
                                                                  int64_t timeout_ms);
  // Releases the claim and removes the lock file.
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  StoreLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  // One attempt; kBusy when the claim is held elsewhere. Per backend.
  [[nodiscard]] static Result<std::unique_ptr<StoreLock>> TryAcquire(const std::string& path);
  // The kBusy status for `path`; `holder` is the holding process, 0 if unknown.
  [[nodiscard]] static Status Busy(const std::string& path, int64_t holder);

  std::string path_;
  int fd_;  // the locked file; -1 where the backend holds no file
};

}  // namespace ferry
