// The reachability probe end to end: a real ferry-server that goes away long
// enough for the run backoff to grow, then comes back on the same port.
#include <chrono>
#include <string>
#include <thread>

#include "e2e/e2e_helpers.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

using Clock = std::chrono::steady_clock;

TimeMs WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ReachabilityEndToEnd, PendingWritesReachAServerSoonAfterItReturns) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  // The engine's own backoff, as an app would have it (TestClientOptions
  // shortens it for other tests); a write starts a sync.
  options.engine.backoff_base_ms = 1'000;
  options.engine.backoff_max_ms = 5 * 60'000;
  options.engine.sync_on_local_write = true;
  options.engine.probe_max_ms = 1'000;  // so the server is found within a second
  auto client = OpenClient(std::move(options));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Put("notes", "before", Json{{"i", 0}}).ok());
  SyncUntilComplete(*client);

  server.Stop();
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(client->Put("notes", "n" + std::to_string(i), Json{{"i", i}}).ok());
  // Long enough for several failed runs: the run backoff's cap passes 8 s.
  std::this_thread::sleep_for(std::chrono::seconds(8));
  SyncStatus waiting = client->status();
  EXPECT_EQ(waiting.state, SyncState::kOffline);
  EXPECT_EQ(waiting.pending, 5u);
  const TimeMs retry_in = waiting.next_retry_at ? *waiting.next_retry_at - WallNowMs() : 0;

  server.Start();
  const auto back = Clock::now();
  std::size_t documents = 0;
  while (Clock::now() - back < std::chrono::seconds(20)) {
    documents = ReadServer(server.port()).documents.size();
    if (documents == 6) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - back);
  ASSERT_EQ(documents, 6u) << "the writes made while the server was away";
  // A probe is due within probe_max_ms; the rest is margin for a loaded CI
  // machine. Without the probe the writes wait for the run retry.
  EXPECT_LT(took.count(), 3'000) << "the retry was " << retry_in << " ms away";
  // The server applied the push before the client read its answer, and the
  // run goes on to pull: it is recorded once the client is idle again.
  const auto answered = Clock::now();
  auto settled = [&] {
    const SyncStatus now = client->status();
    return now.pending == 0 && now.state == SyncState::kIdle;
  };
  while (!settled() && Clock::now() - answered < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (retry_in > 4'000) {
    // The retry could not have done it: the run that pushed was the probe's.
    auto history = client->History(5);
    ASSERT_TRUE(history.ok());
    bool by_probe = false;
    std::string runs;  // newest first, shown if the probe did not do it
    for (const SyncRunRecord& run : *history) {
      if (run.outcome == RunOutcome::kCompleted && run.pushed > 0)
        by_probe = by_probe || run.reason == TriggerReason::kReachable;
      runs += std::string(TriggerReasonName(run.reason)) + " " +
              std::string(RunOutcomeName(run.outcome)) + " pushed " + std::to_string(run.pushed) +
              " at " + std::to_string(run.started_at - WallNowMs()) + " ms " + run.error + "\n";
    }
    EXPECT_TRUE(by_probe) << "no completed run with reason 'reachable':\n" << runs;
  }
  EXPECT_EQ(client->status().pending, 0u);
}

TEST(ReachabilityEndToEnd, NetworkChangedFindsTheServerAtOnce) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  options.engine.backoff_base_ms = 60'000;  // the retry is far away
  options.engine.backoff_max_ms = 60'000;
  options.engine.probe_base_ms = 30'000;  // and so is every probe
  options.engine.probe_max_ms = 30'000;
  auto client = OpenClient(std::move(options));
  ASSERT_NE(client, nullptr);
  server.Stop();
  ASSERT_TRUE(client->Put("notes", "a", Json{{"i", 1}}).ok());
  auto failed = client->SyncNow();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->outcome, RunOutcome::kFailed);
  server.Start();
  client->NetworkChanged();
  const auto since = Clock::now();
  std::size_t documents = 0;
  while (Clock::now() - since < std::chrono::seconds(10) && documents == 0) {
    documents = ReadServer(server.port()).documents.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(documents, 1u);
  EXPECT_LT(Clock::now() - since, std::chrono::seconds(5));
}

}  // namespace
}  // namespace ferry::testing
