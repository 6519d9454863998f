// MemoryStore: the storage contract over a std::map. For tests, simulation and
// hosts that want no persistence. Commits are atomic; nothing is durable.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ferry/store.h"

namespace ferry {

class MemoryStore final : public Store {
 public:
  [[nodiscard]] Result<std::optional<std::string>> Get(std::string_view key) override;
  [[nodiscard]] Status Scan(std::string_view begin, std::string_view end,
                            const ScanVisitor& visit) override;
  [[nodiscard]] Status Commit(const WriteBatch& batch) override;

  // Commit() that also returns the change in stored bytes (keys plus values),
  // for owners that track their live size (JournalStore's compaction).
  int64_t CommitMeasured(const WriteBatch& batch);
  // The same, moving the batch's keys and values into the store instead of
  // copying them: a journal replay builds every entry from a batch it is done
  // with, and the copies showed in profiles of opening a large store.
  int64_t CommitMeasured(WriteBatch&& batch);

  std::size_t size() const { return entries_.size(); }

 private:
  template <typename Operation>
  int64_t ApplyMeasured(Operation&& operation);

  // std::string compares with char_traits<char>::compare, which is specified
  // to compare as unsigned char, so map order is the contract's bytewise order.
  std::map<std::string, std::string, std::less<>> entries_;
};

}  // namespace ferry
