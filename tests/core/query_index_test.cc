// Query indexes (issue 18, query_index.h): the entry encoding orders values
// as queries sort them, declarations and their refusals, which index a
// query reads (ExplainQuery), indexed pages equal to scanned ones, and
// indexes rebuilt or dropped when the declarations change.
#include <gtest/gtest.h>

#include <algorithm>

#include "ferry/engine.h"
#include "ferry/query_index.h"
#include "ferry/store_memory.h"
#include "index_key.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

const Instant kNow{1'000, 1'700'000'000'000};

Query Parse(const std::string& text) {
  auto query = QueryFromText(text);
  EXPECT_TRUE(query.ok()) << text << ": " << query.status().ToString();
  return query.ok() ? *query : Query{};
}

std::vector<IndexDeclaration> Indexes(const char* text) {
  auto indexes = IndexesFromText(text);
  EXPECT_TRUE(indexes.ok()) << indexes.status().ToString();
  return indexes.ok() ? *indexes : std::vector<IndexDeclaration>{};
}

// Values of every type, with the cases an encoding gets wrong: negative
// numbers and -0, integers beside doubles, strings holding NUL or
// prefixing each other, arrays and objects prefixing each other.
std::vector<Json> MixedValues() {
  return {nullptr,
          false,
          true,
          -1e300,
          -2.5,
          -1,
          -0.0,
          0,
          0.5,
          1,
          1.0,
          2,
          1e300,
          "",
          "a",
          std::string("a\0b", 3),
          std::string("a\0", 2),
          "ab",
          "b",
          Json::array(),
          Json::array({1}),
          Json::array({1, 2}),
          Json::array({"a"}),
          Json::array({Json::array()}),
          Json::object(),
          Json{{"a", 1}},
          Json{{"a", 1}, {"b", 2}},
          Json{{"a", 2}},
          Json{{"b", nullptr}},
          Json{{"", 1}}};
}

TEST(QueryIndexTest, EncodedValuesOrderAsQueriesSortThem) {
  std::vector<std::pair<std::string, Json>> documents{{"missing", Json::object()}};
  const std::vector<Json> values = MixedValues();
  for (std::size_t i = 0; i < values.size(); ++i)
    documents.emplace_back("k" + std::to_string(100 + i), Json{{"v", values[i]}});
  auto sorted = QueryPageOf(Parse(R"({"collection":"c","orderBy":[{"path":"v"}]})"), documents);
  ASSERT_TRUE(sorted.ok());
  // The same order by the encoded bytes, ties by key as entries break them.
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [key, document] : documents) {
    std::string bytes;
    index_key::AppendValue(bytes, QueryLookup(document, {"v"}));
    encoded.emplace_back(bytes + key, key);
  }
  std::sort(encoded.begin(), encoded.end());
  ASSERT_EQ(encoded.size(), sorted->documents.size());
  for (std::size_t i = 0; i < encoded.size(); ++i)
    EXPECT_EQ(encoded[i].second, sorted->documents[i].first) << "at " << i;
  // Equal values encode alike: 1 and 1.0, -0 and 0.
  std::string one, one_double, zero, minus_zero;
  index_key::AppendValue(one, &values[9]);
  index_key::AppendValue(one_double, &values[10]);
  index_key::AppendValue(zero, &values[7]);
  index_key::AppendValue(minus_zero, &values[6]);
  EXPECT_EQ(one, one_double);
  EXPECT_EQ(zero, minus_zero);
}

