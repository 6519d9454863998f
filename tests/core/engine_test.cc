#include "ferry/engine.h"

#include <gtest/gtest.h>

#include <functional>

#include "support/push_results.h"

#include "ferry/store_memory.h"
#include "keys.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

using testing::MakeResult;

using testing::InlineDriver;

constexpr TimeMs kStart = 1'700'000'000'000;

class EngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(MemoryStore& store, uint64_t seed, EngineOptions options = {}) {
    options.random_seed = seed;
    options.sync_on_local_write = false;  // tests trigger syncs explicitly
    auto engine = SyncEngine::Open(store, options, now_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  uint64_t Put(SyncEngine& engine, const std::string& key, Json value) {
    auto seq = engine.HandleLocalWrite(MutationOp::kPut, {"notes", key}, value, now_);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    return seq.ok() ? *seq : 0;
  }

  std::optional<Json> Get(SyncEngine& engine, const std::string& key) {
    auto value = engine.Get({"notes", key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  SyncRunRecord Sync(SyncEngine& engine, InlineDriver& driver) {
    const std::size_t before = driver.events.size();
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(engine, now_);
    for (std::size_t i = driver.events.size(); i-- > before;) {
      if (auto* done = std::get_if<SyncCompletedEvent>(&driver.events[i])) return done->run;
      if (auto* failed = std::get_if<SyncFailedEvent>(&driver.events[i])) return failed->run;
    }
    ADD_FAILURE() << "the sync did not finish";
    return {};
  }

  // Advances the fake clock to the engine's next deadline and fires it.
  void FireTimeout(SyncEngine& engine, InlineDriver& driver) {
    auto deadline = engine.PollTimeout();
    ASSERT_TRUE(deadline.has_value());
    now_ = std::max(now_, *deadline);
    engine.HandleTimeout(now_);
    driver.Pump(engine, now_);
  }

  TimeMs now_ = kStart;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
};

TEST_F(EngineTest, LocalWriteIsVisibleAtOnceAndPending) {
  MemoryStore store;
  auto engine = Open(store, 1);
  Put(*engine, "a", Json{{"title", "hello"}});
  EXPECT_EQ(Get(*engine, "a"), (Json{{"title", "hello"}}));
  EXPECT_EQ(engine->status().pending, 1u);
  EXPECT_EQ(engine->status().state, SyncState::kNeverSynced);
}

TEST_F(EngineTest, InvalidWritesAreRefusedAndNothingIsQueued) {
  MemoryStore store;
  auto engine = Open(store, 1);
  EXPECT_EQ(engine->HandleLocalWrite(MutationOp::kPut, {"", "k"}, 1, now_).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->HandleLocalWrite(MutationOp::kPut, {"c", "bad\xff"}, 1, now_).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->HandleLocalWrite(MutationOp::kPatch, {"c", "k"}, 1, now_).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->HandleLocalWrite(MutationOp::kPut, {"c", "k"}, Json(), now_).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->HandleLocalWrite(MutationOp::kPut, {"c", "k"}, std::string(2 << 20, 'x'), now_)
                .status()
                .code(),
            ErrorCode::kTooLarge);
  EXPECT_EQ(engine->status().pending, 0u);
}

TEST_F(EngineTest, BatchedLocalWritesCommitTogetherOrNotAtAll) {
  MemoryStore store;
  auto engine = Open(store, 1);
  std::vector<LocalWrite> writes = {{MutationOp::kPut, {"notes", "a"}, Json{{"x", 1}}},
                                    {MutationOp::kPatch, {"notes", "a"}, Json{{"y", 2}}},
                                    {MutationOp::kPut, {"notes", "b"}, 3}};
  auto seqs = engine->HandleLocalWrites(writes, now_);
  ASSERT_TRUE(seqs.ok());
  EXPECT_EQ(seqs->size(), 3u);
  EXPECT_EQ(Get(*engine, "a"), (Json{{"x", 1}, {"y", 2}}));
  EXPECT_EQ(engine->status().pending, 2u);  // the patch coalesced into the put
  writes.push_back({MutationOp::kPatch, {"notes", "c"}, Json::array()});
  writes[0].value = Json{{"x", 99}};
  EXPECT_EQ(engine->HandleLocalWrites(writes, now_).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Get(*engine, "a"), (Json{{"x", 1}, {"y", 2}}));
  EXPECT_EQ(engine->status().pending, 2u);
}

TEST_F(EngineTest, SyncPushesThenPullsAndTwoClientsConverge) {
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2);
  InlineDriver driver_a(server_, "alice"), driver_b(server_, "alice");
  for (int i = 0; i < 25; ++i)
    Put(*a, "a" + std::to_string(i), Json{{"i", i}});
  Put(*b, "b0", Json{{"from", "b"}});
  EXPECT_EQ(Sync(*a, driver_a).outcome, RunOutcome::kCompleted);
  SyncRunRecord run_b = Sync(*b, driver_b);
  EXPECT_EQ(run_b.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run_b.pushed, 1u);
  EXPECT_EQ(run_b.pulled, 26u);
  EXPECT_EQ(Sync(*a, driver_a).pulled, 1u);
  for (auto* engine : {a.get(), b.get()}) {
    EXPECT_EQ(Get(*engine, "a24"), (Json{{"i", 24}}));
    EXPECT_EQ(Get(*engine, "b0"), (Json{{"from", "b"}}));
    EXPECT_EQ(engine->status().pending, 0u);
    EXPECT_EQ(engine->status().state, SyncState::kIdle);
  }
  auto scanned = b->Scan("notes", "a1");
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(scanned->size(), 11u);  // a1, a10..a19
}

TEST_F(EngineTest, PushWhoseAnswerIsLostIsAppliedOnceWhenRetried) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", Json{{"n", 1}});
  bool lose = true;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (!lose || request.method != "POST") return std::nullopt;
    lose = false;
    driver.Server(request);                              // the server applies it...
    return HttpResponse{0, "", "", "connection reset"};  // ...but the answer never arrives
  };
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kFailed);
  EXPECT_EQ(engine->status().pending, 1u);
  EXPECT_EQ(engine->status().state, SyncState::kOffline);  // no answer: the network, not the server
  FireTimeout(*engine, driver);                            // the retry needs no new write
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_.statistics().mutations_applied, 1u);
  EXPECT_EQ(server_.statistics().mutations_duplicate, 1u);
  EXPECT_EQ(Get(*engine, "a"), (Json{{"n", 1}}));
}

