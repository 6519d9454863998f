// The outbound webhook against a real ferry-server (--webhook-url) and a
// receiver in the test process: every applied change arrives at least once,
// in per-user version order, with stable idempotency keys; failed deliveries
// are retried; a restarted server resumes at its cursor; instances on one
// PostgreSQL never deliver one user's changes at the same time.
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/postgres_process.h"
#include "support/server_backends.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/test_certificates.h"
#include "support/webhook_receiver.h"

namespace ferry::testing {
namespace {

constexpr const char* kTokens = "token-alice alice\ntoken-bob bob\n";
constexpr const char* kWebhookSecret = "receiver-secret-0123456789";
constexpr const char* kAdminSecret = "backend-secret-0123456789";
constexpr auto kDeliveryTimeout = std::chrono::seconds(30);

std::string PushBody(const std::string& client_id, uint64_t seq, const std::string& key,
                     std::optional<Json> value, Version base = 0) {
  Mutation m;
  m.client_id = client_id;
  m.seq = seq;
  m.op = value ? MutationOp::kPut : MutationOp::kDelete;
  m.document = {"docs", key};
  if (value) m.value = std::move(*value);
  m.base_version = base;
  m.hlc = {1700000000000 + static_cast<int64_t>(seq), 0, client_id};
  return EncodePushRequest({client_id, {m}});
}

// Pushes one mutation as `token`; the version it was applied at (0 if not).
Version Push(int port, const std::string& token, const std::string& body) {
  HttpClient http("127.0.0.1", port);
  auto result =
      http.Post("/v1/push", {{"Authorization", "Bearer " + token}}, body, "application/json");
  EXPECT_TRUE(result && result->status == 200) << (result ? result->body : "no answer");
  if (!result || result->status != 200) return 0;
  auto answer = ParseJson(result->body);
  if (!answer.ok() || !answer->contains("results") || answer->at("results").size() != 1 ||
      answer->at("results")[0].value("status", "") != "applied") {
    ADD_FAILURE() << result->body;
    return 0;
  }
  return answer->at("results")[0].value("version", Version{0});
}

// The versions of `user` in acknowledged deliveries.
std::set<uint64_t> Acknowledged(const std::vector<ReceivedDelivery>& deliveries,
                                const std::string& user) {
  std::set<uint64_t> versions;
  for (const ReceivedDelivery& delivery : deliveries) {
    if (delivery.user != user || delivery.answered != 200) continue;
    for (const ReceivedChange& change : delivery.changes)
      versions.insert(change.version);
  }
  return versions;
}

// Every version of `user` up to `head` is acknowledged (the highest one at
// least: lower ones may have been superseded before delivery).
auto Reached(const std::string& user, uint64_t head) {
  return [user, head](const std::vector<ReceivedDelivery>& deliveries) {
    const std::set<uint64_t> versions = Acknowledged(deliveries, user);
    return !versions.empty() && *versions.rbegin() >= head;
  };
}

// What a receiver should check of every user's deliveries: each request's
// changes ascend; each acknowledged request starts above the previous
// acknowledged one's end (per-user order, no going back); one (user,
// version) always has the same key, "<epoch>:<user>:<version>", and content.
void ExpectOrderedWithStableKeys(const std::vector<ReceivedDelivery>& deliveries) {
  std::map<std::string, uint64_t> acknowledged_through;
  std::map<std::string, ReceivedChange> by_key;
  std::set<std::string> epochs;
  for (const ReceivedDelivery& delivery : deliveries) {
    ASSERT_FALSE(delivery.changes.empty());
    epochs.insert(delivery.epoch);
    uint64_t previous = 0;
    for (const ReceivedChange& change : delivery.changes) {
      EXPECT_GT(change.version, previous) << "versions ascend within a request";
      previous = change.version;
      EXPECT_EQ(change.idempotency_key,
                delivery.epoch + ":" + delivery.user + ":" + std::to_string(change.version));
      auto [seen, first] = by_key.emplace(change.idempotency_key, change);
      if (!first) {
        EXPECT_EQ(seen->second.key, change.key) << change.idempotency_key;
        EXPECT_EQ(seen->second.value, change.value) << change.idempotency_key;
        EXPECT_EQ(seen->second.deleted, change.deleted) << change.idempotency_key;
      }
    }
    EXPECT_EQ(delivery.idempotency_header, delivery.epoch + ":" + delivery.user + ":" +
                                               std::to_string(delivery.changes.front().version) +
                                               "-" +
                                               std::to_string(delivery.changes.back().version));
    if (delivery.answered != 200) continue;
    uint64_t& through = acknowledged_through[delivery.user];
    EXPECT_GT(delivery.changes.front().version, through)
        << "an acknowledged batch of " << delivery.user << " went back";
    through = delivery.changes.back().version;
  }
  EXPECT_EQ(epochs.size(), 1u) << "one database, one epoch";
}

// How many changes a full pull of alice's log holds.
std::size_t ChangesInLog(int port) {
  HttpClient http("127.0.0.1", port);
  auto pulled = http.Get("/v1/pull?limit=1000", {{"Authorization", "Bearer token-alice"}});
  if (!pulled || pulled->status != 200) return 0;
  auto answer = ParseJson(pulled->body);
  return answer.ok() ? answer->value("changes", Json::array()).size() : 0;
}

// With a tombstone horizon, the purge waits for the receiver: a delete it
// has not acknowledged keeps its tombstone, is delivered once the receiver
// is back, and only then goes.
void ExpectThePurgeToWaitForTheReceiver(WebhookReceiver& receiver, std::vector<std::string> flags) {
  receiver.FailAll(true);
  flags.insert(flags.end(), {"--tombstone-horizon", "1s"});
  ServerProcess server(kTokens, flags);
  ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 1, "k", Json{{"n", 1}})), 1u);
  ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 2, "k", std::nullopt, 1)), 2u);
  // Well past the horizon, with a purge round every 100 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_EQ(ChangesInLog(server.port()), 1u) << "purged before the receiver had it";

  receiver.FailAll(false);
  ASSERT_TRUE(receiver.WaitUntil(Reached("alice", 2), kDeliveryTimeout));
  bool delete_delivered = false;
  for (const ReceivedDelivery& delivery : receiver.deliveries()) {
    for (const ReceivedChange& change : delivery.changes) {
      if (delivery.answered == 200 && change.key == "k" && change.version == 2)
        delete_delivered = change.deleted;
    }
  }
  EXPECT_TRUE(delete_delivered);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ChangesInLog(server.port()) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ChangesInLog(server.port()), 0u) << "delivered, the tombstone is purged";
}

