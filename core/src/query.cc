// Local queries: the JSON form, matching, sorting and paging (query.h).
#include "ferry/query.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string_view>

namespace ferry {
namespace {

// Filters nest; a hostile query must not exhaust the stack.
constexpr int kMaxFilterDepth = 32;

Status Invalid(const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "query: " + what);
}

}  // namespace

Result<JsonPath> QueryPathFromJson(const Json& json, const std::string& what) {
  JsonPath path;
  if (json.is_string()) {
    const std::string& text = json.get_ref<const std::string&>();
    for (std::size_t start = 0;;) {
      const std::size_t dot = text.find('.', start);
      path.push_back(text.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  } else if (json.is_array()) {
    for (const Json& name : json) {
      if (!name.is_string()) return Invalid(what + " must be a string or an array of strings");
      path.push_back(name.get<std::string>());
    }
  } else {
    return Invalid(what + " must be a string or an array of strings");
  }
  if (path.empty() || std::any_of(path.begin(), path.end(), [](auto& n) { return n.empty(); }))
    return Invalid(what + " has an empty member name");
  return path;
}

namespace {

// The JSON names of QueryTest, in its order.
constexpr std::string_view kTestNames[] = {"eq",  "gt", "gte",    "lt",
                                           "lte", "in", "exists", "prefix"};

// Whether `operand` has the type its test takes.
bool OperandFits(QueryTest test, const Json& operand) {
  switch (test) {
    case QueryTest::kIn:
      return operand.is_array();
    case QueryTest::kExists:
      return operand.is_boolean();
    case QueryTest::kPrefix:
      return operand.is_string();
    default:
      return true;
  }
}

Result<QueryCondition> ConditionFromJson(const Json& json) {
  QueryCondition condition;
  for (auto member = json.begin(); member != json.end(); ++member) {
    const std::string& name = member.key();
    if (name == "path") {
      FERRY_ASSIGN_OR_RETURN(condition.path, QueryPathFromJson(*member, "a condition's path"));
      continue;
    }
    const auto* found = std::find(std::begin(kTestNames), std::end(kTestNames), name);
    const auto test = static_cast<QueryTest>(found - std::begin(kTestNames));
    if (found == std::end(kTestNames) || !OperandFits(test, *member)) {
      return Invalid("a condition has no test \"" + name + "\" of that type (eq, gt, gte, lt, " +
                     "lte, in: an array, exists: a boolean, prefix: a string)");
    }
    condition.tests.emplace_back(test, *member);
  }
  if (condition.path.empty()) return Invalid("a condition needs a path");
  if (condition.tests.empty()) return Invalid("a condition needs a test");
  return condition;
}

Result<QueryFilter> FilterFromJson(const Json& json, int depth) {
  if (depth > kMaxFilterDepth) return Invalid("filters nest too deep");
  if (!json.is_object()) return Invalid("a filter must be an object");
  QueryFilter filter;
  for (const char* group : {"and", "or"}) {
    const auto found = json.find(group);
    if (found == json.end()) continue;
    if (json.size() != 1 || !found->is_array())
      return Invalid(std::string("\"") + group + "\" takes an array of filters, alone");
    filter.kind = group[0] == 'a' ? QueryFilter::Kind::kAnd : QueryFilter::Kind::kOr;
    for (const Json& part : *found) {
      FERRY_ASSIGN_OR_RETURN(QueryFilter parsed, FilterFromJson(part, depth + 1));
      filter.parts.push_back(std::move(parsed));
    }
    return filter;
  }
  filter.kind = QueryFilter::Kind::kCondition;
  FERRY_ASSIGN_OR_RETURN(filter.condition, ConditionFromJson(json));
  return filter;
}

Result<std::vector<QuerySortKey>> OrderFromJson(const Json& json) {
  if (!json.is_array()) return Invalid("orderBy must be an array");
  std::vector<QuerySortKey> order;
  for (const Json& key : json) {
    if (!key.is_object() || !key.contains("path")) return Invalid("an orderBy entry needs a path");
    QuerySortKey sort;
    FERRY_ASSIGN_OR_RETURN(sort.path, QueryPathFromJson(key["path"], "an orderBy path"));
    const Json desc = key.value("desc", Json(false));
    if (!desc.is_boolean()) return Invalid("desc must be a boolean");
    sort.descending = desc.get<bool>();
    order.push_back(std::move(sort));
  }
  return order;
}

}  // namespace

const Json* QueryLookup(const Json& document, const JsonPath& path) {
  const Json* at = &document;
  for (const std::string& name : path) {
    if (!at->is_object()) return nullptr;
    const auto found = at->find(name);
    if (found == at->end()) return nullptr;
    at = &*found;
  }
  return at;
}

namespace {

int TypeRank(const Json* value) {
  if (value == nullptr) return 0;
  if (value->is_null()) return 1;
  if (value->is_boolean()) return 2;
  if (value->is_number()) return 3;
  if (value->is_string()) return 4;
  if (value->is_array()) return 5;
  return 6;
}

// The sort order of query.h: by type, then by value.
int Compare(const Json* a, const Json* b) {
  const int ranks = TypeRank(a) - TypeRank(b);
  if (ranks != 0) return ranks < 0 ? -1 : 1;
  if (a == nullptr || a->is_null()) return 0;
  if (a->is_array()) {
    for (std::size_t i = 0; i < a->size() && i < b->size(); ++i) {
      if (const int order = Compare(&(*a)[i], &(*b)[i]); order != 0) return order;
    }
    return a->size() < b->size() ? -1 : a->size() > b->size() ? 1 : 0;
  }
  if (a->is_object()) {
    // Member by member in key order (index_key.cc encodes them so).
    auto left = a->begin(), right = b->begin();
    for (; left != a->end() && right != b->end(); ++left, ++right) {
      if (const int names = left.key().compare(right.key()); names != 0) return names < 0 ? -1 : 1;
      if (const int order = Compare(&*left, &*right); order != 0) return order;
    }
    return a->size() < b->size() ? -1 : a->size() > b->size() ? 1 : 0;
  }
  if (a->is_number()) {
    // As doubles, whatever their kind, as index entries hold them.
    const double left = a->get<double>(), right = b->get<double>();
    return left < right ? -1 : left > right ? 1 : 0;
  }
  return *a < *b ? -1 : *b < *a ? 1 : 0;  // booleans, strings by bytes
}

// A range bound compares only with a value of its own type.
bool Ranked(const Json* value, const Json& bound) {
  return value != nullptr && TypeRank(value) == TypeRank(&bound) &&
         (value->is_boolean() || value->is_number() || value->is_string());
}

bool TestHolds(QueryTest test, const Json& operand, const Json* value) {
  switch (test) {
    case QueryTest::kEq:
      return value != nullptr && *value == operand;
    case QueryTest::kGt:
      return Ranked(value, operand) && Compare(value, &operand) > 0;
    case QueryTest::kGte:
      return Ranked(value, operand) && Compare(value, &operand) >= 0;
    case QueryTest::kLt:
      return Ranked(value, operand) && Compare(value, &operand) < 0;
    case QueryTest::kLte:
      return Ranked(value, operand) && Compare(value, &operand) <= 0;
    case QueryTest::kIn:
      return value != nullptr && std::find(operand.begin(), operand.end(), *value) != operand.end();
    case QueryTest::kExists:
      return (value != nullptr) == operand.get<bool>();
    case QueryTest::kPrefix:
      return value != nullptr && value->is_string() &&
             value->get_ref<const std::string&>().starts_with(
                 operand.get_ref<const std::string&>());
  }
  return false;
}

bool ConditionHolds(const QueryCondition& condition, const Json& document) {
  const Json* value = QueryLookup(document, condition.path);
  return std::all_of(condition.tests.begin(), condition.tests.end(),
                     [&](const auto& test) { return TestHolds(test.first, test.second, value); });
}

// Where a document stands in the order: its sort values (null: missing)
// and its key, borrowed from the document or the decoded cursor.
struct Position {
  std::vector<const Json*> values;
  const std::string* key = nullptr;
};

Position PositionOf(const Query& query, const std::string& key, const Json& document) {
  Position position{{}, &key};
  for (const QuerySortKey& sort : query.order_by)
    position.values.push_back(QueryLookup(document, sort.path));
  return position;
}

int ComparePositions(const Query& query, const Position& a, const Position& b) {
  for (std::size_t i = 0; i < query.order_by.size(); ++i) {
    if (int order = Compare(a.values[i], b.values[i]); order != 0)
      return query.order_by[i].descending ? -order : order;
  }
  return a.key->compare(*b.key);
}

// The cursor: {"v": [[value] or [] when missing, ...], "k": key}.
std::string CursorOf(const Position& position) {
  Json cursor = Json::object();
  Json& values = cursor["v"] = Json::array();
  for (const Json* value : position.values)
    values.push_back(value ? Json::array({*value}) : Json::array());
  cursor["k"] = *position.key;
  return DumpJson(cursor);
}

// The position a cursor names, borrowing from `cursor`, its decoded JSON.
Result<Position> PositionFromCursor(const Query& query, const Json& cursor) {
  const Status bad = Invalid("the cursor is not one this query gave");
  if (!cursor.is_object()) return bad;
  const auto values = cursor.find("v");
  const auto key = cursor.find("k");
  if (values == cursor.end() || key == cursor.end() || !values->is_array() || !key->is_string() ||
      values->size() != query.order_by.size()) {
    return bad;
  }
  Position position{{}, &key->get_ref<const std::string&>()};
  for (const Json& value : *values) {
    if (!value.is_array() || value.size() > 1) return bad;
    position.values.push_back(value.empty() ? nullptr : &value[0]);
  }
  return position;
}

}  // namespace

Result<Query> QueryFromJson(const Json& json) {
  if (!json.is_object()) return Invalid("a query must be an object");
  Query query;
  for (auto member = json.begin(); member != json.end(); ++member) {
    const std::string& name = member.key();
    const Json& value = *member;
    if (name == "collection" && value.is_string()) {
      query.collection = value.get<std::string>();
    } else if (name == "where") {
      FERRY_ASSIGN_OR_RETURN(query.where, FilterFromJson(value, 0));
    } else if (name == "orderBy") {
      FERRY_ASSIGN_OR_RETURN(query.order_by, OrderFromJson(value));
    } else if (name == "limit" && value.is_number_unsigned()) {
      query.limit = value.get<std::size_t>();
    } else if (name == "after" && (value.is_string() || value.is_null())) {
      query.after = value.is_null() ? "" : value.get<std::string>();
    } else {
      return Invalid("\"" + name + "\" is not a query member of that type (collection: a " +
                     "string, where, orderBy, limit: a whole number, after: a cursor)");
    }
  }
  if (query.collection.empty()) return Invalid("a query needs a collection");
  return query;
}

Result<Query> QueryFromText(std::string_view text) {
  auto json = ParseJson(text);
  if (!json.ok()) return Invalid("not JSON: " + json.status().message());
  return QueryFromJson(*json);
}

bool QueryMatches(const QueryFilter& filter, const Json& document) {
  switch (filter.kind) {
    case QueryFilter::Kind::kEverything:
      return true;
    case QueryFilter::Kind::kCondition:
      return ConditionHolds(filter.condition, document);
    case QueryFilter::Kind::kAnd:
      return std::all_of(filter.parts.begin(), filter.parts.end(),
                         [&](const QueryFilter& part) { return QueryMatches(part, document); });
    case QueryFilter::Kind::kOr:
      return std::any_of(filter.parts.begin(), filter.parts.end(),
                         [&](const QueryFilter& part) { return QueryMatches(part, document); });
  }
  return false;
}

struct QueryOrder::Cursor {
  Json json;          // the decoded cursor, which `position` borrows from
  Position position;  // empty until filled in, once `json` has its place
};

Result<QueryOrder> QueryOrder::Of(const Query& query) {
  QueryOrder order(query);
  if (query.after.empty()) return order;
  auto parsed = ParseJson(query.after);
  if (!parsed.ok()) return Invalid("the cursor is not one this query gave");
  auto cursor = std::make_shared<Cursor>();
  cursor->json = std::move(*parsed);
  FERRY_ASSIGN_OR_RETURN(cursor->position, PositionFromCursor(query, cursor->json));
  order.after_ = std::move(cursor);
  return order;
}

bool QueryOrder::Admits(const std::string& key, const Json& value) const {
  if (!QueryMatches(query_->where, value)) return false;
  return !after_ ||
         ComparePositions(*query_, PositionOf(*query_, key, value), after_->position) > 0;
}

int QueryOrder::Compare(const std::string& a_key, const Json& a, const std::string& b_key,
                        const Json& b) const {
  return ComparePositions(*query_, PositionOf(*query_, a_key, a), PositionOf(*query_, b_key, b));
}

std::string QueryOrder::CursorAfter(const std::string& key, const Json& value) const {
  return CursorOf(PositionOf(*query_, key, value));
}

Result<QueryPage> QueryPageOf(const Query& query,
                              std::vector<std::pair<std::string, Json>> documents) {
  FERRY_ASSIGN_OR_RETURN(const QueryOrder order, QueryOrder::Of(query));
  std::vector<Position> positions(documents.size());
  std::vector<std::size_t> matching;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const auto& [key, value] = documents[i];
    if (!order.Admits(key, value)) continue;
    positions[i] = PositionOf(query, key, value);
    matching.push_back(i);
  }
  const std::size_t count =
      query.limit == 0 ? matching.size() : std::min(query.limit, matching.size());
  std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(count),
                    matching.end(), [&](std::size_t a, std::size_t b) {
                      return ComparePositions(query, positions[a], positions[b]) < 0;
                    });
  QueryPage page;
  if (count < matching.size()) page.next = CursorOf(positions[matching[count - 1]]);
  for (std::size_t i = 0; i < count; ++i)
    page.documents.push_back(std::move(documents[matching[i]]));
  return page;
}

Json QueryPageToJson(const QueryPage& page) {
  Json json = Json::object();
  Json& documents = json["documents"] = Json::array();
  for (const auto& [key, value] : page.documents) {
    Json& item = documents.emplace_back(Json::object());
    item["key"] = key;
    item["value"] = value;
  }
  json["next"] = page.next.empty() ? Json() : Json(page.next);
  return json;
}

}  // namespace ferry
