// The replica: what the client knows of each document.
//
// For every document it keeps the server's version (the "server copy", with
// its version, including tombstones so later writes carry the right base) and,
// while local mutations are pending, an overlay: the local view (server copy
// with the pending mutations replayed on top) plus the seqs of those
// mutations. Reads answer from the overlay when there is one, else from the
// server copy. When the server copy moves (a pull, an ack, a conflict) the
// overlay is recomputed: pending writes are rebased, never lost.
//
// Stage* methods only stage into the caller's Transaction; the caller commits
// once per logical change, so a crash never leaves a half-applied change.
// Not thread-safe: used by one engine, whose host serializes every call.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/model.h"
#include "ferry/outbox.h"
#include "ferry/protocol.h"
#include "ferry/query_index.h"
#include "ferry/store.h"

namespace ferry {

class Replica {
 public:
  // `indexes` (optional, outliving the replica): every change to a
  // document's local view stages its index entries in the same transaction.
  Replica(Store& store, Outbox& outbox, const QueryIndexes* indexes = nullptr)
      : store_(store), outbox_(outbox), indexes_(indexes) {}

  // The local view of one document; nullopt when absent or deleted.
  [[nodiscard]] Result<std::optional<Json>> Get(const DocumentId& id);
  // Local views of documents in `collection` whose key starts with
  // `key_prefix`, in key order, at most `limit` (0: no limit).
  [[nodiscard]] Result<std::vector<std::pair<std::string, Json>>> Scan(std::string_view collection,
                                                                       std::string_view key_prefix,
                                                                       std::size_t limit);

  [[nodiscard]] Result<ServerDocument> ReadServerCopy(Transaction& txn, const DocumentId& id);
  [[nodiscard]] Result<DocumentState> ReadView(Transaction& txn, const DocumentId& id);
  // The server copy's version and its value as stored, compact JSON ("null"
  // when absent or deleted), not parsed.
  [[nodiscard]] Result<std::pair<Version, std::string>> ReadServerCopyJson(Transaction& txn,
                                                                           const DocumentId& id);

  struct LocalWrite {
    OutboxEntry entry;                     // what now sits in the outbox
    std::optional<uint64_t> replaced_seq;  // an unsent entry it was coalesced with
  };
  // Records a local write: sets its base version, coalesces it with the
  // document's newest unsent pending entry where the meaning allows, stages
  // the outbox entry and the new local view. `value_json` is the value's
  // compact JSON when the caller has it already (empty: serialized here).
  [[nodiscard]] Result<LocalWrite> StageLocalWrite(Transaction& txn, Mutation mutation,
                                                   std::string value_json, bool allow_coalescing);

  // The server applied `entry` on `previous_version`, producing `version`.
  // Folds it into the server copy when the copy is at `previous_version`;
  // a copy at any other version is stale and is left for the pull to fix
  // (folding into it would label the wrong content with the new version).
  // True when the local view changed: the server holds another value than
  // the write showed here (a before_push hook rewrote it).
  [[nodiscard]] Result<bool> StageApplied(Transaction& txn, const OutboxEntry& entry,
                                          Version previous_version, Version version);
  // `entry` leaves the outbox without touching the server copy (duplicate,
  // discarded); with `server_document` the server copy moves to it (conflict,
  // server wins) when it is newer. True when the local view changed.
  [[nodiscard]] Result<bool> StageRemoved(Transaction& txn, const OutboxEntry& entry,
                                          const std::optional<ServerDocument>& server_document);
  // The document's pending (not dead) outbox entries, in seq order.
  [[nodiscard]] Result<std::vector<OutboxEntry>> ReadPending(Transaction& txn,
                                                             const DocumentId& id);
  // A conflict on the document was resolved: the server copy moves to
  // `server_document`, every pending write on it leaves the outbox (the
  // resolution already accounts for them), and `resolution`, if any, is
  // queued as a new local write against the server's current version.
  [[nodiscard]] Status StageResolution(Transaction& txn, const ServerDocument& server_document,
                                       std::optional<Mutation> resolution);
  // The server rejected `entry`: keep it as a dead letter, out of the view.
  [[nodiscard]] Status StageDeadLetter(Transaction& txn, OutboxEntry entry, std::string error);
  // A pending entry no push ever carried moves behind the writes a metered
  // push sends before it (SyncEngine::HandleMetered): the same write under
  // `new_seq`, above every seq sent, so the server's high-water mark (rule 1
  // of docs/PROTOCOL.md) cannot take it for a repeat. The document's view
  // is unchanged.
  [[nodiscard]] Status StageRenumber(Transaction& txn, const OutboxEntry& entry, uint64_t new_seq);
  // A dead letter goes back into the queue as a new mutation (a new seq: the
  // server has already processed the old one).
  [[nodiscard]] Result<OutboxEntry> StageRetry(Transaction& txn, const OutboxEntry& dead,
                                               uint64_t new_seq, const HlcStamp& hlc);

