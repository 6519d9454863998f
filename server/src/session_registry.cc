#include "session_registry.h"

#include <utility>
#include <vector>

namespace ferry::server {

bool SessionRegistry::HasRoom() const {
  std::lock_guard lock(mutex_);
  return sessions_.size() < capacity_;
}

void SessionRegistry::Add(const std::shared_ptr<HttpSessionBase>& session) {
  bool shut_down = false;
  {
    std::lock_guard lock(mutex_);
    sessions_[session.get()] = session;
    shut_down = stopping_;
  }
  if (shut_down) session->Shutdown();  // accepted just as the server stopped
}

void SessionRegistry::Remove(const HttpSessionBase* session) {
  std::function<void()> on_empty;
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(session);
    if (stopping_ && sessions_.empty()) on_empty = std::exchange(on_empty_, nullptr);
  }
  if (on_empty) on_empty();
}

void SessionRegistry::ShutdownAll(std::function<void()> on_empty) {
  std::vector<std::shared_ptr<HttpSessionBase>> sessions;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& [address, weak] : sessions_) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
    if (sessions_.empty()) {
      on_empty_ = nullptr;
    } else {
      on_empty_ = std::move(on_empty);
      on_empty = nullptr;
    }
  }
  // Outside the lock: a session may remove itself from here on.
  for (const auto& session : sessions)
    session->Shutdown();
  if (on_empty) on_empty();
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace ferry::server
