// The storage contract suite (see core/include/ferry/store.h). Every Store
// backend instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
//                            ::testing::Values(StoreBackend{"sqlite", open, reopen}));
//
// `reopen` (optional) closes and reopens the same data, for backends that
// persist; the durability tests are skipped without it.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ferry/store.h"

namespace ferry::testing {

struct StoreBackend {
  std::string name;
  // Opens a fresh, empty store. Called once per test.
  std::function<std::unique_ptr<Store>()> open;
  // Drops the given store and opens the same data again; may be empty.
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> reopen;
};

// Keeps test output readable: gtest would otherwise print the struct's bytes.
inline void PrintTo(const StoreBackend& backend, std::ostream* out) {
  *out << backend.name;
}

inline std::string PrintBackend(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override { store_ = GetParam().open(); }

  std::optional<std::string> Read(std::string_view key) {
    auto value = store_->Get(key);
    EXPECT_TRUE(value.ok()) << value.status().ToString();
    return value.ok() ? *value : std::nullopt;
  }

  std::vector<std::string> Keys(std::string_view begin, std::string_view end) {
    std::vector<std::string> keys;
    EXPECT_TRUE(store_
                    ->Scan(begin, end,
                           [&](std::string_view key, std::string_view) {
                             keys.emplace_back(key);
                             return true;
                           })
                    .ok());
    return keys;
  }

  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, GetReturnsWhatWasPut) {
  ASSERT_TRUE(store_->Put("alpha", "one").ok());
  EXPECT_EQ(Read("alpha"), "one");
}

TEST_P(StoreContractTest, MissingKeyReadsAsAbsent) {
  EXPECT_EQ(Read("nothing"), std::nullopt);
}

TEST_P(StoreContractTest, EmptyValueIsNotAbsent) {
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(Read("empty"), "");
}

TEST_P(StoreContractTest, PutOverwrites) {
  ASSERT_TRUE(store_->Put("k", "first").ok());
  ASSERT_TRUE(store_->Put("k", "second").ok());
  EXPECT_EQ(Read("k"), "second");
}

TEST_P(StoreContractTest, DeleteRemovesKeyAndToleratesMissingKeys) {
  ASSERT_TRUE(store_->Put("k", "v").ok());
  ASSERT_TRUE(store_->Delete("k").ok());
  EXPECT_EQ(Read("k"), std::nullopt);
  EXPECT_TRUE(store_->Delete("never-there").ok());
}

TEST_P(StoreContractTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key("a\0b\xff", 4);
  const std::string value("\0\x01\xfe\xff", 4);
  ASSERT_TRUE(store_->Put(key, value).ok());
  EXPECT_EQ(Read(key), value);
  EXPECT_EQ(Read(std::string("a\0b", 3)), std::nullopt);
}

TEST_P(StoreContractTest, ScanOrdersKeysAsUnsignedBytes) {
  for (const std::string& key : {std::string("b"), std::string("a\xff"), std::string("a"),
                                 std::string("a\x01"), std::string("a\0", 2), std::string("ab")}) {
    ASSERT_TRUE(store_->Put(key, "v").ok());
  }
  EXPECT_EQ(Keys("", ""),
            (std::vector<std::string>{"a", std::string("a\0", 2), "a\x01", "ab", "a\xff", "b"}));
}

TEST_P(StoreContractTest, ScanRangeIsHalfOpen) {
  for (const char* key : {"k1", "k2", "k3", "k4"})
    ASSERT_TRUE(store_->Put(key, "v").ok());
  EXPECT_EQ(Keys("k2", "k4"), (std::vector<std::string>{"k2", "k3"}));
  EXPECT_EQ(Keys("k3", ""), (std::vector<std::string>{"k3", "k4"}));
}

TEST_P(StoreContractTest, ScanPrefixVisitsOnlyThePrefix) {
  for (const char* key : {"o/1", "o/2", "o0", "p/1", "o"})
    ASSERT_TRUE(store_->Put(key, key).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->ScanPrefix("o/",
                               [&](std::string_view key, std::string_view value) {
                                 EXPECT_EQ(key, value);
                                 seen.emplace_back(key);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"o/1", "o/2"}));
}

TEST_P(StoreContractTest, ScanPrefixOfAllFfBytesReachesTheEnd) {
  const std::string high("\xff\xff", 2);
  ASSERT_TRUE(store_->Put(high + "x", "v").ok());
  ASSERT_TRUE(store_->Put("a", "v").ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->ScanPrefix(high,
                               [&](std::string_view key, std::string_view) {
                                 seen.emplace_back(key);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{high + "x"}));
}

TEST_P(StoreContractTest, ScanStopsWhenTheVisitorSaysSo) {
  for (const char* key : {"a", "b", "c"})
    ASSERT_TRUE(store_->Put(key, "v").ok());
  int visited = 0;
  ASSERT_TRUE(
      store_->Scan("", "", [&](std::string_view, std::string_view) { return ++visited < 2; }).ok());
  EXPECT_EQ(visited, 2);
}

TEST_P(StoreContractTest, VisitorMayReadDuringScan) {
  ASSERT_TRUE(store_->Put("index/1", "doc/1").ok());
  ASSERT_TRUE(store_->Put("doc/1", "body").ok());
  std::string body;
  ASSERT_TRUE(store_
                  ->ScanPrefix("index/",
                               [&](std::string_view, std::string_view target) {
                                 auto value = store_->Get(target);
                                 EXPECT_TRUE(value.ok());
                                 if (value.ok() && *value) body = **value;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(body, "body");
}

TEST_P(StoreContractTest, BatchAppliesEveryOperationAndLaterOnesWin) {
  ASSERT_TRUE(store_->Put("gone", "v").ok());
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Delete("gone");
  batch.Put("a", "3");
  batch.Put("c", "4");
  batch.Delete("c");
  ASSERT_TRUE(store_->Commit(batch).ok());
  EXPECT_EQ(Read("a"), "3");
  EXPECT_EQ(Read("b"), "2");
  EXPECT_EQ(Read("c"), std::nullopt);
  EXPECT_EQ(Read("gone"), std::nullopt);
}

TEST_P(StoreContractTest, EmptyBatchCommits) {
  EXPECT_TRUE(store_->Commit(WriteBatch()).ok());
}

TEST_P(StoreContractTest, LargeValuesRoundTrip) {
  const std::string big(3u << 20, 'x');
  ASSERT_TRUE(store_->Put("big", big).ok());
  EXPECT_EQ(Read("big"), big);
}

TEST_P(StoreContractTest, TransactionReadsItsOwnWritesBeforeCommit) {
  ASSERT_TRUE(store_->Put("k", "old").ok());
  Transaction txn(*store_);
  txn.Put("k", "new");
  txn.Delete("other");
  auto staged = txn.Get("k");
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(*staged, "new");
  EXPECT_EQ(Read("k"), "old");
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Read("k"), "new");
}

TEST_P(StoreContractTest, CommittedDataSurvivesReopen) {
  if (!GetParam().reopen) GTEST_SKIP() << "backend does not persist";
  WriteBatch batch;
  for (int i = 0; i < 100; ++i)
    batch.Put("k" + std::to_string(i), "v" + std::to_string(i));
  ASSERT_TRUE(store_->Commit(batch).ok());
  ASSERT_TRUE(store_->Delete("k7").ok());
  store_ = GetParam().reopen(std::move(store_));
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(Read("k42"), "v42");
  EXPECT_EQ(Read("k7"), std::nullopt);
  EXPECT_EQ(Keys("k", "l").size(), 99u);
}

}  // namespace ferry::testing