// Found by the client crash loop (reliability_tests): a write answered
// "duplicate" left the outbox, and until a pull succeeded local reads no
// longer saw it. The duplicate answer now carries the server's document.
TEST_F(EngineTest, DuplicateAnswerKeepsTheWriteVisibleWhenThePullThenFails) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", Json{{"n", 1}});
  Put(*engine, "b", Json{{"n", 2}});
  bool lose = true;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST") {
      return HttpResponse{503, "{}", "", ""};  // every pull fails
    }
    if (!lose) return std::nullopt;
    lose = false;
    driver.Server(request);
    return HttpResponse{0, "", "", "connection reset"};
  };
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kFailed);
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kFailed);  // pushed again, pull refused
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_.statistics().mutations_duplicate, 2u);
  EXPECT_EQ(Get(*engine, "a"), (Json{{"n", 1}}));
  EXPECT_EQ(Get(*engine, "b"), (Json{{"n", 2}}));
  auto scanned = engine->Scan("notes", "");
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(scanned->size(), 2u);
}

TEST_F(EngineTest, BackoffGrowsAndHonoursRetryAfter) {
  MemoryStore store;
  EngineOptions options;
  options.backoff_base_ms = 1000;
  options.backoff_max_ms = 60'000;
  auto engine = Open(store, 7, options);
  InlineDriver driver(server_, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{429, "{}", "120", ""});
  };
  Put(*engine, "a", 1);
  Sync(*engine, driver);
  ASSERT_TRUE(engine->status().next_retry_at.has_value());
  EXPECT_GE(*engine->status().next_retry_at - now_, 120'000);
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{503, "down", "", ""});
  };
  std::vector<TimeMs> delays;
  for (int i = 0; i < 8; ++i) {
    FireTimeout(*engine, driver);
    delays.push_back(*engine->status().next_retry_at - now_);
  }
  for (TimeMs delay : delays) {
    EXPECT_GE(delay, 1);
    EXPECT_LE(delay, 60'000);
  }
  // Full jitter: later delays are drawn from a wider range; the largest of the
  // last four exceeds the first delay's cap (2 s after the second failure).
  EXPECT_GT(*std::max_element(delays.begin() + 4, delays.end()), 2000);
  EXPECT_EQ(engine->status().pending, 1u);
}

TEST_F(EngineTest, RefusedTokenIsRefreshedOnceThenTheClientWaitsInAuthError) {
  MemoryStore store;
  auto engine = Open(store, 9);
  InlineDriver driver(server_, "alice");
  // The server refuses every request that does not come with a fresh token.
  std::vector<bool> refreshed;
  driver.fault = [&refreshed](const HttpRequest& request) {
    refreshed.push_back(request.refresh_credentials);
    if (request.refresh_credentials) return std::optional<HttpResponse>();
    return std::optional<HttpResponse>(
        HttpResponse{401, R"({"error":{"message":"expired"}})", "", ""});
  };
  Put(*engine, "a", 1);
  SyncRunRecord run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted) << run.error;
  EXPECT_EQ(run.pushed, 1u);
  // push refused, push again with a fresh token, then the pull (refused and repeated too).
  EXPECT_EQ(refreshed, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(engine->status().state, SyncState::kIdle);

  // Refused even after the refresh: auth_error, the write kept, no timer retry.
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(
        HttpResponse{401, R"({"error":{"message":"revoked"}})", "", ""});
  };
  Put(*engine, "b", 2);
  run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kFailed);
  EXPECT_NE(run.error.find("refused the credentials even after a token refresh"), std::string::npos)
      << run.error;
  EXPECT_NE(run.error.find("revoked"), std::string::npos) << run.error;
  SyncStatus status = engine->status();
  EXPECT_EQ(status.state, SyncState::kAuthError);
  EXPECT_EQ(status.pending, 1u);
  EXPECT_FALSE(status.next_retry_at.has_value());
  EXPECT_FALSE(engine->PollTimeout().has_value());

  // The user signs in again: the next run delivers the write and clears the state.
  driver.fault = nullptr;
  run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted) << run.error;
  EXPECT_EQ(engine->status().state, SyncState::kIdle);
  EXPECT_EQ(engine->status().pending, 0u);
}

TEST_F(EngineTest, ConflictIsResolvedServerWinsAndReported) {
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2);
  InlineDriver driver_a(server_, "alice"), driver_b(server_, "alice");
  Put(*a, "doc", Json{{"v", "a"}});
  Put(*b, "doc", Json{{"v", "b"}});
  Sync(*a, driver_a);
  SyncRunRecord run = Sync(*b, driver_b);
  EXPECT_EQ(run.conflicts, 1u);
  auto conflicts = driver_b.EventsOf<SyncConflictEvent>();
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].resolution, "server_wins");
  EXPECT_EQ(conflicts[0].local.value, (Json{{"v", "b"}}));
  EXPECT_EQ(Get(*b, "doc"), (Json{{"v", "a"}}));
  EXPECT_EQ(b->statistics().conflicts, 1u);
  EXPECT_EQ(b->status().pending, 0u);
}

TEST_F(EngineTest, ConflictsAnsweredWithoutTheDocumentAreSettledByTheNextPush) {
  // A server whose answers carry one document each: every conflict after the
  // first comes without `current` and must stay pending, not be dropped.
  MemoryStore server_store;
  ProtocolLimits limits;
  limits.max_push_current_bytes = 1;
  ServerState server(server_store, "ep1", limits);
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1);
  EngineOptions client_wins;
  client_wins.conflicts.collections["notes"] = ConflictStrategy::kClientWins;
  auto b = Open(store_b, 2, client_wins);
  InlineDriver driver_a(server, "alice"), driver_b(server, "alice");
  for (int i = 0; i < 5; ++i) {
    Put(*a, "k" + std::to_string(i), Json{{"by", "a"}});
    Put(*b, "k" + std::to_string(i), Json{{"by", "b"}});
  }
  Sync(*a, driver_a);
  SyncRunRecord run = Sync(*b, driver_b);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted) << run.error;
  EXPECT_EQ(run.conflicts, 5u);
  EXPECT_EQ(b->status().pending, 0u);
  for (int i = 0; i < 5; ++i) {
    auto held = server.GetDocument("alice", {"notes", "k" + std::to_string(i)});
    ASSERT_TRUE(held.ok());
    EXPECT_EQ(held->state.value, (Json{{"by", "b"}})) << "k" << i << ": the local side won";
    EXPECT_EQ(Get(*b, "k" + std::to_string(i)), (Json{{"by", "b"}}));
  }
}