TEST(QueryIndexTest, DeclarationsAreCheckedAndNamed) {
  auto indexes = IndexesFromText(
      R"([{"collection":"tasks","paths":["project","due"]},
          {"collection":"tasks","paths":[["meta","size"]],"name":"by_size"}])");
  ASSERT_TRUE(indexes.ok()) << indexes.status().ToString();
  EXPECT_EQ((*indexes)[0].name, "project,due");
  EXPECT_EQ((*indexes)[1].paths, (std::vector<JsonPath>{{"meta", "size"}}));
  for (const char* bad :
       {R"({})", R"([1])", R"([{"collection":"t"}])", R"([{"paths":["a"]}])",
        R"([{"collection":"t","paths":[]}])", R"([{"collection":"t","paths":["a.."]}])",
        R"([{"collection":"t","paths":["a"],"unique":true}])",
        R"([{"collection":"t","paths":["a"]},{"collection":"t","paths":["a"]}])", "not json"}) {
    auto refused = IndexesFromText(bad);
    EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  MemoryStore store;
  EngineOptions options;
  options.indexes = {{"t", "", {}}};
  EXPECT_EQ(SyncEngine::Open(store, options, kNow).status().code(), ErrorCode::kInvalidArgument);
}

class IndexedEngineTest : public ::testing::Test {
 protected:
  void Open(const char* indexes) {
    engine_.reset();
    EngineOptions options;
    options.indexes = Indexes(indexes);
    engine_ = testing::OpenQuietEngine(store_, 1, kNow, options);
    ASSERT_NE(engine_, nullptr);
  }
  void Put(const std::string& key, const Json& value) {
    ASSERT_TRUE(engine_->HandleLocalWrite(MutationOp::kPut, {"tasks", key}, value, kNow).ok());
  }
  Json Explain(const std::string& query) { return engine_->ExplainQuery(Parse(query)); }
  std::size_t Entries(const std::string& name) {
    std::size_t count = 0;
    EXPECT_TRUE(store_
                    .ScanPrefix("x/tasks" + std::string(1, '\0') + name + '\0',
                                [&](std::string_view, std::string_view) { return ++count; })
                    .ok());
    return count;
  }
  // Every page of `query` through the engine equals the scan's.
  void ExpectPagesAsScanned(const std::string& text) {
    Query query = Parse(text);
    auto documents = engine_->Scan("tasks", "");
    ASSERT_TRUE(documents.ok());
    for (int pages = 0; pages < 100; ++pages) {
      auto indexed = engine_->RunQuery(query);
      auto scanned = QueryPageOf(query, *documents);
      ASSERT_TRUE(indexed.ok() && scanned.ok()) << text;
      ASSERT_EQ(indexed->documents, scanned->documents) << text;
      ASSERT_EQ(indexed->next, scanned->next) << text;
      if (indexed->next.empty()) return;
      query.after = indexed->next;
    }
    FAIL() << "no last page: " << text;
  }

  MemoryStore store_;
  std::unique_ptr<SyncEngine> engine_;
};

TEST_F(IndexedEngineTest, QueriesReadTheIndexThatFitsBest) {
  Open(R"([{"collection":"tasks","paths":["project","due"],"name":"by_due"},
           {"collection":"tasks","paths":["priority"]}])");
  const Json scan = Explain(R"({"collection":"tasks","where":{"path":"title","eq":"x"}})");
  EXPECT_TRUE(scan["index"].is_null()) << scan;
  const Json ordered = Explain(
      R"({"collection":"tasks","where":{"path":"project","eq":"p1"},"orderBy":[{"path":"due"}],"limit":5})");
  EXPECT_EQ(ordered["index"], "by_due");
  EXPECT_EQ(ordered["equalities"], 1);
  EXPECT_EQ(ordered["ordered"], true);
  const Json range = Explain(
      R"({"collection":"tasks","where":{"and":[{"path":"project","eq":"p1"},{"path":"due","gte":"2026"}]}})");
  EXPECT_EQ(range["index"], "by_due");
  EXPECT_EQ(range["narrowed"], true);
  EXPECT_EQ(range["ordered"], false);  // no limit: nothing to stop early for
  const Json in = Explain(R"({"collection":"tasks","where":{"path":"priority","in":[1,2]}})");
  EXPECT_EQ(in["index"], "priority");
  const Json descending =
      Explain(R"({"collection":"tasks","orderBy":[{"path":"priority","desc":true}],"limit":5})");
  EXPECT_TRUE(descending["index"].is_null()) << descending;  // reads ascending only
}

