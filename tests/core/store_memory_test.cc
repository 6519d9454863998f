#include "ferry/store_memory.h"

#include "core/store_contract.h"

namespace ferry::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(StoreBackend{
                             "memory", [] { return std::make_unique<MemoryStore>(); }, nullptr}),
                         PrintBackend);

// Both forms, the copying one and the moving one (a journal replay's),
// measure and store the same.
TEST(MemoryStore, CommitMeasuredReportsTheChangeInStoredBytes) {
  for (const bool moved : {false, true}) {
    MemoryStore store;
    const auto commit = [&](WriteBatch& batch) {
      return moved ? store.CommitMeasured(std::move(batch)) : store.CommitMeasured(batch);
    };
    WriteBatch first;
    first.Put("ab", "1234");  // +6
    first.Put("cd", "1");     // +3
    first.Put("ab", "12");    // -6 +4
    EXPECT_EQ(commit(first), 7) << moved;
    WriteBatch second;
    second.Delete("cd");       // -3
    second.Delete("missing");  // 0
    second.Put("ef", "");      // +2
    EXPECT_EQ(commit(second), -1) << moved;
    EXPECT_EQ(store.size(), 2u);
    auto value = store.Get("ab");
    ASSERT_TRUE(value.ok() && value->has_value());
    EXPECT_EQ(**value, "12");
  }
}

TEST(PrefixEnd, IncrementsTheLastByteThatCanBe) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace ferry::testing