// Two clients edit one document while offline; `first` pushes first, then
// `second` hits the conflict and resolves it; both end on the same document.
struct ConflictOutcome {
  std::optional<Json> first_view, second_view, server;
  std::vector<SyncConflictEvent> events;
};

class ConflictTest : public EngineTest {
 protected:
  ConflictOutcome Run(ConflictStrategy strategy, const std::function<void(SyncEngine&)>& first_edit,
                      const std::function<void(SyncEngine&)>& second_edit,
                      ConflictResolver custom = nullptr) {
    EngineOptions options;
    options.conflicts.collections["notes"] = strategy;
    options.conflicts.custom = std::move(custom);
    first_ = Open(first_store_, 1, options);
    second_ = Open(second_store_, 2, options);
    // Both start from the same synced document.
    Put(*first_, "doc", Json{{"title", "Milk"}, {"done", false}, {"qty", 1}});
    Sync(*first_, first_driver_);
    Sync(*second_, second_driver_);
    now_ += 1000;
    first_edit(*first_);
    now_ += 1000;  // the second client's edit is the newer one
    second_edit(*second_);
    Sync(*first_, first_driver_);
    Sync(*second_, second_driver_);
    Sync(*first_, first_driver_);
    ConflictOutcome outcome;
    outcome.first_view = Get(*first_, "doc");
    outcome.second_view = Get(*second_, "doc");
    auto server = server_.GetDocument("alice", {"notes", "doc"});
    EXPECT_TRUE(server.ok());
    if (server.ok() && server->state.exists) outcome.server = server->state.value;
    outcome.events = second_driver_.EventsOf<SyncConflictEvent>();
    EXPECT_EQ(first_->status().pending, 0u);
    EXPECT_EQ(second_->status().pending, 0u);
    return outcome;
  }
  void Patch(SyncEngine& engine, Json patch) {
    ASSERT_TRUE(engine.HandleLocalWrite(MutationOp::kPatch, {"notes", "doc"}, patch, now_).ok());
  }
  // An edit for Run(): a patch or a delete of the document.
  std::function<void(SyncEngine&)> Patching(Json patch) {
    return [this, patch](SyncEngine& engine) { Patch(engine, patch); };
  }
  std::function<void(SyncEngine&)> Deleting() {
    return [this](SyncEngine& engine) { Delete(engine); };
  }
  void Delete(SyncEngine& engine) {
    ASSERT_TRUE(engine.HandleLocalWrite(MutationOp::kDelete, {"notes", "doc"}, nullptr, now_).ok());
  }

  MemoryStore first_store_, second_store_;
  std::unique_ptr<SyncEngine> first_, second_;
  InlineDriver first_driver_{server_, "alice"}, second_driver_{server_, "alice"};
};

void ExpectConverged(const ConflictOutcome& outcome, const std::optional<Json>& expected) {
  EXPECT_EQ(outcome.server, expected);
  EXPECT_EQ(outcome.first_view, expected);
  EXPECT_EQ(outcome.second_view, expected);
}

TEST_F(ConflictTest, ServerWinsKeepsTheFirstPush) {
  auto outcome = Run(ConflictStrategy::kServerWins, Patching({{"title", "Oat milk"}}),
                     Patching({{"title", "Soy milk"}}));
  ExpectConverged(outcome, Json{{"title", "Oat milk"}, {"done", false}, {"qty", 1}});
  ASSERT_EQ(outcome.events.size(), 1u);
  EXPECT_EQ(outcome.events[0].resolution, "server_wins");
}

TEST_F(ConflictTest, ClientWinsKeepsTheResolvingClientsView) {
  auto outcome = Run(ConflictStrategy::kClientWins, Patching({{"title", "Oat milk"}}),
                     Patching({{"done", true}}));
  // The whole local view wins, including the title it never changed.
  ExpectConverged(outcome, Json{{"title", "Milk"}, {"done", true}, {"qty", 1}});
  EXPECT_EQ(outcome.events.at(0).resolution, "client_wins");
}

TEST_F(ConflictTest, LastWriteWinsPicksTheNewerEditWhicheverPushesFirst) {
  auto outcome = Run(ConflictStrategy::kLastWriteWins, Patching({{"title", "Oat milk"}}),
                     Patching({{"title", "Soy milk"}}));
  ExpectConverged(outcome, Json{{"title", "Soy milk"}, {"done", false}, {"qty", 1}});
  EXPECT_EQ(outcome.events.at(0).resolution, "last_write_wins_local");
}

TEST_F(ConflictTest, LastWriteWinsOlderLocalEditLoses) {
  // The newer edit is pushed first this time; the older one resolving keeps it.
  auto outcome = Run(
      ConflictStrategy::kLastWriteWins,
      [&](SyncEngine& e) {
        now_ += 5000;  // the first client's edit is stamped later
        Patch(e, {{"title", "Oat milk"}});
        now_ -= 5000;
      },
      Patching({{"title", "Soy milk"}}));
  ExpectConverged(outcome, Json{{"title", "Oat milk"}, {"done", false}, {"qty", 1}});
  EXPECT_EQ(outcome.events.at(0).resolution, "last_write_wins_remote");
}

TEST_F(ConflictTest, MergeCombinesPatchesOnBothSides) {
  auto outcome = Run(ConflictStrategy::kMerge, Patching({{"title", "Oat milk"}, {"qty", 2}}),
                     [&](SyncEngine& e) {
                       Patch(e, {{"done", true}});
                       Patch(e, {{"qty", 3}});  // changed on both sides: the newer (this) wins
                     });
  ExpectConverged(outcome, Json{{"title", "Oat milk"}, {"done", true}, {"qty", 3}});
  ASSERT_EQ(outcome.events.size(), 1u);  // one resolution for the document's two writes
  EXPECT_EQ(outcome.events[0].resolution, "merged");
  EXPECT_EQ(outcome.events[0].resolved.value,
            (Json{{"title", "Oat milk"}, {"done", true}, {"qty", 3}}));
}

