#include "ferry/store_memory.h"

#include "core/store_contract.h"

namespace ferry::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(StoreBackend{
                             "memory", [] { return std::make_unique<MemoryStore>(); }, nullptr}),
                         PrintBackend);

TEST(PrefixEnd, IncrementsTheLastByteThatCanBe) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace ferry::testing
