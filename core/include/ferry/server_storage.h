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
// - Its reads see its own writes. A backend may hold writes back until
//   Commit (PostgreSQL sends them in a few statements there, not one each).
// - ReadChanges sees one consistent state: committed transactions, each
//   entirely or not at all, the horizon included.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // A hint, before the reads: the documents this transaction is about to
  // read, so a backend a round trip away can fetch them at once (PostgreSQL:
  // one statement instead of one per mutation). Changes nothing that the
  // calls after it see; a backend may ignore it (the default).
  [[nodiscard]] virtual Status PrefetchDocuments(const std::vector<DocumentId>& /*ids*/) {
    return Status::Ok();
  }
  // Stores the document at `document.version` (above Head()); its change-log
  // entry moves there from `previous` (0: a new document).
  [[nodiscard]] virtual Status WriteDocument(const DocumentId& id, const StoredDocument& document,
                                             Version previous) = 0;
  // Commits the steps above with the user's new head and the client's new last seq.
  [[nodiscard]] virtual Status Commit(Version head, std::string_view client_id,
                                      uint64_t last_seq) = 0;
  // Records that this transaction produces versions (`before`, `last`] under
  // `tag`, a random word no earlier incarnation of the data could have
  // used, at the server's wall clock `wall_ms` (Unix ms; 0 when unknown).
  // Cursors name the tag of their log's head, so a pull can prove the log it
  // reads continues the one the cursor came from (docs/SERVER.md,
  // "Cursors"). Committed with Commit.
  [[nodiscard]] virtual Status RecordCommit(Version before, Version last, std::string_view tag,
                                            int64_t wall_ms) = 0;
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

// A pull's read (ServerStorage::ReadPullPage): the page, and what a cursor
// is checked against, in one snapshot.
struct PullPageQuery {
  Version after = 0;            // changes at versions above this
  std::size_t max_changes = 0;  // at most this many visits (a backend may fetch this many)
  // With a cursor, kCursorExpired unless, in the read's snapshot: the commit
  // that produced `cursor_head` is recorded with `cursor_tag` ("0" when no
  // commit is recorded there: version 0 and versions written before commits
  // were recorded), and max(after, cursor_horizon) is at or above the
  // horizon (no tombstone the cursor's holder may need was purged since).
  bool check_cursor = false;
  Version cursor_head = 0;
  std::string cursor_tag;
  Version cursor_horizon = 0;
  // Only changes of the collections the scope admits are visited; the rest
  // neither reach the visitor nor count toward max_changes.
  CollectionScope scope;
};

// What the next cursor carries, read in the page's snapshot.
struct LogMark {
  Version head = 0;
  std::string head_tag;  // the tag of the commit that produced head, "0" if none is recorded
  Version horizon = 0;
};

// The checks of PullPageQuery's cursor against the mark read in the page's
// snapshot, for backends: kCursorExpired, saying why, or Ok. `tag_of`
// reads the tag of the commit that produced a version, in that snapshot
// ("0" when none is recorded); it is called only when the rest holds.
[[nodiscard]] Status CheckCursor(const PullPageQuery& query, const LogMark& mark,
                                 const std::function<Result<std::string>(Version)>& tag_of);

// Threading: as the backend documents (KvServerStorage: one thread at a
// time; PostgreSQL: any threads).
// The highest version of `user`'s log a tombstone purge may reach. The
// outbound webhook passes its delivery cursor, so a delete the receiver has
// not acknowledged keeps its tombstone and is still delivered.
using PurgeLimit = std::function<Result<Version>(std::string_view user)>;
// `version`, or limit(user) if that is lower (an empty limit: `version`).
[[nodiscard]] Result<Version> LimitPurge(const PurgeLimit& limit, std::string_view user,
                                         Version version);

class ServerStorage {
 public:
  virtual ~ServerStorage() = default;

  // Begins `user`'s transaction; may wait for another one of the same user.
  [[nodiscard]] virtual Result<std::unique_ptr<ServerTransaction>> Begin(std::string_view user) = 0;
  // Visits the user's change log in ascending version order.
  [[nodiscard]] virtual Status ReadChanges(std::string_view user, const ChangeQuery& query,
                                           const ChangeVisitor& visit) = 0;
  // Drops tombstones at or below `version` and raises the horizon to it, or
  // to the head if that is lower: every later tombstone then lies above the
  // horizon, which cursors rely on (PullPageQuery). Forgets the commit
  // records wholly below the horizon. Any version, 2^64-1 included (every
  // tombstone).
  [[nodiscard]] virtual Status PurgeTombstones(std::string_view user, Version version) = 0;

  // Visits the changes above query.after in ascending version order, after
  // checking the cursor (PullPageQuery), and returns the log's mark, all in
  // one consistent state.
  [[nodiscard]] virtual Result<LogMark> ReadPullPage(std::string_view user,
                                                     const PullPageQuery& query,
                                                     const ChangeVisitor& visit) = 0;
  // For every user, PurgeTombstones through the last version committed
  // before `wall_ms` (RecordCommit's clock): the tombstone horizon. Also
  // forgets the commit records below each user's horizon, which no cursor
  // that is still valid names. With a `limit`, no further than
  // limit(user) either (PurgeLimit); empty, no further limit.
  [[nodiscard]] virtual Status PurgeTombstonesCommittedBefore(int64_t wall_ms,
                                                              const PurgeLimit& limit) = 0;
};

}  // namespace ferry
