// HostTransport: a Transport whose HTTP requests the host application carries
// itself (React Native's fetch, a platform HTTP stack, a test responder).
//
// Start() hands each request to the host's `send` callback; the host answers
// later, from any thread, with Complete() (and, for a streaming request such
// as the live-updates stream, with Data() for each body chunk before it).
// Wait() returns the answers on the owner thread and hands stream chunks to
// the request's on_chunk there, as the Transport contract requires.
//
// Threading: Start, Cancel and Wait on the owner thread only (Transport's
// contract). Complete, Data, Wakeup and Close may be called from any thread.
// The host callbacks run on the owner thread, without this transport's lock:
// `send` may call Complete() before it returns.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "ferry/transport.h"

namespace ferry {

class HostTransport final : public Transport {
 public:
  struct Callbacks {
    // Required. Must not block: hand the request to the HTTP stack and
    // return. The request's timeout_ms is the host's to enforce (0: none);
    // the engine also gives up on a request that outlives its own deadline
    // and then cancels it.
    std::function<void(const TransportRequest& request)> send;
    // Optional. The request is abandoned: its answer, if one still comes, is
    // ignored. Also called for every unanswered request when the transport
    // is closed.
    std::function<void(RequestId id)> cancel;
  };

  explicit HostTransport(Callbacks callbacks);
  ~HostTransport() override;

  void Start(TransportRequest request) override;
  void Cancel(RequestId id) override;
  std::vector<TransportCompletion> Wait(TimeMs timeout_ms) override;
  void Wakeup() override;

  // The host's answer to a request. kNotFound when the request is unknown,
  // already answered or cancelled (a late answer is harmless); kCancelled
  // after Close().
  [[nodiscard]] Status Complete(RequestId id, HttpResponse response);
  // A chunk of a streaming request's body (TransportRequest::on_chunk is
  // set); kInvalidArgument for a request that does not stream.
  [[nodiscard]] Status Data(RequestId id, std::string_view chunk);
  // Refuses further answers and tells the host (cancel) about every request
  // still unanswered. Idempotent; the destructor calls it.
  void Close();

 private:
  struct Pending {
    std::function<void(std::string_view chunk)> on_chunk;
  };
  struct Chunk {
    RequestId id;
    std::string data;
  };

  Callbacks callbacks_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<RequestId, Pending> pending_;  // started, not yet answered or cancelled
  std::vector<TransportCompletion> completed_;
  std::deque<Chunk> chunks_;
  bool woken_ = false;
  bool closed_ = false;
};

}  // namespace ferry
