// Run control (issue 17, queue control): a run's direction (push only, pull
// only, both) and the forced full resync.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

constexpr TimeMs kStart = 1'700'000'000'000;

class RunControlTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(Store& store, uint64_t seed, EngineOptions options = {}) {
    return testing::OpenQuietEngine(store, seed, now_, std::move(options));
  }

  void Put(SyncEngine& engine, const std::string& key, Json value) {
    EXPECT_TRUE(engine.HandleLocalWrite(MutationOp::kPut, {"notes", key}, value, now_).ok());
  }

  std::optional<Json> Get(SyncEngine& engine, const std::string& key) {
    auto value = engine.Get({"notes", key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  // The last run that ended among the driver's events.
  static SyncRunRecord LastRun(const InlineDriver& driver) {
    for (std::size_t i = driver.events.size(); i-- > 0;) {
      if (auto* done = std::get_if<SyncCompletedEvent>(&driver.events[i])) return done->run;
      if (auto* failed = std::get_if<SyncFailedEvent>(&driver.events[i])) return failed->run;
    }
    ADD_FAILURE() << "no run ended";
    return {};
  }

  SyncRunRecord Sync(SyncEngine& engine, InlineDriver& driver,
                     SyncDirection direction = SyncDirection::kBoth) {
    engine.HandleTrigger(TriggerReason::kManual, now_, direction);
    driver.Pump(engine, now_);
    return LastRun(driver);
  }

  // Records the method of every request the driver sees.
  static void RecordMethods(InlineDriver& driver, std::vector<std::string>& methods) {
    driver.fault = [&methods](const HttpRequest& request) -> std::optional<HttpResponse> {
      methods.push_back(request.method);
      return std::nullopt;
    };
  }

  // b synced "theirs" to the server; a holds "mine", pending, and records
  // the method of each request it sends in `methods_`.
  void TheirsAtTheServerMinePending() {
    Put(*b_, "theirs", 1);
    Sync(*b_, driver_b_);
    Put(*a_, "mine", 2);
    RecordMethods(driver_a_, methods_);
  }

  // b holds "keep" and "doomed" as synced; a deleted "doomed" at the server,
  // whose tombstone was then purged: only a full pull can tell b.
  void DoomedPurgedAtTheServer() {
    Put(*a_, "keep", 1);
    Put(*a_, "doomed", 2);
    Sync(*a_, driver_a_);
    Sync(*b_, driver_b_);
    ASSERT_EQ(Get(*b_, "doomed"), Json(2));
    ASSERT_TRUE(a_->HandleLocalWrite(MutationOp::kDelete, {"notes", "doomed"}, Json(), now_).ok());
    Sync(*a_, driver_a_);
    ASSERT_TRUE(server_.PurgeTombstones("alice", 100).ok());
  }

  TimeMs now_ = kStart;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  // Two clients of one user, for the tests that need them.
  MemoryStore store_a_, store_b_;
  std::unique_ptr<SyncEngine> a_ = Open(store_a_, 1);
  std::unique_ptr<SyncEngine> b_ = Open(store_b_, 2);
  InlineDriver driver_a_{server_, "alice"}, driver_b_{server_, "alice"};
  std::vector<std::string> methods_;
};

TEST(SyncDirectionNames, RoundTripAndRefuseAnythingElse) {
  for (SyncDirection direction : {SyncDirection::kBoth, SyncDirection::kPush, SyncDirection::kPull})
    EXPECT_EQ(ParseSyncDirection(SyncDirectionName(direction)), direction);
  EXPECT_EQ(ParseSyncDirection("Push"), std::nullopt);
  EXPECT_EQ(ParseSyncDirection(""), std::nullopt);
  EXPECT_EQ(ParseSyncDirection("up"), std::nullopt);
}

TEST_F(RunControlTest, APushOnlyRunPushesAndNeverPulls) {
  TheirsAtTheServerMinePending();
  auto& a = a_;
  auto& driver_a = driver_a_;
  const auto& methods = methods_;
  SyncRunRecord run = Sync(*a, driver_a, SyncDirection::kPush);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run.direction, SyncDirection::kPush);
  EXPECT_EQ(run.pushed, 1u);
  EXPECT_EQ(methods, std::vector<std::string>{"POST"}) << "no /v1/pull at all";
  EXPECT_EQ(a->status().pending, 0u);
  EXPECT_EQ(Get(*a, "theirs"), std::nullopt) << "nothing was pulled";
  EXPECT_EQ(Get(*a, "mine"), Json(2));
  auto started = driver_a.EventsOf<SyncStartedEvent>();
  ASSERT_EQ(started.size(), 1u) << "no follow-up run";
  EXPECT_EQ(started[0].direction, SyncDirection::kPush);
  EXPECT_FALSE(a->syncing());
}

TEST_F(RunControlTest, APullOnlyRunSendsNoPushEvenWithPendingWrites) {
  TheirsAtTheServerMinePending();
  auto& a = a_;
  auto& driver_a = driver_a_;
  const auto& methods = methods_;
  SyncRunRecord run = Sync(*a, driver_a, SyncDirection::kPull);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run.direction, SyncDirection::kPull);
  EXPECT_EQ(run.pulled, 1u);
  EXPECT_EQ(methods, std::vector<std::string>{"GET"});
  EXPECT_EQ(a->status().pending, 1u) << "the write waits for a run that pushes";
  EXPECT_EQ(Get(*a, "theirs"), Json(1));
  EXPECT_EQ(Get(*a, "mine"), Json(2));
  EXPECT_FALSE(a->syncing()) << "no follow-up run pushes it";
  EXPECT_EQ(Sync(*a, driver_a).pushed, 1u) << "a run in both directions does";
}