  // A pulled change. Returns whether the local view changed. Older versions
  // than the server copy's are ignored (a reordered or repeated page),
  // except in a full resync (`resync`): then the server's page is the truth
  // whatever the versions say, since a server restored from a backup went
  // back in time (a lower version) and may have used a version again for
  // another write.
  [[nodiscard]] Result<bool> StageRemoteChange(Transaction& txn, const PulledChange& change,
                                               bool resync = false);
  // Full resync: the server no longer knows `id` (purged tombstone).
  [[nodiscard]] Result<bool> StageForget(Transaction& txn, const DocumentId& id);

  // Every document that has a server copy, for the resync sweep.
  [[nodiscard]] Status ForEachServerCopy(const std::function<bool(const DocumentId&)>& visit);

  // Local retention (SyncEngine::HandleEvict, EngineOptions::retention).
  // Server copies staged from now on record `wall` as their sync time: the
  // engine sets it as each input arrives.
  void set_time(TimeMs wall) { time_ = wall; }
  // A document of one collection with a server copy and no pending write.
  struct SyncedCopy {
    std::string key;
    TimeMs synced_at = 0;  // 0: synced before sync times were recorded (store format 1)
  };
  [[nodiscard]] Result<std::vector<SyncedCopy>> ListEvictable(std::string_view collection);
  // Drops the document's server copy, unless it has pending writes (they
  // keep it, and it stays). kDocument: a live document left the local view;
  // kTombstone: a deletion's record went, the view stays empty.
  enum class Eviction { kNothing, kTombstone, kDocument };
  [[nodiscard]] Result<Eviction> StageEvict(Transaction& txn, const DocumentId& id);

 private:
  // A document state as stored: values stay compact JSON text until a reader
  // or a patch needs them parsed, so the common paths (put, ack, pull) move
  // text without parsing or re-serializing it.
  struct StoredState {
    bool exists = false;
    std::string json;  // compact JSON of the value; empty when absent
    bool operator==(const StoredState&) const = default;
  };
  struct Copy {
    Version version = 0;
    StoredState state;
    TimeMs synced_at = 0;  // when it was staged; 0 when not recorded (format 1)
  };
  struct Overlay {
    StoredState view;
    std::vector<uint64_t> seqs;  // pending mutations on this document, ascending
  };
  [[nodiscard]] static Result<DocumentState> Parse(const StoredState& state);
  // `op` applied to a stored state: a put keeps its text as it is, a delete
  // empties the state, a patch is parsed (`value`, or from `value_json` when
  // null), merged and serialized.
  [[nodiscard]] static Result<StoredState> ApplyStored(const StoredState& state, MutationOp op,
                                                       std::string value_json, const Json* value);
  [[nodiscard]] Result<Copy> ReadCopy(Transaction& txn, const DocumentId& id);
  [[nodiscard]] Result<std::optional<Overlay>> ReadOverlay(Transaction& txn, const DocumentId& id);
  [[nodiscard]] Result<StoredState> ReadStoredView(Transaction& txn, const DocumentId& id);
  // The three ways a document's view changes (each keeps its index entries).
  [[nodiscard]] Status StageOverlay(Transaction& txn, const DocumentId& id,
                                    const std::optional<Overlay>& overlay);
  [[nodiscard]] Status StageCopy(Transaction& txn, const DocumentId& id, const Copy& copy);
  [[nodiscard]] Status StageDropCopy(Transaction& txn, const DocumentId& id);
  bool Indexed(const DocumentId& id) const {
    return indexes_ != nullptr && indexes_->Covers(id.collection);
  }
  // The view moves from `before` to `after`: its index entries follow.
  [[nodiscard]] Status StageIndexes(Transaction& txn, const DocumentId& id,
                                    const StoredState& before, const StoredState& after);
  // The server copy becomes `after`: the index entries follow when the copy
  // is the view (no overlay covers it).
  [[nodiscard]] Status StageCopyIndexes(Transaction& txn, const DocumentId& id,
                                        const StoredState& after);
  // Moves the server copy to `server_document` unless the copy is as new or newer.
  [[nodiscard]] Status StageServerCopyIfNewer(Transaction& txn,
                                              const ServerDocument& server_document);
  // Recompute without `leaving`, which is leaving the document's pending list.
  [[nodiscard]] Result<bool> RecomputeWithout(Transaction& txn, const Mutation& leaving);
  // Rebuilds the overlay from the server copy plus the pending seqs; drops it
  // when none remain. Returns whether the local view changed from `before`,
  // the view as stored until now (callers have read it already: one read of
  // the overlay per acknowledged write, not two).
  [[nodiscard]] Result<bool> Recompute(Transaction& txn, const DocumentId& id,
                                       const std::vector<uint64_t>& seqs,
                                       const StoredState& before);

  // The server copy's stored form, the overlay's key (for ListEvictable).
  [[nodiscard]] static Result<Copy> DecodeCopy(std::string_view stored);

  Store& store_;
  Outbox& outbox_;
  const QueryIndexes* indexes_;
  TimeMs time_ = 0;  // set_time
};

}  // namespace ferry
