// Local queries (issue 18, query.h): the JSON form and its refusals, each
// test of a condition, and/or, the sort order across types, paging by
// cursor, and the engine's query over the local view with pending writes.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/query.h"
#include "ferry/store_memory.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using Documents = std::vector<std::pair<std::string, Json>>;

Query Parse(const char* text) {
  auto json = ParseJson(text);
  EXPECT_TRUE(json.ok()) << text;
  auto query = QueryFromJson(json.ok() ? *json : Json());
  EXPECT_TRUE(query.ok()) << text << ": " << query.status().ToString();
  return query.ok() ? *query : Query{};
}

std::vector<std::string> Keys(const QueryPage& page) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : page.documents)
    keys.push_back(key);
  return keys;
}

std::vector<std::string> Matching(const char* query, const Documents& documents) {
  auto page = QueryPageOf(Parse(query), documents);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? Keys(*page) : std::vector<std::string>{};
}

const Documents kTasks = {
    {"t1", {{"project", "p1"}, {"due", "2026-03-01"}, {"priority", 2}, {"title", "Re: plan"}}},
    {"t2", {{"project", "p1"}, {"due", "2026-01-15"}, {"priority", 5}, {"done", true}}},
    {"t3", {{"project", "p2"}, {"due", "2026-02-01"}, {"priority", 1.5}, {"owner", nullptr}}},
    {"t4", {{"project", "p1"}, {"meta", {{"size", 3}}}, {"priority", "high"}}},
    {"t5", {{"project", "p3"}, {"due", "2025-12-31"}, {"priority", 2}, {"title", "Plan"}}},
};

TEST(QueryTest, EachTestOfACondition) {
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"project","eq":"p1"}})", kTasks),
            (std::vector<std::string>{"t1", "t2", "t4"}));
  // Ranges match values of the bound's type only: "high" is no number.
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"priority","gte":2,"lt":5}})", kTasks),
            (std::vector<std::string>{"t1", "t5"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"due","lt":"2026-02-01"}})", kTasks),
            (std::vector<std::string>{"t2", "t5"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"project","in":["p2","p3"]}})", kTasks),
            (std::vector<std::string>{"t3", "t5"}));
  // exists holds for null; a missing member does not exist.
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"owner","exists":true}})", kTasks),
            (std::vector<std::string>{"t3"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"due","exists":false}})", kTasks),
            (std::vector<std::string>{"t4"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"title","prefix":"Re: "}})", kTasks),
            (std::vector<std::string>{"t1"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":"meta.size","eq":3}})", kTasks),
            (std::vector<std::string>{"t4"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"path":["meta","size"],"gt":2.5}})", kTasks),
            (std::vector<std::string>{"t4"}));
}

TEST(QueryTest, AndOrNest) {
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"and":[{"path":"project","eq":"p1"},
                   {"or":[{"path":"done","eq":true},{"path":"title","exists":true}]}]}})",
                     kTasks),
            (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"or":[]}})", kTasks),
            std::vector<std::string>{});
  EXPECT_EQ(Matching(R"({"collection":"t","where":{"and":[]}})", kTasks).size(), kTasks.size());
}

TEST(QueryTest, SortsByPathsThenKeyAcrossTypes) {
  // Missing first, then null, booleans, numbers, strings, arrays, objects.
  const Documents mixed = {{"a", {{"v", "x"}}},        {"b", {{"v", 2}}},
                           {"c", Json::object()},      {"d", {{"v", nullptr}}},
                           {"e", {{"v", true}}},       {"f", {{"v", Json::array({1})}}},
                           {"g", {{"v", {{"k", 1}}}}}, {"h", {{"v", 1.5}}}};
  EXPECT_EQ(Matching(R"({"collection":"t","orderBy":[{"path":"v"}]})", mixed),
            (std::vector<std::string>{"c", "d", "e", "h", "b", "a", "f", "g"}));
  EXPECT_EQ(
      Matching(R"({"collection":"t","orderBy":[{"path":"priority","desc":true},{"path":"due"}]})",
               kTasks),
      (std::vector<std::string>{"t4", "t2", "t5", "t1", "t3"}));
  EXPECT_EQ(Matching(R"({"collection":"t"})", kTasks),
            (std::vector<std::string>{"t1", "t2", "t3", "t4", "t5"}));
}