TEST_F(RunControlTest, ATriggerTheRunningRunDoesNotCoverGetsAFollowUpRun) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "mine", 1);
  std::vector<HttpRequest> sent;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    sent.push_back(request);
    return HttpResponse{-1, "", "", ""};  // the test answers
  };
  const RunTicket push_run =
      engine->HandleTrigger(TriggerReason::kManual, now_, SyncDirection::kPush);
  driver.Pump(*engine, now_);
  EXPECT_EQ(engine->HandleTrigger(TriggerReason::kManual, now_, SyncDirection::kPush), push_run)
      << "a push-only run still pushing covers another push-only request";
  EXPECT_EQ(engine->HandleTrigger(TriggerReason::kManual, now_, SyncDirection::kPull),
            push_run + 1);
  driver.fault = nullptr;
  ASSERT_EQ(sent.size(), 1u);
  engine->HandleResponse(sent[0].id, driver.Server(sent[0]), now_);
  driver.Pump(*engine, now_);
  for (int guard = 0; guard < 20 && (engine->syncing() || engine->PollTimeout() == now_); ++guard) {
    engine->HandleTimeout(now_);
    driver.Pump(*engine, now_);
  }
  auto started = driver.EventsOf<SyncStartedEvent>();
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[1].run_id, push_run + 1);
  EXPECT_EQ(started[1].reason, TriggerReason::kFollowUp);
  EXPECT_EQ(started[1].direction, SyncDirection::kPull);
}

TEST_F(RunControlTest, TheDirectionIsRecordedInTheHistoryAcrossAReopen) {
  MemoryStore store;
  InlineDriver driver(server_, "alice");
  {
    auto engine = Open(store, 1);
    Sync(*engine, driver, SyncDirection::kPull);
    Sync(*engine, driver, SyncDirection::kPush);
    Sync(*engine, driver);
  }
  auto engine = Open(store, 1);
  auto history = engine->History(10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].direction, SyncDirection::kBoth);
  EXPECT_EQ((*history)[1].direction, SyncDirection::kPush);
  EXPECT_EQ((*history)[2].direction, SyncDirection::kPull);
  EXPECT_EQ(SyncRunToJson((*history)[1])["direction"], "push");
}

TEST_F(RunControlTest, AResyncPullsFromTheStartAndForgetsPurgedDocumentsButKeepsPendingWrites) {
  DoomedPurgedAtTheServer();
  auto& b = b_;
  auto& driver_b = driver_b_;
  Put(*b, "local", 3);
  std::vector<HttpRequest> sent;
  driver_b.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    sent.push_back(request);
    return std::nullopt;
  };
  const RunTicket ticket = b->HandleResync(now_);
  driver_b.Pump(*b, now_);
  SyncRunRecord run = LastRun(driver_b);
  EXPECT_EQ(run.run_id, ticket);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].method, "POST") << "the pending write is pushed as in any run";
  EXPECT_EQ(sent[1].method, "GET");
  EXPECT_EQ(sent[1].target.find("cursor="), std::string::npos) << "pulled from the start";
  EXPECT_EQ(b->statistics().full_resyncs, 1u);
  EXPECT_EQ(Get(*b, "doomed"), std::nullopt);
  EXPECT_EQ(Get(*b, "keep"), Json(1));
  EXPECT_EQ(Get(*b, "local"), Json(3));
  EXPECT_EQ(b->status().pending, 0u);
}

