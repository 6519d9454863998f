// ferry-server under clients that hold on to it: many live streams, slow and
// huge request heads, stream caps, idle connections, and a SIGTERM in the
// middle of a push. Raw sockets, since a well-behaved HTTP client cannot send
// what these clients send.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/push_bodies.h"
#include "support/server_backends.h"
#include "support/server_process.h"

namespace ferry::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One TCP connection to the server, written and read as bytes.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { Close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // Whether all of `data` was sent (false once the server closed).
  bool Send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads what arrives within `wait` into received(); false once the server
  // closed (or reset) the connection.
  bool Read(milliseconds wait) {
    pollfd ready{fd_, POLLIN, 0};
    if (poll(&ready, 1, static_cast<int>(wait.count())) <= 0) return !closed_;
    char buffer[65536];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  // Reads until `text` arrived, the connection closed, or `timeout` passed.
  bool ReadUntil(const std::string& text, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (received_.find(text) == std::string::npos && Clock::now() < deadline) {
      if (!Read(milliseconds(50)) && closed_) break;
    }
    return received_.find(text) != std::string::npos;
  }

  // Whether the server closed the connection within `timeout`.
  bool WaitForClose(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_ && Clock::now() < deadline)
      Read(milliseconds(50));
    return closed_;
  }

  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

std::string LiveRequest(const std::string& token) {
  return "GET /v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
         "\r\nAccept: text/event-stream\r\n\r\n";
}

std::string PushBody(const std::string& client_id, uint64_t seq, const std::string& key) {
  return PutBody(client_id, seq, key, Json{{"text", std::string(200, 'x')}});
}

HttpHeaders Auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A request that must answer promptly, and how long it took.
struct Timed {
  int status = -1;
  milliseconds took{0};
};

template <class Request>
Timed Time(Request request) {
  const auto start = Clock::now();
  HttpResult result = request();
  return {result ? result->status : -1,
          std::chrono::duration_cast<milliseconds>(Clock::now() - start)};
}

std::unique_ptr<HttpClient> QuickClient(int port) {
  auto client = std::make_unique<HttpClient>("127.0.0.1", port);
  client->set_connect_timeout(std::chrono::seconds(2));
  client->set_read_timeout(std::chrono::seconds(2));
  return client;
}

// The server's resident memory now (VmRSS) and at its peak (VmHWM), in KiB.
long MemoryKiB(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::string Tokens(int users) {
  std::string tokens;
  for (int i = 0; i < users; ++i)
    tokens += "token-" + std::to_string(i) + " user" + std::to_string(i) + "\n";
  return tokens;
}

// The worker-per-connection server this replaced stopped answering anyone
// once 64 streams were open.
TEST(ServerLimits, HundredLiveStreamsLeaveHealthPushAndPullPrompt) {
  ServerProcess server(Tokens(10));
  std::vector<std::unique_ptr<RawConnection>> streams;
  for (int i = 0; i < 100; ++i) {
    streams.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(streams.back()->connected());
    ASSERT_TRUE(streams.back()->Send(LiveRequest("token-" + std::to_string(i % 10))));
  }
  for (auto& stream : streams)
    ASSERT_TRUE(stream->ReadUntil("event: hello", milliseconds(5000))) << stream->received();
  auto http = QuickClient(server.port());
  const Timed health = Time([&] { return http->Get("/v1/health"); });
  const Timed push = Time([&] {
    return http->Post("/v1/push", Auth("token-3"), PushBody("c1", 1, "k"), "application/json");
  });
  const Timed pull = Time([&] { return http->Get("/v1/pull", Auth("token-3")); });
  for (const Timed& answer : {health, push, pull}) {
    EXPECT_EQ(answer.status, 200);
    EXPECT_LT(answer.took.count(), 1000);
  }
  // The push poked every stream of its user, and only those.
  for (int i = 3; i < 100; i += 10)
    EXPECT_TRUE(streams[i]->ReadUntil("event: poke", milliseconds(2000))) << i;
  EXPECT_EQ(streams[4]->received().find("event: poke"), std::string::npos);
}

// Clients that send a header byte now and then: each holds a socket until
// the head deadline, then gets 408, and nobody else waits for them.
TEST(ServerLimits, SlowHeaderClientsGet408AndStallNoOne) {
  ServerProcess server("token-alice alice\n", {"--head-timeout", "1"});
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 70; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  }
  auto http = QuickClient(server.port());
  const auto start = Clock::now();
  Timed health;
  while (Clock::now() - start < milliseconds(6000)) {
    for (auto& connection : slow) {
      connection->Send("x");  // fails once the server closed it: fine
      connection->Read(milliseconds(0));
    }
    if (health.status < 0) health = Time([&] { return http->Get("/v1/health"); });
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(health.status, 200);
  EXPECT_LT(health.took.count(), 1000);
  for (auto& connection : slow) {
    EXPECT_TRUE(connection->ReadUntil("HTTP/1.1 408", milliseconds(1000)))
        << connection->received();
    EXPECT_TRUE(connection->WaitForClose(milliseconds(3000)));
  }
}

// 200 MiB of headers: refused once past the head limit, so the server never
// holds more than that of them.
TEST(ServerLimits, HugeHeadsGet431AndTheServerMemoryStaysBounded) {
  ServerProcess server("token-alice alice\n");
  const long before = MemoryKiB(server.pid(), "VmHWM");
  ASSERT_GT(before, 0);
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.Send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const std::string line = "X-Filler: " + std::string(1000, 'f') + "\r\n";
  std::string block;
  while (block.size() < (1u << 20))
    block += line;
  std::size_t sent = 0;
  while (sent < (200u << 20) && connection.received().empty()) {
    if (!connection.Send(block)) break;  // the server stopped reading
    sent += block.size();
    connection.Read(milliseconds(0));
  }
  EXPECT_TRUE(connection.ReadUntil("\r\n\r\n", milliseconds(3000)));
  EXPECT_EQ(connection.received().rfind("HTTP/1.1 431", 0), 0u) << connection.received();
  EXPECT_LT(sent, 100u << 20) << "the server read on past its head limit";
  const long grown = MemoryKiB(server.pid(), "VmHWM") - before;
  EXPECT_LT(grown, 16 * 1024) << "+" << grown << " KiB";
  // Too many fields, each small, are refused the same way.
  RawConnection many(server.port());
  std::string head = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 150; ++i)
    head += "X-Field-" + std::to_string(i) + ": 1\r\n";
  ASSERT_TRUE(many.Send(head + "\r\n"));
  EXPECT_TRUE(many.ReadUntil("\r\n\r\n", milliseconds(3000)));
  EXPECT_EQ(many.received().rfind("HTTP/1.1 431", 0), 0u) << many.received();
  const Timed health = Time([&] { return QuickClient(server.port())->Get("/v1/health"); });
  EXPECT_EQ(health.status, 200);
}

TEST(ServerLimits, LiveStreamCapsAnswer429WithRetryAfter) {
  ServerProcess server("token-alice alice\ntoken-bob bob\ntoken-carol carol\n",
                       {"--max-live-per-user", "2", "--max-live-streams", "3"});
  const auto open = [&](const std::string& token) {
    auto stream = std::make_unique<RawConnection>(server.port());
    EXPECT_TRUE(stream->Send(LiveRequest(token)));
    stream->ReadUntil("\r\n\r\n", milliseconds(3000));
    return stream;
  };
  const auto is_refused = [](const RawConnection& stream) {
    return stream.received().rfind("HTTP/1.1 429", 0) == 0 &&
           stream.received().find("\r\nRetry-After: ") != std::string::npos;
  };
  auto alice_1 = open("token-alice");
  auto alice_2 = open("token-alice");
  EXPECT_TRUE(alice_1->ReadUntil("event: hello", milliseconds(3000)));
  EXPECT_TRUE(alice_2->ReadUntil("event: hello", milliseconds(3000)));
  auto alice_3 = open("token-alice");  // over the user's cap
  EXPECT_TRUE(is_refused(*alice_3)) << alice_3->received();
  auto bob = open("token-bob");
  EXPECT_TRUE(bob->ReadUntil("event: hello", milliseconds(3000)));
  auto carol = open("token-carol");  // over the server's cap
  EXPECT_TRUE(is_refused(*carol)) << carol->received();
  // A closed stream frees its place.
  alice_1->Close();
  bool reopened = false;
  for (int attempt = 0; attempt < 20 && !reopened; ++attempt) {
    auto again = open("token-alice");
    reopened = again->ReadUntil("event: hello", milliseconds(500));
    if (!reopened) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(reopened);
  EXPECT_EQ(QuickClient(server.port())->Get("/v1/health")->status, 200);
}

TEST(ServerLimits, IdleKeptAliveConnectionsAreClosed) {
  ServerProcess server("token-alice alice\n", {"--idle-timeout", "1"});
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.Send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(connection.ReadUntil("{\"status\":\"ok\"}", milliseconds(2000)));
  const auto start = Clock::now();
  EXPECT_TRUE(connection.WaitForClose(milliseconds(4000)));
  EXPECT_GE(Clock::now() - start, milliseconds(500));
}

// SIGTERM: no new connections, the push being received is applied and
// answered, live streams end, idle connections and half-sent heads are
// closed rather than waited for, and the process exits 0 promptly.
// On both backends: the push is applied while the server winds down, and
// PostgreSQL's connections must outlive it.
class ServerShutdownTest : public BackendTest {};

INSTANTIATE_TEST_SUITE_P(Backends, ServerShutdownTest, kBothBackends, BackendName);

TEST_P(ServerShutdownTest, SigtermLetsAnInFlightPushFinishAndExitsZero) {
  ServerProcess server("token-alice alice\n", BackendFlags());
  RawConnection live(server.port());
  ASSERT_TRUE(live.Send(LiveRequest("token-alice")));
  ASSERT_TRUE(live.ReadUntil("event: hello", milliseconds(3000)));
  RawConnection idle(server.port());  // kept alive after one request
  ASSERT_TRUE(idle.Send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(idle.ReadUntil("{\"status\":\"ok\"}", milliseconds(2000)));
  RawConnection slow(server.port());  // sends its head a byte at a time
  ASSERT_TRUE(slow.Send("GET /v1/health HTTP/1.1\r\nX-Slow: "));
  const std::string body = PushBody("c1", 1, "during-shutdown");
  RawConnection push(server.port());
  ASSERT_TRUE(
      push.Send("POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Bearer token-alice\r\nContent-Type: application/json\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 50)));
  std::this_thread::sleep_for(milliseconds(200));  // the head is in
  server.SendSignal(SIGTERM);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(live.WaitForClose(milliseconds(3000))) << "the live stream stayed open";
  RawConnection late(server.port());
  EXPECT_FALSE(late.connected()) << "accepted a connection after SIGTERM";
  ASSERT_TRUE(push.Send(body.substr(50)));
  EXPECT_TRUE(push.ReadUntil("\"applied\"", milliseconds(3000))) << push.received();
  EXPECT_EQ(push.received().rfind("HTTP/1.1 200", 0), 0u) << push.received();
  std::optional<int> status;
  for (int i = 0; i < 30 && !status; ++i) {
    slow.Send("x");  // a slow client must not hold the server up
    status = server.WaitForExit(milliseconds(100));
  }
  ASSERT_TRUE(status) << "still running 3 s after its last request";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_TRUE(idle.WaitForClose(milliseconds(100)));
}

}  // namespace
}  // namespace ferry::testing
