// The reachability probe (EngineOptions::reachability_probe): its schedule on
// the fake clock, what starts and stops it, and the run it starts.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

using testing::InlineDriver;

constexpr TimeMs kStart = 1'700'000'000'000;

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The run backoff is long, as after many failures: the probe, not the
    // retry, is what finds the server again.
    options_.backoff_base_ms = 10 * 60'000;
    options_.backoff_max_ms = 10 * 60'000;
    options_.sync_on_local_write = false;
    options_.live_updates = false;
    options_.random_seed = 11;
    auto opened = SyncEngine::Open(store_, options_, now_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine_ = std::move(*opened);
    driver_.fault = [this](const HttpRequest& request) -> std::optional<HttpResponse> {
      if (request.target == kHealthPath) probes_sent_at_.push_back(now_);
      if (server_down_) return HttpResponse{0, "", "", "connection refused"};
      if (request.target == kHealthPath) return HttpResponse{200, R"({"status":"ok"})", "", ""};
      return std::nullopt;
    };
    ASSERT_TRUE(engine_->HandleLocalWrite(MutationOp::kPut, {"notes", "a"}, 1, now_).ok());
  }

  // A manual sync that fails without an answer: the engine then waits out a
  // retry far away (a fixed seed makes it so; the assertion guards that).
  void FailOnNetwork() {
    server_down_ = true;
    engine_->HandleTrigger(TriggerReason::kManual, now_);
    driver_.Pump(*engine_, now_);
    ASSERT_EQ(engine_->status().state, SyncState::kOffline);
    ASSERT_TRUE(engine_->status().next_retry_at.has_value());
    ASSERT_GT(*engine_->status().next_retry_at - now_, 60'000) << "choose a seed with a far retry";
  }

  void FireTimeout() {
    auto deadline = engine_->PollTimeout();
    ASSERT_TRUE(deadline.has_value());
    now_ = std::max(now_, *deadline);
    engine_->HandleTimeout(now_);
    driver_.Pump(*engine_, now_);
  }

  TimeMs now_ = kStart;
  EngineOptions options_;
  MemoryStore store_;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_{server_, "alice"};
  std::unique_ptr<SyncEngine> engine_;
  bool server_down_ = false;
  std::vector<TimeMs> probes_sent_at_;
};

TEST_F(ProbeTest, ProbesDoubleFromAQuarterSecondToTheirCapWithJitter) {
  FailOnNetwork();
  const TimeMs failed_at = now_;
  for (int i = 0; i < 10; ++i)
    FireTimeout();
  ASSERT_EQ(probes_sent_at_.size(), 10u) << "every deadline before the retry was a probe";
  TimeMs previous = failed_at;
  for (std::size_t n = 0; n < probes_sent_at_.size(); ++n) {
    const TimeMs cap = std::min<TimeMs>(4'000, TimeMs{250} << n);
    const TimeMs delay = probes_sent_at_[n] - previous;
    EXPECT_GE(delay, cap / 2) << "probe " << n;
    EXPECT_LE(delay, cap) << "probe " << n;
    previous = probes_sent_at_[n];
  }
  EXPECT_EQ(engine_->status().state, SyncState::kOffline);
  EXPECT_EQ(engine_->status().pending, 1u);
  EXPECT_TRUE(engine_->probing());
}

TEST_F(ProbeTest, AnAnsweredProbeStartsTheRunAtOnce) {
  FailOnNetwork();
  const TimeMs retry_at = *engine_->status().next_retry_at;
  for (int i = 0; i < 8; ++i)
    FireTimeout();
  server_down_ = false;  // the server is back
  const TimeMs back_at = now_;
  FireTimeout();  // the next probe is answered, and the run follows in the same pump
  EXPECT_LE(now_ - back_at, 4'000) << "within one probe interval at its cap";
  EXPECT_LT(now_, retry_at);
  auto completed = driver_.EventsOf<SyncCompletedEvent>();
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].run.reason, TriggerReason::kReachable);
  EXPECT_EQ(engine_->status().pending, 0u);
  EXPECT_EQ(engine_->status().state, SyncState::kIdle);
  EXPECT_FALSE(engine_->probing());
  EXPECT_FALSE(engine_->status().next_retry_at.has_value());
}