TEST_F(ConflictTest, DeleteAgainstEditAndEditAgainstDeleteFollowTheStrategy) {
  // A remote delete, a newer local edit, last write wins: the edit revives the document.
  auto revived = Run(ConflictStrategy::kLastWriteWins, Deleting(), Patching({{"done", true}}));
  ExpectConverged(revived, Json{{"title", "Milk"}, {"done", true}, {"qty", 1}});
}

TEST_F(ConflictTest, LocalDeleteAgainstARemoteEditUnderMergeIsDecidedByStamp) {
  auto deleted = Run(ConflictStrategy::kMerge, Patching({{"qty", 5}}), Deleting());
  ExpectConverged(deleted, std::nullopt);  // the delete is newer
  EXPECT_EQ(deleted.events.at(0).resolution, "last_write_wins_local");
}

TEST_F(ConflictTest, CustomResolverSeesBaseLocalAndRemote) {
  std::vector<ConflictInput> seen;
  auto outcome = Run(ConflictStrategy::kCustom, Patching({{"qty", 4}}), Patching({{"qty", 3}}),
                     [&seen](const ConflictInput& in) -> Result<std::optional<Json>> {
                       seen.push_back(in);
                       Json sum = *in.remote;  // add both increments to the base
                       sum["qty"] = in.local->at("qty").get<int>() +
                                    in.remote->at("qty").get<int>() - in.base->at("qty").get<int>();
                       return std::optional<Json>(sum);
                     });
  ExpectConverged(outcome, Json{{"title", "Milk"}, {"done", false}, {"qty", 6}});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base, (Json{{"title", "Milk"}, {"done", false}, {"qty", 1}}));
  EXPECT_FALSE(seen[0].remote_hlc.empty());
  EXPECT_GT(seen[0].local_hlc, seen[0].remote_hlc);
}

TEST_F(ConflictTest, CustomResolverReturningAnInvalidDocumentKeepsTheServers) {
  auto outcome = Run(ConflictStrategy::kCustom, Patching({{"qty", 4}}), Patching({{"qty", 3}}),
                     [](const ConflictInput&) -> Result<std::optional<Json>> {
                       return std::optional<Json>(Json(nullptr));  // null is not a document
                     });
  ExpectConverged(outcome, Json{{"title", "Milk"}, {"done", false}, {"qty", 4}});
  EXPECT_EQ(outcome.events.at(0).resolution.rfind("custom_failed", 0), 0u);
}

TEST_F(EngineTest, PulledChangesRebasePendingLocalWrites) {
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2);
  InlineDriver driver_a(server_, "alice"), driver_b(server_, "alice");
  Put(*a, "doc", Json{{"title", "t"}, {"body", "x"}});
  Sync(*a, driver_a);
  Sync(*b, driver_b);
  // b edits offline; meanwhile a changes another field.
  ASSERT_TRUE(
      b->HandleLocalWrite(MutationOp::kPatch, {"notes", "doc"}, Json{{"title", "mine"}}, now_)
          .ok());
  ASSERT_TRUE(
      a->HandleLocalWrite(MutationOp::kPatch, {"notes", "doc"}, Json{{"body", "theirs"}}, now_)
          .ok());
  Sync(*a, driver_a);
  // Pull only (push refused with 503): b's view is the new server doc with b's patch on top.
  driver_b.fault = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method == "POST") return HttpResponse{503, "", "", ""};
    return std::nullopt;
  };
  ASSERT_TRUE(b->HandleLocalWrite(MutationOp::kPut, {"notes", "other"}, 1, now_).ok());
  Sync(*b, driver_b);
  EXPECT_EQ(b->status().pending, 2u);
  MemoryStore probe_store;
  auto probe = Open(probe_store, 3);
  InlineDriver probe_driver(server_, "alice");
  Sync(*probe, probe_driver);
  EXPECT_EQ(Get(*probe, "doc"), (Json{{"title", "t"}, {"body", "theirs"}}));
  // b has not pulled yet (its run failed at the push); a pull-only run via a
  // manual resync of the view happens on the next successful sync:
  driver_b.fault = nullptr;
  FireTimeout(*b, driver_b);
  // The patch conflicted (a changed the doc after b's base): server wins.
  EXPECT_EQ(Get(*b, "doc"), (Json{{"title", "t"}, {"body", "theirs"}}));
  EXPECT_EQ(Get(*b, "other"), Json(1));
}

TEST_F(EngineTest, RejectedMutationIsDeadLetteredWithoutBlockingTheQueue) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "bad", 1);
  Put(*engine, "good", 2);
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST") return std::nullopt;
    auto sent = DecodePushRequest(request.body, {});
    PushResponse response;
    for (const Mutation& m : sent->mutations) {
      if (m.document.key == "bad") {
        response.results.push_back(
            MakeResult(m.seq, PushResultStatus::kRejected, 0, 0, "not allowed"));
      } else {
        response.results.push_back(MakeResult(m.seq, PushResultStatus::kApplied, 0, 99));
      }
    }
    return HttpResponse{200, EncodePushResponse(response), "", ""};
  };
  SyncRunRecord run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run.rejected, 1u);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(engine->status().failed, 1u);
  EXPECT_EQ(Get(*engine, "bad"), std::nullopt);
  auto failed = engine->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().error, "not allowed");
  ASSERT_EQ(driver.EventsOf<MutationRejectedEvent>().size(), 1u);

  driver.fault = nullptr;
  auto retried = engine->RetryFailedMutation(failed->front().mutation.seq, now_);
  ASSERT_TRUE(retried.ok());
  EXPECT_GT(*retried, failed->front().mutation.seq);
  EXPECT_EQ(Get(*engine, "bad"), Json(1));
  EXPECT_EQ(Sync(*engine, driver).pushed, 1u);
  EXPECT_EQ(engine->status().failed, 0u);
  EXPECT_EQ(engine->DiscardFailedMutation(12345, now_).code(), ErrorCode::kNotFound);
}

