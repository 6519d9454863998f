// Queue control (issue 17): the cap on attempts, dead letters discarded by
// age, the paged listing of pending writes, clearing the history, and
// interval ticks while offline.
#include <gtest/gtest.h>

#include "support/push_results.h"

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "keys.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

using testing::InlineDriver;
using testing::MakeResult;
using testing::RejectEveryPush;

constexpr TimeMs kStart = 1'700'000'000'000;

// notes/<key> = {"v": 1} as the outbox holds it.
Mutation PutOfV1(uint64_t seq, std::string key) {
  Mutation m;
  m.client_id = "c";
  m.seq = seq;
  m.op = MutationOp::kPut;
  m.document = {"notes", std::move(key)};
  m.value = Json{{"v", 1}};
  m.hlc = HlcStamp{kStart, 3, "c"};
  return m;
}

class QueueControlTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(EngineOptions options = {}) {
    options.random_seed = 7;
    options.sync_on_local_write = false;  // tests trigger syncs explicitly
    options.live_updates = false;
    auto engine = SyncEngine::Open(store_, options, now_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  void Put(SyncEngine& engine, const std::string& key) {
    EXPECT_TRUE(
        engine.HandleLocalWrite(MutationOp::kPut, {"notes", key}, Json{{"k", key}}, now_).ok());
  }

  // Advances the fake clock to the engine's next deadline and fires it.
  void FireTimeout(SyncEngine& engine, InlineDriver& driver) {
    auto deadline = engine.PollTimeout();
    ASSERT_TRUE(deadline.has_value());
    now_ = std::max(now_, *deadline);
    engine.HandleTimeout(now_);
    driver.Pump(engine, now_);
  }

  std::vector<OutboxEntry> Pending(SyncEngine& engine, uint64_t after = 0,
                                   std::size_t limit = 100) {
    auto pending = engine.PendingMutations(after, limit);
    EXPECT_TRUE(pending.ok()) << pending.status().ToString();
    return pending.ok() ? *pending : std::vector<OutboxEntry>{};
  }

  std::vector<OutboxEntry> Failed(SyncEngine& engine) {
    auto failed = engine.FailedMutations();
    EXPECT_TRUE(failed.ok());
    return failed.ok() ? *failed : std::vector<OutboxEntry>{};
  }

  TimeMs now_ = kStart;
  MemoryStore store_;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
};

// The store format: the last attempt's time and error, and the time of
// dead-lettering, are optional header members. Entries without them (every
// store written before) read as 0 and "", and an entry that has had no
// attempt is written exactly as before, so an older Ferry reads it too.
TEST(OutboxEntryFormat, AttemptTimesAndErrorsAreOptionalMembersOfTheHeader) {
  const Mutation m = PutOfV1(7, "a");
  const OutboxEntry fresh{m, "{\"v\":1}", 0, false, "", 0, 0};
  const std::string old_form = EncodeOutboxEntry(fresh);
  EXPECT_EQ(old_form.find("\"t\":"), std::string::npos);
  EXPECT_EQ(old_form.find("\"e\":"), std::string::npos);
  auto decoded = DecodeOutboxEntry("c", 7, old_form);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->last_attempt_at, 0);
  EXPECT_EQ(decoded->error, "");

