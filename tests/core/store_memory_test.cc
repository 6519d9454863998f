#include "ferry/store_memory.h"

#include "core/store_contract.h"

namespace ferry::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(StoreBackend{
                             "memory", [] { return std::make_unique<MemoryStore>(); }, nullptr}),
                         PrintBackend);

TEST(MemoryStore, CommitMeasuredReportsTheChangeInStoredBytes) {
  MemoryStore store;
  WriteBatch first;
  first.Put("ab", "1234");  // +6
  first.Put("cd", "1");     // +3
  first.Put("ab", "12");    // -6 +4
  EXPECT_EQ(store.CommitMeasured(first), 7);
  WriteBatch second;
  second.Delete("cd");       // -3
  second.Delete("missing");  // 0
  second.Put("ef", "");      // +2
  EXPECT_EQ(store.CommitMeasured(second), -1);
  EXPECT_EQ(store.size(), 2u);
}

TEST(PrefixEnd, IncrementsTheLastByteThatCanBe) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace ferry::testing