TEST_F(EngineTest, RefusedBatchIsHalvedUntilTheBadMutationIsIsolated) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  for (int i = 0; i < 8; ++i)
    Put(*engine, "k" + std::to_string(i), i);
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method == "POST" && request.body.find("\"k5\"") != std::string::npos) {
      return HttpResponse{413, EncodeErrorBody(ErrorCode::kTooLarge, "too large"), "", ""};
    }
    return std::nullopt;
  };
  SyncRunRecord run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run.pushed, 7u);
  EXPECT_EQ(engine->status().failed, 1u);
  auto failed = engine->FailedMutations();
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->front().mutation.document.key, "k5");
  ASSERT_TRUE(engine->DiscardFailedMutation(failed->front().mutation.seq, now_).ok());
  EXPECT_EQ(engine->status().failed, 0u);
}

TEST_F(EngineTest, ExpiredCursorLeadsToFullResyncThatKeepsPendingWrites) {
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2);
  InlineDriver driver_a(server_, "alice"), driver_b(server_, "alice");
  Put(*a, "keep", 1);
  Put(*a, "doomed", 2);
  Sync(*a, driver_a);
  Sync(*b, driver_b);
  ASSERT_TRUE(a->HandleLocalWrite(MutationOp::kDelete, {"notes", "doomed"}, Json(), now_).ok());
  Sync(*a, driver_a);
  ASSERT_TRUE(server_.PurgeTombstones("alice", 100).ok());
  Put(*b, "local", 3);  // pending across the resync
  driver_b.fault = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method == "POST") return HttpResponse{503, "", "", ""};
    return std::nullopt;
  };
  Sync(*b, driver_b);  // push fails: pending stays
  driver_b.fault = nullptr;
  FireTimeout(*b, driver_b);
  EXPECT_EQ(b->statistics().full_resyncs, 1u);
  EXPECT_EQ(Get(*b, "doomed"), std::nullopt);
  EXPECT_EQ(Get(*b, "keep"), Json(1));
  EXPECT_EQ(Get(*b, "local"), Json(3));
  EXPECT_EQ(b->status().pending, 0u);
}

TEST_F(EngineTest, CancelKeepsEveryMutationPending) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{-1, "", "", ""});
  };
  Put(*engine, "a", 1);
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  ASSERT_TRUE(engine->syncing());
  engine->Cancel(now_);
  driver.Pump(*engine, now_);
  EXPECT_FALSE(engine->syncing());
  EXPECT_EQ(driver.cancelled.size(), 1u);
  EXPECT_EQ(engine->status().pending, 1u);
  EXPECT_FALSE(engine->PollTimeout().has_value());  // no retry after a cancel
  auto failed = driver.EventsOf<SyncFailedEvent>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].run.outcome, RunOutcome::kCancelled);
  // A late answer to the cancelled request is ignored.
  engine->HandleResponse(driver.unanswered.front(), {200, "{\"results\":[]}", "", ""}, now_);
  EXPECT_EQ(engine->status().pending, 1u);
}

TEST_F(EngineTest, RequestTimeoutAbortsTheRequestAndRetries) {
  MemoryStore store;
  EngineOptions options;
  options.request_timeout_ms = 5000;
  auto engine = Open(store, 1, options);
  InlineDriver driver(server_, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{-1, "", "", ""});
  };
  Put(*engine, "a", 1);
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(*engine->PollTimeout(), now_ + 5000);
  FireTimeout(*engine, driver);
  EXPECT_EQ(driver.cancelled.size(), 1u);
  EXPECT_EQ(engine->status().state, SyncState::kOffline);  // no answer: the network, not the server
  driver.fault = nullptr;
  FireTimeout(*engine, driver);
  EXPECT_EQ(engine->status().pending, 0u);
}

TEST_F(EngineTest, OfflineWritesWaitAndSyncWhenOnlineReturns) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  engine->HandleOnline(false, now_);
  Put(*engine, "a", 1);
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kFailed);
  EXPECT_EQ(driver.server_requests, 0);
  EXPECT_EQ(engine->status().state, SyncState::kOffline);
  EXPECT_FALSE(engine->PollTimeout().has_value());
  engine->HandleOnline(true, now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(engine->status().state, SyncState::kIdle);
}

TEST_F(EngineTest, OnlyOneSyncRunsAtATime) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", 1);
  RunTicket first = engine->HandleTrigger(TriggerReason::kManual, now_);
  RunTicket joined = engine->HandleTrigger(TriggerReason::kManual, now_);  // still pushing: joins
  EXPECT_EQ(first, joined);
  driver.Pump(*engine, now_);
  EXPECT_EQ(driver.EventsOf<SyncStartedEvent>().size(), 1u);
  EXPECT_EQ(driver.server_requests, 2);  // one push, one pull
}

TEST_F(EngineTest, UnsentWritesToTheSameDocumentAreCoalescedButSentOnesAreNot) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", Json{{"x", 1}});
  ASSERT_TRUE(
      engine->HandleLocalWrite(MutationOp::kPatch, {"notes", "a"}, Json{{"y", 2}}, now_).ok());
  EXPECT_EQ(engine->status().pending, 1u);
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{500, "", "", ""});
  };
  Sync(*engine, driver);  // sent once: may be applied, so it stays as it is
  ASSERT_TRUE(
      engine->HandleLocalWrite(MutationOp::kPatch, {"notes", "a"}, Json{{"z", 3}}, now_).ok());
  EXPECT_EQ(engine->status().pending, 2u);
  driver.fault = nullptr;
  FireTimeout(*engine, driver);
  EXPECT_EQ(Get(*engine, "a"), (Json{{"x", 1}, {"y", 2}, {"z", 3}}));
  EXPECT_EQ(server_.statistics().mutations_applied, 2u);
}

// Attempts are counted when a push ends, not by rewriting every entry as it
// is sent; what a dead letter shows is the same: every push that carried it.
TEST_F(EngineTest, AttemptsCountEveryPushThatCarriedTheEntry) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", 1);
  int failures = 2;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST") return std::nullopt;
    if (failures-- > 0) return HttpResponse{503, "", "", ""};
    auto sent = DecodePushRequest(request.body, {});
    PushResponse response;
    response.results.push_back(
        MakeResult(sent->mutations.front().seq, PushResultStatus::kRejected, 0, 0, "no"));
    return HttpResponse{200, EncodePushResponse(response), "", ""};
  };
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kFailed);
  FireTimeout(*engine, driver);
  FireTimeout(*engine, driver);
  auto failed = engine->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().attempts, 3u);
}

