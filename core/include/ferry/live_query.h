// Live queries (issue 18): a query's page kept current as documents change,
// and what changed in it since it was last delivered.
//
// The engine (engine_live_query.cc) hands each changed document of the
// query's collection to Apply, with its local view now. The page is kept
// as a window: the first documents of the query's answer, by its order,
// with one more than its limit, to know whether a next page exists. A
// change settles in the window without running the query: a document that
// neither was nor is in it costs one filter test; one that enters, leaves
// or moves is placed by the query's order; a full window that gains a
// document drops its last one. A window that lost members while more
// documents follow it is still the answer's beginning, only shorter:
// FillQuery asks for just the documents after its last one, which an index
// on the query's order reads with one seek, instead of the whole page.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ferry/json.h"
#include "ferry/query.h"
#include "ferry/status.h"

namespace ferry {

// The keys that differ between two pages of one query.
struct QueryDiff {
  std::vector<std::string> added;    // in the new page only
  std::vector<std::string> removed;  // in the old page only
  std::vector<std::string> changed;  // in both, with another value
  // In both, and among the fewest whose moving turns the old order into
  // the new one (the others keep their order relative to one another).
  std::vector<std::string> moved;

  bool empty() const {
    return added.empty() && removed.empty() && changed.empty() && moved.empty();
  }
  bool operator==(const QueryDiff&) const = default;
};

// A live query's page as delivered, and how it differs from the one before.
struct QueryUpdate {
  QueryPage page;  // the whole page now
  QueryDiff diff;  // against the page delivered before (the first: all added)
};

class LiveQuery {
 public:
  // The query to run for Start and Reset: `query` with one document more
  // than its limit, so that the page knows whether a next one exists.
  static Query Lookahead(const Query& query);
  // `answer`: Lookahead(query)'s answer now (SyncEngine::RunQuery).
  // kInvalidArgument for a cursor that does not decode. The first
  // TakeUpdate adds every document.
  [[nodiscard]] static Result<LiveQuery> Start(Query query, QueryPage answer);

  const Query& query() const { return *query_; }
  // The query's page now, as RunQuery would answer it.
  QueryPage page() const;

  // The document `key` of the query's collection has `value` as its local
  // view now (nullptr: none).
  void Apply(const std::string& key, const Json* value);
  // What the window lacks after Applies took members out of it: the query
  // for the documents after its last one, as many as it is short; nullopt
  // when it is full or holds every document the query admits.
  std::optional<Query> FillQuery() const;
  // `answer`: FillQuery()'s answer now. A document the window holds
  // already is left where it is: the change that moved it is still to be
  // applied (the store is read at the poll, and may be ahead of the
  // changes applied so far).
  void Fill(QueryPage answer);
  // `answer`: Lookahead(query())'s answer now, for a page whose refresh
  // failed part way.
  void Reset(QueryPage answer);
  // The page and its diff when it differs (documents, order, values or
  // `next`) from the page the last update gave, or when none was taken yet;
  // null when nothing changed. Shared: this keeps it to diff the next one
  // against, and the engine hands it to every listener, with no copy.
  std::shared_ptr<const QueryUpdate> TakeUpdate();

 private:
  LiveQuery(std::unique_ptr<const Query> query, QueryOrder order, QueryPage answer);
  // Where `key`, with `value`, goes in the window by the query's order.
  std::size_t PlaceOf(const std::string& key, const Json& value) const;
  void Insert(std::size_t at, const std::string& key, const Json& value);
  std::size_t Shown() const;  // how many of the window's documents the page shows

  std::unique_ptr<const Query> query_;  // at one address, for order_
  QueryOrder order_;                    // refers to *query_
  // The answer's first documents: the page's and, when the query has a
  // limit, at most one more.
  std::vector<std::pair<std::string, Json>> window_;
  bool complete_ = true;        // every document the query admits is in window_
  std::set<std::string> keys_;  // of window_'s documents
  // The page the last update gave; none before the first.
  std::shared_ptr<const QueryUpdate> delivered_;
  bool touched_ = true;  // the window changed since the last TakeUpdate
};

}  // namespace ferry