// On both backends: each keeps the delivery log and the cursor its own way.
class WebhookTest : public BackendTest {
 protected:
  std::vector<std::string> Flags() {
    std::ofstream(directory_.File("webhook.txt")) << kWebhookSecret << "\n";
    std::ofstream(directory_.File("admin.txt")) << kAdminSecret << "\n";
    return BackendFlags({"--webhook-url", receiver_.url(), "--webhook-token-file",
                         directory_.File("webhook.txt"), "--admin-token-file",
                         directory_.File("admin.txt")});
  }

  TempDir directory_;
  WebhookReceiver receiver_;
};

INSTANTIATE_TEST_SUITE_P(Backends, WebhookTest, kBothBackends, BackendName);

TEST_P(WebhookTest, EveryChangeArrivesInOrderWithStableKeysAndFailuresAreRetried) {
  receiver_.FailNext(3);
  ServerProcess server(kTokens, Flags());
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_EQ(Push(server.port(), "token-alice",
                   PushBody("phone", seq, "k" + std::to_string(seq), Json{{"n", seq}})),
              seq);
  }
  ASSERT_EQ(Push(server.port(), "token-bob", PushBody("tablet", 1, "b", Json{{"n", 1}})), 1u);
  // k1 deleted (it moves to version 6); k2 rewritten (version 7).
  ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 6, "k1", std::nullopt, 1)), 6u);
  ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 7, "k2", Json{{"n", 20}}, 2)), 7u);
  // The app's backend writes too (the admin endpoint): delivered like any change.
  HttpClient http("127.0.0.1", server.port());
  auto admin = http.Post(
      "/v1/admin/users/alice/push", {{"Authorization", std::string("Bearer ") + kAdminSecret}},
      PushBody("backend", 1, "from-backend", Json{{"n", 8}}), "application/json");
  ASSERT_TRUE(admin && admin->status == 200);

  ASSERT_TRUE(receiver_.WaitUntil(Reached("alice", 8), kDeliveryTimeout));
  ASSERT_TRUE(receiver_.WaitUntil(Reached("bob", 1), kDeliveryTimeout));
  const std::vector<ReceivedDelivery> deliveries = receiver_.deliveries();
  ExpectOrderedWithStableKeys(deliveries);

  int failed = 0;
  for (const ReceivedDelivery& delivery : deliveries) {
    if (delivery.answered != 200) ++failed;
    EXPECT_EQ(delivery.authorization, std::string("Bearer ") + kWebhookSecret);
  }
  EXPECT_EQ(failed, 3) << "the three failures were retried";

  // Applying alice's acknowledged changes in order, each at most once per
  // key, gives the server's state: nothing lost.
  std::map<std::string, ReceivedChange> latest;
  std::set<std::string> applied_keys;
  for (const ReceivedDelivery& delivery : deliveries) {
    if (delivery.user != "alice" || delivery.answered != 200) continue;
    for (const ReceivedChange& change : delivery.changes) {
      EXPECT_TRUE(applied_keys.insert(change.idempotency_key).second)
          << "acknowledged twice: " << change.idempotency_key;
      latest[change.key] = change;
    }
  }
  ASSERT_EQ(latest.size(), 6u);
  EXPECT_TRUE(latest.at("k1").deleted);
  EXPECT_EQ(latest.at("k1").version, 6u);
  EXPECT_EQ(latest.at("k2").value, (Json{{"n", 20}}));
  EXPECT_EQ(latest.at("k5").value, (Json{{"n", 5}}));
  EXPECT_EQ(latest.at("from-backend").client_id, "backend")
      << "the backend can recognise its own writes";
  EXPECT_EQ(latest.at("k3").client_id, "phone");
  EXPECT_FALSE(latest.at("k3").hlc.empty());
}

