// What the outbound webhook reads and writes in the server's database: each
// user's change log above a delivery cursor, and that cursor, stored beside
// the data so a restarted server resumes where the receiver last said yes.
// One file per backend: webhook_log_sqlite.cc (over the embedded store),
// webhook_log_postgres.cc (a table and a row lock per user, so instances on
// one database never deliver one user's changes at the same time).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/model.h"
#include "ferry/server_storage.h"
#include "ferry/status.h"
#include "ferry/store.h"

struct pg_conn;  // libpq's PGconn

namespace ferry::server {

struct PendingChange {
  DocumentId id;
  StoredDocument document;  // the document's latest version (the log is compacted)
};

// One user's delivery in progress. While it lives, no other claim of this
// user (in this process or, with PostgreSQL, another instance) exists.
// Destroyed without Advance, it ends and the cursor stays where it was.
// Threading: one thread at a time.
class DeliveryClaim {
 public:
  virtual ~DeliveryClaim() = default;
  // Every version up to this one was acknowledged (0: none yet).
  [[nodiscard]] virtual Version cursor() const = 0;
  // Up to `max_changes` of the user's changes above the cursor, in version
  // order: each changed document once, at its latest version.
  [[nodiscard]] virtual Result<std::vector<PendingChange>> Read(std::size_t max_changes) = 0;
  // The receiver acknowledged every change through `version`: the cursor
  // moves there durably and the claim ends (call nothing after it).
  [[nodiscard]] virtual Status Advance(Version version) = 0;
};

// Threading: one thread at a time (the webhook worker's).
class DeliveryLog {
 public:
  virtual ~DeliveryLog() = default;
  // The database's epoch: part of every idempotency key, so a key is never
  // reused by a database that started its versions over.
  [[nodiscard]] virtual const std::string& epoch() const = 0;
  // Up to `limit` users, in name order after `after` (empty: from the
  // first), whose change log goes beyond their delivery cursor.
  [[nodiscard]] virtual Result<std::vector<std::string>> UsersBehind(std::string_view after,
                                                                     std::size_t limit) = 0;
  // `user`'s delivery; nullptr while another instance holds it (it
  // delivers them). At most one claim of this log at a time.
  [[nodiscard]] virtual Result<std::unique_ptr<DeliveryClaim>> Claim(const std::string& user) = 0;
};

// How far the webhook has delivered `user`'s log: every version up to it
// was acknowledged (0: none yet). The tombstone purge goes no further
// (PurgeLimit) while a webhook is configured.
[[nodiscard]] Result<Version> KvDeliveredThrough(Store& store, std::string_view user);
[[nodiscard]] Result<Version> PostgresDeliveredThrough(pg_conn* connection, std::string_view user);

// Over the embedded backend's key-value store: `mutex` is the one every use
// of `store` takes (one SQLite connection); the store outlives the log.
[[nodiscard]] std::unique_ptr<DeliveryLog> NewKvDeliveryLog(Store& store, std::mutex& mutex,
                                                            std::string epoch);
// Over PostgreSQL at `url`, on a connection of its own (a delivery holds a
// row lock while it waits for the receiver; the request pool never waits
// for it). Connects lazily and again after a failure.
[[nodiscard]] std::unique_ptr<DeliveryLog> NewPostgresDeliveryLog(std::string url,
                                                                  std::string epoch);

}  // namespace ferry::server
