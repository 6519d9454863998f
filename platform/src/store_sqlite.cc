#include "ferry/store_sqlite.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstdio>

#include "store_lock.h"

namespace ferry {
namespace {

// A statement reset on scope exit so it never holds a read transaction open
// (an open reader would stop WAL checkpoints).
class StatementScope {
 public:
  explicit StatementScope(sqlite3_stmt* statement) : statement_(statement) {}
  ~StatementScope() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;

 private:
  sqlite3_stmt* statement_;
};

void BindBlob(sqlite3_stmt* statement, int index, std::string_view bytes) {
  // A zero-length blob must still bind as a blob, not NULL: pass a non-null
  // pointer. SQLITE_TRANSIENT copies, so the view may die after binding.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(statement, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                      SQLITE_TRANSIENT);
}

std::string_view ColumnBlob(sqlite3_stmt* statement, int column) {
  const void* data = sqlite3_column_blob(statement, column);
  const int size = sqlite3_column_bytes(statement, column);
  if (data == nullptr || size <= 0) return {};
  return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

ErrorCode CodeFor(int sqlite_code) {
  switch (sqlite_code & 0xFF) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorruption;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PERM:
      return ErrorCode::kIo;
    case SQLITE_TOOBIG:
      return ErrorCode::kTooLarge;
    default:
      return ErrorCode::kInternal;
  }
}

std::string LockPath(const std::string& path) {
  return path + ".lock";
}

}  // namespace

Status SqliteStore::Error(std::string_view what) const {
  const int code = sqlite3_extended_errcode(db_);
  return Status(CodeFor(code), "sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

SqliteStore::SqliteStore(sqlite3* db, std::unique_ptr<StoreLock> lock)
    : db_(db), lock_(std::move(lock)) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, Options options) {
  // Claimed before SQLite touches the file: a refused open must not change it.
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<StoreLock> lock,
                         StoreLock::Acquire(LockPath(path), options.lock_timeout_ms));
  sqlite3* db = nullptr;
  const int opened = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (opened != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(opened);
    sqlite3_close(db);
    return Status(CodeFor(opened), "sqlite: cannot open " + path + ": " + message);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, std::move(lock)));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);

  // The first statements read the header: a file that is not a database
  // fails here with SQLITE_NOTADB, which we report as corruption.
  int user_version = 0;
  {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr) != SQLITE_OK) {
      return store->Error("reading the format version of " + path);
    }
    const int step = sqlite3_step(statement);
    if (step == SQLITE_ROW) user_version = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    if (step != SQLITE_ROW) return store->Error("reading the format version of " + path);
  }
  if (user_version > kFormatVersion) {
    return Status(ErrorCode::kUnsupportedVersion, path + " has store format " +
                                                      std::to_string(user_version) +
                                                      ", newer than this Ferry build reads (" +
                                                      std::to_string(kFormatVersion) + ")");
  }
  const std::string setup =
      std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
      (options.durability == Durability::kFull ? "FULL" : "NORMAL") +
      "; CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
      " PRAGMA user_version=" +
      std::to_string(kFormatVersion) + ";";
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return store->Error("initializing " + path);
  }
  if (options.check_integrity_on_open) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &statement, nullptr) != SQLITE_OK) {
      return store->Error("checking " + path);
    }
    const int step = sqlite3_step(statement);
    const std::string verdict =
        step == SQLITE_ROW ? std::string(ColumnBlob(statement, 0)) : std::string();
    sqlite3_finalize(statement);
    if (step != SQLITE_ROW) return store->Error("checking " + path);
    if (verdict != "ok") {
      return Status(ErrorCode::kCorruption, path + " is damaged: " + verdict.substr(0, 200));
    }
  }
  FERRY_RETURN_IF_ERROR(store->Prepare());
  return store;
}

Status SqliteStore::Prepare() {
  const struct {
    sqlite3_stmt** statement;
    const char* sql;
  } statements[] = {
      {&get_, "SELECT value FROM kv WHERE key = ?1"},
      {&put_,
       "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
       "excluded.value"},
      {&delete_, "DELETE FROM kv WHERE key = ?1"},
      {&scan_, "SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&scan_unbounded_, "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key"},
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
  };
  for (const auto& [statement, sql] : statements) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) !=
        SQLITE_OK) {
      return Error(std::string("preparing ") + sql);
    }
  }
  return Status::Ok();
}

SqliteStore::~SqliteStore() {
  for (sqlite3_stmt* statement :
       {get_, put_, delete_, scan_, scan_unbounded_, begin_, commit_, rollback_}) {
    sqlite3_finalize(statement);
  }
  sqlite3_close(db_);
}

Result<std::optional<std::string>> SqliteStore::Get(std::string_view key) {
  StatementScope scope(get_);
  BindBlob(get_, 1, key);
  const int step = sqlite3_step(get_);
  if (step == SQLITE_DONE) return std::optional<std::string>();
  if (step != SQLITE_ROW) return Error("get");
  return std::optional<std::string>(std::string(ColumnBlob(get_, 0)));
}

Status SqliteStore::Scan(std::string_view begin, std::string_view end, const ScanVisitor& visit) {
  sqlite3_stmt* statement = end.empty() ? scan_unbounded_ : scan_;
  sqlite3_stmt* owned = nullptr;
  if (scan_depth_ > 0) {
    // A visitor is scanning inside a scan: the shared statement is busy.
    if (sqlite3_prepare_v2(db_, sqlite3_sql(statement), -1, &owned, nullptr) != SQLITE_OK) {
      return Error("preparing a nested scan");
    }
    statement = owned;
  }
  ++scan_depth_;
  Status status;
  {
    StatementScope scope(statement);
    BindBlob(statement, 1, begin);
    if (!end.empty()) BindBlob(statement, 2, end);
    while (true) {
      const int step = sqlite3_step(statement);
      if (step == SQLITE_DONE) break;
      if (step != SQLITE_ROW) {
        status = Error("scan");
        break;
      }
      if (!visit(ColumnBlob(statement, 0), ColumnBlob(statement, 1))) break;
    }
  }
  --scan_depth_;
  sqlite3_finalize(owned);
  return status;
}

Status SqliteStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  {
    StatementScope scope(begin_);
    if (sqlite3_step(begin_) != SQLITE_DONE) return Error("begin");
  }
  Status status;
  for (const auto& operation : batch.operations()) {
    sqlite3_stmt* statement = operation.value ? put_ : delete_;
    StatementScope scope(statement);
    BindBlob(statement, 1, operation.key);
    if (operation.value) BindBlob(statement, 2, *operation.value);
    if (sqlite3_step(statement) != SQLITE_DONE) {
      status = Error(operation.value ? "put" : "delete");
      break;
    }
  }
  if (status.ok()) {
    StatementScope scope(commit_);
    if (sqlite3_step(commit_) == SQLITE_DONE) return Status::Ok();
    status = Error("commit");
  }
  // Nothing of a failed batch may remain visible.
  StatementScope scope(rollback_);
  sqlite3_step(rollback_);
  return status;
}

Status SqliteStore::Destroy(const std::string& path) {
  // Held while the files go, so no client opens the store half removed; the
  // lock file goes when it is released. Where no lock file can be made (the
  // folder is gone), no client can hold the store either.
  auto lock = StoreLock::Acquire(LockPath(path), 0);
  if (!lock.ok() && lock.status().code() == ErrorCode::kBusy) return lock.status();
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    if (std::remove(file.c_str()) != 0 && errno != ENOENT) {
      return Status(ErrorCode::kIo, "cannot remove " + file);
    }
  }
  return Status::Ok();
}

}  // namespace ferry
