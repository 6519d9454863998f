// Local queries: the JSON form, matching, sorting and paging (query.h).
#include "ferry/query.h"

#include <algorithm>

namespace ferry {
namespace {

// Filters nest; a hostile query must not exhaust the stack.
constexpr int kMaxFilterDepth = 32;

Status Invalid(const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "query: " + what);
}

Result<JsonPath> PathFromJson(const Json& json, const std::string& what) {
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

Result<QueryCondition> ConditionFromJson(const Json& json) {
  QueryCondition condition;
  bool tests = false;
  for (const auto& [name, value] : json.items()) {
    if (name == "path") {
      FERRY_ASSIGN_OR_RETURN(condition.path, PathFromJson(value, "a condition's path"));
      continue;
    }
    tests = true;
    if (name == "eq" || name == "gt" || name == "gte" || name == "lt" || name == "lte") {
      (name == "eq"    ? condition.eq
       : name == "gt"  ? condition.gt
       : name == "gte" ? condition.gte
       : name == "lt"  ? condition.lt
                       : condition.lte) = value;
    } else if (name == "in" && value.is_array()) {
      condition.in = value.get<std::vector<Json>>();
    } else if (name == "exists" && value.is_boolean()) {
      condition.exists = value.get<bool>();
    } else if (name == "prefix" && value.is_string()) {
      condition.prefix = value.get<std::string>();
    } else {
      return Invalid("a condition has no test \"" + name + "\" of that type (eq, gt, gte, lt, " +
                     "lte, in: an array, exists: a boolean, prefix: a string)");
    }
  }
  if (condition.path.empty()) return Invalid("a condition needs a path");
  if (!tests) return Invalid("a condition needs a test");
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
    FERRY_ASSIGN_OR_RETURN(sort.path, PathFromJson(key["path"], "an orderBy path"));
    const Json desc = key.value("desc", Json(false));
    if (!desc.is_boolean()) return Invalid("desc must be a boolean");
    sort.descending = desc.get<bool>();
    order.push_back(std::move(sort));
  }
  return order;
}

// The value at `path`, or null when there is none.
const Json* Lookup(const Json& document, const JsonPath& path) {
  const Json* at = &document;
  for (const std::string& name : path) {
    if (!at->is_object()) return nullptr;
    const auto found = at->find(name);
    if (found == at->end()) return nullptr;
    at = &*found;
  }
  return at;
}

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
    const std::string left = DumpJson(*a), right = DumpJson(*b);
    return left < right ? -1 : left > right ? 1 : 0;
  }
  return *a < *b ? -1 : *b < *a ? 1 : 0;  // numbers across kinds, strings by bytes
}

// A range bound compares only with a value of its own type.
bool InRange(const Json* value, const std::optional<Json>& bound, bool (*holds)(int)) {
  if (!bound) return true;
  if (value == nullptr || TypeRank(value) != TypeRank(&*bound) || value->is_null() ||
      value->is_array() || value->is_object()) {
    return false;
  }
  return holds(Compare(value, &*bound));
}

bool ConditionHolds(const QueryCondition& c, const Json& document) {
  const Json* value = Lookup(document, c.path);
  if (c.exists && (value != nullptr) != *c.exists) return false;
  if (c.eq && (value == nullptr || *value != *c.eq)) return false;
  if (!InRange(value, c.gt, [](int order) { return order > 0; }) ||
      !InRange(value, c.gte, [](int order) { return order >= 0; }) ||
      !InRange(value, c.lt, [](int order) { return order < 0; }) ||
      !InRange(value, c.lte, [](int order) { return order <= 0; })) {
    return false;
  }
  if (c.in && (value == nullptr || std::find(c.in->begin(), c.in->end(), *value) == c.in->end()))
    return false;
  if (c.prefix && (value == nullptr || !value->is_string() ||
                   !value->get_ref<const std::string&>().starts_with(*c.prefix))) {
    return false;
  }
  return true;
}

// Where a document stands in the order: its sort values (nullopt: missing)
// and its key.
struct Position {
  std::vector<std::optional<Json>> values;
  std::string key;
};

Position PositionOf(const Query& query, const std::string& key, const Json& document) {
  Position position{{}, key};
  for (const QuerySortKey& sort : query.order_by) {
    const Json* value = Lookup(document, sort.path);
    position.values.push_back(value ? std::optional<Json>(*value) : std::nullopt);
  }
  return position;
}

int ComparePositions(const Query& query, const Position& a, const Position& b) {
  for (std::size_t i = 0; i < query.order_by.size(); ++i) {
    const Json* left = a.values[i] ? &*a.values[i] : nullptr;
    const Json* right = b.values[i] ? &*b.values[i] : nullptr;
    if (int order = Compare(left, right); order != 0)
      return query.order_by[i].descending ? -order : order;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

// The cursor: {"v": [[value] or [] when missing, ...], "k": key}.
std::string CursorOf(const Position& position) {
  Json values = Json::array();
  for (const auto& value : position.values)
    values.push_back(value ? Json::array({*value}) : Json::array());
  return DumpJson(Json{{"v", std::move(values)}, {"k", position.key}});
}

Result<Position> PositionFromCursor(const Query& query, const std::string& cursor) {
  auto json = ParseJson(cursor);
  const Status bad = Invalid("the cursor is not one this query gave");
  if (!json.ok() || !json->is_object() || !json->contains("v") || !(*json)["v"].is_array() ||
      !json->contains("k") || !(*json)["k"].is_string() ||
      (*json)["v"].size() != query.order_by.size()) {
    return bad;
  }
  Position position{{}, (*json)["k"].get<std::string>()};
  for (const Json& value : (*json)["v"]) {
    if (!value.is_array() || value.size() > 1) return bad;
    position.values.push_back(value.empty() ? std::nullopt : std::optional<Json>(value[0]));
  }
  return position;
}

}  // namespace

Result<Query> QueryFromJson(const Json& json) {
  if (!json.is_object()) return Invalid("a query must be an object");
  Query query;
  for (const auto& [name, value] : json.items()) {
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

Result<QueryPage> QueryPageOf(const Query& query,
                              std::vector<std::pair<std::string, Json>> documents) {
  std::optional<Position> after;
  if (!query.after.empty()) {
    FERRY_ASSIGN_OR_RETURN(after, PositionFromCursor(query, query.after));
  }
  std::vector<std::pair<Position, std::size_t>> matching;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const auto& [key, value] = documents[i];
    if (!QueryMatches(query.where, value)) continue;
    Position position = PositionOf(query, key, value);
    if (after && ComparePositions(query, position, *after) <= 0) continue;
    matching.emplace_back(std::move(position), i);
  }
  const std::size_t count =
      query.limit == 0 ? matching.size() : std::min(query.limit, matching.size());
  const auto before = [&](const auto& a, const auto& b) {
    return ComparePositions(query, a.first, b.first) < 0;
  };
  std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(count),
                    matching.end(), before);
  QueryPage page;
  for (std::size_t i = 0; i < count; ++i)
    page.documents.push_back(std::move(documents[matching[i].second]));
  if (count < matching.size()) page.next = CursorOf(matching[count - 1].first);
  return page;
}

Json QueryPageToJson(const QueryPage& page) {
  Json documents = Json::array();
  for (const auto& [key, value] : page.documents)
    documents.push_back({{"key", key}, {"value", value}});
  return {{"documents", std::move(documents)},
          {"next", page.next.empty() ? Json() : Json(page.next)}};
}

}  // namespace ferry