// A failed delivery leaves a line in the log naming the user and why, never
// the receiver's secret.
TEST_P(WebhookTest, FailuresAreLoggedWithoutTheReceiversSecret) {
  receiver_.FailNext(1);
  const std::string log = directory_.File("server.log");
  {
    ServerProcess server(kTokens, Flags(), log);
    ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 1, "k", Json{{"n", 1}})), 1u);
    ASSERT_TRUE(receiver_.WaitUntil(Reached("alice", 1), kDeliveryTimeout));
  }
  std::ifstream file(log);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("webhook for user alice failed (HTTP 500)"), std::string::npos) << text;
  EXPECT_EQ(text.find(kWebhookSecret), std::string::npos) << text;
}

// Backoff is per user: a user whose deliveries keep failing does not hold
// back another's, before or after it.
TEST_P(WebhookTest, OneUsersFailingDeliveriesDoNotHoldBackAnothers) {
  receiver_.FailUser("bob");
  ServerProcess server(kTokens, Flags());
  ASSERT_EQ(Push(server.port(), "token-bob", PushBody("tablet", 1, "b", Json{{"n", 1}})), 1u);
  ASSERT_TRUE(receiver_.WaitUntil(
      [](const std::vector<ReceivedDelivery>& deliveries) { return deliveries.size() >= 2; },
      kDeliveryTimeout))
      << "bob's delivery was not retried";
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(Push(server.port(), "token-alice",
                   PushBody("phone", seq, "k" + std::to_string(seq), Json{{"n", seq}})),
              seq);
    ASSERT_TRUE(receiver_.WaitUntil(Reached("alice", seq), std::chrono::seconds(5)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
  EXPECT_TRUE(Acknowledged(receiver_.deliveries(), "bob").empty());
}

TEST_P(WebhookTest, ARestartedServerResumesFromItsCursorWithoutAGap) {
  ServerProcess server(kTokens, Flags());
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_EQ(Push(server.port(), "token-alice",
                   PushBody("phone", seq, "k" + std::to_string(seq), Json{{"n", seq}})),
              seq);
  }
  ASSERT_TRUE(receiver_.WaitUntil(Reached("alice", 3), kDeliveryTimeout));
  // The receiver has answered; the server records the cursor right after.
  // (Stopped in between, it would send the batch again: at least once.)
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server.Stop();  // SIGTERM: exits 0 (checked by ServerProcess)
  const std::size_t before_restart = receiver_.deliveries().size();

  // The backend is down: changes wait, retried, across another restart.
  receiver_.FailAll(true);
  server.Start();
  for (uint64_t seq = 4; seq <= 6; ++seq) {
    ASSERT_EQ(Push(server.port(), "token-alice",
                   PushBody("phone", seq, "k" + std::to_string(seq), Json{{"n", seq}})),
              seq);
  }
  ASSERT_TRUE(receiver_.WaitUntil(
      [](const std::vector<ReceivedDelivery>& deliveries) {
        return !deliveries.empty() && deliveries.back().answered == 503;
      },
      kDeliveryTimeout));
  server.Stop();  // while deliveries are failing and backing off
  receiver_.FailAll(false);
  server.Start();
  ASSERT_TRUE(receiver_.WaitUntil(Reached("alice", 6), kDeliveryTimeout));

  const std::vector<ReceivedDelivery> deliveries = receiver_.deliveries();
  ExpectOrderedWithStableKeys(deliveries);
  for (std::size_t i = before_restart; i < deliveries.size(); ++i) {
    for (const ReceivedChange& change : deliveries[i].changes) {
      EXPECT_GT(change.version, 3u) << "acknowledged before the restart, sent again";
    }
  }
  EXPECT_EQ(Acknowledged(deliveries, "alice"), (std::set<uint64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_P(WebhookTest, SigtermCutsADeliveryTheReceiverHoldsAndItIsSentAfterARestart) {
  ServerProcess server(kTokens, Flags());
  receiver_.Hang();
  ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 1, "k", Json{{"n", 1}})), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the POST is in flight
  const auto start = std::chrono::steady_clock::now();
  server.SendSignal(SIGTERM);
  const std::optional<int> status = server.WaitForExit(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << "ferry-server did not exit while a delivery hung";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  receiver_.Release();

  server.Start();
  ASSERT_TRUE(receiver_.WaitUntil(Reached("alice", 1), kDeliveryTimeout));
}

// An https receiver is verified: with a certificate the system's store does
// not know, another CA, or a host name the certificate does not name,
// nothing is delivered; with its CA (--webhook-ca-file) it is.
TEST_P(WebhookTest, ThePurgeKeepsTombstonesTheReceiverHasNotAcknowledged) {
  ExpectThePurgeToWaitForTheReceiver(receiver_, BackendFlags({"--webhook-url", receiver_.url()}));
}

TEST(WebhookTls, TheReceiversCertificateIsVerified) {
  TempDir directory;
  const TestCertificates tls = MakeCertificates(directory);
  WebhookReceiver receiver(tls.certificate, tls.key);
  const std::string localhost_url =
      "https://localhost:" + receiver.url().substr(receiver.url().rfind(':') + 1);
  struct Refusal {
    std::string name, url, ca;
  };
  const Refusal refusals[] = {{"the system's CA store", receiver.url(), ""},
                              {"another CA", receiver.url(), tls.other_ca},
                              {"a wrong host name", localhost_url, tls.ca}};
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.name);
    std::vector<std::string> flags = {"--webhook-url", refusal.url};
    if (!refusal.ca.empty()) flags.insert(flags.end(), {"--webhook-ca-file", refusal.ca});
    ServerProcess server(kTokens, flags);
    ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 1, "k", Json{{"n", 1}})), 1u);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // a first attempt and a retry
    EXPECT_TRUE(receiver.deliveries().empty()) << "delivered over an unverified connection";
  }
  ServerProcess server(kTokens, {"--webhook-url", receiver.url(), "--webhook-ca-file", tls.ca});
  ASSERT_EQ(Push(server.port(), "token-alice", PushBody("phone", 1, "k", Json{{"n", 1}})), 1u);
  ASSERT_TRUE(receiver.WaitUntil(Reached("alice", 1), kDeliveryTimeout));
}

