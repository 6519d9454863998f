// When local writes reach the server: a write made while nothing is in flight
// goes at once, and writes made while a request is in flight gather into the
// next batch, so a burst costs a few requests rather than one run per write.
// Requests are held until the test answers them, the way a real network keeps
// a push in flight while the app goes on writing.
#include <gtest/gtest.h>

#include <deque>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

constexpr TimeMs kStart = 1'700'000'000'000;

class EngineWriteSyncTest : public ::testing::Test {
 protected:
  // An engine with the default write policy; no live stream to keep apart.
  std::unique_ptr<SyncEngine> Open(EngineOptions options = {}) {
    options.random_seed = 1;
    options.live_updates = false;
    auto engine = SyncEngine::Open(store_, options, Now());
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  Instant Now() const { return {now_, now_}; }

  void Put(SyncEngine& engine, int i) {
    auto seq = engine.HandleLocalWrite(MutationOp::kPut, {"notes", std::to_string(i)},
                                       Json{{"n", i}}, Now());
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    Drain(engine);
  }

  // Takes the engine's actions: requests are held for AnswerOldest.
  void Drain(SyncEngine& engine) {
    while (auto action = engine.PollAction()) {
      if (auto* send = std::get_if<SendRequest>(&*action)) {
        if (send->request.target == kPushPath) pushes_.push_back(PushSize(send->request));
        held_.push_back(std::move(send->request));
      } else if (auto* event = std::get_if<Event>(&*action)) {
        if (std::holds_alternative<SyncStartedEvent>(*event)) ++runs_;
      }
    }
  }

  // What a host's loop does on each turn: fires the deadline once it is due.
  // The clock does not move, so only a deadline of "now" fires.
  void FireDue(SyncEngine& engine) {
    if (auto deadline = engine.PollTimeout(); deadline && *deadline <= now_) {
      engine.HandleTimeout(Now());
      Drain(engine);
    }
  }

  void AnswerOldest(SyncEngine& engine) {
    ASSERT_FALSE(held_.empty());
    HttpRequest request = std::move(held_.front());
    held_.pop_front();
    engine.HandleResponse(request.id, server_.Server(request), Now());
    Drain(engine);
  }

  // Answers and fires deadlines until nothing is in flight or due.
  void Settle(SyncEngine& engine) {
    for (int guard = 0; guard < 10'000; ++guard) {
      FireDue(engine);
      if (held_.empty()) return;
      AnswerOldest(engine);
    }
    ADD_FAILURE() << "the engine never settled";
  }

  static std::size_t PushSize(const HttpRequest& request) {
    auto decoded = DecodePushRequest(request.body, ProtocolLimits{});
    EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
    return decoded.ok() ? decoded->mutations.size() : 0;
  }

  TimeMs now_ = kStart;
  MemoryStore store_;
  MemoryStore server_store_;
  ServerState server_state_{server_store_, "ep1"};
  testing::InlineDriver server_{server_state_, "alice"};
  std::deque<HttpRequest> held_;
  std::vector<std::size_t> pushes_;  // the mutations in each push sent, in order
  int runs_ = 0;
};

TEST_F(EngineWriteSyncTest, AnIdleWriteStartsARunWithoutWaiting) {
  auto engine = Open();
  Put(*engine, 1);
  ASSERT_TRUE(engine->PollTimeout().has_value());
  EXPECT_EQ(*engine->PollTimeout(), now_) << "no fixed wait after a write";
  FireDue(*engine);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(pushes_, std::vector<std::size_t>{1});
  Settle(*engine);
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(server_state_.statistics().mutations_applied, 1u);
}

TEST_F(EngineWriteSyncTest, WritesDuringAPushGoInTheNextBatchOfTheSameRun) {
  auto engine = Open();
  Put(*engine, 1);
  FireDue(*engine);
  ASSERT_EQ(held_.size(), 1u);
  Put(*engine, 2);
  Put(*engine, 3);
  FireDue(*engine);
  EXPECT_EQ(held_.size(), 1u) << "nothing more is sent while the push is in flight";
  AnswerOldest(*engine);
  EXPECT_EQ(pushes_, (std::vector<std::size_t>{1, 2}));
  Settle(*engine);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(engine->status().pending, 0u);
}

TEST_F(EngineWriteSyncTest, WritesDuringAPullGoInAFollowUpRun) {
  auto engine = Open();
  Put(*engine, 1);
  FireDue(*engine);
  AnswerOldest(*engine);  // the push; the pull is in flight now
  ASSERT_EQ(held_.size(), 1u);
  ASSERT_NE(held_.front().target, kPushPath);
  Put(*engine, 2);
  FireDue(*engine);
  Settle(*engine);
  EXPECT_EQ(runs_, 2);
  EXPECT_EQ(pushes_, (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(engine->status().pending, 0u);
}

// A loop of 1,000 puts on a native host: its owner thread takes a turn after
// each write, and the server answers a request every 50 writes. The first
// push carries one write; the rest gather behind the request in flight.
TEST_F(EngineWriteSyncTest, ABurstGathersIntoFewBatches) {
  auto engine = Open();
  constexpr int kWrites = 1000;
  for (int i = 0; i < kWrites; ++i) {
    Put(*engine, i);
    FireDue(*engine);
    if (i % 50 == 49 && !held_.empty()) AnswerOldest(*engine);
  }
  Settle(*engine);
  EXPECT_EQ(server_state_.statistics().mutations_applied, uint64_t{kWrites});
  EXPECT_EQ(engine->status().pending, 0u);
  ASSERT_FALSE(pushes_.empty());
  EXPECT_EQ(pushes_.front(), 1u);
  EXPECT_LE(pushes_.size(), 25u);
  EXPECT_LE(runs_, 2);
  EXPECT_LE(server_.server_requests, 30);
}

// The same burst in one go (a JS loop: no timer fires until it ends) leaves
// one run, in as few pushes as the batch limit allows.
TEST_F(EngineWriteSyncTest, ABurstWithoutATurnBetweenWritesIsOneRun) {
  auto engine = Open();
  constexpr int kWrites = 1000;
  for (int i = 0; i < kWrites; ++i)
    Put(*engine, i);
  EXPECT_TRUE(held_.empty()) << "a write never sends by itself";
  Settle(*engine);
  EXPECT_EQ(runs_, 1);
  const std::size_t limit = EngineOptions{}.batch.max_count;
  EXPECT_EQ(pushes_.size(), (kWrites + limit - 1) / limit);
  EXPECT_EQ(server_state_.statistics().mutations_applied, uint64_t{kWrites});
}

// An app that wants a window keeps it: nothing starts before the debounce.
TEST_F(EngineWriteSyncTest, APositiveDebounceStillWaits) {
  EngineOptions options;
  options.local_write_debounce_ms = 30;
  auto engine = Open(options);
  Put(*engine, 1);
  FireDue(*engine);
  EXPECT_TRUE(held_.empty());
  now_ += 30;
  Put(*engine, 2);
  FireDue(*engine);
  EXPECT_EQ(pushes_, std::vector<std::size_t>{2});
}

}  // namespace
}  // namespace ferry
