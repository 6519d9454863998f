// Query indexes on a persistent Store backend (query_index.h): entries
// committed with the writes they index, read back after a reopen, and
// rebuilt at an open that declares them otherwise. Instantiated beside
// StoreContractTest by each backend with a `reopen`:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, IndexedStoreTest, ::testing::Values(...));
#pragma once

#include <gtest/gtest.h>

#include "core/store_contract.h"
#include "ferry/engine.h"
#include "support/quiet_engine.h"

namespace ferry::testing {

class IndexedStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override { store_ = GetParam().open(); }

  void OpenEngine(const char* indexes) {
    engine_.reset();
    EngineOptions options;
    auto declared = IndexesFromText(indexes);
    ASSERT_TRUE(declared.ok());
    options.indexes = *declared;
    engine_ = OpenQuietEngine(*store_, 1, kNow, options);
    ASSERT_NE(engine_, nullptr);
  }
  void Reopen(const char* indexes) {
    engine_.reset();
    store_ = GetParam().reopen(std::move(store_));
    ASSERT_NE(store_, nullptr);
    OpenEngine(indexes);
  }
  std::vector<std::string> Keys(const char* query) {
    auto page = engine_->RunQuery(*QueryFromText(query));
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> keys;
    if (page.ok())
      for (const auto& [key, value] : page->documents)
        keys.push_back(key);
    return keys;
  }

  static constexpr Instant kNow{1'000, 1'700'000'000'000};
  std::unique_ptr<Store> store_;
  std::unique_ptr<SyncEngine> engine_;
};

TEST_P(IndexedStoreTest, IndexesSurviveAReopenAndFollowDeclarations) {
  if (!GetParam().reopen) GTEST_SKIP() << "the backend does not persist";
  constexpr const char* kByDue = R"([{"collection":"tasks","paths":["project","due"]}])";
  constexpr const char* kQuery =
      R"({"collection":"tasks","where":{"path":"project","eq":"p1"},"orderBy":[{"path":"due"}],"limit":2})";
  OpenEngine(kByDue);
  for (int i = 0; i < 6; ++i) {
    const Json task{{"project", i % 2 ? "p1" : "p2"}, {"due", 10 - i}, {"size", i}};
    ASSERT_TRUE(
        engine_->HandleLocalWrite(MutationOp::kPut, {"tasks", "t" + std::to_string(i)}, task, kNow)
            .ok());
  }
  EXPECT_EQ(Keys(kQuery), (std::vector<std::string>{"t5", "t3"}));
  Reopen(kByDue);
  EXPECT_EQ(engine_->ExplainQuery(*QueryFromText(kQuery))["ordered"], true);
  EXPECT_EQ(Keys(kQuery), (std::vector<std::string>{"t5", "t3"}));
  // A write after the reopen moves its entry in the same commit.
  ASSERT_TRUE(
      engine_->HandleLocalWrite(MutationOp::kPatch, {"tasks", "t1"}, {{"due", 0}}, kNow).ok());
  Reopen(kByDue);
  EXPECT_EQ(Keys(kQuery), (std::vector<std::string>{"t1", "t5"}));
  // Declared on another path: rebuilt, and what the reopen reads.
  constexpr const char* kBySize = R"([{"collection":"tasks","paths":["size"]}])";
  constexpr const char* kSized = R"({"collection":"tasks","orderBy":[{"path":"size"}],"limit":2})";
  Reopen(kBySize);
  Reopen(kBySize);
  EXPECT_EQ(engine_->ExplainQuery(*QueryFromText(kSized))["index"], "size");
  EXPECT_EQ(Keys(kSized), (std::vector<std::string>{"t0", "t1"}));
  std::size_t old_entries = 0;
  ASSERT_TRUE(store_
                  ->ScanPrefix(std::string("x/tasks\0project,due", 19),
                               [&](std::string_view, std::string_view) { return ++old_entries; })
                  .ok());
  EXPECT_EQ(old_entries, 0u);
}

}  // namespace ferry::testing