TEST_F(EngineTest, APushUnansweredAtACrashCountsAnAttemptAndIsNeverCoalesced) {
  MemoryStore store;
  {
    auto engine = Open(store, 1);
    InlineDriver driver(server_, "alice");
    driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
      driver.Server(request);  // applied, but the process dies before the answer
      return HttpResponse{-1, "", "", ""};
    };
    Put(*engine, "a", Json{{"x", 1}});
    engine->HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(*engine, now_);
    ASSERT_TRUE(engine->syncing());
    // Sending rewrote no entry: one small record says what is on the wire.
    auto entry = store.Get("o/" + keys::OrderedNumber(1));
    ASSERT_TRUE(entry.ok() && entry->has_value());
    EXPECT_NE((*entry)->find("\"a\":0"), std::string::npos) << **entry;
  }
  auto engine = Open(store, 1);
  ASSERT_TRUE(
      engine->HandleLocalWrite(MutationOp::kPatch, {"notes", "a"}, Json{{"y", 2}}, now_).ok());
  EXPECT_EQ(engine->status().pending, 2u) << "a write that may be applied is never changed";
  InlineDriver driver(server_, "alice");
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST") return std::nullopt;
    HttpResponse answer = driver.Server(request);
    auto sent = DecodePushRequest(request.body, {});
    PushResponse response;  // the server applied both; say the first was rejected
    response.results.push_back(
        MakeResult(sent->mutations.front().seq, PushResultStatus::kRejected, 0, 0, "no"));
    for (std::size_t i = 1; i < sent->mutations.size(); ++i)
      response.results.push_back(
          MakeResult(sent->mutations[i].seq, PushResultStatus::kDuplicate, 0, 0));
    return HttpResponse{200, EncodePushResponse(response), "", ""};
  };
  Sync(*engine, driver);
  auto failed = engine->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().attempts, 2u) << "the push cut off by the crash, and this one";
  EXPECT_EQ(server_.statistics().mutations_applied, 2u);
}

// Overlap: an answer that settles every mutation it carried is committed
// after the next push is sent, while the server works on that push.
class OverlapTest : public EngineTest {
 protected:
  EngineOptions TwoPerBatch() {
    EngineOptions options;
    options.batch.max_count = 2;
    return options;
  }
  // Opened with two mutations a batch and `count` writes, to k0, k1, ...
  std::unique_ptr<SyncEngine> OpenWithWrites(MemoryStore& store, int count) {
    auto engine = Open(store, 1, TwoPerBatch());
    for (int i = 0; i < count; ++i)
      Put(*engine, "k" + std::to_string(i), i);
    return engine;
  }
  // The second push gets `answer`; the others reach the server.
  void AnswerSecondPush(InlineDriver& driver, const HttpResponse& answer) {
    OnPush(driver, [answer](int push) -> std::optional<HttpResponse> {
      if (push == 2) return answer;
      return std::nullopt;
    });
  }
  // Answers through the server; `on_push(n)` runs as the n-th push (from 1)
  // is sent and may answer it instead.
  void OnPush(InlineDriver& driver,
              const std::function<std::optional<HttpResponse>(int)>& on_push) {
    driver.fault = [this, on_push](const HttpRequest& request) -> std::optional<HttpResponse> {
      if (request.method != "POST") return std::nullopt;
      return on_push(++pushes_);
    };
  }
  int pushes_ = 0;
};

TEST_F(OverlapTest, TheNextPushIsSentBeforeTheLastAnswerIsCommitted) {
  MemoryStore store;
  auto engine = OpenWithWrites(store, 5);
  InlineDriver driver(server_, "alice");
  std::vector<std::size_t> pending_at_push;
  OnPush(driver, [&](int) {
    pending_at_push.push_back(engine->status().pending);
    return std::nullopt;
  });
  SyncRunRecord run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run.pushed, 5u);
  // Each push left while the answer before it still waited to be committed.
  EXPECT_EQ(pending_at_push, (std::vector<std::size_t>{5, 5, 3}));
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_.statistics().mutations_applied, 5u);
  EXPECT_EQ(server_.statistics().mutations_duplicate, 0u);
  EXPECT_EQ(Get(*engine, "k4"), Json(4));
}

TEST_F(OverlapTest, APushThatFailsWhileTheAnswerBeforeItWaitsKeepsThatAnswer) {
  MemoryStore store;
  auto engine = OpenWithWrites(store, 4);
  InlineDriver driver(server_, "alice");
  AnswerSecondPush(driver, {503, "", "", ""});
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kFailed);
  EXPECT_EQ(engine->status().pending, 2u) << "the first answer is committed";
  EXPECT_EQ(engine->statistics().mutations_pushed, 2u);
  FireTimeout(*engine, driver);  // the retry sends the second batch again
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_.statistics().mutations_applied, 4u);
  EXPECT_EQ(server_.statistics().mutations_duplicate, 0u);
}

TEST_F(OverlapTest, AnAnswerWithAConflictIsCommittedBeforeTheNextPush) {
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1, TwoPerBatch());
  auto b = Open(store_b, 2);
  InlineDriver driver_a(server_, "alice"), driver_b(server_, "alice");
  Put(*b, "k0", Json("from b"));
  Sync(*b, driver_b);
  for (int i = 0; i < 4; ++i)
    Put(*a, "k" + std::to_string(i), i);  // k0 conflicts
  std::vector<std::size_t> pending_at_push;
  OnPush(driver_a, [&](int) {
    pending_at_push.push_back(a->status().pending);
    return std::nullopt;
  });
  SyncRunRecord run = Sync(*a, driver_a);
  EXPECT_EQ(run.conflicts, 1u);
  EXPECT_EQ(pending_at_push, (std::vector<std::size_t>{4, 2}));
  EXPECT_EQ(Get(*a, "k0"), Json("from b"));
  EXPECT_EQ(a->status().pending, 0u);
}

TEST_F(OverlapTest, AWriteToADocumentWhoseAnswerWaitsIsSentAfterIt) {
  MemoryStore store;
  EngineOptions options;
  options.batch.max_count = 1;
  auto engine = Open(store, 1, options);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", Json{{"x", 1}});
  Put(*engine, "b", 2);
  OnPush(driver, [&](int push) -> std::optional<HttpResponse> {
    if (push == 2) {  // a's answer waits: the write to it must not change it
      EXPECT_TRUE(
          engine->HandleLocalWrite(MutationOp::kPatch, {"notes", "a"}, Json{{"y", 2}}, now_).ok());
      EXPECT_EQ(engine->status().pending, 3u);
    }
    return std::nullopt;
  });
  SyncRunRecord run = Sync(*engine, driver);
  EXPECT_EQ(run.pushed, 3u);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(Get(*engine, "a"), (Json{{"x", 1}, {"y", 2}}));
  EXPECT_EQ(server_.statistics().mutations_applied, 3u);
  EXPECT_EQ(server_.statistics().mutations_conflict, 0u);
}

