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

int64_t MemoryStore::CommitMeasured(const WriteBatch& batch) {
  int64_t delta = 0;
  const auto bytes = [](const std::string& key, const std::string& value) {
    return static_cast<int64_t>(key.size() + value.size());
  };
  for (const auto& operation : batch.operations()) {
    auto found = entries_.find(operation.key);
    if (found != entries_.end()) {
      delta -= bytes(found->first, found->second);
      if (operation.value) {
        found->second = *operation.value;
        delta += bytes(found->first, found->second);
      } else {
        entries_.erase(found);
      }
    } else if (operation.value) {
      delta += bytes(operation.key, *operation.value);
      entries_.emplace(operation.key, *operation.value);
    }
  }
  return delta;
}

}  // namespace ferry
