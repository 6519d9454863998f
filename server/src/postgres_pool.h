// A small pool of libpq connections to one PostgreSQL database, and the few
// helpers the PostgreSQL backend needs around libpq's C API.
//
// Threading: Pool is thread-safe; a Lease (one connection) is used by one
// thread at a time and goes back to the pool when destroyed.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/status.h"

namespace ferry::server::postgres {

// Owns a PGresult.
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Owns a PGconn.
struct ConnectionDeleter {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using PgConnection = std::unique_ptr<PGconn, ConnectionDeleter>;

// Opens one connection; kIo naming libpq's reason when it fails.
[[nodiscard]] Result<PgConnection> Connect(const std::string& url);

// Runs one statement with text parameters ($1, $2, ...), or without
// parameters any number of statements. A failure is kIo
// with PostgreSQL's message; the result holds the rows otherwise.
[[nodiscard]] Result<PgResult> Exec(PGconn* connection, std::string_view sql,
                                    const std::vector<std::string>& parameters = {});

// Field helpers: a NULL or malformed number is kCorruption.
[[nodiscard]] Result<uint64_t> NumberAt(const PGresult* result, int row, int column);
std::string TextAt(const PGresult* result, int row, int column);

// A PostgreSQL array literal ({"a","b"}), built element by element: many
// rows go to the database as one array parameter per column (unnest), in
// one statement instead of one each. Every element is quoted, so the text
// of any type reads back as itself (numbers, booleans, any string).
class ArrayLiteral {
 public:
  void Add(std::string_view element);
  [[nodiscard]] std::string Finish() &&;

 private:
  std::string text_ = "{";
};

class Pool;

// One connection borrowed from the pool; returned on destruction.
class Lease {
 public:
  Lease(Pool& pool, PgConnection connection) : pool_(&pool), connection_(std::move(connection)) {}
  Lease(Lease&&) = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  PGconn* get() const { return connection_.get(); }

 private:
  Pool* pool_;
  PgConnection connection_;
};

class Pool {
 public:
  // Opens `size` connections up front, so a bad URL fails at start-up.
  [[nodiscard]] static Result<std::unique_ptr<Pool>> Open(const std::string& url, int size);

  // Waits for a free connection (there are never more than `size` in use).
  [[nodiscard]] Result<Lease> Acquire();
  // The server process ids of the pool's connections: notifications sent
  // from them came from this instance.
  bool IsOwnBackend(int pid);

 private:
  friend class Lease;
  explicit Pool(std::string url) : url_(std::move(url)) {}
  void Release(PgConnection connection);

  const std::string url_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<PgConnection> idle_;  // guarded by mutex_
  std::set<int> backends_;          // guarded by mutex_
};

}  // namespace ferry::server::postgres
