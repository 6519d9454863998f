#include "ferry/store_memory.h"

namespace ferry {

Result<std::optional<std::string>> MemoryStore::Get(std::string_view key) {
  auto found = entries_.find(key);
  if (found == entries_.end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

Status MemoryStore::Scan(std::string_view begin, std::string_view end, const ScanVisitor& visit) {
  for (auto it = entries_.lower_bound(begin);
       it != entries_.end() && (end.empty() || it->first < end); ++it) {
    if (!visit(it->first, it->second)) break;
  }
  return Status::Ok();
}

Status MemoryStore::Commit(const WriteBatch& batch) {
  CommitMeasured(batch);
  return Status::Ok();
}

namespace {

int64_t Bytes(std::string_view key, std::string_view value) {
  return static_cast<int64_t>(key.size() + value.size());
}

}  // namespace

// One tree walk per operation (lower_bound, then an insert at that place),
// none for a key above every stored one: a replayed snapshot is in key order,
// and outbox entries are keyed by ascending seq. `operation`'s strings are
// moved from when it is an rvalue.
template <typename Operation>
int64_t MemoryStore::ApplyMeasured(Operation&& operation) {
  const bool above_all = entries_.empty() || entries_.rbegin()->first < operation.key;
  auto place = above_all ? entries_.end() : entries_.lower_bound(operation.key);
  const bool found = place != entries_.end() && place->first == operation.key;
  if (!operation.value) {
    if (!found) return 0;
    const int64_t removed = Bytes(place->first, place->second);
    entries_.erase(place);
    return -removed;
  }
  const int64_t added = Bytes(operation.key, *operation.value);
  if (found) {
    const int64_t replaced = Bytes(place->first, place->second);
    place->second = *std::forward<Operation>(operation).value;
    return added - replaced;
  }
  entries_.emplace_hint(place, std::forward<Operation>(operation).key,
                        *std::forward<Operation>(operation).value);
  return added;
}

int64_t MemoryStore::CommitMeasured(const WriteBatch& batch) {
  int64_t delta = 0;
  for (const auto& operation : batch.operations())
    delta += ApplyMeasured(operation);
  return delta;
}

int64_t MemoryStore::CommitMeasured(WriteBatch&& batch) {
  int64_t delta = 0;
  for (auto& operation : batch.ReleaseOperations())
    delta += ApplyMeasured(std::move(operation));
  return delta;
}

}  // namespace ferry
