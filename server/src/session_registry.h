// The open connections of ferry-server: the connection cap
// (--max-connections) and graceful shutdown reach every session through it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace ferry::server {

class HttpSessionBase {
 public:
  virtual ~HttpSessionBase() = default;
  // Graceful shutdown: an idle connection closes, a request being read or
  // answered finishes (its answer says Connection: close), a live stream
  // ends. Any thread.
  virtual void Shutdown() = 0;
};

// The open connections, for the connection cap and for shutdown.
// Thread-safe.
class SessionRegistry {
 public:
  explicit SessionRegistry(std::size_t capacity) : capacity_(capacity) {}

  // Whether one more connection fits under the cap.
  [[nodiscard]] bool HasRoom() const;
  void Add(const std::shared_ptr<HttpSessionBase>& session);
  // From the session's destructor. Runs `on_empty` once the last session of
  // a shutdown is gone.
  void Remove(const HttpSessionBase* session);
  // Shuts down every session, now and as each is added from now on;
  // `on_empty` runs (on the thread removing the last session, or here) once
  // none is left.
  void ShutdownAll(std::function<void()> on_empty);
  [[nodiscard]] std::size_t size() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<const HttpSessionBase*, std::weak_ptr<HttpSessionBase>> sessions_;
  bool stopping_ = false;
  std::function<void()> on_empty_;
};

}  // namespace ferry::server