  OutboxEntry tried = fresh;
  tried.attempts = 2;
  tried.last_attempt_at = kStart + 5;
  tried.error = "unavailable: network error: \"refused\"\n";
  decoded = DecodeOutboxEntry("c", 7, EncodeOutboxEntry(tried));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->attempts, 2u);
  EXPECT_EQ(decoded->last_attempt_at, kStart + 5);
  EXPECT_EQ(decoded->error, tried.error);
  EXPECT_FALSE(decoded->dead);

  OutboxEntry dead = tried;
  dead.dead = true;
  dead.dead_at = kStart + 9;
  decoded = DecodeOutboxEntry("c", 7, EncodeOutboxEntry(dead));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->dead);
  EXPECT_EQ(decoded->dead_at, kStart + 9);
  EXPECT_EQ(decoded->last_attempt_at, kStart + 5);

  // Members in another order or with spaces (a header written by hand or by
  // a later Ferry) go through the general JSON reader, which ignores members
  // it does not know.
  const std::string reordered =
      "P{\"t\": 42, \"a\": 1, \"op\": \"put\", \"c\": \"notes\", "
      "\"k\": \"a\", \"b\": 0, \"h\": \"" +
      m.hlc.ToString() + "\", \"e\": \"x\", \"future\": true}\n{\"v\":1}";
  decoded = DecodeOutboxEntry("c", 7, reordered);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->last_attempt_at, 42);
  EXPECT_EQ(decoded->error, "x");
  // A malformed time is corruption, not a silent 0.
  std::string bad = EncodeOutboxEntry(tried);
  bad.replace(bad.find("\"t\":") + 4, 1, "-");
  EXPECT_FALSE(DecodeOutboxEntry("c", 7, bad).ok());
}

TEST_F(QueueControlTest, PendingWritesShowTheirAttemptsLastAttemptAndLastError) {
  auto engine = Open();
  InlineDriver driver(server_, "alice");
  Put(*engine, "a");
  auto fresh = Pending(*engine);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].attempts, 0u);
  EXPECT_EQ(fresh[0].last_attempt_at, 0);
  EXPECT_EQ(fresh[0].error, "");
  driver.fault = [](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST") return std::nullopt;
    return HttpResponse{503, "{\"error\":\"down for maintenance\"}", "", ""};
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  const TimeMs first_failure = now_;
  auto pending = Pending(*engine);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].mutation.document.key, "a");
  EXPECT_EQ(pending[0].mutation.op, MutationOp::kPut);
  EXPECT_EQ(pending[0].attempts, 1u);
  EXPECT_EQ(pending[0].last_attempt_at, first_failure);
  EXPECT_NE(pending[0].error.find("HTTP 503"), std::string::npos) << pending[0].error;
  EXPECT_FALSE(pending[0].dead);
  // The next failure is of another kind: the last one is what is shown.
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{0, "", "", "connection refused"});
  };
  FireTimeout(*engine, driver);
  pending = Pending(*engine);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 2u);
  EXPECT_GT(pending[0].last_attempt_at, first_failure);
  EXPECT_NE(pending[0].error.find("connection refused"), std::string::npos) << pending[0].error;

  // Stored with the entry: a reopened engine lists the same.
  engine.reset();
  auto reopened = Open();
  auto after = Pending(*reopened);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].attempts, pending[0].attempts);
  EXPECT_EQ(after[0].last_attempt_at, pending[0].last_attempt_at);
  EXPECT_EQ(after[0].error, pending[0].error);
}

TEST_F(QueueControlTest, PendingWritesArePagedInSeqOrderWithoutDeadLetters) {
  auto engine = Open();
  InlineDriver driver(server_, "alice");
  Put(*engine, "dead");
  driver.fault = RejectEveryPush;
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(Failed(*engine).size(), 1u);
  for (const char* key : {"a", "b", "c", "d", "e"})
    Put(*engine, key);
  ASSERT_TRUE(engine->HandleLocalWrite(MutationOp::kDelete, {"notes", "f"}, nullptr, now_).ok());

  std::vector<std::string> keys;
  uint64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    auto entries = Pending(*engine, after, 2);
    if (entries.empty()) break;
    EXPECT_LE(entries.size(), 2u);
    for (const OutboxEntry& entry : entries) {
      EXPECT_GT(entry.mutation.seq, after);
      after = entry.mutation.seq;
      keys.push_back(entry.mutation.document.key);
    }
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  auto all = Pending(*engine);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back().mutation.op, MutationOp::kDelete);
  EXPECT_EQ(all.front().mutation.document.collection, "notes");
}

