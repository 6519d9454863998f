// Deadlines run on the monotonic clock: a wall clock stepped back or forward
// (an NTP correction, a user changing the time) moves no retry, debounce or
// interval, while the hybrid logical clock and reported times follow the wall.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

using testing::InlineDriver;

constexpr TimeMs kHour = 60 * 60'000;
constexpr TimeMs kWallStart = 1'700'000'000'000;

class EngineClockTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(EngineOptions options) {
    options.random_seed = 3;
    auto engine = SyncEngine::Open(store_, options, now_);
    EXPECT_TRUE(engine.ok());
    return std::move(*engine);
  }

  // Moves both clocks forward by `ms`, then the wall clock alone by `step`.
  void Advance(TimeMs ms, TimeMs step = 0) {
    now_.monotonic += ms;
    now_.wall += ms + step;
  }

  std::vector<TriggerReason> StartedRuns() {
    std::vector<TriggerReason> reasons;
    for (const auto& started : driver_.EventsOf<SyncStartedEvent>())
      reasons.push_back(started.reason);
    return reasons;
  }

  Instant now_{5'000, kWallStart};
  MemoryStore store_;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_{server_, "alice"};
};

TEST_F(EngineClockTest, DebounceFiresOnTimeWhenTheWallClockStepsBack) {
  EngineOptions options;
  options.local_write_debounce_ms = 50;
  auto engine = Open(options);
  ASSERT_TRUE(engine->HandleLocalWrite(MutationOp::kPut, {"n", "a"}, 1, now_).ok());
  Advance(0, -kHour);
  EXPECT_EQ(engine->PollTimeout(), now_.monotonic + 50);
  Advance(50, -kHour);
  engine->HandleTimeout(now_);
  driver_.Pump(*engine, now_);
  EXPECT_EQ(StartedRuns(), std::vector<TriggerReason>{TriggerReason::kLocalWrite});
  EXPECT_EQ(engine->status().pending, 0u);
}

TEST_F(EngineClockTest, RetryFiresOnTimeWhenTheWallClockStepsBackAndForward) {
  EngineOptions options;
  options.sync_on_local_write = false;
  options.backoff_base_ms = 1'000;
  options.backoff_max_ms = 1'000;
  auto engine = Open(options);
  driver_.fault = [](const HttpRequest&) { return HttpResponse{503, "down", "", ""}; };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver_.Pump(*engine, now_);
  const TimeMs retry_at = *engine->PollTimeout();
  EXPECT_LE(retry_at - now_.monotonic, 1'000);
  for (TimeMs step : {-kHour, +kHour * 2}) {
    Advance(0, step);
    engine->HandleTimeout(now_);  // a wakeup at a stepped wall time fires nothing early
    driver_.Pump(*engine, now_);
    EXPECT_EQ(StartedRuns().size(), 1u) << "step " << step;
    EXPECT_EQ(engine->PollTimeout(), retry_at);
  }
  driver_.fault = nullptr;
  now_.monotonic = retry_at;
  engine->HandleTimeout(now_);
  driver_.Pump(*engine, now_);
  EXPECT_EQ(StartedRuns().back(), TriggerReason::kRetry);
  EXPECT_EQ(engine->status().state, SyncState::kIdle);
  EXPECT_EQ(engine->status().last_synced_at, now_.wall) << "reported times are wall times";
}

TEST_F(EngineClockTest, IntervalKeepsItsPeriodWhenTheWallClockJumps) {
  EngineOptions options;
  options.sync_on_local_write = false;
  options.interval_ms = 10'000;
  auto engine = Open(options);
  for (int period = 1; period <= 3; ++period) {
    Advance(10'000, period % 2 ? -kHour : kHour);
    ASSERT_EQ(engine->PollTimeout(), now_.monotonic);
    engine->HandleTimeout(now_);
    driver_.Pump(*engine, now_);
    EXPECT_EQ(StartedRuns().size(), static_cast<std::size_t>(period));
  }
}

TEST_F(EngineClockTest, NextRetryIsReportedOnTheWallClock) {
  EngineOptions options;
  options.sync_on_local_write = false;
  auto engine = Open(options);
  driver_.fault = [](const HttpRequest&) { return HttpResponse{503, "down", "", ""}; };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver_.Pump(*engine, now_);
  const auto next = engine->status().next_retry_at;
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next - now_.wall, *engine->PollTimeout() - now_.monotonic);
}

}  // namespace
}  // namespace ferry
