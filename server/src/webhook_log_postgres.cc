// DeliveryLog over PostgreSQL: each user's cursor is a row of
// ferry_webhook_cursors (storage_postgres_schema.cc). A claim is a
// transaction holding that row with SELECT ... FOR UPDATE SKIP LOCKED until
// the receiver answered, so of several instances on one database exactly
// one delivers a user's batch at a time, and the others skip that user
// instead of waiting. An instance that dies mid-delivery loses its
// connection, which releases the row: no lease to expire.
#include "postgres_pool.h"
#include "webhook_log.h"

namespace ferry::server {
namespace {

using postgres::Exec;
using postgres::NumberAt;
using postgres::PgConnection;
using postgres::PgResult;
using postgres::TextAt;

class PostgresDeliveryClaim final : public DeliveryClaim {
 public:
  PostgresDeliveryClaim(PGconn* connection, std::string user, Version cursor)
      : connection_(connection), user_(std::move(user)), cursor_(cursor) {}
  ~PostgresDeliveryClaim() override {
    if (open_) PgResult(PQexec(connection_, "ROLLBACK"));
  }

  Version cursor() const override { return cursor_; }

  // One statement, so one snapshot: the versions it sees are a prefix of
  // those handed out (docs/SERVER.md), and the cursor never skips one.
  Result<std::vector<PendingChange>> Read(std::size_t max_changes) override {
    FERRY_ASSIGN_OR_RETURN(
        PgResult rows,
        Exec(connection_,
             "SELECT collection, key, version, present, value_json, writer, hlc "
             "FROM ferry_documents WHERE user_id = $1 AND version > $2 ORDER BY version LIMIT $3",
             {user_, std::to_string(cursor_), std::to_string(max_changes)}));
    std::vector<PendingChange> changes;
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      PendingChange change;
      change.id = {TextAt(rows.get(), row, 0), TextAt(rows.get(), row, 1)};
      FERRY_ASSIGN_OR_RETURN(change.document.version, NumberAt(rows.get(), row, 2));
      change.document.exists = TextAt(rows.get(), row, 3) == "t";
      change.document.value_json = TextAt(rows.get(), row, 4);
      change.document.writer = TextAt(rows.get(), row, 5);
      change.document.hlc = TextAt(rows.get(), row, 6);
      changes.push_back(std::move(change));
    }
    return changes;
  }

  Status Advance(Version version) override {
    FERRY_RETURN_IF_ERROR(Exec(connection_,
                               "UPDATE ferry_webhook_cursors SET delivered = $2 WHERE user_id = $1",
                               {user_, std::to_string(version)})
                              .status());
    open_ = false;
    return Exec(connection_, "COMMIT").status();
  }

 private:
  PGconn* connection_;
  const std::string user_;
  const Version cursor_;
  bool open_ = true;  // the transaction holding the row
};

class PostgresDeliveryLog final : public DeliveryLog {
 public:
  PostgresDeliveryLog(std::string url, std::string epoch)
      : url_(std::move(url)), epoch_(std::move(epoch)) {}

  const std::string& epoch() const override { return epoch_; }

  Result<std::vector<std::string>> UsersBehind(std::string_view after, std::size_t limit) override {
    FERRY_ASSIGN_OR_RETURN(PGconn * connection, Connection());
    FERRY_ASSIGN_OR_RETURN(
        PgResult rows,
        Exec(connection,
             "SELECT u.user_id FROM ferry_users u LEFT JOIN ferry_webhook_cursors w "
             "ON w.user_id = u.user_id WHERE u.user_id > $1 AND u.head > COALESCE(w.delivered, 0) "
             "ORDER BY u.user_id LIMIT $2",
             {std::string(after), std::to_string(limit)}));
    std::vector<std::string> users;
    for (int row = 0; row < PQntuples(rows.get()); ++row)
      users.push_back(TextAt(rows.get(), row, 0));
    return users;
  }

  Result<std::unique_ptr<DeliveryClaim>> Claim(const std::string& user) override {
    FERRY_ASSIGN_OR_RETURN(PGconn * connection, Connection());
    // Committed on its own first, so no instance ever waits on another's
    // uncommitted insert of the same row.
    FERRY_RETURN_IF_ERROR(Exec(connection,
                               "INSERT INTO ferry_webhook_cursors (user_id) VALUES ($1) "
                               "ON CONFLICT (user_id) DO NOTHING",
                               {user})
                              .status());
    FERRY_RETURN_IF_ERROR(Exec(connection, "BEGIN").status());
    auto rows = Exec(connection,
                     "SELECT delivered FROM ferry_webhook_cursors WHERE user_id = $1 "
                     "FOR UPDATE SKIP LOCKED",
                     {user});
    if (!rows.ok() || PQntuples(rows->get()) != 1) {
      PgResult(PQexec(connection, "ROLLBACK"));
      if (!rows.ok()) return rows.status();
      return std::unique_ptr<DeliveryClaim>();  // another instance delivers this user
    }
    auto cursor = NumberAt(rows->get(), 0, 0);
    if (!cursor.ok()) {
      PgResult(PQexec(connection, "ROLLBACK"));
      return cursor.status();
    }
    return std::unique_ptr<DeliveryClaim>(
        std::make_unique<PostgresDeliveryClaim>(connection, user, *cursor));
  }

 private:
  // The log's connection, opened again when the last one failed.
  Result<PGconn*> Connection() {
    if (connection_ && PQstatus(connection_.get()) != CONNECTION_OK) connection_.reset();
    if (!connection_) {
      FERRY_ASSIGN_OR_RETURN(connection_, postgres::Connect(url_));
    }
    return connection_.get();
  }

  const std::string url_;
  const std::string epoch_;
  PgConnection connection_;
};

}  // namespace

Result<Version> PostgresDeliveredThrough(PGconn* connection, std::string_view user) {
  FERRY_ASSIGN_OR_RETURN(
      PgResult rows,
      Exec(connection, "SELECT delivered FROM ferry_webhook_cursors WHERE user_id = $1",
           {std::string(user)}));
  if (PQntuples(rows.get()) == 0) return Version{0};
  return NumberAt(rows.get(), 0, 0);
}

std::unique_ptr<DeliveryLog> NewPostgresDeliveryLog(std::string url, std::string epoch) {
  return std::make_unique<PostgresDeliveryLog>(std::move(url), std::move(epoch));
}

}  // namespace ferry::server
