// Several ferry-server instances on one PostgreSQL (started by the test),
// with real clients: some talk to one instance each, the rest through a
// round-robin proxy that spreads their requests over every instance. Clients
// converge, a poke crosses instances, and an instance SIGKILLed while
// clients push loses and doubles nothing.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/e2e_helpers.h"
#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/postgres_process.h"
#include "support/round_robin_proxy.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

// One user per test, so the tests share one PostgreSQL and stay apart.
constexpr const char* kTokens = "token-alice alice\ntoken-bob bob\ntoken-carol carol\n";

// Key "<client>-<i>" with i zero-padded, so a scan lists a client's writes in order.
std::string WriteKey(int client, int i) {
  char key[32];
  std::snprintf(key, sizeof key, "%d-%05d", client, i);
  return key;
}

// /v1/stats of `token`'s user on the instance at `port` (an empty object if
// it does not answer).
Json Stats(int port, const std::string& token) {
  HttpClient http("127.0.0.1", port);
  auto stats = http.Get("/v1/stats", {{"Authorization", "Bearer " + token}});
  auto json = ParseJson(stats && stats->status == 200 ? stats->body : "{}");
  return json.ok() ? *json : Json::object();
}

// Waits up to `timeout` for `ready`, checking every 20 ms.
template <typename Predicate>
bool WaitFor(Predicate ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class MultiInstanceTest : public ::testing::Test {
 protected:
  // One PostgreSQL for the suite: initdb costs seconds.
  static void SetUpTestSuite() { postgres_ = new PostgresProcess(); }
  static void TearDownTestSuite() {
    delete postgres_;
    postgres_ = nullptr;
  }
  void SetUp() override {
    if (!postgres_->unavailable().empty()) GTEST_SKIP() << postgres_->unavailable();
  }

  void StartInstances(int count) {
    for (int i = 0; i < count; ++i) {
      instances_.push_back(std::make_unique<ServerProcess>(
          kTokens, std::vector<std::string>{"--postgres", postgres_->url()}));
      ports_.push_back(instances_.back()->port());
    }
    proxy_ = std::make_unique<RoundRobinProxy>(ports_);
  }

  std::unique_ptr<Client> Open(const std::string& endpoint, const std::string& name,
                               const std::string& token,
                               const std::function<void(ClientOptions&)>& adjust = {}) {
    ClientOptions options = TestClientOptions(endpoint, dir_.File(name + ".db"), token);
    if (adjust) adjust(options);
    return OpenClient(std::move(options));
  }

  static PostgresProcess* postgres_;
  TempDir dir_;
  std::vector<std::unique_ptr<ServerProcess>> instances_;
  std::vector<int> ports_;
  std::unique_ptr<RoundRobinProxy> proxy_;  // declared last: stopped before the instances
};

PostgresProcess* MultiInstanceTest::postgres_ = nullptr;

TEST_F(MultiInstanceTest, ClientsSpreadAcrossInstancesConvergeToTheSameDocuments) {
  constexpr int kInstances = 3;
  constexpr int kWritesPerClient = 20;
  StartInstances(kInstances);
  // One client on each instance, two through the proxy (their requests
  // land on every instance in turn).
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kInstances; ++i)
    clients.push_back(Open(instances_[i]->endpoint(), "direct" + std::to_string(i), "token-alice"));
  for (int i = 0; i < 2; ++i)
    clients.push_back(Open(proxy_->endpoint(), "proxied" + std::to_string(i), "token-alice"));
  for (const auto& client : clients)
    ASSERT_NE(client, nullptr);

  // Each writes its own documents and one document they all write.
  for (std::size_t c = 0; c < clients.size(); ++c) {
    for (int i = 0; i < kWritesPerClient; ++i)
      ASSERT_TRUE(clients[c]->Put("docs", WriteKey(static_cast<int>(c), i), Json{{"i", i}}).ok());
    ASSERT_TRUE(clients[c]->Put("docs", "shared", Json{{"by", c}}).ok());
  }
  // Twice round: the second pass pulls what the others pushed in the first.
  for (int pass = 0; pass < 2; ++pass)
    for (auto& client : clients)
      SyncUntilComplete(*client);

  // Every instance serves the same documents (one database, one epoch).
  const ServerView view = ReadServer(ports_[0]);
  EXPECT_EQ(view.documents.size(), clients.size() * kWritesPerClient + 1);
  for (int i = 1; i < kInstances; ++i) {
    const ServerView other = ReadServer(ports_[i]);
    EXPECT_EQ(other.head, view.head) << "instance " << i;
    ASSERT_EQ(other.documents.size(), view.documents.size()) << "instance " << i;
    for (const auto& [id, document] : view.documents)
      EXPECT_EQ(other.documents.at(id).state.value, document.state.value) << id.second;
  }
  // Every client holds exactly the server's documents.
  for (std::size_t c = 0; c < clients.size(); ++c) {
    EXPECT_EQ(clients[c]->status().pending, 0u) << "client " << c;
    auto scan = clients[c]->Scan("docs");
    ASSERT_TRUE(scan.ok());
    ASSERT_EQ(scan->size(), view.documents.size()) << "client " << c;
    for (const auto& [key, value] : *scan)
      EXPECT_EQ(value, view.documents.at({"docs", key}).state.value)
          << "client " << c << " " << key;
  }
  // Each applied mutation was applied on exactly one instance: the
  // instances' counts add up to the user's head version.
  uint64_t applied = 0;
  for (int i = 0; i < kInstances; ++i) {
    const Json stats = Stats(ports_[i], "token-alice");
    applied += stats.value("mutationsApplied", uint64_t{0});
    EXPECT_GT(stats.value("mutationsApplied", uint64_t{0}), 0u) << "instance " << i << " idle";
    EXPECT_GT(proxy_->forwarded(i), 0u) << "the proxy never reached instance " << i;
  }
  EXPECT_EQ(applied, view.head);
}