// One connection carries the deliveries while the receiver keeps it open;
// when the receiver has closed it between two deliveries, the next goes on
// a new connection at once: no failed delivery, no retry after a backoff.
TEST(WebhookKeepAlive, AConnectionTheReceiverClosedWhileIdleIsReplacedWithoutAFailure) {
  TempDir directory;
  WebhookReceiver receiver;
  const std::string log = directory.File("server.log");
  {
    ServerProcess server(kTokens, {"--webhook-url", receiver.url()}, log);
    const auto deliver = [&](uint64_t seq) {
      ASSERT_EQ(Push(server.port(), "token-alice",
                     PushBody("phone", seq, "k" + std::to_string(seq), Json{{"n", seq}})),
                seq);
      ASSERT_TRUE(receiver.WaitUntil(Reached("alice", seq), kDeliveryTimeout));
    };
    for (uint64_t seq = 1; seq <= 3; ++seq)
      deliver(seq);
    EXPECT_EQ(receiver.connections(), 1) << "the connection was not kept alive";
    receiver.CloseIdleConnections(true);
    for (uint64_t seq = 4; seq <= 6; ++seq)
      deliver(seq);
    // The 4th went on the kept connection; the 5th and 6th each found theirs closed.
    EXPECT_EQ(receiver.connections(), 3);
  }
  const std::vector<ReceivedDelivery> deliveries = receiver.deliveries();
  EXPECT_EQ(deliveries.size(), 6u);
  EXPECT_EQ(Acknowledged(deliveries, "alice"), (std::set<uint64_t>{1, 2, 3, 4, 5, 6}));
  std::ifstream file(log);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("webhook for user alice failed"), std::string::npos) << text;
}

