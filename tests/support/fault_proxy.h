// FaultProxy: an HTTP proxy between a Ferry client and ferry-server on
// loopback that injects faults on demand, for end-to-end tests. Test-only.
#pragma once

#include <httplib.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

  explicit FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
    const auto forward = [this](const httplib::Request& request, httplib::Response& response) {
      ++requests_;
      if (request.method == "POST") {
        std::lock_guard lock(mutex_);
        post_encodings_.push_back(request.get_header_value("Content-Encoding"));
      }
      std::optional<Fault> fault = NextFault();
      if (fault == Fault::kServerError)
        return Reply(response, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"injected\"}}");
      if (fault == Fault::kTooManyRequests) {
        response.set_header("Retry-After", "1");
        return Reply(response, 429,
                     "{\"error\":{\"code\":\"unavailable\",\"message\":\"slow down\"}}");
      }
      if (fault == Fault::kGarbage) return Reply(response, 200, "<html>definitely not json");
      if (fault == Fault::kHang) {
        std::this_thread::sleep_for(std::chrono::seconds(3));
        return Reply(response, 503, "hung");
      }
      httplib::Client upstream("127.0.0.1", upstream_port_.load());
      upstream.set_read_timeout(30, 0);
      httplib::Headers headers;
      if (request.has_header("Authorization"))
        headers.emplace("Authorization", request.get_header_value("Authorization"));
      httplib::Result result =
          request.method == "POST"
              ? upstream.Post(request.target.c_str(), headers, request.body, "application/json")
              : upstream.Get(request.target.c_str(), headers);
      if (!result) return Reply(response, 502, "upstream unreachable");
      if (fault == Fault::kAnswerLost) return Reply(response, 502, "answer lost");
      Reply(response, result->status, result->body);
    };
    server_.set_tcp_nodelay(true);
    server_.Get(".*", forward);
    server_.Post(".*", forward);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~FaultProxy() {
    server_.stop();  // a hanging handler finishes its sleep first
    thread_.join();
  }

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

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
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
  static void Reply(httplib::Response& response, int status, const std::string& body) {
    response.status = status;
    response.set_content(body, "application/json");
  }

  std::vector<std::string> post_encodings_;
  std::atomic<int> upstream_port_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::deque<Fault> faults_;
};

}  // namespace ferry::testing
