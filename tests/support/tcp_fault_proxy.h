// TcpFaultProxy: a byte-level proxy between Ferry clients and ferry-server on
// loopback that breaks connections the way real networks do, for soak tests.
// Test-only.
//
// It reads one HTTP request per client connection, forwards it upstream with
// "Connection: close" (so the server's answer ends at EOF and the client opens
// a new connection for its next request), and then, by a seeded random choice,
// delivers the answer intact or with one fault:
//
//   reset        the client's connection is reset (RST) before anything is sent on
//   answer_lost  the request reaches the server (which applies it); the client's
//                connection is reset instead of the answer
//   stall        the answer is held for up to `max_stall_ms` (which may outlast the
//                client's request timeout)
//   slow_body    the answer dribbles out in small pieces
//   truncated    only a prefix of the answer's bytes is sent, then the connection closes
//   garbage      a run of the answer's bytes is overwritten with control bytes (never
//                valid JSON, and caught by gzip's CRC inside compressed bodies)
//   duplicate    the request is sent to the server twice; the client gets the
//                first or the second answer
//   burst_5xx    this and the next few connections get 503 without reaching the server
//   burst_429    the same with 429 and Retry-After: 1
//
// Live streams are not supported (they never end); soak clients turn them off.
//
// Threading: the constructor starts an accept thread and a pool of workers; all
// public methods may be called from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/socket_io.h"

namespace ferry::testing {

class TcpFaultProxy {
 public:
  enum class Fault {
    kNone,
    kReset,
    kAnswerLost,
    kStall,
    kSlowBody,
    kTruncated,
    kGarbage,
    kDuplicate,
    kBurst5xx,
    kBurst429,
  };
  static constexpr std::array kAllFaults = {
      Fault::kReset,   Fault::kAnswerLost, Fault::kStall,    Fault::kSlowBody, Fault::kTruncated,
      Fault::kGarbage, Fault::kDuplicate,  Fault::kBurst5xx, Fault::kBurst429};

  static const char* Name(Fault fault) {
    switch (fault) {
      case Fault::kNone:
        return "none";
      case Fault::kReset:
        return "reset";
      case Fault::kAnswerLost:
        return "answer_lost";
      case Fault::kStall:
        return "stall";
      case Fault::kSlowBody:
        return "slow_body";
      case Fault::kTruncated:
        return "truncated";
      case Fault::kGarbage:
        return "garbage";
      case Fault::kDuplicate:
        return "duplicate";
      case Fault::kBurst5xx:
        return "burst_5xx";
      case Fault::kBurst429:
        return "burst_429";
    }
    return "?";
  }

  struct Options {
    uint64_t seed = 1;
    double fault_rate = 0.3;  // the share of connections that get a fault
    int max_stall_ms = 4000;
    int workers = 12;  // connections handled at once (a stall holds one)
    // A slow link (with fault_rate 0, a slow proxy and nothing else): each
    // request is held delay_ms plus delay_per_kib_ms for each KiB it carries
    // before it goes on to the server.
    int delay_ms = 0;
    int delay_per_kib_ms = 0;
    bool record_requests = false;  // keep each request for requests()
  };

  TcpFaultProxy(int upstream_port, Options options)
      : upstream_port_(upstream_port), options_(options), random_(options.seed) {
    listener_ = ListenOnLoopback(128, &port_);
    for (int i = 0; i < options_.workers; ++i)
      workers_.emplace_back([this] { Work(); });
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~TcpFaultProxy() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    close(listener_);
    queue_changed_.notify_all();
    for (auto& worker : workers_)
      worker.join();
    for (int fd : queue_)
      close(fd);
  }
  TcpFaultProxy(const TcpFaultProxy&) = delete;
  TcpFaultProxy& operator=(const TcpFaultProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // 0 turns faults off (for the final drain of a soak).
  void set_fault_rate(double rate) {
    std::lock_guard lock(mutex_);
    options_.fault_rate = rate;
    burst_left_ = 0;
  }

  // How many connections got each fault (kNone: delivered intact).
  std::map<Fault, uint64_t> counts() {
    std::lock_guard lock(mutex_);
    return counts_;
  }
  // With record_requests: every request so far, head and body, in arrival order.
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void set_delay(int delay_ms, int delay_per_kib_ms) {
    std::lock_guard lock(mutex_);
    options_.delay_ms = delay_ms;
    options_.delay_per_kib_ms = delay_per_kib_ms;
  }

  uint64_t faults_injected() {
    uint64_t total = 0;
    for (const auto& [fault, count] : counts())
      if (fault != Fault::kNone) total += count;
    return total;
  }

 private:
  void Accept() {
    while (!stopping_) {
      const int client = accept(listener_, nullptr, nullptr);
      if (client < 0) continue;  // shut down, or a transient error
      const int on = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      std::lock_guard lock(mutex_);
      queue_.push_back(client);
      queue_changed_.notify_one();
    }
  }

  void Work() {
    while (true) {
      int client = -1;
      {
        std::unique_lock lock(mutex_);
        queue_changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        client = queue_.front();
        queue_.pop_front();
      }
      Serve(client);
    }
  }

  // Closes with RST instead of FIN: what a crashed peer or a middlebox does.
  static void Reset(int fd) {
    linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(fd);
  }

  static std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
  }