TEST_F(QueueControlTest, TransientFailuresUpToTheCapDeadLetterTheWriteWithTheLastError) {
  EngineOptions options;
  options.max_attempts = 3;
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a");
  Put(*engine, "b");
  driver.fault = [](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST") return std::nullopt;
    return HttpResponse{429, "", "1", ""};
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  FireTimeout(*engine, driver);
  EXPECT_EQ(engine->status().pending, 2u) << "two attempts: below the cap";
  EXPECT_TRUE(driver.EventsOf<MutationRejectedEvent>().empty());
  FireTimeout(*engine, driver);

  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(engine->status().failed, 2u);
  auto rejected = driver.EventsOf<MutationRejectedEvent>();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_NE(rejected[0].error.find("HTTP 429"), std::string::npos) << rejected[0].error;
  auto failed = Failed(*engine);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].attempts, 3u);
  EXPECT_EQ(failed[0].error, rejected[0].error);
  EXPECT_EQ(failed[0].dead_at, now_);
  EXPECT_EQ(engine->statistics().rejected, 2u);
  auto history = engine->History(1);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->front().rejected, 2u);
  EXPECT_FALSE(engine->Get({"notes", "a"})->has_value()) << "a dead letter leaves the view";

  // Retried, it is a new write with a fresh count.
  auto retried = engine->RetryFailedMutation(failed[0].mutation.seq, now_);
  ASSERT_TRUE(retried.ok());
  auto pending = Pending(*engine);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 0u);
  EXPECT_EQ(pending[0].error, "");
}

TEST_F(QueueControlTest, TimeoutsCountTowardTheCap) {
  EngineOptions options;
  options.max_attempts = 1;
  options.request_timeout_ms = 5000;
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{-1, "", "", ""});  // hangs
  };
  Put(*engine, "a");
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  FireTimeout(*engine, driver);
  auto failed = Failed(*engine);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].error.find("request timed out"), std::string::npos) << failed[0].error;
}

TEST_F(QueueControlTest, WithoutACapWritesWaitThroughAnyNumberOfFailures) {
  EngineOptions options;
  options.reachability_probe = false;  // every timeout below is then a retried push
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{0, "", "", "unreachable"});
  };
  Put(*engine, "a");
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  for (int i = 0; i < 12; ++i)
    FireTimeout(*engine, driver);
  EXPECT_EQ(engine->status().failed, 0u);
  ASSERT_EQ(Pending(*engine).size(), 1u);
  EXPECT_EQ(Pending(*engine)[0].attempts, 13u);
}

// Refused credentials, a cancel and going offline are no fault of the write.
TEST_F(QueueControlTest, OnlyTransientFailuresCountTowardTheCap) {
  EngineOptions options;
  options.max_attempts = 1;
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{401, "", "", ""});
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(engine->status().state, SyncState::kAuthError);
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{-1, "", "", ""});  // hangs
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  engine->Cancel(now_);
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  engine->HandleOnline(false, now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(engine->status().failed, 0u);
  ASSERT_EQ(Pending(*engine).size(), 1u);
  EXPECT_EQ(Pending(*engine)[0].attempts, 3u);
}

TEST_F(QueueControlTest, DeadLettersAreDiscardedOnceOlderThanTheMaximumAge) {
  EngineOptions options;
  options.dead_letter_max_age_ms = 60'000;
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a");
  driver.fault = RejectEveryPush;
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(engine->status().failed, 1u);
  const TimeMs dead_at = now_;
  now_ += 30'000;
  Put(*engine, "b");
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(engine->status().failed, 2u);
  EXPECT_EQ(engine->PollTimeout(), dead_at + 60'000) << "a timer for the first to come of age";
  FireTimeout(*engine, driver);
  auto failed = Failed(*engine);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].mutation.document.key, "b");
  EXPECT_EQ(engine->status().failed, 1u);
  EXPECT_EQ(engine->PollTimeout(), dead_at + 90'000);
  FireTimeout(*engine, driver);
  EXPECT_EQ(engine->status().failed, 0u);
  EXPECT_FALSE(engine->PollTimeout().has_value());
}

