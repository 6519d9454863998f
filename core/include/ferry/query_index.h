// Query indexes (issue 18): declared per collection on one or more JSON
// paths, kept as store entries beside the documents, so an index entry
// changes in the same Transaction, and so the same atomic commit, as the
// local view it indexes, on every Store backend alike.
//
// Declarations (EngineOptions::indexes; JSON on the C and wasm surfaces):
//
//   [{"collection": "tasks", "paths": ["project", "due"], "name": "by_due"}]
//
// "name" defaults to the paths joined by ",". An index covers every
// document of its collection's local view, pending writes included; a
// document without a value at a path has an entry that sorts first there.
//
// Entries: "x/<collection>\0<name>\0" + the value at each path, encoded so
// that byte order is query.h's sort order, + the document key; the entry's
// value is the key. Numbers are encoded as IEEE doubles, as query.h compares
// them. The store records the declarations it holds ("m/indexes"): opening
// with another declaration rebuilds that index, one no longer declared is
// dropped, each in one commit.
//
// Planning: an index fits a query whose top-level conditions (the query's
// one condition, or the direct conditions of its "and") give equalities on
// the index's leading paths, then optionally a range (gt/gte/lt/lte,
// prefix) or an "in" on the next one. The index narrows the documents read;
// every candidate is still filtered and sorted by query.cc, so an index
// changes how fast a query answers, never what. When the query's orderBy is
// the index's remaining paths, ascending, and it has a limit, the scan reads
// in order and stops at the page's end ("ordered" in the plan).
//
// Not thread-safe: used by one engine, whose host serializes every call.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/json.h"
#include "ferry/model.h"
#include "ferry/query.h"
#include "ferry/status.h"
#include "ferry/store.h"

namespace ferry {

struct IndexDeclaration {
  std::string collection;
  std::string name;
  std::vector<JsonPath> paths;
};

// The JSON form above (an array of declarations); kInvalidArgument naming
// what is wrong (a missing collection or path, an empty or repeated name).
[[nodiscard]] Result<std::vector<IndexDeclaration>> IndexesFromJson(const Json& json);
[[nodiscard]] Result<std::vector<IndexDeclaration>> IndexesFromText(std::string_view text);
// Gives each unnamed declaration its default name and checks the rest, as
// IndexesFromJson does (for declarations made in C++).
[[nodiscard]] Status ValidateIndexes(std::vector<IndexDeclaration>& declarations);

// How a query is answered: from one index's key ranges, or by a scan.
struct QueryPlan {
  const IndexDeclaration* index = nullptr;  // nullptr: scan the collection
  struct Range {
    std::string begin, end;  // store keys, [begin, end)
  };
  std::vector<Range> ranges;   // in key order
  std::size_t equalities = 0;  // leading paths fixed by eq
  bool narrowed = false;       // a range or "in" on the path after them
  bool ordered = false;        // reads in the query's order; stops at the limit
};
// {"index": name or null, "collection", "equalities", "narrowed", "ordered"}.
Json QueryPlanToJson(const Query& query, const QueryPlan& plan);

class QueryIndexes {
 public:
  explicit QueryIndexes(std::vector<IndexDeclaration> declarations);
  // Not copyable: by_collection_ points into declarations_.
  QueryIndexes(const QueryIndexes&) = delete;
  QueryIndexes& operator=(const QueryIndexes&) = delete;

  bool Covers(std::string_view collection) const {
    return by_collection_.find(collection) != by_collection_.end();
  }

  // A document's local view changed from `before` to `after` (nullptr:
  // absent): stage the entries that differ, for each index of its collection.
  void StageChange(Transaction& txn, const DocumentId& id, const Json* before,
                   const Json* after) const;

  // The declarations the store holds, against these: which indexes must be
  // (re)built from the documents and which dropped. Apply stages both.
  struct Adoption {
    std::vector<const IndexDeclaration*> build;
    std::vector<std::string> drop;  // entry prefixes
    std::string record;             // the declarations to store; empty: as stored
  };
  [[nodiscard]] Result<Adoption> Compare(Store& store) const;
  [[nodiscard]] Status StageDrop(Store& store, Transaction& txn, const Adoption& adoption) const;
  void StageBuild(Transaction& txn, const IndexDeclaration& index, std::string_view key,
                  const Json& document) const;
  void StageRecord(Transaction& txn, const Adoption& adoption) const;

  // The best index for `query`, or a scan. `after` is the query's cursor,
  // decoded, when it has one: an ordered plan starts after it.
  QueryPlan Plan(const Query& query, const Json* after) const;

 private:
  std::vector<IndexDeclaration> declarations_;
  std::map<std::string, std::vector<const IndexDeclaration*>, std::less<>> by_collection_;
};

}  // namespace ferry
