// HostTransport: requests go to the host through callbacks; answers come back
// from any thread into a queue that Wait() drains on the owner thread.
#include "ferry/transport_host.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace ferry {

HostTransport::HostTransport(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}

HostTransport::~HostTransport() {
  Close();
}

void HostTransport::Start(TransportRequest request) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;  // the client is going away; nobody waits for it
    pending_[request.id].on_chunk = request.on_chunk;
  }
  // Outside the lock: the host may answer before it returns.
  callbacks_.send(request);
}

void HostTransport::Cancel(RequestId id) {
  bool was_pending = false;
  {
    std::lock_guard lock(mutex_);
    // An answer that came but was not yet collected must not surface either;
    // the host hears of the cancellation only if it still owes an answer.
    const bool answered =
        std::erase_if(completed_, [id](const TransportCompletion& c) { return c.id == id; }) > 0;
    was_pending = pending_.erase(id) > 0 && !answered;
    std::erase_if(chunks_, [id](const Chunk& c) { return c.id == id; });
  }
  if (was_pending && callbacks_.cancel) callbacks_.cancel(id);
}

std::vector<TransportCompletion> HostTransport::Wait(TimeMs timeout_ms) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(std::max<TimeMs>(timeout_ms, 0)),
                    [this] { return woken_ || !completed_.empty() || !chunks_.empty(); });
  woken_ = false;
  // Chunks first: a stream's chunks arrive before its completion.
  while (!chunks_.empty()) {
    Chunk chunk = std::move(chunks_.front());
    chunks_.pop_front();
    auto it = pending_.find(chunk.id);
    std::function<void(std::string_view)> on_chunk;
    if (it != pending_.end()) on_chunk = it->second.on_chunk;
    if (!on_chunk) continue;
    lock.unlock();
    on_chunk(chunk.data);
    lock.lock();
  }
  std::vector<TransportCompletion> done = std::move(completed_);
  completed_.clear();
  for (const TransportCompletion& completion : done)
    pending_.erase(completion.id);
  return done;
}

void HostTransport::Wakeup() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  changed_.notify_all();
}

Status HostTransport::Complete(RequestId id, HttpResponse response) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Status(ErrorCode::kCancelled, "the transport is closed");
    if (!pending_.contains(id) ||
        std::any_of(completed_.begin(), completed_.end(),
                    [id](const TransportCompletion& c) { return c.id == id; })) {
      return Status(ErrorCode::kNotFound,
                    "request " + std::to_string(id) + " is not waiting for an answer");
    }
    completed_.push_back({id, std::move(response)});
  }
  changed_.notify_all();
  return Status::Ok();
}

Status HostTransport::Data(RequestId id, std::string_view chunk) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Status(ErrorCode::kCancelled, "the transport is closed");
    auto it = pending_.find(id);
    if (it == pending_.end() ||
        std::any_of(completed_.begin(), completed_.end(),
                    [id](const TransportCompletion& c) { return c.id == id; })) {
      return Status(ErrorCode::kNotFound,
                    "request " + std::to_string(id) + " is not waiting for an answer");
    }
    if (!it->second.on_chunk) {
      return Status(ErrorCode::kInvalidArgument,
                    "request " + std::to_string(id) + " does not stream; answer it with its body");
    }
    chunks_.push_back({id, std::string(chunk)});
  }
  changed_.notify_all();
  return Status::Ok();
}

void HostTransport::Close() {
  std::vector<RequestId> unanswered;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (const auto& entry : pending_) {
      const RequestId id = entry.first;
      if (std::none_of(completed_.begin(), completed_.end(),
                       [id](const TransportCompletion& c) { return c.id == id; }))
        unanswered.push_back(id);
    }
    pending_.clear();
    completed_.clear();
    chunks_.clear();
  }
  changed_.notify_all();
  if (callbacks_.cancel) {
    for (RequestId id : unanswered)
      callbacks_.cancel(id);
  }
}

}  // namespace ferry
