// Choosing an index for a query (query_index.h, "Planning").
#include <algorithm>
#include <utility>

#include "ferry/query_index.h"
#include "index_key.h"

namespace ferry {
namespace {

// The tests a query's top-level conditions put on each path.
using PathTests = std::vector<std::pair<JsonPath, const std::pair<QueryTest, Json>*>>;

PathTests TopLevelTests(const QueryFilter& where) {
  std::vector<const QueryCondition*> conditions;
  if (where.kind == QueryFilter::Kind::kCondition) conditions.push_back(&where.condition);
  if (where.kind == QueryFilter::Kind::kAnd) {
    for (const QueryFilter& part : where.parts)
      if (part.kind == QueryFilter::Kind::kCondition) conditions.push_back(&part.condition);
  }
  PathTests tests;
  for (const QueryCondition* condition : conditions)
    for (const auto& test : condition->tests)
      tests.emplace_back(condition->path, &test);
  return tests;
}

const Json* Find(const PathTests& tests, const JsonPath& path, QueryTest kind) {
  for (const auto& [at, test] : tests)
    if (at == path && test->first == kind) return &test->second;
  return nullptr;
}

const Json* FindAny(const PathTests& tests, const JsonPath& path,
                    std::initializer_list<QueryTest> kinds) {
  for (const QueryTest kind : kinds)
    if (const Json* operand = Find(tests, path, kind)) return operand;
  return nullptr;
}

std::string Encoded(std::string prefix, const Json& value) {
  index_key::AppendValue(prefix, &value);
  return prefix;
}

// The ranges for the path after the equalities: every entry, one per "in"
// value, or those between a range's bounds (inclusive: the filter that
// runs afterwards is exact). Returns whether they narrow anything.
bool NarrowRanges(const PathTests& tests, const JsonPath& path, const std::string& prefix,
                  std::vector<QueryPlan::Range>& ranges) {
  if (const Json* in = Find(tests, path, QueryTest::kIn)) {
    for (const Json& value : *in) {
      std::string begin = Encoded(prefix, value);
      ranges.push_back({begin, PrefixEnd(begin)});
    }
    std::sort(ranges.begin(), ranges.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
    ranges.erase(std::unique(ranges.begin(), ranges.end(),
                             [](auto& a, auto& b) { return a.begin == b.begin; }),
                 ranges.end());
    return true;
  }
  if (const Json* start = Find(tests, path, QueryTest::kPrefix)) {
    std::string begin = prefix + index_key::TypeBegin(*start);
    index_key::AppendStringPrefix(begin, start->get_ref<const std::string&>());
    ranges.push_back({begin, PrefixEnd(begin)});
    return true;
  }
  const Json* lower = FindAny(tests, path, {QueryTest::kGt, QueryTest::kGte});
  const Json* upper = FindAny(tests, path, {QueryTest::kLt, QueryTest::kLte});
  if (lower == nullptr && upper == nullptr) {
    ranges.push_back({prefix, PrefixEnd(prefix)});
    return false;
  }
  std::string begin = lower ? Encoded(prefix, *lower) : prefix + index_key::TypeBegin(*upper);
  std::string end =
      upper ? PrefixEnd(Encoded(prefix, *upper)) : prefix + index_key::TypeEnd(*lower);
  end = std::max(begin, end);  // bounds that exclude everything: an empty range
  ranges.push_back({std::move(begin), std::move(end)});
  return true;
}

// Whether reading `index` from its equalities on gives the query's order.
bool InOrder(const Query& query, const IndexDeclaration& index, std::size_t equalities) {
  if (query.limit == 0 || query.order_by.size() != index.paths.size() - equalities) return false;
  for (std::size_t i = 0; i < query.order_by.size(); ++i) {
    if (query.order_by[i].descending || query.order_by[i].path != index.paths[equalities + i])
      return false;
  }
  return true;
}

// An ordered plan starts after the cursor's entry (the entry's key plus
// NUL is the first key after it); a cursor of another shape is left for
// QueryPageOf to refuse.
void SeekAfter(const Query& query, const Json& after, std::string prefix, QueryPlan& plan) {
  if (!after.is_object() || !after.contains("v") || !after.contains("k")) return;
  const Json& values = after["v"];
  const Json& key = after["k"];
  if (!values.is_array() || values.size() != query.order_by.size() || !key.is_string()) return;
  for (const Json& value : values) {
    if (!value.is_array() || value.size() > 1) return;
    index_key::AppendValue(prefix, value.empty() ? nullptr : &value[0]);
  }
  prefix += key.get_ref<const std::string&>();
  prefix += '\0';
  QueryPlan::Range& range = plan.ranges.front();
  if (prefix > range.begin) range.begin = std::move(prefix);
  range.end = std::max(range.begin, range.end);
}

QueryPlan PlanFor(const Query& query, const Json* after, const PathTests& tests,
                  const IndexDeclaration& index) {
  QueryPlan plan;
  plan.index = &index;
  std::string prefix = "x/" + index.collection + '\0' + index.name + '\0';
  for (; plan.equalities < index.paths.size(); ++plan.equalities) {
    const Json* eq = Find(tests, index.paths[plan.equalities], QueryTest::kEq);
    if (eq == nullptr) break;
    index_key::AppendValue(prefix, eq);
  }
  if (plan.equalities < index.paths.size()) {
    plan.narrowed = NarrowRanges(tests, index.paths[plan.equalities], prefix, plan.ranges);
  } else {
    plan.ranges.push_back({prefix, PrefixEnd(prefix)});
  }
  plan.ordered = plan.ranges.size() == 1 && InOrder(query, index, plan.equalities);
  if (plan.ordered && after != nullptr) SeekAfter(query, *after, prefix, plan);
  return plan;
}

// Fewer documents read first: each equality, then a narrowed path; then
// reading in order.
std::pair<std::size_t, int> Score(const QueryPlan& plan) {
  return {plan.equalities * 2 + (plan.narrowed ? 1 : 0), plan.ordered ? 1 : 0};
}

}  // namespace

QueryPlan QueryIndexes::Plan(const Query& query, const Json* after) const {
  QueryPlan best;
  const auto found = by_collection_.find(query.collection);
  if (found == by_collection_.end()) return best;
  const PathTests tests = TopLevelTests(query.where);
  for (const IndexDeclaration* index : found->second) {
    QueryPlan plan = PlanFor(query, after, tests, *index);
    // An index that neither narrows nor orders would only add reads.
    if (Score(plan) == std::pair<std::size_t, int>{0, 0}) continue;
    if (best.index == nullptr || Score(plan) > Score(best)) best = std::move(plan);
  }
  return best;
}

Json QueryPlanToJson(const Query& query, const QueryPlan& plan) {
  return {{"collection", query.collection},
          {"index", plan.index ? Json(plan.index->name) : Json()},
          {"equalities", plan.equalities},
          {"narrowed", plan.narrowed},
          {"ordered", plan.ordered}};
}

}  // namespace ferry
