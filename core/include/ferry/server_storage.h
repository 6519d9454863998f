// The server's storage contract: per-user transactional operations that the
// protocol semantics (ferry/server_apply.h) need, so they run unchanged on any
// backend. The core holds no I/O: KvServerStorage (ferry/server_storage_kv.h)
// implements this over the core's Store (MemoryStore in the simulation,
// SqliteStore in ferry-server); ferry-server's PostgreSQL backend implements
// it over tables (server/src/storage_postgres.cc).
//
// Contract (each backend must keep it; tests/core/server_apply_test.cc and
// the server suites run against each):
// - A user's change log holds each document once, at its latest version.
//   Versions are 1, 2, 3, ... per user, handed out by the writer from Head().
// - Transactions of one user are serialised: from Begin until Commit or
//   destruction, no other transaction of that user commits, so Head() stays
//   the head and versions are committed in the order they are handed out.
//   (KvServerStorage relies on its host serialising every call;
//   PostgreSQL holds a lock on the user's row.) Transactions of different
//   users may run in parallel.
// - A transaction destroyed without Commit changes nothing.
// - ReadChanges sees one consistent state: committed transactions, each
//   entirely or not at all, the horizon included.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/model.h"
#include "ferry/status.h"

namespace ferry {

// A document as the server keeps it.
struct StoredDocument {
  Version version = 0;
  bool exists = false;
  std::string value_json;  // compact JSON; empty when deleted (a tombstone)
  std::string writer;      // client whose mutation produced this version
  std::string hlc;         // that mutation's HLC stamp (text form); may be empty
  // The version before `writer`'s current run of consecutive writes began: a
  // mutation by `writer` based on any version from here on saw no foreign write.
  Version run_start = 0;
};

// One user's read-write transaction: the steps of one push, committed at once.
// Threading: used by one thread at a time.
class ServerTransaction {
 public:
  virtual ~ServerTransaction() = default;

  // The user's latest version, 0 for a new user.
  [[nodiscard]] virtual Result<Version> Head() = 0;
  // Highest seq processed for a client, 0 if none.
  [[nodiscard]] virtual Result<uint64_t> LastSeq(std::string_view client_id) = 0;
  // The remembered outcome of a mutation that was not applied ("c" for a
  // conflict, "r <error>" for a rejection), if any.
  [[nodiscard]] virtual Result<std::optional<std::string>> Outcome(std::string_view client_id,
                                                                   uint64_t seq) = 0;
  [[nodiscard]] virtual Status RememberOutcome(std::string_view client_id, uint64_t seq,
                                               std::string_view outcome) = 0;
  // Forgets the client's outcomes of seqs below `seq`.
  [[nodiscard]] virtual Status ForgetOutcomesBelow(std::string_view client_id, uint64_t seq) = 0;
  [[nodiscard]] virtual Result<std::optional<StoredDocument>> ReadDocument(
      const DocumentId& id) = 0;
  // Stores the document at `document.version` (above Head()); its change-log
  // entry moves there from `previous` (0: a new document).
  [[nodiscard]] virtual Status WriteDocument(const DocumentId& id, const StoredDocument& document,
                                             Version previous) = 0;
  // Commits the steps above with the user's new head and the client's new last seq.
  [[nodiscard]] virtual Status Commit(Version head, std::string_view client_id,
                                      uint64_t last_seq) = 0;
};

// Returns false to stop reading.
using ChangeVisitor = std::function<bool(const DocumentId& id, const StoredDocument& document)>;

struct ChangeQuery {
  Version after = 0;  // changes at versions above this
  // With a cursor: kCursorExpired when `after` is below the user's horizon
  // (tombstones above `after` may be gone) or above the user's head (never
  // issued for this log), checked in the read's own snapshot.
  bool check_cursor = false;
  std::size_t max_changes = 0;  // at most this many visits (a backend may fetch this many)
};

// Threading: as the backend documents (KvServerStorage: one thread at a
// time; PostgreSQL: any threads).
class ServerStorage {
 public:
  virtual ~ServerStorage() = default;

  // Begins `user`'s transaction; may wait for another one of the same user.
  [[nodiscard]] virtual Result<std::unique_ptr<ServerTransaction>> Begin(std::string_view user) = 0;
  // Visits the user's change log in ascending version order.
  [[nodiscard]] virtual Status ReadChanges(std::string_view user, const ChangeQuery& query,
                                           const ChangeVisitor& visit) = 0;
  // Drops tombstones at or below `version` and raises the horizon to it.
  // Any version, 2^64-1 included (every tombstone).
  [[nodiscard]] virtual Status PurgeTombstones(std::string_view user, Version version) = 0;
};

}  // namespace ferry