TEST(WebhookPostgres, InstancesOnOneDatabaseDeliverEachUsersChangesOnceAtATimeInOrder) {
  PostgresProcess postgres;
  if (!postgres.unavailable().empty()) GTEST_SKIP() << postgres.unavailable();
  WebhookReceiver receiver;
  receiver.Delay(std::chrono::milliseconds(30));  // deliveries overlap if they can
  const std::vector<std::string> flags = {"--postgres", postgres.url(), "--webhook-url",
                                          receiver.url()};
  ServerProcess a(kTokens, flags);
  ServerProcess b(kTokens, flags);
  constexpr uint64_t kPushes = 30;
  for (uint64_t seq = 1; seq <= kPushes; ++seq) {
    const int port = seq % 2 == 0 ? a.port() : b.port();
    const std::string user = seq % 3 == 0 ? "bob" : "alice";
    ASSERT_NE(Push(port, "token-" + user,
                   PushBody(user + "-phone", seq, "k" + std::to_string(seq), Json{{"n", seq}})),
              0u);
  }
  ASSERT_TRUE(receiver.WaitUntil(Reached("alice", 20), kDeliveryTimeout));
  ASSERT_TRUE(receiver.WaitUntil(Reached("bob", 10), kDeliveryTimeout));
  const std::vector<ReceivedDelivery> deliveries = receiver.deliveries();
  ExpectOrderedWithStableKeys(deliveries);
  for (const ReceivedDelivery& delivery : deliveries) {
    EXPECT_FALSE(delivery.overlapped) << "two deliveries of " << delivery.user << " at once";
  }
  std::set<uint64_t> all_alice;
  for (uint64_t version = 1; version <= 20; ++version)
    all_alice.insert(version);
  EXPECT_EQ(Acknowledged(deliveries, "alice"), all_alice);
}

}  // namespace
}  // namespace ferry::testing
