// SqliteStore: the storage contract over one SQLite file (system libsqlite3).
//
// One WITHOUT ROWID table of (key BLOB PRIMARY KEY, value BLOB): keys compare
// with memcmp, which is the contract's bytewise order. WAL journal; every
// Commit is one transaction, durable when it returns:
//   - Durability::kNormal (default): synchronous=NORMAL. A commit survives a
//     process crash; after a power loss the last commits may roll back, but
//     the file stays consistent.
//   - Durability::kFull: synchronous=FULL. A commit also survives power loss.
// The file records its format in PRAGMA user_version; a file written by a
// newer Ferry is refused (kUnsupportedVersion) rather than misread, and a
// file that is not a SQLite database, or is damaged, gives kCorruption.
//
// One client at a time: Open claims the store (an OFD lock on <path>.lock, see
// platform/src/store_lock.h) until the store is destroyed. A second Open of a
// store in use, from another process or from this one, fails with kBusy, or
// waits up to Options::lock_timeout_ms. Two clients on one file would hand out
// the same client id and sequence numbers, and the server would drop one's
// writes as duplicates of the other's.
//
// Threading: not thread-safe: one thread at a time (the native Client
// serializes every use with its engine lock); not shareable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ferry/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ferry {

class StoreLock;

class SqliteStore final : public Store {
 public:
  enum class Durability { kNormal, kFull };
  struct Options {
    Durability durability = Durability::kNormal;
    // Verify the whole file at open (PRAGMA quick_check). Catches damaged
    // pages up front at the cost of reading the file once.
    bool check_integrity_on_open = false;
    // How long Open waits for another client to close the store before it
    // fails with kBusy; 0 fails at once.
    int64_t lock_timeout_ms = 0;
  };

  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                                 Options options);
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  [[nodiscard]] Result<std::optional<std::string>> Get(std::string_view key) override;
  [[nodiscard]] Status Scan(std::string_view begin, std::string_view end,
                            const ScanVisitor& visit) override;
  [[nodiscard]] Status Commit(const WriteBatch& batch) override;

  // Removes a store's files (the database, its WAL and shared-memory files,
  // its lock file), e.g. on sign-out. Fails with kBusy while the store is
  // open, in this process or another.
  [[nodiscard]] static Status Destroy(const std::string& path);

  // The store format this build writes and reads.
  static constexpr int kFormatVersion = 1;

 private:
  SqliteStore(sqlite3* db, std::unique_ptr<StoreLock> lock);
  [[nodiscard]] Status Prepare();
  [[nodiscard]] Status Error(std::string_view what) const;

  sqlite3* db_;
  std::unique_ptr<StoreLock> lock_;  // released after db_ is closed
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* scan_ = nullptr;            // [begin, end)
  sqlite3_stmt* scan_unbounded_ = nullptr;  // [begin, +inf)
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  // Scan visitors may call Get; a nested scan needs its own statement.
  int scan_depth_ = 0;
};

}  // namespace ferry
