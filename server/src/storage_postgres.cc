// ServerStorage over PostgreSQL tables (schema: storage_postgres_schema.cc).
// docs/SERVER.md explains why a reader paging by version never skips a change.
#include "storage_postgres.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

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

// What a transaction holds in memory at most, for each of: the documents it
// prefetched, and its writes not yet sent. A push of 1,000 small patches to
// large documents would otherwise hold 1,000 of them; past the bound, reads
// go to the database one by one and writes are sent early, as before.
constexpr std::size_t kHeldBytes = 4u << 20;

// The statement that reads a push's documents at once. Values only while
// their running total stays within $4 (kHeldBytes): a row past it comes
// back without its value (kept = false) and is read again when needed.
constexpr const char* kPrefetchSql =
    "SELECT collection, key, version, run_start, present, CASE WHEN kept THEN value_json END, "
    "writer, hlc, kept FROM (SELECT *, sum(octet_length(value_json)) OVER "
    "(ORDER BY collection, key) <= $4 AS kept FROM ferry_documents WHERE user_id = $1 AND "
    "(collection, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))) AS found";

// Writes documents sent as one array per column ($2...$9), one row each.
constexpr const char* kWriteDocumentsSql =
    "INSERT INTO ferry_documents (user_id, collection, key, version, run_start, present, "
    "value_json, writer, hlc) SELECT $1::text, * FROM unnest($2::text[], $3::text[], "
    "$4::bigint[], $5::bigint[], $6::boolean[], $7::text[], $8::text[], $9::text[]) "
    "ON CONFLICT (user_id, collection, key) DO UPDATE SET version = EXCLUDED.version, "
    "run_start = EXCLUDED.run_start, present = EXCLUDED.present, value_json = "
    "EXCLUDED.value_json, writer = EXCLUDED.writer, hlc = EXCLUDED.hlc";

constexpr const char* kWriteOutcomesSql =
    "INSERT INTO ferry_outcomes (user_id, client_id, seq, outcome) SELECT $1::text, * FROM "
    "unnest($2::text[], $3::numeric[], $4::text[]) ON CONFLICT (user_id, client_id, seq) "
    "DO UPDATE SET outcome = EXCLUDED.outcome";

// Documents as the array parameters of kWriteDocumentsSql.
class DocumentArrays {
 public:
  void Add(const DocumentId& id, const StoredDocument& document) {
    collection_.Add(id.collection);
    key_.Add(id.key);
    version_.Add(Text(document.version));
    run_start_.Add(Text(document.run_start));
    present_.Add(document.exists ? "t" : "f");
    value_json_.Add(document.value_json);
    writer_.Add(document.writer);
    hlc_.Add(document.hlc);
  }
  [[nodiscard]] std::vector<std::string> Parameters(const std::string& user) && {
    return {user,
            std::move(collection_).Finish(),
            std::move(key_).Finish(),
            std::move(version_).Finish(),
            std::move(run_start_).Finish(),
            std::move(present_).Finish(),
            std::move(value_json_).Finish(),
            std::move(writer_).Finish(),
            std::move(hlc_).Finish()};
  }

 private:
  ArrayLiteral collection_, key_, version_, run_start_, present_, value_json_, writer_, hlc_;
};