TEST(QueryTest, PagesFollowTheCursorToTheEnd) {
  const char* first = R"({"collection":"t","orderBy":[{"path":"priority"}],"limit":2})";
  auto page = QueryPageOf(Parse(first), kTasks);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"t3", "t1"}));
  std::vector<std::string> all = Keys(*page);
  while (!page->next.empty()) {
    Query next = Parse(first);
    next.after = page->next;
    page = QueryPageOf(next, kTasks);
    ASSERT_TRUE(page.ok());
    for (auto& key : Keys(*page))
      all.push_back(key);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"t3", "t1", "t5", "t2", "t4"}));
  const Json json = QueryPageToJson(*page);
  EXPECT_TRUE(json["next"].is_null());
  ASSERT_EQ(json["documents"].size(), 1u);
  EXPECT_EQ(json["documents"][0]["key"], "t4");
}

TEST(QueryTest, RefusesWhatIsNoQuery) {
  for (const char* text :
       {R"([])", R"({})", R"({"collection":1})", R"({"collection":"t","limit":-1})",
        R"({"collection":"t","where":{"path":"a"}})", R"({"collection":"t","where":{"eq":1}})",
        R"({"collection":"t","where":{"path":"a..b","eq":1}})",
        R"({"collection":"t","where":{"path":"a","like":"x"}})",
        R"({"collection":"t","where":{"path":"a","in":1}})",
        R"({"collection":"t","where":{"and":{}}})",
        R"({"collection":"t","where":{"and":[],"path":"a","eq":1}})",
        R"({"collection":"t","orderBy":[{"path":"a","desc":1}]})", R"({"collection":"t","x":1})"}) {
    auto json = ParseJson(text);
    ASSERT_TRUE(json.ok()) << text;
    auto query = QueryFromJson(*json);
    ASSERT_FALSE(query.ok()) << text;
    EXPECT_EQ(query.status().code(), ErrorCode::kInvalidArgument) << text;
  }
  // Nesting past the bound is refused, not a stack overflow.
  Json deep = {{"path", "a"}, {"eq", 1}};
  for (int i = 0; i < 40; ++i)
    deep = {{"and", Json::array({deep})}};
  EXPECT_FALSE(QueryFromJson({{"collection", "t"}, {"where", deep}}).ok());
  Query query = Parse(R"({"collection":"t","orderBy":[{"path":"v"}]})");
  query.after = "not a cursor";
  EXPECT_EQ(QueryPageOf(query, kTasks).status().code(), ErrorCode::kInvalidArgument);
  query.after = R"({"v":[],"k":"t1"})";  // another query's: no value for the sort key
  EXPECT_EQ(QueryPageOf(query, kTasks).status().code(), ErrorCode::kInvalidArgument);
}

TEST(QueryTest, TheEngineQueriesTheLocalViewWithPendingWrites) {
  MemoryStore store;
  Instant now{1'000, 1'700'000'000'000};
  auto engine = testing::OpenQuietEngine(store, 1, now);
  ASSERT_NE(engine, nullptr);
  for (const auto& [key, value] : kTasks)
    ASSERT_TRUE(engine->HandleLocalWrite(MutationOp::kPut, {"tasks", key}, value, now).ok());
  ASSERT_TRUE(engine->HandleLocalWrite(MutationOp::kDelete, {"tasks", "t2"}, Json(), now).ok());
  ASSERT_TRUE(
      engine->HandleLocalWrite(MutationOp::kPut, {"notes", "n1"}, {{"project", "p1"}}, now).ok());
  const Query query = Parse(R"({"collection":"tasks","where":{"path":"project","eq":"p1"}})");
  auto page = engine->RunQuery(query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"t1", "t4"}));
  auto count = engine->CountQuery(query);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);
  Query bad = query;
  bad.collection = std::string(2000, 'x');
  EXPECT_FALSE(engine->RunQuery(bad).ok());
}

}  // namespace
}  // namespace ferry
