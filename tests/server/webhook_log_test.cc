// The outbound webhook's storage (server/src/webhook_log.h) on both
// backends: which users are behind, a claim's reads in version order over
// the compacted log, a cursor that moves only on Advance and survives a
// reopening, and, on PostgreSQL, one claim per user across instances.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ferry/protocol.h"
#include "support/postgres_process.h"
#include "support/push_bodies.h"
#include "support/temp_dir.h"
#include "sync_service.h"

namespace ferry::server {
namespace {

std::string PushBody(const std::string& client_id, uint64_t seq, const std::string& key, int n,
                     Version base = 0) {
  return testing::PutBody(client_id, seq, key, Json{{"n", n}}, base);
}

std::vector<Version> Versions(const std::vector<PendingChange>& changes) {
  std::vector<Version> versions;
  for (const PendingChange& change : changes)
    versions.push_back(change.document.version);
  return versions;
}

// A backend to open services on, again and again (the same database).
class DeliveryLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      postgres_ = std::make_unique<testing::PostgresProcess>();
      if (!postgres_->unavailable().empty()) GTEST_SKIP() << postgres_->unavailable();
    }
    service_ = Open();
  }
  std::unique_ptr<SyncService> Open() {
    StorageSettings settings;
    if (postgres_) {
      settings.postgres_url = postgres_->url();
    } else {
      settings.sqlite_path = directory_.File("server.db");
    }
    auto service = OpenSyncService(settings);
    EXPECT_TRUE(service.ok()) << service.status().ToString();
    return service.ok() ? std::move(*service) : nullptr;
  }
  void Push(const std::string& user, const std::string& client, uint64_t seq,
            const std::string& key, int n, Version base = 0) {
    const ServerHttpResponse answer =
        service_->Handle(user, "POST", "/v1/push", PushBody(client, seq, key, n, base));
    ASSERT_EQ(answer.status, 200) << answer.body;
    ASSERT_TRUE(answer.changed) << answer.body;
  }

  testing::TempDir directory_;
  std::unique_ptr<testing::PostgresProcess> postgres_;
  std::unique_ptr<SyncService> service_;
};

TEST_P(DeliveryLogTest, UsersBehindAndTheirChangesInVersionOrderUntilAcknowledged) {
  for (uint64_t seq = 1; seq <= 3; ++seq)
    Push("alice", "phone", seq, "k" + std::to_string(seq), static_cast<int>(seq));
  Push("bob", "tablet", 1, "b", 1);
  std::unique_ptr<DeliveryLog> log = service_->OpenDeliveryLog();
  EXPECT_EQ(*log->UsersBehind("", 10), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(*log->UsersBehind("", 1), (std::vector<std::string>{"alice"}));
  EXPECT_EQ(*log->UsersBehind("alice", 10), (std::vector<std::string>{"bob"}));
  {
    auto claim = log->Claim("alice");
    ASSERT_TRUE(claim.ok() && *claim) << claim.status().ToString();
    EXPECT_EQ((*claim)->cursor(), 0u);
    auto changes = (*claim)->Read(2);
    ASSERT_TRUE(changes.ok());
    EXPECT_EQ(Versions(*changes), (std::vector<Version>{1, 2}));
    EXPECT_EQ((*changes)[0].id.key, "k1");
    EXPECT_EQ((*changes)[0].document.value_json, "{\"n\":1}");
    EXPECT_EQ((*changes)[0].document.writer, "phone");
    ASSERT_TRUE((*claim)->Advance(2).ok());
  }
  {
    // A claim that ends without Advance (the receiver failed) moves nothing.
    auto claim = log->Claim("alice");
    ASSERT_TRUE(claim.ok() && *claim);
    EXPECT_EQ((*claim)->cursor(), 2u);
  }
  auto claim = log->Claim("alice");
  ASSERT_TRUE(claim.ok() && *claim);
  EXPECT_EQ((*claim)->cursor(), 2u);
  EXPECT_EQ(Versions(*(*claim)->Read(10)), (std::vector<Version>{3}));
  ASSERT_TRUE((*claim)->Advance(3).ok());
  EXPECT_EQ(*log->UsersBehind("", 10), (std::vector<std::string>{"bob"}));
}

TEST_P(DeliveryLogTest, ADocumentChangedAgainBeforeDeliveryComesOnceAtItsLatestVersion) {
  Push("alice", "phone", 1, "a", 1);
  Push("alice", "phone", 2, "b", 2);
  Push("alice", "phone", 3, "a", 3, 1);  // a moves from version 1 to 3
  std::unique_ptr<DeliveryLog> log = service_->OpenDeliveryLog();
  auto claim = log->Claim("alice");
  ASSERT_TRUE(claim.ok() && *claim);
  auto changes = (*claim)->Read(10);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(Versions(*changes), (std::vector<Version>{2, 3}));
  EXPECT_EQ((*changes)[1].id.key, "a");
  EXPECT_EQ((*changes)[1].document.value_json, "{\"n\":3}");
}

TEST_P(DeliveryLogTest, TheCursorSurvivesAReopenedDatabase) {
  Push("alice", "phone", 1, "a", 1);
  Push("alice", "phone", 2, "b", 2);
  {
    std::unique_ptr<DeliveryLog> log = service_->OpenDeliveryLog();
    auto claim = log->Claim("alice");
    ASSERT_TRUE(claim.ok() && *claim);
    ASSERT_TRUE((*claim)->Advance(1).ok());
  }
  service_->Stop();
  service_.reset();
  service_ = Open();
  ASSERT_NE(service_, nullptr);
  std::unique_ptr<DeliveryLog> log = service_->OpenDeliveryLog();
  auto claim = log->Claim("alice");
  ASSERT_TRUE(claim.ok() && *claim);
  EXPECT_EQ((*claim)->cursor(), 1u);
  EXPECT_EQ(Versions(*(*claim)->Read(10)), (std::vector<Version>{2}));
}

INSTANTIATE_TEST_SUITE_P(Backends, DeliveryLogTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& backend) { return backend.param; });

// Two instances on one database: while one holds a user's claim, the other
// is told so at once (it does not wait) and may deliver other users.
TEST(PostgresDeliveryLog, OneUsersClaimIsHeldByOneInstanceAtATime) {
  testing::PostgresProcess postgres;
  if (!postgres.unavailable().empty()) GTEST_SKIP() << postgres.unavailable();
  StorageSettings settings;
  settings.postgres_url = postgres.url();
  auto service = OpenSyncService(settings);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  for (const std::string user : {"alice", "bob"}) {
    ASSERT_EQ((*service)->Handle(user, "POST", "/v1/push", PushBody("c", 1, "k", 1)).status, 200);
  }
  std::unique_ptr<DeliveryLog> first = (*service)->OpenDeliveryLog();
  std::unique_ptr<DeliveryLog> second = (*service)->OpenDeliveryLog();
  auto held = first->Claim("alice");
  ASSERT_TRUE(held.ok() && *held) << held.status().ToString();
  auto refused = second->Claim("alice");
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ(*refused, nullptr) << "two instances held alice's delivery";
  {
    auto other = second->Claim("bob");
    ASSERT_TRUE(other.ok() && *other);
  }
  held->reset();  // the first instance's delivery ended (failed): the row is free
  auto taken = second->Claim("alice");
  ASSERT_TRUE(taken.ok() && *taken);
  EXPECT_EQ((*taken)->cursor(), 0u);
  (*service)->Stop();
}

}  // namespace
}  // namespace ferry::server