// A push costs a few statements, not two or more per mutation: the
// documents it reads come in one (PrefetchDocuments), its document and
// outcome writes are held and sent in one each at Commit (or earlier,
// past kHeldBytes). Its reads see its held writes first.
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
    auto held = held_outcomes_.find({std::string(client_id), seq});
    if (held != held_outcomes_.end()) return std::optional<std::string>(held->second);
    FERRY_ASSIGN_OR_RETURN(PgResult rows, Exec(lease_.get(),
                                               "SELECT outcome FROM ferry_outcomes "
                                               "WHERE user_id = $1 AND client_id = $2 AND seq = $3",
                                               {user_, std::string(client_id), Text(seq)}));
    if (PQntuples(rows.get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(TextAt(rows.get(), 0, 0));
  }

  // Held until Commit; a later outcome of the same seq replaces it, as the
  // upsert would.
  Status RememberOutcome(std::string_view client_id, uint64_t seq,
                         std::string_view outcome) override {
    held_outcomes_[{std::string(client_id), seq}] = std::string(outcome);
    return Status::Ok();
  }

  Status ForgetOutcomesBelow(std::string_view client_id, uint64_t seq) override {
    const std::string client(client_id);
    held_outcomes_.erase(held_outcomes_.lower_bound({client, 0}),
                         held_outcomes_.lower_bound({client, seq}));
    return Exec(lease_.get(),
                "DELETE FROM ferry_outcomes WHERE user_id = $1 AND client_id = $2 AND seq < $3",
                {user_, client, Text(seq)})
        .status();
  }

  Status PrefetchDocuments(const std::vector<DocumentId>& ids) override {
    ArrayLiteral collections;
    ArrayLiteral keys;
    std::vector<const DocumentId*> asked;
    for (const DocumentId& id : ids) {
      if (known_.contains(id)) continue;  // this transaction's own write, or read before
      collections.Add(id.collection);
      keys.Add(id.key);
      asked.push_back(&id);
    }
    if (asked.empty()) return Status::Ok();
    FERRY_ASSIGN_OR_RETURN(PgResult rows, Exec(lease_.get(), kPrefetchSql,
                                               {user_, std::move(collections).Finish(),
                                                std::move(keys).Finish(), Text(kHeldBytes)}));
    // Not found: absent.
    for (const DocumentId* id : asked)
      known_[*id] = Known{};
    return KeepPrefetched(rows.get());
  }

  Result<std::optional<StoredDocument>> ReadDocument(const DocumentId& id) override {
    if (auto found = known_.find(id); found != known_.end()) return found->second.document;
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
  // so moving the entry from `previous` is the same update. Held: a later
  // write of the same document in this push replaces it, as the upsert would.
  Status WriteDocument(const DocumentId& id, const StoredDocument& document, Version) override {
    known_[id] = Known{document, true};
    held_bytes_ += document.value_json.size();
    return held_bytes_ > kHeldBytes ? SendDocuments() : Status::Ok();
  }

  Status Commit(Version head, std::string_view client_id, uint64_t last_seq) override {
    FERRY_RETURN_IF_ERROR(SendDocuments());
    FERRY_RETURN_IF_ERROR(SendOutcomes());
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
  // A document read or written in this transaction; nullopt: absent.
  struct Known {
    std::optional<StoredDocument> document;
    bool held = false;  // written, not yet sent
  };

  // The rows kPrefetchSql found. One without its value (past the budget)
  // is forgotten again: ReadDocument asks for it alone.
  Status KeepPrefetched(const PGresult* rows) {
    for (int row = 0; row < PQntuples(rows); ++row) {
      DocumentId id{TextAt(rows, row, 0), TextAt(rows, row, 1)};
      if (TextAt(rows, row, 8) != "t") {
        known_.erase(id);
        continue;
      }
      FERRY_ASSIGN_OR_RETURN(StoredDocument document, DocumentAt(rows, row));
      known_[std::move(id)].document = std::move(document);
    }
    return Status::Ok();
  }

  // Sends the held document writes in one statement. They then leave
  // memory: the database answers later reads of them, in this transaction.
  Status SendDocuments() {
    DocumentArrays arrays;
    bool any = false;
    for (const auto& [id, known] : known_) {
      if (!known.held) continue;
      arrays.Add(id, *known.document);
      any = true;
    }
    if (!any) return Status::Ok();
    FERRY_RETURN_IF_ERROR(
        Exec(lease_.get(), kWriteDocumentsSql, std::move(arrays).Parameters(user_)).status());
    std::erase_if(known_, [](const auto& entry) { return entry.second.held; });
    held_bytes_ = 0;
    return Status::Ok();
  }

  Status SendOutcomes() {
    if (held_outcomes_.empty()) return Status::Ok();
    ArrayLiteral clients;
    ArrayLiteral seqs;
    ArrayLiteral outcomes;
    for (const auto& [at, outcome] : held_outcomes_) {
      clients.Add(at.first);
      seqs.Add(Text(at.second));
      outcomes.Add(outcome);
    }
    FERRY_RETURN_IF_ERROR(Exec(lease_.get(), kWriteOutcomesSql,
                               {user_, std::move(clients).Finish(), std::move(seqs).Finish(),
                                std::move(outcomes).Finish()})
                              .status());
    held_outcomes_.clear();
    return Status::Ok();
  }

  Lease lease_;
  std::string user_;
  Version head_;
  std::map<DocumentId, Known> known_;
  std::size_t held_bytes_ = 0;  // of the held writes' values
  // Outcomes to remember, by client and seq.
  std::map<std::pair<std::string, uint64_t>, std::string> held_outcomes_;
};

// Reads the horizon and the page in one snapshot (REPEATABLE READ), so a
// purge committing in between cannot hide tombstones the cursor still needs.
std::string TextArray(const std::vector<std::string>& names) {
  ArrayLiteral array;
  for (const std::string& name : names)
    array.Add(name);
  return std::move(array).Finish();
}

// The SQL condition of a pull scope ($4: included names, $5: excluded),
// appended to `parameters`; empty for every collection. The filter runs in
// the database, so a page's LIMIT counts only the changes it admits.
std::string ScopeCondition(const CollectionScope& scope, std::vector<std::string>& parameters) {
  std::string condition;
  if (scope.include) {
    parameters.push_back(TextArray(*scope.include));
    condition += " AND collection = ANY($" + std::to_string(parameters.size()) + "::text[])";
  }
  if (!scope.exclude.empty()) {
    parameters.push_back(TextArray(scope.exclude));
    condition += " AND NOT collection = ANY($" + std::to_string(parameters.size()) + "::text[])";
  }
  return condition;
}

Status ReadPage(PGconn* connection, const std::string& user, const ChangeQuery& query,
                const ChangeVisitor& visit, const CollectionScope& scope = {}) {
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
  std::vector<std::string> parameters{user, Text(query.after), Text(query.max_changes)};
  const std::string condition = ScopeCondition(scope, parameters);
  FERRY_ASSIGN_OR_RETURN(PgResult rows,
                         Exec(connection,
                              std::string("SELECT ") + kDocumentColumns +
                                  " FROM ferry_documents WHERE user_id = $1 AND version > $2" +
                                  condition + " ORDER BY version LIMIT $3",
                              parameters));
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
  FERRY_RETURN_IF_ERROR(ReadPage(connection, user, page, visit, query.scope));
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
