// The outbox: every local write, durable in the store, until the server has
// answered for it.
//
// Entries are keyed by seq, so the store's order is push order. An entry is
// pending until the server applies it (removed), rejects it (dead-lettered:
// kept, listed, retryable, discardable) or answers with a conflict (removed by
// the conflict strategy). Transport failures never remove or dead-letter an
// entry: they only count an attempt.
//
// Counters are kept in memory for status reporting and are rebuilt by Load();
// the store is the truth. Not thread-safe: used by one engine, whose host
// serializes every call.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ferry/model.h"
#include "ferry/store.h"

namespace ferry {

struct OutboxEntry {
  Mutation mutation;
  // mutation.value as compact JSON (empty for a delete). Stored as it is, so
  // an entry's value is serialized once, when the write is made.
  std::string value_json;
  uint32_t attempts = 0;  // pushes that carried this entry
  bool dead = false;      // rejected by the server; waits for retry or discard
  // Dead: why it was rejected (or the last error of the push that used up
  // EngineOptions::max_attempts). Pending: the error of the last push that
  // carried it and failed; empty while none has.
  std::string error;
  // Wall-clock milliseconds; 0 when unknown (stores written before they
  // were recorded read as 0). When the last push that carried the entry
  // ended, and when it was dead-lettered.
  int64_t last_attempt_at = 0;
  int64_t dead_at = 0;

  // The mutation with its value parsed, for what the app sees (events,
  // hooks): batches carry values as text only (see Outbox::SelectBatch).
  Mutation WithValue() const;
};

// What a metered push leaves for later (SyncEngine::HandleMetered): the
// pending entries of `collections` that no push carried yet. SelectBatch
// passes them over and lists every one of them in the outbox, in seq order,
// in `passed_over` (it reads on past a full batch to find them all).
struct DeferredEntries {
  const std::vector<std::string>* collections = nullptr;
  std::vector<OutboxEntry> passed_over;
};

struct BatchLimits {
  std::size_t max_count = 500;
  std::size_t max_bytes = 1u << 20;  // encoded values; a single larger entry still goes alone
};

// When and why a push that carried entries ended: recorded in each entry
// as its last attempt. `at` 0 keeps the entry's time; an empty `error`
// keeps its last error (an answer, or a cancel, is no failure).
struct OutboxAttempt {
  int64_t at = 0;
  std::string error;
};

class Outbox {
 public:
  Outbox(Store& store, std::string client_id) : store_(store), client_id_(std::move(client_id)) {}

  // Reads the next seq and the counters from the store. Call after opening and
  // after any failed commit that staged outbox changes.
  [[nodiscard]] Status Load();

  // Reserves the next seq. Seqs are never reused: Load() starts above the
  // newest entry and above the counter that every removal persists. A crash
  // before commit only skips numbers (gaps are allowed by the protocol).
  uint64_t AllocateSeq() { return next_seq_++; }
  // The clock stamp of the newest entry at Load(), so the engine's clock
  // restarts above every stamp it issued even though local writes do not
  // persist the clock separately.
  const std::optional<HlcStamp>& newest_hlc() const { return newest_hlc_; }

  [[nodiscard]] Result<std::optional<OutboxEntry>> Read(Transaction& txn, uint64_t seq);
  // Adds or replaces an entry.
  [[nodiscard]] Status StagePut(Transaction& txn, const OutboxEntry& entry);
  // Removes an entry, if it is still there, and persists the seq counter (see
  // AllocateSeq).
  //
  // Both count what the transaction holds for the entry's seq, not what the
  // caller last read: an answer can name an entry that already left (answered
  // twice, or a second client on the store), and counting the caller's copy
  // took pending below zero (issue 12: pending read 18446744073709551615).
  [[nodiscard]] Status StageRemove(Transaction& txn, const OutboxEntry& entry);

  // The first pending entries in seq order within the limits, skipping dead
  // entries; at least one entry when any is pending. Values are returned as
  // value_json only (mutation.value is not parsed).
  // Entries up to `after_seq` are passed over (an answered push not committed yet),
  // and so are those `deferred` defers (a batch may then be empty).
  [[nodiscard]] Result<std::vector<OutboxEntry>> SelectBatch(const BatchLimits& limits,
                                                             uint64_t after_seq = 0,
                                                             DeferredEntries* deferred = nullptr);
  [[nodiscard]] Result<std::vector<OutboxEntry>> ListDead();

  std::size_t pending_count() const { return pending_count_; }
  std::size_t dead_count() const { return dead_seqs_.size(); }
  uint64_t next_seq() const { return next_seq_; }

