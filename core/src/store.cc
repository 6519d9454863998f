#include "ferry/store.h"

#include <string>
#include <vector>

namespace ferry {

Status Store::Put(std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(key, value);
  return Commit(batch);
}

Status Store::Delete(std::string_view key) {
  WriteBatch batch;
  batch.Delete(key);
  return Commit(batch);
}

Status Store::ScanPrefix(std::string_view prefix, const ScanVisitor& visit) {
  return Scan(prefix, PrefixEnd(prefix), visit);
}

Status DeletePrefix(Store& store, std::string_view prefix, std::size_t keep_last) {
  std::vector<std::string> keys;
  FERRY_RETURN_IF_ERROR(store.ScanPrefix(prefix, [&](std::string_view key, auto) {
    keys.emplace_back(key);
    return true;
  }));
  if (keys.size() <= keep_last) return Status::Ok();
  WriteBatch batch;
  for (std::size_t i = 0; i < keys.size() - keep_last; ++i)
    batch.Delete(keys[i]);
  return store.Commit(batch);
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xFF) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

Result<std::optional<std::string>> Transaction::Get(std::string_view key) {
  auto staged = staged_.find(key);
  if (staged != staged_.end()) return staged->second;
  return store_.Get(key);
}

void Transaction::Put(std::string_view key, std::string_view value) {
  staged_.insert_or_assign(std::string(key), std::string(value));
}

void Transaction::Delete(std::string_view key) {
  staged_.insert_or_assign(std::string(key), std::nullopt);
}

Status Transaction::Commit() {
  if (staged_.empty()) return Status::Ok();
  WriteBatch batch;
  while (!staged_.empty()) {
    auto node = staged_.extract(staged_.begin());  // moves the strings, no copies
    if (node.mapped()) {
      batch.PutMoved(std::move(node.key()), std::move(*node.mapped()));
    } else {
      batch.DeleteMoved(std::move(node.key()));
    }
  }
  return store_.Commit(batch);
}

}  // namespace ferry
