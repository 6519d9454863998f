// The storage contract: an ordered, transactional key-value store.
//
// This is the only way the core touches persistence (LevelDB's Env and
// SQLite's VFS are the model): backends (in-memory, SQLite, the IDBFS journal)
// implement it in files named for the backend, and one contract test suite
// (tests/core/store_contract.h) runs against each.
//
// Contract:
// - Keys and values are arbitrary byte strings. Keys order bytewise, as
//   unsigned bytes; a key orders before every longer key it prefixes.
// - Commit applies a batch atomically: after a crash, either every operation
//   of the batch is visible or none is. When Commit returns Ok the batch is
//   durable as far as the backend promises (documented per backend).
// - Reads see every committed batch.
// - Scan visits keys in ascending order. The visitor may call Get but must not
//   call Commit; the string_views it receives are valid only during that call.
//
// Threading: a store is used from one thread at a time (whichever thread the
// host lets drive the engine; the native Client serializes with its lock).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/status.h"

namespace ferry {

class WriteBatch {
 public:
  struct Operation {
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };

  void Put(std::string_view key, std::string_view value) {
    operations_.push_back({std::string(key), std::string(value)});
  }
  void Delete(std::string_view key) { operations_.push_back({std::string(key), std::nullopt}); }
  // Taking ownership instead of copying, for builders that are done with
  // their strings (Transaction::Commit).
  void PutMoved(std::string key, std::string value) {
    operations_.push_back({std::move(key), std::move(value)});
  }
  void DeleteMoved(std::string key) { operations_.push_back({std::move(key), std::nullopt}); }

  // In the order added; a later operation on the same key wins.
  const std::vector<Operation>& operations() const { return operations_; }
  // Hands the operations over, leaving the batch empty.
  std::vector<Operation> ReleaseOperations() { return std::exchange(operations_, {}); }
  bool empty() const { return operations_.empty(); }
  void Clear() { operations_.clear(); }

 private:
  std::vector<Operation> operations_;
};

// Returns false to stop the scan early.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class Store {
 public:
  virtual ~Store() = default;

  [[nodiscard]] virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;

  // Visits keys in [begin, end) in ascending order; an empty `end` means
  // "no upper bound".
  [[nodiscard]] virtual Status Scan(std::string_view begin, std::string_view end,
                                    const ScanVisitor& visit) = 0;

  [[nodiscard]] virtual Status Commit(const WriteBatch& batch) = 0;

  // Conveniences over the primitives above.
  [[nodiscard]] Status Put(std::string_view key, std::string_view value);
  [[nodiscard]] Status Delete(std::string_view key);
  [[nodiscard]] Status ScanPrefix(std::string_view prefix, const ScanVisitor& visit);
};

// The smallest key greater than every key starting with `prefix`; empty when
// no such key exists (prefix is all 0xFF bytes).
std::string PrefixEnd(std::string_view prefix);
// Deletes every key under `prefix` but the last `keep_last`, in one commit.
[[nodiscard]] Status DeletePrefix(Store& store, std::string_view prefix, std::size_t keep_last);

// A batch under construction that can read its own uncommitted writes: several
// steps of one logical change (e.g. the results of one push) stage into it
// and see each other's effects before one atomic Commit.
class Transaction {
 public:
  explicit Transaction(Store& store) : store_(store) {}

  [[nodiscard]] Result<std::optional<std::string>> Get(std::string_view key);
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  [[nodiscard]] Status Commit();
  bool empty() const { return staged_.empty(); }

 private:
  Store& store_;
  // key -> staged value (nullopt: staged delete); consulted before the store.
  // Only the last operation per key matters, so a map is the whole batch.
  std::map<std::string, std::optional<std::string>, std::less<>> staged_;
};

}  // namespace ferry