  // One request: the head (rewritten to ask for "Connection: close") and its
  // Content-Length body. nullopt when the client went away or sent nonsense.
  static std::optional<std::string> ReadRequest(int fd) {
    std::string data;
    char buffer[16384];
    std::size_t head_end = std::string::npos;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (data.size() > (1u << 20) || !Readable(fd, 10'000)) return std::nullopt;
      const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) return std::nullopt;
      data.append(buffer, static_cast<std::size_t>(got));
    }
    std::string head;
    std::size_t content_length = 0;
    std::size_t line_start = 0;
    while (line_start < head_end) {
      std::size_t line_end = data.find("\r\n", line_start);
      std::string line = data.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      const std::string lower = Lower(line);
      if (lower.rfind("connection:", 0) == 0 || lower.rfind("keep-alive:", 0) == 0) continue;
      if (lower.rfind("content-length:", 0) == 0)
        content_length = std::strtoull(line.c_str() + 15, nullptr, 10);
      head += line + "\r\n";
    }
    head += "Connection: close\r\n\r\n";
    std::string body = data.substr(head_end + 4);
    while (body.size() < content_length) {
      if (!Readable(fd, 10'000)) return std::nullopt;
      const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) return std::nullopt;
      body.append(buffer, static_cast<std::size_t>(got));
    }
    return head + body;
  }

  // Sends `request` to ferry-server on a new connection and reads its whole
  // answer (to EOF). nullopt when the server is unreachable.
  std::optional<std::string> Forward(const std::string& request) const {
    const int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    std::optional<std::string> answer;
    if (connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        SendAll(upstream, request.data(), request.size())) {
      answer.emplace();
      char buffer[16384];
      while (Readable(upstream, 35'000)) {
        const ssize_t got = recv(upstream, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        answer->append(buffer, static_cast<std::size_t>(got));
      }
    }
    close(upstream);
    return answer;
  }

  static std::string Canned(int status, const char* reason, const char* extra_header) {
    const std::string body =
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"injected by the proxy\"}}";
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n" + extra_header +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }

  // Picks this connection's fault and the random numbers it needs, under the lock.
  struct Plan {
    Fault fault = Fault::kNone;
    uint64_t a = 0, b = 0;
  };
  Plan Choose() {
    std::lock_guard lock(mutex_);
    Plan plan;
    plan.a = random_();
    plan.b = random_();
    if (burst_left_ > 0) {
      --burst_left_;
      plan.fault = burst_fault_;
    } else if (std::uniform_real_distribution<double>(0, 1)(random_) < options_.fault_rate) {
      plan.fault = kAllFaults[random_() % kAllFaults.size()];
      if (plan.fault == Fault::kBurst5xx || plan.fault == Fault::kBurst429) {
        burst_fault_ = plan.fault;
        burst_left_ = static_cast<int>(random_() % 5);  // this one and up to 4 more
      }
    }
    ++counts_[plan.fault];
    return plan;
  }

  void Serve(int client) {
    std::optional<std::string> request = ReadRequest(client);
    if (!request) {
      close(client);
      return;
    }
    const Plan plan = Choose();
    int delay_ms = 0;
    {
      std::lock_guard lock(mutex_);
      if (options_.record_requests) requests_.push_back(*request);
      delay_ms =
          options_.delay_ms + static_cast<int>(request->size() / 1024) * options_.delay_per_kib_ms;
    }
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    switch (plan.fault) {
      case Fault::kReset:
        Reset(client);
        return;
      case Fault::kBurst5xx: {
        const std::string answer = Canned(503, "Service Unavailable", "");
        SendAll(client, answer.data(), answer.size());
        close(client);
        return;
      }
      case Fault::kBurst429: {
        const std::string answer = Canned(429, "Too Many Requests", "Retry-After: 1\r\n");
        SendAll(client, answer.data(), answer.size());
        close(client);
        return;
      }
      default:
        break;
    }
    std::optional<std::string> answer = Forward(*request);
    if (answer && plan.fault == Fault::kDuplicate) {
      std::optional<std::string> again = Forward(*request);
      if (again && plan.a % 2 == 0) answer = std::move(again);
    }
    if (!answer || answer->empty() || plan.fault == Fault::kAnswerLost) {
      Reset(client);
      return;
    }
    switch (plan.fault) {
      case Fault::kStall:
        std::this_thread::sleep_for(
            std::chrono::milliseconds(plan.a % static_cast<uint64_t>(options_.max_stall_ms + 1)));
        break;
      case Fault::kTruncated:
        answer->resize(plan.a % answer->size());
        break;
      case Fault::kGarbage: {
        const std::size_t start = plan.a % answer->size();
        const std::size_t length = std::min<std::size_t>(1 + plan.b % 64, answer->size() - start);
        for (std::size_t i = 0; i < length; ++i)
          (*answer)[start + i] = static_cast<char>((plan.b >> (i % 56)) % 9);  // 0x00..0x08
        break;
      }
      default:
        break;
    }
    if (plan.fault == Fault::kSlowBody) {
      for (std::size_t at = 0; at < answer->size(); at += 97) {
        if (!SendAll(client, answer->data() + at, std::min<std::size_t>(97, answer->size() - at)))
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } else {
      SendAll(client, answer->data(), answer->size());
    }
    close(client);
  }

  const int upstream_port_;
  Options options_;
  std::mt19937_64 random_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable queue_changed_;
  std::deque<int> queue_;
  std::map<Fault, uint64_t> counts_;
  Fault burst_fault_ = Fault::kNone;
  int burst_left_ = 0;
  std::vector<std::string> requests_;
};

}  // namespace ferry::testing
