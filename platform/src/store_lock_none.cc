// StoreLock where files cannot be locked (Emscripten's file systems: MEMFS,
// IDBFS, NODEFS). Only this process's claims are known: a registry of the
// paths it holds. Hosts that share a store between processes there claim it
// themselves (the web runtime elects one owner per store; Node takes a LOCK
// file, web/src/store_lock_node.ts).
#include <unistd.h>

#include <mutex>
#include <set>
#include <string>

#include "store_lock.h"

namespace ferry {
namespace {

std::mutex& RegistryMutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<std::string>& Held() {
  static std::set<std::string> paths;
  return paths;
}

}  // namespace

Result<std::unique_ptr<StoreLock>> StoreLock::TryAcquire(const std::string& path) {
  std::lock_guard<std::mutex> guard(RegistryMutex());
  if (!Held().insert(path).second) return Busy(path, ::getpid());
  return std::unique_ptr<StoreLock>(new StoreLock(path, -1));
}

StoreLock::~StoreLock() {
  std::lock_guard<std::mutex> guard(RegistryMutex());
  Held().erase(path_);
}

}  // namespace ferry