TEST_F(IndexedEngineTest, IndexedPagesEqualScannedOnes) {
  Open(
      R"([{"collection":"tasks","paths":["project","due"]},{"collection":"tasks","paths":["n"]}])");
  const std::vector<Json> values = MixedValues();
  for (int i = 0; i < 60; ++i) {
    Json task{{"project", i % 3 == 0 ? Json("p1") : Json("p2")}, {"n", values[i % values.size()]}};
    if (i % 4 != 0) task["due"] = "2026-0" + std::to_string(1 + i % 9);
    Put("t" + std::to_string(i % 7) + std::to_string(i), task);
  }
  // Writes that move documents within an index and out of it.
  Put("t00", {{"project", "p2"}, {"due", "2026-01"}});
  ASSERT_TRUE(engine_->HandleLocalWrite(MutationOp::kDelete, {"tasks", "t11"}, Json(), kNow).ok());
  ASSERT_TRUE(
      engine_->HandleLocalWrite(MutationOp::kPatch, {"tasks", "t22"}, {{"n", 7}}, kNow).ok());
  for (
      const char* query :
      {R"({"collection":"tasks","where":{"path":"project","eq":"p1"},"orderBy":[{"path":"due"}],"limit":4})",
       R"({"collection":"tasks","where":{"and":[{"path":"project","eq":"p2"},{"path":"due","gt":"2026-03","lte":"2026-07"}]},"limit":3})",
       R"({"collection":"tasks","where":{"and":[{"path":"project","eq":"p2"},{"path":"due","prefix":"2026-0"}]},"orderBy":[{"path":"due"}],"limit":5})",
       R"({"collection":"tasks","orderBy":[{"path":"n"}],"limit":7})",
       R"({"collection":"tasks","where":{"path":"n","gte":0,"lt":2},"limit":2})",
       R"({"collection":"tasks","where":{"path":"n","in":["a",1,null,[1]]},"limit":2})",
       R"({"collection":"tasks","where":{"path":"n","lt":"b"},"orderBy":[{"path":"n"}],"limit":2})"}) {
    ExpectPagesAsScanned(query);
    auto count = engine_->CountQuery(Parse(query));
    Query all = Parse(query);
    all.limit = 0;
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(*count, QueryPageOf(all, *engine_->Scan("tasks", ""))->documents.size()) << query;
  }
  EXPECT_EQ(Entries("n"), engine_->Scan("tasks", "")->size());
}

TEST_F(IndexedEngineTest, ChangedDeclarationsRebuildAndDropIndexes) {
  Open(R"([{"collection":"tasks","paths":["n"],"name":"i"}])");
  for (int i = 0; i < 5; ++i)
    Put("t" + std::to_string(i), {{"n", i}, {"m", 10 - i}});
  EXPECT_EQ(Entries("i"), 5u);
  // The same name on another path: rebuilt from the documents.
  Open(R"([{"collection":"tasks","paths":["m"],"name":"i"}])");
  EXPECT_EQ(Entries("i"), 5u);
  auto page =
      engine_->RunQuery(Parse(R"({"collection":"tasks","orderBy":[{"path":"m"}],"limit":2})"));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->documents.size(), 2u);
  EXPECT_EQ(page->documents[0].first, "t4");
  EXPECT_EQ(Explain(R"({"collection":"tasks","orderBy":[{"path":"m"}],"limit":2})")["index"], "i");
  // No longer declared: its entries go.
  Open("[]");
  EXPECT_EQ(Entries("i"), 0u);
  std::size_t left = 0;
  ASSERT_TRUE(
      store_.ScanPrefix("x/", [&](std::string_view, std::string_view) { return ++left; }).ok());
  EXPECT_EQ(left, 0u);
}

}  // namespace
}  // namespace ferry