TEST_F(RunControlTest, AResyncWhoseRunFailsKeepsPendingWritesShownAndResyncsOnTheRetry) {
  DoomedPurgedAtTheServer();
  auto& b = b_;
  auto& driver_b = driver_b_;
  Put(*b, "local", 3);
  driver_b.fault = [](const HttpRequest&) -> std::optional<HttpResponse> {
    return HttpResponse{503, "", "", ""};
  };
  (void)b->HandleResync(now_);
  driver_b.Pump(*b, now_);
  EXPECT_EQ(LastRun(driver_b).outcome, RunOutcome::kFailed);
  EXPECT_EQ(Get(*b, "local"), Json(3));
  EXPECT_EQ(b->status().pending, 1u);
  // Reopened before the retry: the resync was recorded when its run began.
  b.reset();
  b = Open(store_b_, 2);
  driver_b.fault = nullptr;
  Sync(*b, driver_b);
  EXPECT_EQ(Get(*b, "doomed"), std::nullopt);
  EXPECT_EQ(Get(*b, "local"), Json(3));
  EXPECT_EQ(b->status().pending, 0u);
}

// A pulled page waits on a timer while the next is on the wire; a resync
// asked for then stores that page first and follows the running run.
TEST_F(RunControlTest, AResyncDuringAPullStoresTheWaitingPageAndFollowsTheRun) {
  {
    MemoryStore writer_store;
    auto writer = Open(writer_store, 7);
    InlineDriver writer_driver(server_, "alice");
    for (int i = 0; i < 5; ++i)
      Put(*writer, "k" + std::to_string(i), i);
    ASSERT_EQ(Sync(*writer, writer_driver).pushed, 5u);
  }
  MemoryStore store;
  EngineOptions options;
  options.pull_page_size = 2;
  auto engine = Open(store, 1, options);
  InlineDriver driver(server_, "alice");
  const auto stored = [&] {
    auto scanned = engine->Scan("notes", "");
    return scanned.ok() ? scanned->size() : 0;
  };
  std::vector<HttpRequest> sent;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    sent.push_back(request);
    return HttpResponse{-1, "", "", ""};  // the test answers
  };
  const RunTicket first = engine->HandleTrigger(TriggerReason::kManual, now_, SyncDirection::kPull);
  driver.Pump(*engine, now_);
  ASSERT_EQ(sent.size(), 1u);
  engine->HandleResponse(sent[0].id, driver.Server(sent[0]), now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(sent.size(), 2u) << "the second page is asked for";
  ASSERT_EQ(stored(), 0u) << "the first waits on its timer";

  EXPECT_EQ(engine->HandleResync(now_), first + 1);
  EXPECT_EQ(stored(), 2u) << "the waiting page was stored first";
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    sent.push_back(request);
    return std::nullopt;
  };
  engine->HandleResponse(sent[1].id, driver.Server(sent[1]), now_);
  driver.Pump(*engine, now_);
  for (int guard = 0; guard < 20 && engine->PollTimeout() == now_; ++guard) {
    engine->HandleTimeout(now_);
    driver.Pump(*engine, now_);
  }
  auto ended = driver.EventsOf<SyncCompletedEvent>();
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0].run.pulled, 5u);
  EXPECT_EQ(ended[1].run.run_id, first + 1);
  EXPECT_EQ(ended[1].run.pulled, 5u) << "everything again, from the start";
  EXPECT_EQ(engine->statistics().full_resyncs, 1u);
  EXPECT_EQ(stored(), 5u);
  // The resync's first request carried no cursor.
  std::vector<std::string> targets;
  for (std::size_t i = 2; i < sent.size(); ++i)
    targets.push_back(sent[i].target);
  ASSERT_GE(targets.size(), 2u);
  EXPECT_NE(targets[0].find("cursor="), std::string::npos) << "the first run's last page";
  EXPECT_EQ(targets[1].find("cursor="), std::string::npos) << "the resync starts over";
}

// A pull-only run does not swallow a run a local write scheduled: the write
// is pushed when its time comes, after the pull.
TEST_F(RunControlTest, APullOnlyRunLeavesAScheduledLocalWriteRunDue) {
  MemoryStore store;
  EngineOptions options;
  options.local_write_debounce_ms = 1'000;
  options.random_seed = 3;
  options.live_updates = false;  // sync_on_local_write stays on
  auto opened = SyncEngine::Open(store, options, now_);
  ASSERT_TRUE(opened.ok());
  auto& engine = *opened;
  InlineDriver driver(server_, "alice");
  Put(*engine, "mine", 1);
  ASSERT_EQ(engine->PollTimeout(), now_ + 1'000);
  Sync(*engine, driver, SyncDirection::kPull);
  EXPECT_EQ(engine->status().pending, 1u);
  ASSERT_EQ(engine->PollTimeout(), now_ + 1'000) << "the local write's run is still due";
  now_ += 1'000;
  engine->HandleTimeout(now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(LastRun(driver).pushed, 1u);
  EXPECT_EQ(engine->status().pending, 0u);
}

}  // namespace
}  // namespace ferry
