// Local retention of SyncEngine (see EngineOptions::retention): synced
// documents leave the local store, never the server, by each collection's
// rule or by an explicit HandleEvict, so a device's store stops growing.
// Documents with pending writes always stay (Replica::StageEvict).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "ferry/engine.h"

namespace ferry {
namespace {

// Bounds one pass (one commit, one event): a store that fell far behind its
// rules catches up over several passes instead of stalling one input.
constexpr std::size_t kEvictionsPerPass = 1000;

}  // namespace

Status ValidateRetention(const RetentionRules& rules) {
  for (const auto& [collection, rule] : rules) {
    FERRY_RETURN_IF_ERROR(ValidateCollectionName(collection, "retention collection"));
    if (rule.max_age_ms <= 0 && rule.max_count == 0) {
      return Status(ErrorCode::kInvalidArgument,
                    "the retention rule of " + collection + " needs a max age or a max count");
    }
  }
  return Status::Ok();
}

Result<std::size_t> SyncEngine::HandleEvict(std::string_view collection,
                                            const std::optional<std::vector<std::string>>& keys,
                                            Instant now) {
  Observe(now);
  FERRY_RETURN_IF_ERROR(ValidateCollectionName(collection, "collection"));
  if (keys) {
    for (const std::string& key : *keys)
      FERRY_RETURN_IF_ERROR(ValidateDocumentId({std::string(collection), key}));
    return Evict(collection, *keys);
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<Replica::SyncedCopy> copies,
                         replica_.ListEvictable(collection));
  std::vector<std::string> all;
  all.reserve(copies.size());
  for (Replica::SyncedCopy& copy : copies)
    all.push_back(std::move(copy.key));
  return Evict(collection, all);
}

Status SyncEngine::ApplyRetention(Instant now) {
  std::size_t budget = kEvictionsPerPass;
  for (const auto& [collection, rule] : options_.retention) {
    if (budget == 0) break;
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> victims,
                           RetentionVictims(collection, rule, now.wall));
    if (victims.size() > budget) victims.resize(budget);
    FERRY_RETURN_IF_ERROR(Evict(collection, victims).status());
    budget -= victims.size();
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SyncEngine::RetentionVictims(std::string_view collection,
                                                              const RetentionRule& rule,
                                                              TimeMs now_wall) {
  FERRY_ASSIGN_OR_RETURN(std::vector<Replica::SyncedCopy> copies,
                         replica_.ListEvictable(collection));
  for (Replica::SyncedCopy& copy : copies) {
    if (copy.synced_at == 0) copy.synced_at = copies_timed_since_;
  }
  // What was synced before `cutoff` goes, and `at_cutoff` of what was
  // synced at that very time (the first keys: copies come in key order).
  TimeMs cutoff =
      rule.max_age_ms > 0 ? now_wall - rule.max_age_ms : std::numeric_limits<TimeMs>::min();
  std::size_t at_cutoff = 0;
  if (rule.max_count > 0 && copies.size() > rule.max_count) {
    // The count's cutoff: the sync time of the last of the `excess`
    // longest synced. (Times sort as plain numbers, not copies: that sort
    // is in the wasm build already, a sort of copies would add 8 KB.)
    const std::size_t excess = copies.size() - rule.max_count;
    std::vector<uint64_t> times;
    times.reserve(copies.size());
    for (const Replica::SyncedCopy& copy : copies)
      times.push_back(static_cast<uint64_t>(copy.synced_at));
    std::sort(times.begin(), times.end());
    const auto count_cutoff = static_cast<TimeMs>(times[excess - 1]);
    if (count_cutoff >= cutoff) {
      std::size_t before = 0;
      while (static_cast<TimeMs>(times[before]) < count_cutoff)
        ++before;
      cutoff = count_cutoff;
      at_cutoff = excess - before;
    }
  }
  std::vector<std::string> victims;
  for (Replica::SyncedCopy& copy : copies) {
    const bool goes = copy.synced_at < cutoff || (copy.synced_at == cutoff && at_cutoff > 0);
    if (!goes) continue;
    if (copy.synced_at == cutoff) --at_cutoff;
    victims.push_back(std::move(copy.key));
  }
  return victims;
}

Result<std::size_t> SyncEngine::Evict(std::string_view collection,
                                      const std::vector<std::string>& keys) {
  if (keys.empty()) return std::size_t{0};
  Transaction txn(store_);
  std::vector<DocumentId> left_view;
  std::size_t evicted = 0;
  for (const std::string& key : keys) {
    DocumentId id{std::string(collection), key};
    // An open conflict's document stays: its resolution is written against it.
    if (open_conflicts_.contains(id)) continue;
    FERRY_ASSIGN_OR_RETURN(const Replica::Eviction eviction, replica_.StageEvict(txn, id));
    if (eviction == Replica::Eviction::kNothing) continue;
    ++evicted;
    if (eviction == Replica::Eviction::kDocument) left_view.push_back(std::move(id));
  }
  if (evicted == 0) return evicted;
  // Counted in the same commit as the evictions, so the two never disagree.
  SyncStatistics counted = statistics_;
  counted.documents_evicted += evicted;
  StageStatistics(txn, counted);
  FERRY_RETURN_IF_ERROR(txn.Commit());
  statistics_ = counted;
  if (!left_view.empty()) {
    Emit(DocumentsChangedEvent{std::move(left_view), /*remote=*/false, /*evicted=*/true});
  }
  return evicted;
}

}  // namespace ferry
