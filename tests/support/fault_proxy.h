// FaultProxy: an HTTP proxy between a Ferry client and ferry-server on
// loopback that injects faults on demand, for end-to-end tests. Test-only.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/http_test_server.h"

namespace ferry::testing {

class FaultProxy {
 public:
  enum class Fault {
    kServerError,      // 500 without reaching the server
    kTooManyRequests,  // 429 with Retry-After: 1
    kGarbage,          // 200 with a body that is not the protocol
    kAnswerLost,       // forwarded (the server applies it), then a 502 instead of the answer
    kHang,             // holds the request for 3 s before answering 503
  };

  explicit FaultProxy(int upstream_port)
      : upstream_port_(upstream_port),
        server_([this](const HttpTestRequest& request) { return Forward(request); }) {}

  // The next requests, one fault each, in order.
  void Inject(Fault fault, int times = 1) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < times; ++i)
      faults_.push_back(fault);
  }
  void set_upstream_port(int port) { upstream_port_ = port; }
  std::size_t pending_faults() {
    std::lock_guard lock(mutex_);
    return faults_.size();
  }

  int port() const { return server_.port(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }
  int requests() const { return requests_; }
  // The Content-Encoding header of every POST so far ("" when plain).
  std::vector<std::string> post_encodings() {
    std::lock_guard lock(mutex_);
    return post_encodings_;
  }

 private:
  std::optional<Fault> NextFault() {
    std::lock_guard lock(mutex_);
    if (faults_.empty()) return std::nullopt;
    Fault fault = faults_.front();
    faults_.pop_front();
    return fault;
  }

  HttpTestReply Forward(const HttpTestRequest& request) {
    ++requests_;
    if (request.method == "POST") {
      std::lock_guard lock(mutex_);
      post_encodings_.push_back(request.header("Content-Encoding"));
    }
    std::optional<Fault> fault = NextFault();
    if (fault == Fault::kServerError)
      return Reply(500, "{\"error\":{\"code\":\"internal\",\"message\":\"injected\"}}");
    if (fault == Fault::kTooManyRequests) {
      HttpTestReply reply =
          Reply(429, "{\"error\":{\"code\":\"unavailable\",\"message\":\"slow down\"}}");
      reply.headers.emplace("Retry-After", "1");
      return reply;
    }
    if (fault == Fault::kGarbage) return Reply(200, "<html>definitely not json");
    if (fault == Fault::kHang) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      return Reply(503, "hung");
    }
    HttpClient upstream("127.0.0.1", upstream_port_.load());
    upstream.set_read_timeout(std::chrono::seconds(30));
    // Bodies go both ways as they came, gzip included, so their encodings go
    // with them.
    upstream.set_decompress(false);
    HttpHeaders headers;
    for (const char* name : {"Authorization", "Content-Encoding", "Accept-Encoding"}) {
      if (request.has_header(name)) headers.emplace(name, request.header(name));
    }
    HttpResult result = request.method == "POST" ? upstream.Post(request.target, headers,
                                                                 request.body, "application/json")
                                                 : upstream.Get(request.target, headers);
    if (!result) return Reply(502, "upstream unreachable");
    if (fault == Fault::kAnswerLost) return Reply(502, "answer lost");
    HttpTestReply reply = Reply(result->status, std::move(result->body));
    if (result->has_header("Content-Encoding"))
      reply.headers.emplace("Content-Encoding", result->header("Content-Encoding"));
    return reply;
  }

  static HttpTestReply Reply(int status, std::string body) {
    return {status, {{"Content-Type", "application/json"}}, std::move(body)};
  }

  std::atomic<int> upstream_port_;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::deque<Fault> faults_;
  std::vector<std::string> post_encodings_;
  // Last: destroyed first, so no request is being handled while the members
  // above go (a hanging one finishes its sleep first).
  HttpTestServer server_;
};

}  // namespace ferry::testing
