#include "postgres_pool.h"

#include <charconv>

namespace ferry::server::postgres {

Result<PgConnection> Connect(const std::string& url) {
  PgConnection connection(PQconnectdb(url.c_str()));
  if (!connection) return Status(ErrorCode::kIo, "PostgreSQL: out of memory");
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return Status(ErrorCode::kIo,
                  std::string("PostgreSQL: cannot connect: ") + PQerrorMessage(connection.get()));
  }
  // Notices ("relation already exists, skipping") are not for the operator.
  PQsetNoticeProcessor(
      connection.get(), [](void*, const char*) {}, nullptr);
  return connection;
}

Result<PgResult> Exec(PGconn* connection, std::string_view sql,
                      const std::vector<std::string>& parameters) {
  std::vector<const char*> values;
  values.reserve(parameters.size());
  for (const std::string& parameter : parameters)
    values.push_back(parameter.c_str());
  const std::string text(sql);
  // Without parameters, the simple protocol, which also runs several
  // statements at once (the schema's migrations).
  PgResult result(parameters.empty()
                      ? PQexec(connection, text.c_str())
                      : PQexecParams(connection, text.c_str(), static_cast<int>(values.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Status(ErrorCode::kIo, std::string("PostgreSQL: ") + PQerrorMessage(connection));
  }
  return result;
}

Result<uint64_t> NumberAt(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column)) {
    return Status(ErrorCode::kCorruption, "PostgreSQL: a number column is NULL");
  }
  const char* text = PQgetvalue(result, row, column);
  const char* end = text + PQgetlength(result, row, column);
  uint64_t number = 0;
  const auto [stop, error] = std::from_chars(text, end, number);
  if (error != std::errc() || stop != end) {
    return Status(ErrorCode::kCorruption, "PostgreSQL: a number column does not decode");
  }
  return number;
}

std::string TextAt(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

void ArrayLiteral::Add(std::string_view element) {
  if (text_.size() > 1) text_ += ',';
  text_ += '"';
  for (const char c : element) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

std::string ArrayLiteral::Finish() && {
  text_ += '}';
  return std::move(text_);
}

Lease::~Lease() {
  if (!connection_) return;
  // A transaction left open by a failed step must not leak into the next
  // borrower's statements (nor keep a user's row locked).
  if (PQtransactionStatus(connection_.get()) != PQTRANS_IDLE) {
    PgResult(PQexec(connection_.get(), "ROLLBACK"));
  }
  pool_->Release(std::move(connection_));
}

Result<std::unique_ptr<Pool>> Pool::Open(const std::string& url, int size) {
  std::unique_ptr<Pool> pool(new Pool(url));
  for (int i = 0; i < size; ++i) {
    FERRY_ASSIGN_OR_RETURN(PgConnection connection, Connect(url));
    pool->backends_.insert(PQbackendPID(connection.get()));
    pool->idle_.push_back(std::move(connection));
  }
  return pool;
}

Result<Lease> Pool::Acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty(); });
  PgConnection connection = std::move(idle_.back());
  idle_.pop_back();
  if (PQstatus(connection.get()) == CONNECTION_OK) return Lease(*this, std::move(connection));
  // The database restarted or the connection dropped: reconnect once, so one
  // failure does not poison the pool. A failed reset still goes back (the next
  // Acquire tries again) and this request fails.
  backends_.erase(PQbackendPID(connection.get()));
  lock.unlock();
  PQreset(connection.get());
  lock.lock();
  backends_.insert(PQbackendPID(connection.get()));
  if (PQstatus(connection.get()) == CONNECTION_OK) return Lease(*this, std::move(connection));
  const std::string reason = PQerrorMessage(connection.get());
  idle_.push_back(std::move(connection));
  available_.notify_one();
  return Status(ErrorCode::kIo, "PostgreSQL: connection lost: " + reason);
}

bool Pool::IsOwnBackend(int pid) {
  std::lock_guard lock(mutex_);
  return backends_.count(pid) != 0;
}

void Pool::Release(PgConnection connection) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

}  // namespace ferry::server::postgres