TEST_F(QueueControlTest, DeadLettersAreAgedAtOpenAndOnesWithoutATimeCountFromThere) {
  {
    auto engine = Open();  // no maximum age: kept however old
    InlineDriver driver(server_, "alice");
    Put(*engine, "a");
    driver.fault = RejectEveryPush;
    engine->HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(*engine, now_);
    ASSERT_EQ(engine->status().failed, 1u);
  }
  // A dead letter as a Ferry that kept no time stored it: no "d" member.
  {
    OutboxEntry legacy{PutOfV1(99, "legacy"), "{\"v\":1}", 1, true, "old rejection", 0, 0};
    const std::string bytes = EncodeOutboxEntry(legacy);
    EXPECT_EQ(bytes.find("\"d\":"), std::string::npos);
    WriteBatch batch;
    batch.Put("o/" + keys::OrderedNumber(99), bytes);
    ASSERT_TRUE(store_.Commit(batch).ok());
  }
  now_ += TimeMs{10} * 60'000;
  EngineOptions options;
  options.dead_letter_max_age_ms = TimeMs{5} * 60'000;
  auto engine = Open(options);
  auto failed = Failed(*engine);
  ASSERT_EQ(failed.size(), 1u) << "the old one went at open; the legacy one's age starts now";
  EXPECT_EQ(failed[0].mutation.document.key, "legacy");
  EXPECT_EQ(failed[0].dead_at, now_);
  EXPECT_EQ(engine->PollTimeout(), now_ + TimeMs{5} * 60'000);
}

TEST_F(QueueControlTest, ClearHistoryForgetsRunsOrAllButTheLatest) {
  auto engine = Open();
  InlineDriver driver(server_, "alice");
  for (int i = 0; i < 3; ++i) {
    engine->HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(*engine, now_);
  }
  auto history = engine->History(10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  const uint64_t latest = history->front().run_id;
  ASSERT_TRUE(engine->ClearHistory(/*keep_latest=*/true).ok());
  history = engine->History(10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->front().run_id, latest);
  ASSERT_TRUE(engine->ClearHistory(/*keep_latest=*/false).ok());
  EXPECT_TRUE(engine->History(10)->empty());
  ASSERT_TRUE(engine->ClearHistory(/*keep_latest=*/true).ok()) << "an empty history is fine";
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  history = engine->History(10);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->front().run_id, latest + 1);
  engine.reset();
  EXPECT_EQ(Open()->History(10)->size(), 1u) << "cleared for good";
}

TEST_F(QueueControlTest, IntervalTicksWhileDeclaredOfflineRecordNoRun) {
  EngineOptions options;
  options.interval_ms = 1000;
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  engine->HandleOnline(false, now_);
  driver.Pump(*engine, now_);
  const std::size_t started = driver.EventsOf<SyncStartedEvent>().size();
  for (int i = 0; i < 20; ++i)
    FireTimeout(*engine, driver);
  EXPECT_EQ(driver.EventsOf<SyncStartedEvent>().size(), started);
  auto history = engine->History(100);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u) << "the real run is still there";
  EXPECT_EQ(history->front().outcome, RunOutcome::kCompleted);
  // Back online the ticks sync again.
  engine->HandleOnline(true, now_);
  driver.Pump(*engine, now_);
  FireTimeout(*engine, driver);
  auto runs = driver.EventsOf<SyncStartedEvent>();
  ASSERT_EQ(runs.size(), started + 2);
  EXPECT_EQ(runs.back().reason, TriggerReason::kInterval);
}

TEST_F(QueueControlTest, IntervalTicksWhileUnreachableLeaveProbingToTheRetry) {
  EngineOptions options;
  options.interval_ms = 1000;
  options.backoff_base_ms = 60'000;
  options.backoff_max_ms = 60'000;
  auto engine = Open(options);
  InlineDriver driver(server_, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{0, "", "", "unreachable"});
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(engine->status().state, SyncState::kOffline);
  const TimeMs until = now_ + 50'000;
  while (*engine->PollTimeout() < until)
    FireTimeout(*engine, driver);
  auto runs = driver.EventsOf<SyncStartedEvent>();
  for (const SyncStartedEvent& run : runs)
    EXPECT_NE(run.reason, TriggerReason::kInterval);
  EXPECT_EQ(engine->History(100)->size(), runs.size());
}

}  // namespace
}  // namespace ferry
