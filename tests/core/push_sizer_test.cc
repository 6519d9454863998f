// PushSizer: the push batch adapts to answer latency within the configured
// ceiling and its floor.
#include "ferry/push_sizer.h"

#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"

namespace ferry {
namespace {

constexpr BatchLimits kCeiling{500, 1u << 20};

TEST(PushSizer, StartsAtTheCeilingAndStaysThereWhileAnswersAreFast) {
  PushSizer sizer(kCeiling, 2000);
  EXPECT_EQ(sizer.limits().max_count, 500u);
  for (int i = 0; i < 10; ++i)
    sizer.OnAnswered(500, 1000, 50);
  EXPECT_EQ(sizer.limits().max_count, 500u);
  EXPECT_EQ(sizer.limits().max_bytes, 1u << 20);
}

TEST(PushSizer, SlowAnswersShrinkInProportionButAtMostByHalfAtOnce) {
  PushSizer sizer(kCeiling, 2000);
  sizer.OnAnswered(500, 1000, 2500);  // 2000/2500: to 400
  EXPECT_EQ(sizer.limits().max_count, 400u);
  sizer.OnAnswered(400, 1000, 60'000);  // far too slow: halved, no more
  EXPECT_EQ(sizer.limits().max_count, 200u);
  EXPECT_EQ(sizer.limits().max_bytes, (1u << 20) * 4 / 5 / 2);
}

TEST(PushSizer, NeverShrinksBelowTheFloorNorGrowsAboveTheCeiling) {
  PushSizer sizer(kCeiling, 2000);
  for (int i = 0; i < 40; ++i)
    sizer.OnTooSlowOrTooLarge();
  EXPECT_EQ(sizer.limits().max_count, PushSizer::kFloorCount);
  EXPECT_EQ(sizer.limits().max_bytes, PushSizer::kFloorBytes);
  for (int i = 0; i < 40; ++i)
    sizer.OnAnswered(sizer.limits().max_count, 0, 10);
  EXPECT_EQ(sizer.limits().max_count, 500u);
  EXPECT_EQ(sizer.limits().max_bytes, 1u << 20);
}

TEST(PushSizer, GrowsOnlyAfterFastPushesThatFilledTheLimit) {
  PushSizer sizer(kCeiling, 2000);
  sizer.OnTooSlowOrTooLarge();
  sizer.OnTooSlowOrTooLarge();
  ASSERT_EQ(sizer.limits().max_count, 125u);
  sizer.OnAnswered(3, 100, 10);  // a small push says nothing of a large one
  EXPECT_EQ(sizer.limits().max_count, 125u);
  sizer.OnAnswered(125, 100, 1500);  // filled, but not well within the target
  EXPECT_EQ(sizer.limits().max_count, 125u);
  sizer.OnAnswered(125, 100, 500);  // filled and fast: doubles
  EXPECT_EQ(sizer.limits().max_count, 250u);
  sizer.OnAnswered(10, (1u << 20) / 4, 800);  // filled by bytes: 2000/800, at most doubling
  EXPECT_EQ(sizer.limits().max_count, 500u);
}

TEST(PushSizer, ASmallCeilingIsItsOwnFloor) {
  PushSizer sizer(BatchLimits{3, 1000}, 2000);
  sizer.OnTooSlowOrTooLarge();
  EXPECT_EQ(sizer.limits().max_count, 3u);
  EXPECT_EQ(sizer.limits().max_bytes, 1000u);
  PushSizer one(BatchLimits{0, 0}, 0);  // nonsense configuration: one write, one byte
  EXPECT_EQ(one.limits().max_count, 1u);
  EXPECT_EQ(one.limits().max_bytes, 1u);
}

// The engine cuts pushes at the sizer's limits: a push that timed out
// halves the next one; fast full answers grow it back to the ceiling.
TEST(AdaptiveBatch, APushTimeoutHalvesTheNextPushAndFastAnswersRestoreIt) {
  MemoryStore store, server_store;
  ServerState server(server_store, "ep1");
  EngineOptions options;
  options.batch.max_count = 100;
  options.sync_on_local_write = false;
  options.live_updates = false;
  options.reachability_probe = false;
  TimeMs now = 1'700'000'000'000;
  auto engine = SyncEngine::Open(store, options, now);
  ASSERT_TRUE(engine.ok());
  for (int i = 0; i < 400; ++i)
    ASSERT_TRUE(
        (*engine)->HandleLocalWrite(MutationOp::kPut, {"notes", std::to_string(i)}, i, now).ok());
  testing::InlineDriver driver(server, "alice");
  std::vector<std::size_t> pushes;
  bool hang = true;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.target != kPushPath) return std::nullopt;
    auto push = DecodePushRequest(request.body, {});
    pushes.push_back(push.ok() ? push->mutations.size() : 0);
    if (hang) return HttpResponse{-1, "", "", ""};
    return std::nullopt;
  };
  (*engine)->HandleTrigger(TriggerReason::kManual, now);
  driver.Pump(**engine, now);
  now += options.request_timeout_ms;
  (*engine)->HandleTimeout(now);  // the push timed out
  driver.Pump(**engine, now);
  EXPECT_EQ((*engine)->push_batch_limits().max_count, 50u);
  hang = false;
  (*engine)->HandleTrigger(TriggerReason::kManual, now);
  driver.Pump(**engine, now);
  EXPECT_EQ(pushes, (std::vector<std::size_t>{100, 50, 100, 100, 100, 50}));
  EXPECT_EQ((*engine)->status().pending, 0u);
  EXPECT_EQ((*engine)->push_batch_limits().max_count, 100u);
}

TEST(AdaptiveBatch, OffCutsEveryPushAtTheConfiguredLimits) {
  MemoryStore store;
  EngineOptions options;
  options.batch.max_count = 100;
  options.adaptive_batch = false;
  auto engine = SyncEngine::Open(store, options, 1);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ((*engine)->push_batch_limits().max_count, 100u);
}

}  // namespace
}  // namespace ferry
