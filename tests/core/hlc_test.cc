#include "ferry/hlc.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(HybridLogicalClock, FollowsPhysicalTimeWhenItAdvances) {
  HybridLogicalClock clock("a");
  auto first = clock.Now(1000);
  auto second = clock.Now(2000);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->wall_ms, 1000);
  EXPECT_EQ(second->wall_ms, 2000);
  EXPECT_EQ(second->counter, 0u);
}

TEST(HybridLogicalClock, StaysMonotonicWhenPhysicalTimeGoesBackwards) {
  HybridLogicalClock clock("a");
  auto later = clock.Now(5000);
  auto earlier = clock.Now(4000);
  ASSERT_TRUE(later.ok() && earlier.ok());
  EXPECT_LT(*later, *earlier);
  EXPECT_EQ(earlier->wall_ms, 5000);
  EXPECT_EQ(earlier->counter, 1u);
}

TEST(HybridLogicalClock, OrdersAfterObservedRemoteStamps) {
  HybridLogicalClock clock("a");
  HlcStamp remote{9000, 7, "b"};
  ASSERT_TRUE(clock.Observe(remote, 1000).ok());
  auto next = clock.Now(1000);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, remote);
}

TEST(HybridLogicalClock, RefusesRemoteStampsFarInTheFuture) {
  HybridLogicalClock clock("a", {.max_forward_drift_ms = 1000});
  EXPECT_EQ(clock.Observe({100'000, 0, "b"}, 1000).code(), ErrorCode::kProtocol);
  auto next = clock.Now(1000);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->wall_ms, 1000);
}

TEST(HybridLogicalClock, RestoreNeverMovesTheClockBack) {
  HybridLogicalClock clock("a");
  clock.Restore({7000, 3, "a"});
  auto next = clock.Now(1000);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->wall_ms, 7000);
  EXPECT_EQ(next->counter, 4u);
}

TEST(HlcStamp, TextOrderIsStampOrder) {
  const HlcStamp stamps[] = {{999, 0, "z"},  {1000, 0, "a"},    {1000, 1, "a"},
                             {1000, 1, "b"}, {1000, 0x10, "a"}, {123456789012, 0, "a"}};
  for (std::size_t i = 0; i + 1 < std::size(stamps); ++i) {
    EXPECT_LT(stamps[i], stamps[i + 1]);
    EXPECT_LT(stamps[i].ToString(), stamps[i + 1].ToString()) << i;
  }
}

TEST(HlcStamp, RoundTripsThroughText) {
  HlcStamp stamp{1700000000123, 42, "client-1"};
  auto parsed = HlcStamp::Parse(stamp.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, stamp);
}

// The text form is a format on the wire and in stores: 16 decimal digits,
// 6 lower-case hex digits, the node.
TEST(HlcStamp, TextHasItsFixedWidths) {
  EXPECT_EQ((HlcStamp{1700000000123, 0xabc, "n1"}).ToString(), "0001700000000123-000abc-n1");
  EXPECT_EQ((HlcStamp{0, 0, "n"}).ToString(), "0000000000000000-000000-n");
  EXPECT_EQ((HlcStamp{9999999999999999, 0xffffff, "n"}).ToString(), "9999999999999999-ffffff-n");
}

TEST(HlcStamp, ParseRejectsMalformedText) {
  for (std::string_view text : {"", "nonsense", "0000000000001000-00000x-a",
                                "000000000000100-000000-a", "-000000000001000-000000-a",
                                // the node is a client id: no empty, control or quote characters
                                "0000000000001000-000000-", "0000000000001000-000000-a\tb",
                                "0000000000001000-000000-a\"b", "0000000000001000-000000-a b"}) {
    EXPECT_FALSE(HlcStamp::Parse(text).ok()) << text;
  }
}

}  // namespace
}  // namespace ferry
