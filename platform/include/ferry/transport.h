// Transport: the narrow interface between the native runtime and an HTTP
// stack. EngineHost's StartTransfer tasks become Start() calls; answers come
// back from Wait() and go to EngineHost::HandleTransferDone.
//
// Threading: Start, Cancel and Wait are called on the owner thread only;
// Wakeup may be called from any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/engine.h"

namespace ferry {

struct TransportRequest {
  RequestId id = 0;
  std::string method;
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  TimeMs timeout_ms = 30'000;  // 0: no overall limit (streams)
  // Streaming (Server-Sent Events): each body chunk is handed over as it
  // arrives, on the thread calling Wait(), instead of being collected; the
  // completion then has an empty body and comes when the stream ends.
  std::function<void(std::string_view chunk)> on_chunk;
};

struct TransportCompletion {
  RequestId id = 0;
  HttpResponse response;  // status 0 with transport_error when no HTTP answer came
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Start(TransportRequest request) = 0;
  // Aborts a request; it produces no completion afterwards.
  virtual void Cancel(RequestId id) = 0;
  // Waits until a request finishes, `timeout_ms` passes or Wakeup() is
  // called, and returns the requests that finished.
  virtual std::vector<TransportCompletion> Wait(TimeMs timeout_ms) = 0;
  virtual void Wakeup() = 0;
};

}  // namespace ferry
