// The live stream inside the engine: when it opens and closes, how its
// Server-Sent Events are read, and how it reconnects.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

using testing::InlineDriver;

constexpr TimeMs kStart = 1'700'000'000'000;

class LiveStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.random_seed = 7;
    options.sync_on_local_write = false;
    options.live_updates = true;
    options.live_retry_base_ms = 500;
    options.live_retry_max_ms = 8'000;
    auto opened = SyncEngine::Open(store_, options, now_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine_ = std::move(*opened);
    driver_.Pump(*engine_, now_);
  }

  // The one stream the engine holds open now.
  RequestId OpenStreamId() {
    EXPECT_FALSE(driver_.opened_streams.empty());
    return driver_.opened_streams.empty() ? 0 : driver_.opened_streams.back().id;
  }

  void Feed(std::string_view bytes) {
    engine_->HandleStreamData(OpenStreamId(), bytes, now_);
    driver_.Pump(*engine_, now_);
  }

  void End(int status) {
    engine_->HandleStreamEnd(OpenStreamId(), {status, "", "", status ? "" : "reset"}, now_);
    driver_.Pump(*engine_, now_);
  }

  std::size_t RunsStartedBy(TriggerReason reason) {
    std::size_t count = 0;
    for (const auto& started : driver_.EventsOf<SyncStartedEvent>())
      count += started.reason == reason;
    return count;
  }

  TimeMs now_ = kStart;
  MemoryStore store_;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_{server_, "alice"};
  std::unique_ptr<SyncEngine> engine_;
};

TEST_F(LiveStreamTest, OpensOnStartWithoutTimeoutOnTheLivePath) {
  ASSERT_EQ(driver_.opened_streams.size(), 1u);
  const HttpRequest& request = driver_.opened_streams[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/v1/live");
  EXPECT_EQ(request.timeout_ms, 0);
  EXPECT_FALSE(engine_->live_connected());
}

TEST_F(LiveStreamTest, HelloAndPokeEachStartASyncEvenWhenSplitAcrossChunks) {
  Feed("event: hel");
  EXPECT_EQ(RunsStartedBy(TriggerReason::kPoke), 0u) << "no event before its blank line";
  Feed("lo\r\ndata: {}\r\n\r\n");
  EXPECT_TRUE(engine_->live_connected());
  EXPECT_EQ(RunsStartedBy(TriggerReason::kPoke), 1u);
  Feed(": a comment\nevent:poke\ndata: {}\n");
  Feed("\n");
  EXPECT_EQ(RunsStartedBy(TriggerReason::kPoke), 2u);
  Feed("event: something-else\n\n");
  EXPECT_EQ(RunsStartedBy(TriggerReason::kPoke), 2u) << "unknown events are ignored";
}

TEST_F(LiveStreamTest, ReconnectsWithGrowingJitteredBackoffResetByAHello) {
  TimeMs previous_cap = 0;
  for (int failure = 1; failure <= 6; ++failure) {
    End(0);
    auto deadline = engine_->PollTimeout();
    ASSERT_TRUE(deadline.has_value());
    const TimeMs cap = std::min<TimeMs>(8'000, TimeMs{500} << failure);
    EXPECT_GE(*deadline - now_, cap / 2) << "failure " << failure;
    EXPECT_LE(*deadline - now_, cap) << "failure " << failure;
    EXPECT_GE(cap, previous_cap);
    previous_cap = cap;
    const std::size_t opened = driver_.opened_streams.size();
    now_ = *deadline;
    engine_->HandleTimeout(now_);
    driver_.Pump(*engine_, now_);
    EXPECT_EQ(driver_.opened_streams.size(), opened + 1) << "reopened at the deadline";
  }
  Feed("event: hello\n\n");
  End(0);
  EXPECT_LE(*engine_->PollTimeout() - now_, 1'000) << "a greeted stream restarts the backoff";
}

TEST_F(LiveStreamTest, RefusedTokenMakesTheNextAttemptAskForAFreshOne) {
  End(401);
  now_ = *engine_->PollTimeout();
  engine_->HandleTimeout(now_);
  driver_.Pump(*engine_, now_);
  ASSERT_EQ(driver_.opened_streams.size(), 2u);
  EXPECT_FALSE(driver_.opened_streams[0].refresh_credentials);
  EXPECT_TRUE(driver_.opened_streams[1].refresh_credentials);
}

TEST_F(LiveStreamTest, GoingOfflineClosesTheStreamAndComingBackReopensItAtOnce) {
  const RequestId first = OpenStreamId();
  End(0);  // a failure before going offline must not delay the reopening
  engine_->HandleOnline(false, now_);
  driver_.Pump(*engine_, now_);
  EXPECT_FALSE(engine_->PollTimeout().has_value()) << "no reconnect deadline while offline";
  engine_->HandleOnline(true, now_);
  driver_.Pump(*engine_, now_);
  ASSERT_EQ(driver_.opened_streams.size(), 2u);
  EXPECT_NE(driver_.opened_streams[1].id, first);

  engine_->HandleOnline(false, now_);
  driver_.Pump(*engine_, now_);
  EXPECT_EQ(driver_.closed_streams, std::vector<RequestId>{driver_.opened_streams[1].id});
}

TEST_F(LiveStreamTest, OverlongLineClosesTheStreamAndDataAfterIsIgnored) {
  const RequestId id = OpenStreamId();
  engine_->HandleStreamData(id, std::string(70 * 1024, 'x'), now_);
  driver_.Pump(*engine_, now_);
  EXPECT_EQ(driver_.closed_streams, std::vector<RequestId>{id});
  engine_->HandleStreamData(id, "event: poke\n\n", now_);  // late chunk of the closed stream
  driver_.Pump(*engine_, now_);
  EXPECT_EQ(RunsStartedBy(TriggerReason::kPoke), 0u);
  EXPECT_TRUE(engine_->PollTimeout().has_value()) << "a reconnect is scheduled";
}

TEST_F(LiveStreamTest, NeverOpensWhenTurnedOff) {
  MemoryStore store;
  EngineOptions options;
  options.live_updates = false;
  auto engine = SyncEngine::Open(store, options, now_);
  ASSERT_TRUE(engine.ok());
  InlineDriver driver(server_, "alice");
  driver.Pump(**engine, now_);
  EXPECT_TRUE(driver.opened_streams.empty());
}

}  // namespace
}  // namespace ferry