TEST_F(OverlapTest, ACrashBeforeAnAnswerIsCommittedSendsItsWritesAgainAsDuplicates) {
  MemoryStore store;
  {
    auto engine = OpenWithWrites(store, 4);
    InlineDriver driver(server_, "alice");
    AnswerSecondPush(driver, {-1, "", "", ""});  // it hangs
    engine->HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(*engine, now_);
    EXPECT_EQ(engine->status().pending, 4u);  // the first answer was not committed: "crash"
  }
  auto engine = Open(store, 1, TwoPerBatch());
  EXPECT_EQ(engine->status().pending, 4u);
  InlineDriver driver(server_, "alice");
  EXPECT_EQ(Sync(*engine, driver).outcome, RunOutcome::kCompleted);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_.statistics().mutations_applied, 4u);
  EXPECT_EQ(server_.statistics().mutations_duplicate, 2u);
  EXPECT_EQ(Get(*engine, "k0"), Json(0));
  EXPECT_EQ(Get(*engine, "k3"), Json(3));
}

TEST_F(EngineTest, MalformedServerAnswersFailTheRunAndLoseNothing) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", 1);
  const char* garbage[] = {
      "<html>oops</html>", "{\"results\":[{\"seq\":99,\"status\":\"applied\",\"version\":1}]}", "",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["};
  for (const char* body : garbage) {
    driver.fault = [body](const HttpRequest&) {
      return std::optional<HttpResponse>(HttpResponse{200, body, "", ""});
    };
    SyncRunRecord run = Sync(*engine, driver);
    EXPECT_EQ(run.outcome, RunOutcome::kFailed) << body;
    EXPECT_NE(run.error.find("push response"), std::string::npos) << run.error;
    EXPECT_EQ(engine->status().pending, 1u);
    EXPECT_EQ(Get(*engine, "a"), Json(1));
  }
}

TEST_F(EngineTest, StateHistoryAndStatisticsSurviveReopen) {
  MemoryStore store;
  std::string client_id;
  {
    auto engine = Open(store, 1);
    InlineDriver driver(server_, "alice");
    client_id = engine->client_id();
    Put(*engine, "a", 1);
    Sync(*engine, driver);
    Put(*engine, "b", 2);  // pending at "crash"
  }
  auto engine = Open(store, 999);
  EXPECT_EQ(engine->client_id(), client_id);
  EXPECT_EQ(engine->status().pending, 1u);
  EXPECT_EQ(engine->status().state, SyncState::kIdle);
  EXPECT_EQ(engine->statistics().mutations_pushed, 1u);
  auto history = engine->History(10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->front().outcome, RunOutcome::kCompleted);
  InlineDriver driver(server_, "alice");
  Sync(*engine, driver);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_.statistics().mutations_applied, 2u);
}

TEST_F(EngineTest, StoreFromANewerFormatIsRefused) {
  MemoryStore store;
  ASSERT_TRUE(store.Put("m/format", "3").ok());
  auto engine = SyncEngine::Open(store, {}, now_);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), ErrorCode::kUnsupportedVersion);
}

TEST_F(EngineTest, LocalWritesTriggerADebouncedSync) {
  MemoryStore store;
  EngineOptions options;
  options.random_seed = 1;
  options.local_write_debounce_ms = 50;
  auto opened = SyncEngine::Open(store, options, now_);
  ASSERT_TRUE(opened.ok());
  auto& engine = *opened;
  InlineDriver driver(server_, "alice");
  Put(*engine, "a", 1);
  Put(*engine, "b", 2);
  EXPECT_EQ(*engine->PollTimeout(), now_ + 50);
  FireTimeout(*engine, driver);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(driver.EventsOf<SyncStartedEvent>().size(), 1u);
}

TEST_F(EngineTest, UnansweredRequestsReportOfflineAndAnsweredFailuresReportError) {
  MemoryStore store;
  auto engine = Open(store, 1);
  InlineDriver driver(server_, "alice");
  const auto state_after = [&](HttpResponse answer) {
    driver.fault = [answer](const HttpRequest&) { return answer; };
    Sync(*engine, driver);
    return engine->status().state;
  };
  EXPECT_EQ(state_after({0, "", "", "connection refused"}), SyncState::kOffline);
  EXPECT_EQ(engine->status().last_error, "") << "offline is not an error to show";
  EXPECT_EQ(state_after({503, "busy", "", ""}), SyncState::kError);
  EXPECT_NE(engine->status().last_error.find("503"), std::string::npos);
  HttpResponse refused{0, "", "", "certificate verify failed"};
  refused.server_reached = true;
  EXPECT_EQ(state_after(refused), SyncState::kError) << "the server was reached";
  EXPECT_NE(engine->status().last_error.find("certificate"), std::string::npos);
  EXPECT_EQ(state_after({0, "", "", "timeout"}), SyncState::kOffline);
  EXPECT_EQ(engine->status().last_error, "");
  EXPECT_EQ(state_after({503, "busy", "", ""}), SyncState::kError);
  driver.fault = nullptr;
  Sync(*engine, driver);
  EXPECT_EQ(engine->status().state, SyncState::kIdle);
  EXPECT_EQ(engine->status().last_error, "");
}

