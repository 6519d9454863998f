// The PostgreSQL backend's schema, created and migrated by the server at
// start-up. docs/SERVER.md describes the tables. Every table is keyed by
// user_id first, so a sharded PostgreSQL (Citus) can distribute them all by
// user_id and keep each push on one shard.
#include "storage_postgres.h"

namespace ferry::server::postgres {
namespace {

// Migration N takes the schema from version N to N+1. Append only: a
// released migration never changes, since databases already ran it.
constexpr const char* kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE ferry_meta (
  name text PRIMARY KEY,
  value text NOT NULL);
CREATE TABLE ferry_users (
  user_id text PRIMARY KEY,
  head bigint NOT NULL DEFAULT 0,     -- the user's latest version
  horizon bigint NOT NULL DEFAULT 0); -- tombstones at or below it were purged
CREATE TABLE ferry_documents (
  user_id text NOT NULL,
  collection text NOT NULL,
  key text NOT NULL,
  version bigint NOT NULL,
  run_start bigint NOT NULL,
  present boolean NOT NULL,           -- false: a tombstone
  value_json text NOT NULL,           -- '' for a tombstone
  writer text NOT NULL,
  hlc text NOT NULL,
  PRIMARY KEY (user_id, collection, key));
-- The change log: each document once, at its latest version.
CREATE UNIQUE INDEX ferry_documents_log ON ferry_documents (user_id, version);
CREATE TABLE ferry_clients (
  user_id text NOT NULL,
  client_id text NOT NULL,
  last_seq numeric(20, 0) NOT NULL,  -- a client's seq may use all 64 bits
  PRIMARY KEY (user_id, client_id));
CREATE TABLE ferry_outcomes (
  user_id text NOT NULL,
  client_id text NOT NULL,
  seq numeric(20, 0) NOT NULL,
  outcome text NOT NULL,              -- 'c' or 'r <error>'
  PRIMARY KEY (user_id, client_id, seq));
)sql",
    // Working beside an existing backend: the outbound webhook's delivery
    // cursor per user (webhook_log_postgres.cc); its row is the user's
    // delivery lock.
    R"sql(
CREATE TABLE ferry_webhook_cursors (
  user_id text PRIMARY KEY,
  delivered bigint NOT NULL DEFAULT 0); -- every version up to it was acknowledged
)sql",
    // Commit records, so a cursor proves the log it reads continues the
    // one it came from (a database restored from a backup does not), and
    // their wall clock, for the tombstone horizon. Kept from the horizon up.
    R"sql(
CREATE TABLE ferry_commits (
  user_id text NOT NULL,
  last_version bigint NOT NULL,       -- the commit produced (before_version, last_version]
  before_version bigint NOT NULL,
  tag text NOT NULL,                  -- random: never reused by a restored database
  committed_ms bigint NOT NULL,       -- the server's wall clock (Unix ms)
  PRIMARY KEY (user_id, last_version));
CREATE INDEX ferry_commits_time ON ferry_commits (committed_ms);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Any number that no other application on the database uses for an
// advisory lock: instances starting together migrate one at a time.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7012023115)";

Result<int> StoredVersion(PGconn* connection) {
  FERRY_RETURN_IF_ERROR(
      Exec(connection, "CREATE TABLE IF NOT EXISTS ferry_schema (version integer NOT NULL)")
          .status());
  FERRY_ASSIGN_OR_RETURN(PgResult rows, Exec(connection, "SELECT version FROM ferry_schema"));
  if (PQntuples(rows.get()) == 0) return 0;
  FERRY_ASSIGN_OR_RETURN(uint64_t version, NumberAt(rows.get(), 0, 0));
  return static_cast<int>(version);
}

Status MigrateLocked(PGconn* connection) {
  FERRY_RETURN_IF_ERROR(Exec(connection, kMigrationLock).status());
  FERRY_ASSIGN_OR_RETURN(int version, StoredVersion(connection));
  if (version > kSchemaVersion) {
    return Status(ErrorCode::kUnsupportedVersion,
                  "the PostgreSQL schema is version " + std::to_string(version) +
                      ", newer than this server's " + std::to_string(kSchemaVersion));
  }
  for (; version < kSchemaVersion; ++version)
    FERRY_RETURN_IF_ERROR(Exec(connection, kMigrations[version]).status());
  FERRY_RETURN_IF_ERROR(Exec(connection, "DELETE FROM ferry_schema").status());
  return Exec(connection, "INSERT INTO ferry_schema (version) VALUES ($1)",
              {std::to_string(version)})
      .status();
}

}  // namespace

int SchemaVersion() {
  return kSchemaVersion;
}

Status Migrate(PGconn* connection) {
  FERRY_RETURN_IF_ERROR(Exec(connection, "BEGIN").status());
  Status migrated = MigrateLocked(connection);
  if (!migrated.ok()) {
    PgResult(PQexec(connection, "ROLLBACK"));
    return migrated;
  }
  return Exec(connection, "COMMIT").status();
}

Result<std::string> LoadOrCreateEpoch(PGconn* connection, const std::string& fresh) {
  FERRY_RETURN_IF_ERROR(Exec(connection,
                             "INSERT INTO ferry_meta (name, value) VALUES ('epoch', $1) "
                             "ON CONFLICT (name) DO NOTHING",
                             {fresh})
                            .status());
  FERRY_ASSIGN_OR_RETURN(PgResult rows,
                         Exec(connection, "SELECT value FROM ferry_meta WHERE name = 'epoch'"));
  if (PQntuples(rows.get()) != 1) return Status(ErrorCode::kCorruption, "no epoch stored");
  return TextAt(rows.get(), 0, 0);
}

}  // namespace ferry::server::postgres
