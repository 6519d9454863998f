// Local queries (issue 18): a filter, an order and a page over the local
// view of one collection (pending writes included, as Get sees them). One
// shape on every host, JSON, so it crosses the C and wasm boundaries as text:
//
//   {"collection": "tasks",
//    "where": {"and": [{"path": "project", "eq": "p1"},
//                      {"path": "due", "gte": "2026-01-01", "lt": "2027-01-01"},
//                      {"path": "state", "in": ["open", "blocked"]},
//                      {"path": "assignee", "exists": true},
//                      {"or": [{"path": "title", "prefix": "Re: "},
//                              {"path": "priority", "gt": 2}]}]},
//    "orderBy": [{"path": "due"}, {"path": "priority", "desc": true}],
//    "limit": 100,
//    "after": "<the previous page's next cursor>"}
//
// Everything but "collection" is optional. A path is dotted ("a.b") or an
// array of member names (["a", "b.c"]). A condition holds when every test
// it names holds: eq (JSON equality), gt/gte/lt/lte (values of the bound's
// type only: numbers with numbers, strings with strings by their UTF-8
// bytes, booleans with booleans), in (equal to one of the values), exists
// (the path leads to a value, null included), prefix (a string starting
// with it). Sorting orders a missing value first, then null, booleans,
// numbers, strings, arrays and objects, each by value (numbers as IEEE
// doubles, whatever their JSON spelling; arrays element by element; objects
// member by member in key order); ties go by key, which also orders a query
// without orderBy.
//
// A query reads the collection through an index when one fits
// (query_index.h), else by scanning it; the answer is the same either way.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/json.h"
#include "ferry/status.h"

namespace ferry {

using JsonPath = std::vector<std::string>;

// The tests of a condition, by their JSON names.
enum class QueryTest { kEq, kGt, kGte, kLt, kLte, kIn, kExists, kPrefix };

struct QueryCondition {
  JsonPath path;
  // Each test with its operand as given (in: an array, exists: a boolean,
  // prefix: a string); all must hold.
  std::vector<std::pair<QueryTest, Json>> tests;
};

struct QueryFilter {
  enum class Kind { kEverything, kCondition, kAnd, kOr };
  Kind kind = Kind::kEverything;
  QueryCondition condition;        // kCondition
  std::vector<QueryFilter> parts;  // kAnd, kOr
};

struct QuerySortKey {
  JsonPath path;
  bool descending = false;
};

struct Query {
  std::string collection;
  QueryFilter where;
  std::vector<QuerySortKey> order_by;
  std::size_t limit = 0;  // 0: every match
  std::string after;      // a page's `next`; empty: from the first match
};

struct QueryPage {
  std::vector<std::pair<std::string, Json>> documents;  // key, value
  std::string next;  // the cursor of the page after this one; empty: none
};

// A path's JSON form: "a.b" or ["a", "b.c"]; `what` names it in the error.
[[nodiscard]] Result<JsonPath> QueryPathFromJson(const Json& json, const std::string& what);
// The value at `path` in `document`, or nullptr when there is none.
const Json* QueryLookup(const Json& document, const JsonPath& path);

// The JSON form above; kInvalidArgument naming what is wrong.
[[nodiscard]] Result<Query> QueryFromJson(const Json& json);
// The same from JSON text, as the C API and the web runtime take it.
[[nodiscard]] Result<Query> QueryFromText(std::string_view text);
[[nodiscard]] bool QueryMatches(const QueryFilter& filter, const Json& document);
// The page `query` asks for among `documents` (key, value; every document
// of the collection or only the matching ones): filtered, sorted, cut after
// the cursor and to the limit. A cursor that does not decode is
// kInvalidArgument.
[[nodiscard]] Result<QueryPage> QueryPageOf(const Query& query,
                                            std::vector<std::pair<std::string, Json>> documents);
// A query's order and window, for keeping its page current one document at
// a time (live_query.h) by the rules QueryPageOf applies to a whole list.
class QueryOrder {
 public:
  // kInvalidArgument for a cursor that does not decode. Keeps a reference
  // to `query`, which must outlive it.
  [[nodiscard]] static Result<QueryOrder> Of(const Query& query);
  // Whether the document matches the query and sorts past its cursor.
  bool Admits(const std::string& key, const Json& value) const;
  // Negative, zero or positive as document a sorts before, with or after b.
  int Compare(const std::string& a_key, const Json& a, const std::string& b_key,
              const Json& b) const;
  // The cursor of the page that follows one ending with this document.
  std::string CursorAfter(const std::string& key, const Json& value) const;

 private:
  struct Cursor;
  explicit QueryOrder(const Query& query) : query_(&query) {}
  const Query* query_;
  std::shared_ptr<const Cursor> after_;  // null: from the first match
};

// {"documents": [{"key", "value"}], "next": cursor or null}.
Json QueryPageToJson(const QueryPage& page);

}  // namespace ferry
