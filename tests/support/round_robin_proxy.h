// RoundRobinProxy: a load balancer for tests, in front of several
// ferry-server instances on loopback. Test-only.
//
// Each request goes to the next instance in turn. The proxy reads a
// request's head, rewrites it to ask for "Connection: close", connects to the
// next instance that accepts a connection (a dead one is skipped, as a load
// balancer's health check would), sends the head on and then copies bytes
// both ways until either side closes. The server's answer then says
// "Connection: close", so a client that keeps connections alive (libcurl)
// opens a new one for its next request: requests, not connections, are
// spread. Answers are streamed as they arrive, so a /v1/live stream stays
// open through the proxy for as long as its instance holds it; when an
// instance dies, its connections through the proxy are cut.
//
// Threading: the constructor starts an accept thread, which starts a thread
// per connection and joins each once it has ended; the destructor cuts every
// open connection and joins them all. Public methods may be called from any
// thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/socket_io.h"

namespace ferry::testing {

class RoundRobinProxy {
 public:
  explicit RoundRobinProxy(std::vector<int> upstream_ports)
      : upstream_ports_(std::move(upstream_ports)),
        forwarded_(std::make_unique<std::atomic<uint64_t>[]>(upstream_ports_.size())),
        live_streams_(std::make_unique<std::atomic<uint64_t>[]>(upstream_ports_.size())),
        pushes_in_flight_(std::make_unique<std::atomic<int>[]>(upstream_ports_.size())) {
    listener_ = ListenOnLoopback(256, &port_);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~RoundRobinProxy() {
    stopping_ = true;
    acceptor_.join();  // joins every connection thread before it returns
    close(listener_);
  }
  RoundRobinProxy(const RoundRobinProxy&) = delete;
  RoundRobinProxy& operator=(const RoundRobinProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Requests sent to the instance at `index` (in the constructor's order),
  // and how many of them were GET /v1/live.
  uint64_t forwarded(std::size_t index) const { return forwarded_[index].load(); }
  uint64_t live_streams(std::size_t index) const { return live_streams_[index].load(); }
  // POST /v1/push requests sent to that instance whose answer has not ended.
  int pushes_in_flight(std::size_t index) const { return pushes_in_flight_[index].load(); }

 private:
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  static bool StartsWithLower(const std::string& line, const char* prefix) {
    const std::string wanted(prefix);
    if (line.size() < wanted.size()) return false;
    for (std::size_t i = 0; i < wanted.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(line[i])) != wanted[i]) return false;
    return true;
  }

  void Accept() {
    std::list<std::unique_ptr<Connection>> connections;
    const auto reap = [&connections] {
      connections.remove_if([](const std::unique_ptr<Connection>& connection) {
        if (!connection->done) return false;
        connection->thread.join();
        return true;
      });
    };
    while (!stopping_) {
      reap();
      if (!Readable(listener_, 50)) continue;
      const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      auto connection = std::make_unique<Connection>();
      Connection* raw = connection.get();
      connection->thread = std::thread([this, client, raw] {
        Serve(client);
        raw->done = true;
      });
      connections.push_back(std::move(connection));
    }
    for (auto& connection : connections)
      connection->thread.join();
  }

  // Reads the request head from `client` (up to 64 KiB, for up to 10 s):
  // the head rewritten to ask for "Connection: close", then any bytes of the
  // body that arrived with it. nullopt when the client went away first.
  std::optional<std::string> ReadHead(int client) const {
    std::string data;
    char buffer[16384];
    std::size_t head_end = std::string::npos;
    int waited_ms = 0;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (stopping_ || data.size() > 65536 || waited_ms > 10'000) return std::nullopt;
      if (!Readable(client, 100)) {
        waited_ms += 100;
        continue;
      }
      const ssize_t got = recv(client, buffer, sizeof buffer, 0);
      if (got <= 0) return std::nullopt;
      data.append(buffer, static_cast<std::size_t>(got));
    }
    std::string head;
    std::size_t line_start = 0;
    while (line_start < head_end) {
      const std::size_t line_end = data.find("\r\n", line_start);
      const std::string line = data.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      if (StartsWithLower(line, "connection:") || StartsWithLower(line, "keep-alive:")) continue;
      head += line + "\r\n";
    }
    return head + "Connection: close\r\n\r\n" + data.substr(head_end + 4);
  }

  // A connection to the next instance in turn that accepts one (its index),
  // or nullopt when none does.
  std::optional<std::pair<int, std::size_t>> ConnectNext() {
    const std::size_t first = next_.fetch_add(1) % upstream_ports_.size();
    for (std::size_t attempt = 0; attempt < upstream_ports_.size(); ++attempt) {
      const std::size_t index = (first + attempt) % upstream_ports_.size();
      const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(upstream_ports_[index]));
      if (connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        const int on = 1;
        setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        return std::make_pair(upstream, index);
      }
      close(upstream);
    }
    return std::nullopt;
  }

  void Serve(int client) {
    const int on = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    const std::optional<std::string> request = ReadHead(client);
    const auto upstream = request ? ConnectNext() : std::nullopt;
    if (!upstream) {
      if (request) {
        const std::string answer =
            "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        SendAll(client, answer.data(), answer.size());
      }
      close(client);
      return;
    }
    const auto [server, index] = *upstream;
    ++forwarded_[index];
    if (request->rfind("GET /v1/live", 0) == 0) ++live_streams_[index];
    const bool push = request->rfind("POST /v1/push", 0) == 0;
    if (push) ++pushes_in_flight_[index];
    if (SendAll(server, request->data(), request->size())) Pump(client, server);
    if (push) --pushes_in_flight_[index];
    close(server);
    close(client);
  }

  // Copies bytes both ways until either side closes or the proxy stops.
  void Pump(int client, int server) const {
    pollfd entries[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    char buffer[16384];
    while (!stopping_) {
      const int ready = poll(entries, 2, 100);
      if (ready < 0) return;
      for (int i = 0; i < 2; ++i) {
        if (entries[i].revents == 0) continue;
        const ssize_t got = recv(entries[i].fd, buffer, sizeof buffer, 0);
        if (got <= 0) return;
        if (!SendAll(entries[1 - i].fd, buffer, static_cast<std::size_t>(got))) return;
      }
    }
  }

  const std::vector<int> upstream_ports_;
  std::unique_ptr<std::atomic<uint64_t>[]> forwarded_;
  std::unique_ptr<std::atomic<uint64_t>[]> live_streams_;
  std::unique_ptr<std::atomic<int>[]> pushes_in_flight_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stopping_{false};
  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;
};

}  // namespace ferry::testing
