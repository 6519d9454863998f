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
  for (const auto& operation : batch.operations()) {
    if (operation.value) {
      entries_.insert_or_assign(operation.key, *operation.value);
    } else {
      entries_.erase(operation.key);
    }
  }
  return Status::Ok();
}

}  // namespace ferry
