// Local queries and their indexes (query.h, query_index.h): answering from
// the best index or a scan, and keeping the store's indexes as declared.
#include <algorithm>
#include <vector>

#include "ferry/engine.h"

namespace ferry {
namespace {

// The query's cursor decoded, for an ordered plan to start after it; a
// cursor that is not JSON is left for QueryPageOf to refuse.
std::optional<Json> DecodedCursor(const Query& query) {
  if (query.after.empty()) return std::nullopt;
  auto parsed = ParseJson(query.after);
  if (!parsed.ok()) return std::nullopt;
  return std::move(*parsed);
}

}  // namespace

Status SyncEngine::AdoptIndexes() {
  FERRY_ASSIGN_OR_RETURN(QueryIndexes::Adoption adoption, indexes_.Compare(store_));
  if (adoption.record.empty()) return Status::Ok();
  Transaction txn(store_);
  FERRY_RETURN_IF_ERROR(indexes_.StageDrop(store_, txn, adoption));
  for (const IndexDeclaration* index : adoption.build) {
    FERRY_ASSIGN_OR_RETURN(auto documents, replica_.Scan(index->collection, "", 0));
    for (const auto& [key, value] : documents)
      indexes_.StageBuild(txn, *index, key, value);
  }
  indexes_.StageRecord(txn, adoption);
  return txn.Commit();
}

Result<std::vector<std::pair<std::string, Json>>> SyncEngine::ReadPlanned(const Query& query,
                                                                          const QueryPlan& plan) {
  std::vector<std::pair<std::string, Json>> documents;
  Status failure;
  const auto visit = [&](std::string_view, std::string_view key) {
    auto value = replica_.Get({query.collection, std::string(key)});
    if (!value.ok()) {
      failure = value.status();
      return false;
    }
    if (*value && QueryMatches(query.where, **value))
      documents.emplace_back(std::string(key), std::move(**value));
    // Ordered: one match past the page says whether a next page exists.
    return !(plan.ordered && documents.size() > query.limit);
  };
  for (const QueryPlan::Range& range : plan.ranges) {
    if (range.begin >= range.end) continue;
    FERRY_RETURN_IF_ERROR(store_.Scan(range.begin, range.end, visit));
    FERRY_RETURN_IF_ERROR(failure);
  }
  return documents;
}

Result<std::vector<std::pair<std::string, Json>>> SyncEngine::ReadMatching(const Query& query) {
  const std::optional<Json> after = DecodedCursor(query);
  const QueryPlan plan = indexes_.Plan(query, after ? &*after : nullptr);
  if (plan.index != nullptr) return ReadPlanned(query, plan);
  FERRY_ASSIGN_OR_RETURN(auto documents, Scan(query.collection, ""));
  std::erase_if(documents,
                [&](const auto& document) { return !QueryMatches(query.where, document.second); });
  return documents;
}

Result<QueryPage> SyncEngine::RunQuery(const Query& query) {
  FERRY_ASSIGN_OR_RETURN(auto documents, ReadMatching(query));
  return QueryPageOf(query, std::move(documents));
}

Result<std::size_t> SyncEngine::CountQuery(const Query& query) {
  Query unpaged = query;
  unpaged.limit = 0;
  unpaged.after.clear();
  FERRY_ASSIGN_OR_RETURN(auto documents, ReadMatching(unpaged));
  return documents.size();
}

Json SyncEngine::ExplainQuery(const Query& query) const {
  const std::optional<Json> after = DecodedCursor(query);
  return QueryPlanToJson(query, indexes_.Plan(query, after ? &*after : nullptr));
}

}  // namespace ferry