  // Entries in a push that has not been answered. They may already be applied
  // at the server, so they are never coalesced with later writes.
  std::set<uint64_t>& in_flight() { return in_flight_; }

  // Pushes on the wire. Before a push carries `batch` (pending entries in seq
  // order) this stages one small record instead of rewriting every entry to
  // count its attempt (8% of a push's CPU): the highest seq ever sent, so no
  // entry a push carried is coalesced again (NeverSent), and the batch's seqs,
  // whose attempt is counted when the push ends (StagePushEnded), or on the
  // next Load after a crash.
  void StageSending(Transaction& txn, const std::vector<OutboxEntry>& batch);
  using Attempt = OutboxAttempt;
  // Counts one more attempt for the entry `txn` holds for `seq`, if pending.
  [[nodiscard]] Status StageAttempt(Transaction& txn, uint64_t seq, const Attempt& attempt = {});
  // StagePushEnded(txn, true), recording `attempt` in every entry the push
  // carried that is still pending. Returns those entries as staged, so the
  // caller can dead-letter the ones past a cap on attempts.
  [[nodiscard]] Result<std::vector<OutboxEntry>> StageFailedPush(Transaction& txn,
                                                                 const Attempt& attempt);
  // The push in flight ended and its record is cleared. With `count_attempts`
  // (it failed, or was refused whole) every entry it carried that is still
  // pending counts the attempt; after an answer, the caller has counted it in
  // the entries the answer left in the outbox. Empties in_flight().
  [[nodiscard]] Status StagePushEnded(Transaction& txn, bool count_attempts);
  // No push ever carried entry `seq`: it may still be changed (coalesced).
  bool NeverSent(uint64_t seq) const { return seq > sent_through_; }
  // `entry` is one `deferred` leaves for later (see DeferredEntries).
  bool Defers(const DeferredEntries& deferred, const OutboxEntry& entry) const;

 private:
  // StageAttempt, returning the entry as staged (nothing when it is gone
  // or dead).
  [[nodiscard]] Result<std::optional<OutboxEntry>> CountAttempt(Transaction& txn, uint64_t seq,
                                                                const Attempt& attempt);
  // The state mark of the entry `txn` holds for `seq`; 0 when there is none.
  [[nodiscard]] Result<char> StagedMark(Transaction& txn, uint64_t seq);
  // Reads the record of StageSending; the pending entries of an unanswered
  // push join in_flight() as Load() scans them.
  [[nodiscard]] Status LoadPushed(std::string_view record);
  // Count an entry's state mark in (Count) or out (Uncount).
  void Count(char mark, uint64_t seq);
  void Uncount(char mark, uint64_t seq);

  Store& store_;
  std::string client_id_;
  uint64_t next_seq_ = 1;
  std::size_t pending_count_ = 0;
  // The dead entries' seqs, so ListDead reads those alone: it runs after
  // every local write (the web owner's snapshot for other tabs), and scanning
  // the whole outbox made a write cost time in proportion to pending writes.
  std::set<uint64_t> dead_seqs_;
  std::optional<HlcStamp> newest_hlc_;
  std::set<uint64_t> in_flight_;
  // The highest seq a push carried (see StageSending); 0 in a store written
  // before it was recorded, where every sent entry has attempts > 0 instead.
  uint64_t sent_through_ = 0;
  // The seqs of the push unanswered at Load(), while it scans the entries.
  uint64_t unanswered_first_ = 1;
  uint64_t unanswered_last_ = 0;
  // Every stored seq is below loaded_next_seq_ (see Load), and every seq
  // staged since is at most highest_staged_: a seq above both has no entry,
  // so StagedMark skips the store read for a new write.
  uint64_t loaded_next_seq_ = 1;
  uint64_t highest_staged_ = 0;
};

// Stored form of an entry; exposed for corruption tests.
std::string EncodeOutboxEntry(const OutboxEntry& entry);
// With `parse_value` false, mutation.value is left null and only value_json
// holds the value (batches on their way to the wire need nothing more).
[[nodiscard]] Result<OutboxEntry> DecodeOutboxEntry(std::string_view client_id, uint64_t seq,
                                                    std::string_view bytes,
                                                    bool parse_value = true);

// The single mutation equivalent to `earlier` followed by `later` on the same
// document, when one exists (see ComposeMergePatches for when it does not).
// The result keeps `earlier`'s base version and takes `later`'s seq and stamp.
std::optional<Mutation> CoalesceMutations(const Mutation& earlier, const Mutation& later);

}  // namespace ferry