TEST_F(ProbeTest, AnAnsweredFailureIsNotANetworkProblemAndIsNotProbed) {
  driver_.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{503, "busy", "", ""});
  };
  engine_->HandleTrigger(TriggerReason::kManual, now_);
  driver_.Pump(*engine_, now_);
  EXPECT_EQ(engine_->status().state, SyncState::kError);
  EXPECT_FALSE(engine_->probing());
}

TEST_F(ProbeTest, GoingOfflineOrCancellingStopsProbing) {
  FailOnNetwork();
  EXPECT_TRUE(engine_->probing());
  engine_->Cancel(now_);
  EXPECT_FALSE(engine_->probing());
  FailOnNetwork();
  EXPECT_TRUE(engine_->probing());
  engine_->HandleOnline(false, now_);
  driver_.Pump(*engine_, now_);
  EXPECT_FALSE(engine_->probing());
  EXPECT_FALSE(engine_->PollTimeout().has_value());
}

TEST_F(ProbeTest, AProbeThatHangsTimesOutAndTheNextOneFollows) {
  FailOnNetwork();
  driver_.fault = [this](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.target == kHealthPath) probes_sent_at_.push_back(now_);
    return HttpResponse{-1, "", "", ""};  // never answered
  };
  FireTimeout();  // the probe goes out
  ASSERT_EQ(driver_.unanswered.size(), 1u);
  const TimeMs sent_at = now_;
  FireTimeout();  // its timeout
  EXPECT_EQ(now_ - sent_at, options_.probe_timeout_ms);
  ASSERT_EQ(driver_.cancelled.size(), 1u);
  EXPECT_EQ(driver_.cancelled[0], driver_.unanswered[0]);
  EXPECT_TRUE(engine_->probing()) << "the next probe is scheduled";
}

TEST_F(ProbeTest, NetworkChangedProbesAtOnce) {
  FailOnNetwork();
  server_down_ = false;
  engine_->HandleNetworkChanged(now_);
  driver_.Pump(*engine_, now_);
  ASSERT_EQ(probes_sent_at_.size(), 1u);
  EXPECT_EQ(probes_sent_at_[0], now_);
  EXPECT_EQ(engine_->status().pending, 0u);
  EXPECT_EQ(engine_->status().state, SyncState::kIdle);
}

TEST_F(ProbeTest, NetworkChangedWithoutAFailureSendsNothing) {
  engine_->HandleNetworkChanged(now_);
  driver_.Pump(*engine_, now_);
  EXPECT_TRUE(probes_sent_at_.empty());
  EXPECT_EQ(engine_->status().pending, 1u);
}

TEST(Probe, DisabledProbeLeavesOnlyTheRetry) {
  MemoryStore store, server_store;
  ServerState server(server_store, "ep1");
  EngineOptions options;
  options.reachability_probe = false;
  options.live_updates = false;
  TimeMs now = kStart;
  auto engine = SyncEngine::Open(store, options, now);
  ASSERT_TRUE(engine.ok());
  InlineDriver driver(server, "alice");
  driver.fault = [](const HttpRequest&) {
    return std::optional<HttpResponse>(HttpResponse{0, "", "", "connection refused"});
  };
  ASSERT_TRUE((*engine)->HandleLocalWrite(MutationOp::kPut, {"notes", "a"}, 1, now).ok());
  (*engine)->HandleTrigger(TriggerReason::kManual, now);
  driver.Pump(**engine, now);
  EXPECT_FALSE((*engine)->probing());
  ASSERT_TRUE((*engine)->PollTimeout().has_value());
  EXPECT_EQ(*(*engine)->PollTimeout(), (*engine)->status().next_retry_at) << "the retry alone";
}

}  // namespace
}  // namespace ferry