TEST_F(MultiInstanceTest, AWriteThroughOneInstanceWakesLiveStreamsOnTheOthers) {
  StartInstances(3);
  auto writer = Open(instances_[0]->endpoint(), "writer", "token-bob");
  // Streaming from another instance; its periodic sync is a minute away, so
  // only a poke that crossed instances can bring a write in seconds.
  const auto listening = [](ClientOptions& options) {
    options.engine.live_updates = true;
    options.engine.live_retry_max_ms = 300;
    options.engine.interval_ms = 60'000;
  };
  auto direct = Open(instances_[1]->endpoint(), "direct", "token-bob", listening);
  auto proxied = Open(proxy_->endpoint(), "proxied", "token-bob", listening);
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(direct, nullptr);
  ASSERT_NE(proxied, nullptr);
  // Both streams are open: one on instance 1, one wherever the proxy sent it.
  const auto streams = [this] {
    int64_t open = 0;
    for (int port : ports_)
      open += Stats(port, "token-bob").value("liveListeners", int64_t{0});
    return open;
  };
  ASSERT_TRUE(WaitFor([&] { return streams() >= 2; }, std::chrono::seconds(10)));
  ASSERT_GE(Stats(ports_[1], "token-bob").value("liveListeners", 0), 1);

  for (int round = 0; round < 3; ++round) {
    const std::string key = "poke" + std::to_string(round);
    RemoteChangeWatch on_direct(*direct, key);
    RemoteChangeWatch on_proxied(*proxied, key);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(writer->Put("docs", key, round).ok());
    ASSERT_EQ(writer->SyncNow()->outcome, RunOutcome::kCompleted);
    ASSERT_TRUE(on_direct.Wait(std::chrono::seconds(10))) << key << " never reached instance 1";
    const auto crossed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(on_proxied.Wait(std::chrono::seconds(10))) << key << " never reached the proxy";
    EXPECT_LT(crossed, std::chrono::seconds(5)) << "a poke should take well under the interval";
    EXPECT_EQ(*direct->Get("docs", key), std::optional<Json>(round));
    EXPECT_EQ(*proxied->Get("docs", key), std::optional<Json>(round));
    std::printf(
        "[figures] poke across instances, round %d: %lld ms from push to the other "
        "instance's client holding the write\n",
        round,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(crossed).count()));
  }
}

