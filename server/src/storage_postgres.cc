// ServerStorage over PostgreSQL tables (schema: storage_postgres_schema.cc).
// docs/SERVER.md explains why a reader paging by version never skips a change.
#include "storage_postgres.h"

#include <algorithm>
#include <cstdint>

namespace ferry::server::postgres {
namespace {

constexpr const char* kNotifyChannel = "ferry_changes";

std::string Text(uint64_t number) {
  return std::to_string(number);
}

// Takes the user's row lock for the rest of the transaction (creating the row
// for a new user): every transaction of this user that reads the head or
// writes waits here until the one holding it commits or rolls back.
Result<Version> LockUser(PGconn* connection, const std::string& user) {
  FERRY_RETURN_IF_ERROR(Exec(connection,
                             "INSERT INTO ferry_users (user_id) VALUES ($1) "
                             "ON CONFLICT (user_id) DO NOTHING",
                             {user})
                            .status());
  FERRY_ASSIGN_OR_RETURN(
      PgResult rows,
      Exec(connection, "SELECT head FROM ferry_users WHERE user_id = $1 FOR UPDATE", {user}));
  if (PQntuples(rows.get()) != 1) return Status(ErrorCode::kInternal, "the user row is missing");
  return NumberAt(rows.get(), 0, 0);
}

// Columns: collection, key, version, run_start, present, value_json, writer, hlc.
constexpr const char* kDocumentColumns =
    "collection, key, version, run_start, present, value_json, writer, hlc";

Result<StoredDocument> DocumentAt(const PGresult* rows, int row) {
  StoredDocument document;
  FERRY_ASSIGN_OR_RETURN(document.version, NumberAt(rows, row, 2));
  FERRY_ASSIGN_OR_RETURN(document.run_start, NumberAt(rows, row, 3));
  document.exists = TextAt(rows, row, 4) == "t";
  document.value_json = TextAt(rows, row, 5);
  document.writer = TextAt(rows, row, 6);
  document.hlc = TextAt(rows, row, 7);
  return document;
}

class PostgresTransaction final : public ServerTransaction {
 public:
  PostgresTransaction(Lease lease, std::string user, Version head)
      : lease_(std::move(lease)), user_(std::move(user)), head_(head) {}
  // An uncommitted transaction rolls back when the lease returns its connection.

  Result<Version> Head() override { return head_; }

  Result<uint64_t> LastSeq(std::string_view client_id) override {
    FERRY_ASSIGN_OR_RETURN(
        PgResult rows,
        Exec(lease_.get(),
             "SELECT last_seq FROM ferry_clients WHERE user_id = $1 AND client_id = $2",
             {user_, std::string(client_id)}));
    if (PQntuples(rows.get()) == 0) return uint64_t{0};
    return NumberAt(rows.get(), 0, 0);
  }

