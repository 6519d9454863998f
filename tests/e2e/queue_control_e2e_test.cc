// Queue control end to end through ferry::Client, libcurl and a real
// ferry-server: with the server stopped every push fails for want of an
// answer, each counts an attempt with its error, and the cap dead-letters
// the write; the pending listing shows it on the way; the history is
// cleared; the write goes through once retried and the server is back.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "e2e/e2e_helpers.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

TEST(QueueControlEndToEnd, AStoppedServerGrowsAttemptsUntilTheCapDeadLettersTheWrite) {
  ServerProcess server;
  TempDir directory;
  ClientOptions options = TestClientOptions(server.endpoint(), directory.File("a.db"));
  options.engine.max_attempts = 3;
  // The automatic retry waits minutes: the test's own syncs make the attempts.
  options.engine.backoff_base_ms = 600'000;
  options.engine.backoff_max_ms = 600'000;
  auto client = OpenClient(options);
  ASSERT_NE(client, nullptr);
  std::mutex mutex;
  std::vector<MutationRejectedEvent> rejected;
  client->AddEventListener([&](const Event& event) {
    if (auto* r = std::get_if<MutationRejectedEvent>(&event)) {
      std::lock_guard lock(mutex);
      rejected.push_back(*r);
    }
  });
  ASSERT_TRUE(client->Put("notes", "n1", 1).ok());
  ASSERT_EQ(client->SyncNow()->outcome, RunOutcome::kCompleted);
  server.Stop();

  ASSERT_TRUE(client->Put("notes", "n2", 2).ok());
  ASSERT_EQ(client->SyncNow()->outcome, RunOutcome::kFailed);
  auto pending = client->PendingMutations();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().mutation.document.key, "n2");
  EXPECT_EQ(pending->front().attempts, 1u);
  EXPECT_NE(pending->front().error.find("network error"), std::string::npos)
      << pending->front().error;
  EXPECT_GT(pending->front().last_attempt_at, 0);
  ASSERT_EQ(client->SyncNow()->outcome, RunOutcome::kFailed);
  EXPECT_EQ(client->PendingMutations()->front().attempts, 2u);
  ASSERT_EQ(client->SyncNow()->outcome, RunOutcome::kFailed);

  auto failed = client->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().mutation.document.key, "n2");
  EXPECT_EQ(failed->front().attempts, 3u);
  EXPECT_NE(failed->front().error.find("network error"), std::string::npos);
  EXPECT_TRUE(client->PendingMutations()->empty());
  ASSERT_TRUE(client->FlushEvents());
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(rejected.size(), 1u);
    EXPECT_EQ(rejected[0].error, failed->front().error);
  }

  EXPECT_EQ(client->History()->size(), 4u);
  ASSERT_TRUE(client->ClearHistory(/*keep_latest=*/true).ok());
  auto history = client->History();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->front().outcome, RunOutcome::kFailed);

  server.Start();
  ASSERT_TRUE(client->RetryFailedMutation(failed->front().mutation.seq).ok());
  EXPECT_EQ(client->PendingMutations()->front().attempts, 0u);
  SyncUntilComplete(*client);
  EXPECT_EQ(ReadServer(server.port()).documents.count({"notes", "n2"}), 1u);
}

// Push only, pull only and a forced full resync through ferry::Client,
// libcurl and a real ferry-server; the server's own records say what reached it.
TEST(QueueControlEndToEnd, RunsInOneDirectionAndAResyncThatKeepsPendingWrites) {
  ServerProcess server;
  TempDir directory;
  auto writer = OpenClient(TestClientOptions(server.endpoint(), directory.File("w.db")));
  auto reader = OpenClient(TestClientOptions(server.endpoint(), directory.File("r.db")));
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(writer->Put("notes", "theirs", 1).ok());
  ASSERT_EQ(writer->SyncNow()->outcome, RunOutcome::kCompleted);
  ASSERT_TRUE(reader->Put("notes", "mine", 2).ok());

  auto pulled = reader->SyncNow(SyncDirection::kPull);
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(pulled->direction, SyncDirection::kPull);
  EXPECT_EQ(pulled->pulled, 1u);
  EXPECT_EQ(pulled->pushed, 0u);
  EXPECT_EQ(reader->status().pending, 1u);
  EXPECT_EQ(ReadServer(server.port()).documents.count({"notes", "mine"}), 0u)
      << "a pull-only run pushes nothing";

  ASSERT_TRUE(writer->Put("notes", "later", 3).ok());
  ASSERT_EQ(writer->SyncNow(SyncDirection::kPush)->pushed, 1u);
  auto pushed = reader->SyncNow(SyncDirection::kPush);
  ASSERT_TRUE(pushed.ok());
  EXPECT_EQ(pushed->direction, SyncDirection::kPush);
  EXPECT_EQ(pushed->pushed, 1u);
  EXPECT_EQ(pushed->pulled, 0u);
  EXPECT_EQ(ReadServer(server.port()).documents.count({"notes", "mine"}), 1u);
  EXPECT_EQ(*reader->Get("notes", "later"), std::nullopt) << "a push-only run pulls nothing";

  ASSERT_TRUE(reader->Put("notes", "pending", 4).ok());
  auto resync = reader->Resync();
  ASSERT_TRUE(resync.ok());
  EXPECT_EQ(resync->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(resync->pushed, 1u);
  EXPECT_EQ(resync->pulled, 4u) << "every document again, from the start";
  EXPECT_EQ(reader->statistics().full_resyncs, 1u);
  EXPECT_EQ(*reader->Get("notes", "later"), Json(3));
  EXPECT_EQ(*reader->Get("notes", "pending"), Json(4));
  EXPECT_EQ(reader->History(1)->front().direction, SyncDirection::kBoth);
}

}  // namespace
}  // namespace ferry::testing
