// A test driver that runs a SyncEngine against an in-process ServerState:
// requests are answered through HandleServerRequest (the same code path
// ferry-server uses) unless a fault hook intercepts them. Test-only.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ferry/engine.h"
#include "ferry/server_apply.h"

namespace ferry::testing {

class InlineDriver {
 public:
  // Returns the response to give, or nullopt to let the server answer. The
  // hook may call Server() itself to let the request reach the server and then
  // alter or drop the answer.
  using FaultHook = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  InlineDriver(ServerState& server, std::string user) : server_(server), user_(std::move(user)) {}

  HttpResponse Server(const HttpRequest& request) {
    ServerHttpResponse answer =
        HandleServerRequest(server_, user_, request.method, request.target, request.body);
    ++server_requests;
    return {answer.status, std::move(answer.body), "", ""};
  }

  // Drains actions and answers requests until the engine is quiet.
  void Pump(SyncEngine& engine, Instant now) {
    for (int guard = 0; guard < 100000; ++guard) {
      while (auto action = engine.PollAction()) {
        if (auto* send = std::get_if<SendRequest>(&*action)) {
          std::optional<HttpResponse> response = fault ? fault(send->request) : std::nullopt;
          if (!response) response = Server(send->request);
          if (response->status == -1) {
            unanswered.push_back(send->request.id);  // a request that hangs
          } else {
            answers_.push_back({send->request.id, std::move(*response)});
          }
        } else if (auto* cancel = std::get_if<CancelRequest>(&*action)) {
          cancelled.push_back(cancel->id);
        } else if (auto* open = std::get_if<OpenStream>(&*action)) {
          opened_streams.push_back(open->request);
        } else if (auto* close = std::get_if<CloseStream>(&*action)) {
          closed_streams.push_back(close->id);
        } else {
          events.push_back(std::get<Event>(std::move(*action)));
        }
      }
      if (answers_.empty()) return;
      auto [id, response] = std::move(answers_.front());
      answers_.pop_front();
      engine.HandleResponse(id, response, now);
    }
  }

  template <typename T>
  std::vector<T> EventsOf() const {
    std::vector<T> found;
    for (const Event& event : events) {
      if (auto* typed = std::get_if<T>(&event)) found.push_back(*typed);
    }
    return found;
  }

  FaultHook fault;
  std::vector<Event> events;
  std::vector<RequestId> cancelled;
  std::vector<RequestId> unanswered;
  // Live streams are left to the test: it feeds HandleStreamData/End itself.
  std::vector<HttpRequest> opened_streams;
  std::vector<RequestId> closed_streams;
  int server_requests = 0;

 private:
  ServerState& server_;
  std::string user_;
  std::deque<std::pair<RequestId, HttpResponse>> answers_;
};

}  // namespace ferry::testing