  Result<std::optional<std::string>> Outcome(std::string_view client_id, uint64_t seq) override {
    FERRY_ASSIGN_OR_RETURN(PgResult rows, Exec(lease_.get(),
                                               "SELECT outcome FROM ferry_outcomes "
                                               "WHERE user_id = $1 AND client_id = $2 AND seq = $3",
                                               {user_, std::string(client_id), Text(seq)}));
    if (PQntuples(rows.get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(TextAt(rows.get(), 0, 0));
  }

  Status RememberOutcome(std::string_view client_id, uint64_t seq,
                         std::string_view outcome) override {
    return Exec(lease_.get(),
                "INSERT INTO ferry_outcomes (user_id, client_id, seq, outcome) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id, seq) "
                "DO UPDATE SET outcome = EXCLUDED.outcome",
                {user_, std::string(client_id), Text(seq), std::string(outcome)})
        .status();
  }

  Status ForgetOutcomesBelow(std::string_view client_id, uint64_t seq) override {
    return Exec(lease_.get(),
                "DELETE FROM ferry_outcomes WHERE user_id = $1 AND client_id = $2 AND seq < $3",
                {user_, std::string(client_id), Text(seq)})
        .status();
  }

  Result<std::optional<StoredDocument>> ReadDocument(const DocumentId& id) override {
    FERRY_ASSIGN_OR_RETURN(PgResult rows, Exec(lease_.get(),
                                               std::string("SELECT ") + kDocumentColumns +
                                                   " FROM ferry_documents WHERE user_id = $1 AND "
                                                   "collection = $2 AND key = $3",
                                               {user_, id.collection, id.key}));
    if (PQntuples(rows.get()) == 0) return std::optional<StoredDocument>();
    FERRY_ASSIGN_OR_RETURN(StoredDocument document, DocumentAt(rows.get(), 0));
    return std::optional<StoredDocument>(std::move(document));
  }

  // One row per document: its version column is its place in the change log,
  // so moving the entry from `previous` is the same update.
  Status WriteDocument(const DocumentId& id, const StoredDocument& document, Version) override {
    return Exec(lease_.get(),
                "INSERT INTO ferry_documents (user_id, collection, key, version, run_start, "
                "present, value_json, writer, hlc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                "ON CONFLICT (user_id, collection, key) DO UPDATE SET version = "
                "EXCLUDED.version, run_start = EXCLUDED.run_start, present = EXCLUDED.present, "
                "value_json = EXCLUDED.value_json, writer = EXCLUDED.writer, hlc = EXCLUDED.hlc",
                {user_, id.collection, id.key, Text(document.version), Text(document.run_start),
                 document.exists ? "t" : "f", document.value_json, document.writer, document.hlc})
        .status();
  }

  Status Commit(Version head, std::string_view client_id, uint64_t last_seq) override {
    FERRY_RETURN_IF_ERROR(Exec(lease_.get(),
                               "INSERT INTO ferry_clients (user_id, client_id, last_seq) "
                               "VALUES ($1, $2, $3) ON CONFLICT (user_id, client_id) "
                               "DO UPDATE SET last_seq = EXCLUDED.last_seq",
                               {user_, std::string(client_id), Text(last_seq)})
                              .status());
    if (head != head_) {
      FERRY_RETURN_IF_ERROR(Exec(lease_.get(),
                                 "UPDATE ferry_users SET head = $2 WHERE user_id = $1",
                                 {user_, Text(head)})
                                .status());
      // Delivered to every listening instance when (and only if) this commits.
      FERRY_RETURN_IF_ERROR(
          Exec(lease_.get(), "SELECT pg_notify($1, $2)", {kNotifyChannel, user_}).status());
    }
    return Exec(lease_.get(), "COMMIT").status();
  }

  Status RecordCommit(Version before, Version last, std::string_view tag,
                      int64_t wall_ms) override {
    return Exec(lease_.get(),
                "INSERT INTO ferry_commits (user_id, last_version, before_version, tag, "
                "committed_ms) VALUES ($1, $2, $3, $4, $5)",
                {user_, Text(last), Text(before), std::string(tag), std::to_string(wall_ms)})
        .status();
  }

 private:
  Lease lease_;
  std::string user_;
  Version head_;
};

// Reads the horizon and the page in one snapshot (REPEATABLE READ), so a
// purge committing in between cannot hide tombstones the cursor still needs.
Status ReadPage(PGconn* connection, const std::string& user, const ChangeQuery& query,
                const ChangeVisitor& visit) {
  if (query.check_cursor) {
    FERRY_ASSIGN_OR_RETURN(
        PgResult rows,
        Exec(connection, "SELECT horizon, head FROM ferry_users WHERE user_id = $1", {user}));
    uint64_t horizon = 0;
    uint64_t head = 0;  // a user without a row has written nothing
    if (PQntuples(rows.get()) == 1) {
      FERRY_ASSIGN_OR_RETURN(horizon, NumberAt(rows.get(), 0, 0));
      FERRY_ASSIGN_OR_RETURN(head, NumberAt(rows.get(), 0, 1));
    }
    if (query.after < horizon) {
      return Status(ErrorCode::kCursorExpired, "cursor is older than the tombstone horizon");
    }
    // Never issued for this log (and above bigint's range for 2^64-1).
    if (query.after > head) {
      return Status(ErrorCode::kCursorExpired, "cursor is ahead of the change log");
    }
  }
  // Versions are bigint: none is above 2^63-1.
  if (query.after > static_cast<uint64_t>(INT64_MAX)) return Status::Ok();
  FERRY_ASSIGN_OR_RETURN(PgResult rows,
                         Exec(connection,
                              std::string("SELECT ") + kDocumentColumns +
                                  " FROM ferry_documents WHERE user_id = $1 AND version > $2 "
                                  "ORDER BY version LIMIT $3",
                              {user, Text(query.after), Text(query.max_changes)}));
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    FERRY_ASSIGN_OR_RETURN(StoredDocument document, DocumentAt(rows.get(), row));
    if (!visit(DocumentId{TextAt(rows.get(), row, 0), TextAt(rows.get(), row, 1)}, document)) {
      break;
    }
  }
  return Status::Ok();
}

// The tag of the commit that produced `version`, "0" when none is recorded.
// Commits cover consecutive ranges, so it is the first record ending at or
// above `version`, if that one began below it.
Result<std::string> CommitTagOf(PGconn* connection, const std::string& user, Version version) {
  if (version == 0 || version > static_cast<uint64_t>(INT64_MAX)) return std::string("0");
  FERRY_ASSIGN_OR_RETURN(PgResult rows,
                         Exec(connection,
                              "SELECT before_version, tag FROM ferry_commits WHERE user_id = $1 "
                              "AND last_version >= $2 ORDER BY last_version LIMIT 1",
                              {user, Text(version)}));
  if (PQntuples(rows.get()) == 0) return std::string("0");
  FERRY_ASSIGN_OR_RETURN(const uint64_t before, NumberAt(rows.get(), 0, 0));
  return before < version ? TextAt(rows.get(), 0, 1) : std::string("0");
}

// ReadPullPage's body, in its REPEATABLE READ transaction: the checks, the
// page and the mark see one snapshot.
Result<LogMark> ReadPullPageIn(PGconn* connection, const std::string& user,
                               const PullPageQuery& query, const ChangeVisitor& visit) {
  LogMark mark;  // a user without a row has written nothing
  FERRY_ASSIGN_OR_RETURN(
      PgResult rows,
      Exec(connection, "SELECT horizon, head FROM ferry_users WHERE user_id = $1", {user}));
  if (PQntuples(rows.get()) == 1) {
    FERRY_ASSIGN_OR_RETURN(mark.horizon, NumberAt(rows.get(), 0, 0));
    FERRY_ASSIGN_OR_RETURN(mark.head, NumberAt(rows.get(), 0, 1));
  }
  if (query.check_cursor) {
    FERRY_RETURN_IF_ERROR(CheckCursor(
        query, mark, [&](Version version) { return CommitTagOf(connection, user, version); }));
  }
  ChangeQuery page;
  page.after = query.after;
  page.max_changes = query.max_changes;
  FERRY_RETURN_IF_ERROR(ReadPage(connection, user, page, visit));
  FERRY_ASSIGN_OR_RETURN(mark.head_tag, CommitTagOf(connection, user, mark.head));
  return mark;
}

}  // namespace

Result<std::unique_ptr<ServerTransaction>> PostgresServerStorage::Begin(std::string_view user) {
  FERRY_ASSIGN_OR_RETURN(Lease lease, pool_.Acquire());
  FERRY_RETURN_IF_ERROR(Exec(lease.get(), "BEGIN").status());
  FERRY_ASSIGN_OR_RETURN(Version head, LockUser(lease.get(), std::string(user)));
  return std::unique_ptr<ServerTransaction>(
      std::make_unique<PostgresTransaction>(std::move(lease), std::string(user), head));
}

Status PostgresServerStorage::ReadChanges(std::string_view user, const ChangeQuery& query,
                                          const ChangeVisitor& visit) {
  FERRY_ASSIGN_OR_RETURN(Lease lease, pool_.Acquire());
  FERRY_RETURN_IF_ERROR(
      Exec(lease.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  FERRY_RETURN_IF_ERROR(ReadPage(lease.get(), std::string(user), query, visit));
  return Exec(lease.get(), "COMMIT").status();
}

Status PostgresServerStorage::PurgeTombstones(std::string_view user, Version version) {
  // Versions are bigint: through 2^63-1 is through every version (2^64-1
  // would not fit the parameter).
  version = std::min(version, static_cast<Version>(INT64_MAX));
  FERRY_ASSIGN_OR_RETURN(Lease lease, pool_.Acquire());
  const std::string name(user);
  FERRY_RETURN_IF_ERROR(Exec(lease.get(), "BEGIN").status());
  // Held until COMMIT: no push moves the head meanwhile, so the horizon
  // stays at or below it and every later tombstone lands above it.
  FERRY_ASSIGN_OR_RETURN(const Version head, LockUser(lease.get(), name));
  version = std::min(version, head);
  FERRY_RETURN_IF_ERROR(Exec(lease.get(),
                             "DELETE FROM ferry_documents WHERE user_id = $1 AND version <= $2 "
                             "AND NOT present",
                             {name, Text(version)})
                            .status());
  FERRY_RETURN_IF_ERROR(
      Exec(lease.get(), "UPDATE ferry_users SET horizon = GREATEST(horizon, $2) WHERE user_id = $1",
           {name, Text(version)})
          .status());
  // Commits wholly below the horizon: a valid cursor names a head at or
  // above it, so none names them.
  FERRY_RETURN_IF_ERROR(Exec(lease.get(),
                             "DELETE FROM ferry_commits WHERE user_id = $1 AND last_version < "
                             "(SELECT horizon FROM ferry_users WHERE user_id = $1)",
                             {name})
                            .status());
  return Exec(lease.get(), "COMMIT").status();
}

Result<LogMark> PostgresServerStorage::ReadPullPage(std::string_view user,
                                                    const PullPageQuery& query,
                                                    const ChangeVisitor& visit) {
  FERRY_ASSIGN_OR_RETURN(Lease lease, pool_.Acquire());
  FERRY_RETURN_IF_ERROR(
      Exec(lease.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  FERRY_ASSIGN_OR_RETURN(LogMark mark,
                         ReadPullPageIn(lease.get(), std::string(user), query, visit));
  FERRY_RETURN_IF_ERROR(Exec(lease.get(), "COMMIT").status());
  return mark;
}

Status PostgresServerStorage::PurgeTombstonesCommittedBefore(int64_t wall_ms,
                                                             const PurgeLimit& limit) {
  // Each user's last version committed before `wall_ms` (a clock may step
  // back, so the highest, not the first), where it lies above the horizon:
  // after a purge only the record at the horizon is left that old.
  PgResult rows;
  {
    FERRY_ASSIGN_OR_RETURN(Lease lease, pool_.Acquire());
    FERRY_ASSIGN_OR_RETURN(rows,
                           Exec(lease.get(),
                                "SELECT c.user_id, max(c.last_version) FROM ferry_commits c "
                                "JOIN ferry_users u USING (user_id) WHERE c.committed_ms < $1 "
                                "GROUP BY c.user_id, u.horizon "
                                "HAVING max(c.last_version) > u.horizon",
                                {std::to_string(wall_ms)}));
  }
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    const std::string user = TextAt(rows.get(), row, 0);
    FERRY_ASSIGN_OR_RETURN(Version version, NumberAt(rows.get(), row, 1));
    FERRY_ASSIGN_OR_RETURN(version, LimitPurge(limit, user, version));
    FERRY_RETURN_IF_ERROR(PurgeTombstones(user, version));
  }
  return Status::Ok();
}

}  // namespace ferry::server::postgres