TEST_F(MultiInstanceTest, AnInstanceKilledDuringPushesLosesAndDoublesNothing) {
  constexpr int kClients = 4;
  constexpr int kWritesPerClient = 150;
  StartInstances(3);
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(Open(proxy_->endpoint(), "pusher" + std::to_string(c), "token-carol",
                           [](ClientOptions& options) {
                             options.engine.sync_on_local_write = true;
                             options.engine.local_write_debounce_ms = 20;
                             options.engine.batch.max_count = 10;  // many pushes
                             options.engine.request_timeout_ms = 3'000;
                             options.engine.backoff_max_ms = 300;
                           }));
    ASSERT_NE(clients.back(), nullptr);
    clients.back()->StartBackgroundSync(200);  // pulls the others' writes too
  }
  std::atomic<int> write_errors{0};
  std::vector<std::thread> writers;
  for (int c = 0; c < kClients; ++c) {
    writers.emplace_back([&, c] {
      for (int i = 0; i < kWritesPerClient; ++i) {
        if (!clients[c]->Put("docs", WriteKey(c, i), Json{{"c", c}, {"i", i}}).ok()) ++write_errors;
        if (i % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
    });
  }
  // Once instance 1 has applied pushes, it dies (SIGKILL) while a push is
  // on it and stays dead: that push loses its answer or its transaction,
  // and the clients retry through the proxy, which now skips it.
  const bool pushed_through_victim =
      WaitFor([&] { return Stats(ports_[1], "token-carol").value("mutationsApplied", 0) >= 10; },
              std::chrono::seconds(20));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (proxy_->pushes_in_flight(1) == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const int in_flight_at_kill = proxy_->pushes_in_flight(1);
  uint64_t pending_at_kill = 0;
  for (auto& client : clients)
    pending_at_kill += client->status().pending;
  instances_[1]->Kill();
  const uint64_t forwarded_before_kill = proxy_->forwarded(1);
  for (auto& writer : writers)
    writer.join();
  ASSERT_TRUE(pushed_through_victim) << "instance 1 never applied a push before it was killed";
  ASSERT_EQ(write_errors.load(), 0);
  EXPECT_GT(pending_at_kill, 0u) << "every write was pushed before the kill: it proves little";
  EXPECT_GT(in_flight_at_kill, 0) << "no push was on the killed instance when it died";
  const auto all_pushed = [&] {
    for (auto& client : clients)
      if (client->status().pending > 0) return false;
    return true;
  };
  EXPECT_TRUE(WaitFor(all_pushed, std::chrono::seconds(30)));
  for (auto& client : clients)
    client->StopBackgroundSync();
  for (int pass = 0; pass < 2; ++pass)
    for (auto& client : clients)
      SyncUntilComplete(*client);

  // Every acknowledged write is on the server exactly once: one document
  // each, with its value, and one version each (a second application would
  // have taken a version of its own).
  const ServerView view = ReadServer(ports_[0], "token-carol");
  const std::size_t total = static_cast<std::size_t>(kClients) * kWritesPerClient;
  EXPECT_EQ(view.documents.size(), total);
  EXPECT_EQ(view.head, static_cast<Version>(total)) << "a write was applied twice (or lost)";
  for (int c = 0; c < kClients; ++c) {
    Version previous = 0;
    for (int i = 0; i < kWritesPerClient; ++i) {
      auto found = view.documents.find({"docs", WriteKey(c, i)});
      ASSERT_NE(found, view.documents.end()) << "lost " << WriteKey(c, i);
      EXPECT_EQ(found->second.state.value, (Json{{"c", c}, {"i", i}}));
      EXPECT_GT(found->second.version, previous) << WriteKey(c, i) << " applied out of order";
      previous = found->second.version;
    }
  }
  // The survivors serve the same, and every client converged to it.
  EXPECT_EQ(ReadServer(ports_[2], "token-carol").head, view.head);
  for (auto& client : clients) {
    EXPECT_EQ(client->status().pending, 0u);
    EXPECT_EQ(client->status().failed, 0u);
    auto scan = client->Scan("docs");
    ASSERT_TRUE(scan.ok());
    EXPECT_EQ(scan->size(), total);
  }
  std::printf(
      "[figures] instance kill: %d clients, %zu writes checked, %llu pending and %d "
      "pushes on the killed instance at the kill; the proxy sent %llu requests to the "
      "killed instance, %llu and %llu to the others\n",
      kClients, total, static_cast<unsigned long long>(pending_at_kill), in_flight_at_kill,
      static_cast<unsigned long long>(forwarded_before_kill),
      static_cast<unsigned long long>(proxy_->forwarded(0)),
      static_cast<unsigned long long>(proxy_->forwarded(2)));
}

}  // namespace
}  // namespace ferry::testing