TEST(ParseRetryAfter, AcceptsSecondsAndHttpDates) {
  EXPECT_EQ(ParseRetryAfter("30", 0), 30'000);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000 - 5000), 5000);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000 + 5000), 0);
  EXPECT_EQ(ParseRetryAfter("soon", 0), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("99999999999", 0), 24 * 3600 * 1000);
}

// Pull ahead: a pull page is stored after the next one is asked for, while
// the server reads that one.
class PullAheadTest : public EngineTest {
 protected:
  // Five documents at the server, written by another client; with
  // `rewrite_k4`, k4 is written again after them (version 6).
  void SeedServer(bool rewrite_k4 = false) {
    MemoryStore writer_store;
    auto writer = Open(writer_store, 7);
    InlineDriver writer_driver(server_, "alice");
    for (int i = 0; i < 5; ++i)
      Put(*writer, "k" + std::to_string(i), i);
    ASSERT_EQ(Sync(*writer, writer_driver).pushed, 5u);
    if (!rewrite_k4) return;
    Put(*writer, "k4", 40);
    ASSERT_EQ(Sync(*writer, writer_driver).pushed, 1u);
  }
  EngineOptions TwoPerPage() {
    EngineOptions options;
    options.pull_page_size = 2;
    return options;
  }
  std::unique_ptr<SyncEngine> OpenOn(Store& store) {
    EngineOptions options = TwoPerPage();
    options.random_seed = 1;
    options.sync_on_local_write = false;
    options.live_updates = false;
    auto engine = SyncEngine::Open(store, options, now_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }
  std::size_t Stored(SyncEngine& engine) {
    auto scanned = engine.Scan("notes", "");
    EXPECT_TRUE(scanned.ok());
    return scanned.ok() ? scanned->size() : 0;
  }
};

// A store whose commits can be made to fail.
class SwitchableStore final : public Store {
 public:
  Result<std::optional<std::string>> Get(std::string_view key) override { return store_.Get(key); }
  Status Scan(std::string_view begin, std::string_view end, const ScanVisitor& visit) override {
    return store_.Scan(begin, end, visit);
  }
  Status Commit(const WriteBatch& batch) override {
    if (fail_commits) return Status(ErrorCode::kIo, "disk full");
    return store_.Commit(batch);
  }
  bool fail_commits = false;

 private:
  MemoryStore store_;
};

TEST_F(PullAheadTest, TheNextPageIsAskedForBeforeThisOneIsStored) {
  SeedServer();
  MemoryStore store;
  auto engine = OpenOn(store);
  InlineDriver driver(server_, "alice");
  std::vector<std::size_t> stored_at_request;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method == "GET") stored_at_request.push_back(Stored(*engine));
    return std::nullopt;
  };
  SyncRunRecord run = Sync(*engine, driver);
  EXPECT_EQ(run.outcome, RunOutcome::kCompleted);
  EXPECT_EQ(run.pulled, 5u);
  // Pages of 2, 2 and 1: each request left before the page before it was
  // stored; that page was stored when the next answer came.
  EXPECT_EQ(stored_at_request, (std::vector<std::size_t>{0, 0, 2}));
  EXPECT_EQ(Stored(*engine), 5u);
  EXPECT_EQ(engine->statistics().documents_pulled, 5u);
  EXPECT_EQ(Sync(*engine, driver).pulled, 0u) << "the cursor moved past every page";
}

// The server's "remaining" (an upper bound) gives the pull a total before
// its last page: pulled + remaining, then exactly pulled at the end.
TEST_F(PullAheadTest, ProgressEstimatesThePullTotalFromWhatTheServerSaysRemains) {
  SeedServer(/*rewrite_k4=*/true);  // k4's first version still counts in the head
  MemoryStore store;
  auto engine = OpenOn(store);
  InlineDriver driver(server_, "alice");
  ASSERT_EQ(Sync(*engine, driver).pulled, 5u);
  std::vector<std::pair<uint64_t, uint64_t>> pulled_of_total;
  for (const SyncProgressEvent& progress : driver.EventsOf<SyncProgressEvent>()) {
    if (progress.phase == SyncPhase::kPull)
      pulled_of_total.emplace_back(progress.pulled, progress.pull_total);
  }
  // Versions 1-6 (k4 at 6): after k0, k1 the head is 4 versions on; after
  // k2, k3, 2; the last page (k4) ends it.
  EXPECT_EQ(pulled_of_total, (std::vector<std::pair<uint64_t, uint64_t>>{{2, 6}, {4, 6}, {5, 5}}));
}

TEST_F(PullAheadTest, APageIsStoredOnATimerDueAtOnceWhileTheNextIsOnTheWire) {
  SeedServer();
  MemoryStore store;
  auto engine = OpenOn(store);
  InlineDriver driver(server_, "alice");
  std::vector<HttpRequest> sent;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    sent.push_back(request);
    return HttpResponse{-1, "", "", ""};  // the test answers
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(sent.size(), 1u);
  engine->HandleResponse(sent[0].id, driver.Server(sent[0]), now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(sent.size(), 2u) << "the second page is asked for";
  EXPECT_EQ(Stored(*engine), 0u) << "the first is not stored yet";
  EXPECT_EQ(engine->PollTimeout(), now_) << "it is due at once";
  engine->HandleTimeout(now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(Stored(*engine), 2u);
  EXPECT_TRUE(driver.cancelled.empty()) << "the second page stays on the wire";
  EXPECT_TRUE(engine->syncing());
}

TEST_F(PullAheadTest, APageThatFailsToStoreFailsTheRunAndAbandonsTheNextRequest) {
  SeedServer();
  SwitchableStore store;
  auto engine = OpenOn(store);
  InlineDriver driver(server_, "alice");
  std::vector<HttpRequest> sent;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    sent.push_back(request);
    return HttpResponse{-1, "", "", ""};
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  engine->HandleResponse(sent.at(0).id, driver.Server(sent.at(0)), now_);
  driver.Pump(*engine, now_);
  ASSERT_EQ(sent.size(), 2u);
  store.fail_commits = true;
  engine->HandleTimeout(now_);
  driver.Pump(*engine, now_);
  EXPECT_FALSE(engine->syncing());
  auto failed = driver.EventsOf<SyncFailedEvent>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].run.error.find("disk full"), std::string::npos) << failed[0].run.error;
  EXPECT_EQ(driver.cancelled, (std::vector<RequestId>{sent[1].id}));
  // The abandoned page's answer, arriving anyway, changes nothing.
  store.fail_commits = false;
  engine->HandleResponse(sent[1].id, driver.Server(sent[1]), now_);
  EXPECT_EQ(Stored(*engine), 0u);
  // The retry starts from the cursor that was stored: the beginning.
  driver.fault = nullptr;
  FireTimeout(*engine, driver);
  EXPECT_EQ(Stored(*engine), 5u);
  EXPECT_EQ(engine->status().state, SyncState::kIdle);
}

}  // namespace
}  // namespace ferry
