// JournalStore: the storage contract over an append-only journal of
// CRC-framed records, split into small segment files in one directory. Built
// for IndexedDB, where the web runtime persists whole files, the changed ones
// (web/src/store_indexeddb.ts): only the newest segment changes on a write,
// so the cost of persisting a write does not grow with the store. Plain C++ over POSIX
// files, so it also runs (and is tested) natively.
//
// Layout (integers little-endian):
//   <dir>/seg-<number:08>.fj  segments, each a 16-byte header ("FJS1", u32
//                             format version, u64 segment number) followed
//                             by records, each a 12-byte header and a payload:
//       [u32 length][u32 ~length][u32 CRC-32 of the payload][payload]
//     The complemented length tells a damaged length from a record cut short
//     by a crash. A payload's first byte says what it is: 'B', one committed
//     WriteBatch (u32 operation count, then per operation u8 1 = put or
//     0 = delete, u32 key length, key, and for a put u32 value length,
//     value), so a commit is atomic (a torn record is dropped whole); 'S' and
//     'E', the begin and end markers of a snapshot written by compaction.
//   <dir>/HEAD                the newest segment number ever started, as
//                             decimal text, so lost newest segments are seen.
//   <dir>/LOCK                the store lock (see below).
//
// Recovery on open: segments are replayed in order into an in-memory ordered
// map (reads never touch the files). A bad record at the end of the newest
// segment (running to its end, or followed only by zeros) is a torn tail
// from a crash and is truncated away; a bad record
// anywhere else, a segment from the wrong place, or a missing segment is
// corruption and open fails with kCorruption rather than guess.
//
// Compaction: when the journal holds more than `garbage_ratio` times the live
// bytes, the live entries are written as a snapshot (begin marker, records,
// end marker) into new segments, and older segments are deleted. A crash
// before the end marker leaves the old segments in charge; after it, open
// ignores (and removes) segments older than the snapshot.
//
// Durability: Commit returns after write(2); with `sync_on_commit` it also
// fsyncs (native hosts that want power-loss durability). On the web the
// runtime persists the changed files after each group of commits.
//
// A full disk: a failed append is cut off again, so that commit fails whole
// and later commits follow the last good record. A compaction that fails
// removes its partial snapshot and leaves the journal as it was; the commit
// that triggered it has succeeded all the same.
//
// One client at a time: Open claims the directory (<dir>/LOCK, see
// platform/src/store_lock.h) until the store is destroyed; a second Open of
// it fails with kBusy, or waits up to Options::lock_timeout_ms. Natively the
// claim is an OFD lock that also holds against other processes; under
// Emscripten it holds within this module instance only, and the host claims
// the directory against other processes (web/src/store_lock_node.ts in Node).
//
// Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ferry/store.h"
#include "ferry/store_memory.h"

namespace ferry {

class StoreLock;

class JournalStore final : public Store {
 public:
  struct Options {
    std::size_t segment_bytes = std::size_t{128} * 1024;  // roll to a new segment above this
    double garbage_ratio = 2.0;                           // compact when total > ratio * live...
    std::size_t compaction_min_bytes = 1u << 20;          // ...and the journal is at least this big
    bool sync_on_commit = false;
    // How long Open waits for another client to close the store before it
    // fails with kBusy; 0 fails at once.
    int64_t lock_timeout_ms = 0;
  };

  [[nodiscard]] static Result<std::unique_ptr<JournalStore>> Open(const std::string& directory,
                                                                  Options options);
  [[nodiscard]] static Result<std::unique_ptr<JournalStore>> Open(const std::string& directory) {
    return Open(directory, Options{});
  }
  ~JournalStore() override;

  [[nodiscard]] Result<std::optional<std::string>> Get(std::string_view key) override;
  [[nodiscard]] Status Scan(std::string_view begin, std::string_view end,
                            const ScanVisitor& visit) override;
  [[nodiscard]] Status Commit(const WriteBatch& batch) override;

  // Rewrites the live data and drops older segments now, whatever the ratio.
  [[nodiscard]] Status Compact();

  struct Statistics {
    std::size_t live_bytes = 0;     // keys and values currently visible
    std::size_t journal_bytes = 0;  // everything in the segment files
    std::size_t segments = 0;
    std::size_t torn_bytes_dropped = 0;  // truncated from the tail at open
    std::size_t compactions = 0;
    std::size_t compactions_failed = 0;  // undone (a full disk); tried again later
    uint64_t commits = 0;  // batches appended since open; the web runtime persists when it moves
  };
  const Statistics& statistics() const { return statistics_; }

  static constexpr uint32_t kFormatVersion = 1;

 private:
  JournalStore(std::string directory, Options options, std::unique_ptr<StoreLock> lock);
  // Recovery on open, in the manner of LevelDB: a reader of one segment's
  // framed records (SegmentReader, in the .cc) and a replay that gives them
  // meaning and repairs what a crash can leave.
  struct ReplayState;
  [[nodiscard]] Status Recover();
  [[nodiscard]] Result<std::vector<uint64_t>> ListSegments() const;
  [[nodiscard]] Status ReplaySegment(uint64_t number, bool newest, ReplayState& state);
  [[nodiscard]] Status ReplayRecord(std::string_view payload, uint64_t number,
                                    const std::string& path, ReplayState& state);
  [[nodiscard]] Status FinishRecovery(const std::vector<uint64_t>& numbers, ReplayState& state);
  [[nodiscard]] Status OpenSegmentForAppend(uint64_t number);
  [[nodiscard]] Status WriteHead(uint64_t number);
  [[nodiscard]] Status AppendRecord(std::string_view payload);
  [[nodiscard]] Status MaybeCompact();
  [[nodiscard]] Status WriteSnapshot(uint64_t first);
  void Apply(const WriteBatch& batch);
  void Apply(WriteBatch&& batch);  // replay: moves the batch's strings into memory_
  void AddLiveBytes(int64_t delta);
  std::string SegmentPath(uint64_t number) const;

  std::string directory_;
  Options options_;
  std::unique_ptr<StoreLock> lock_;  // released after fd_ is closed
  MemoryStore memory_;               // every live entry; reads never touch the files
  int fd_ = -1;                      // the newest segment, open for appending
  uint64_t first_segment_ = 1;
  uint64_t current_segment_ = 0;
  std::size_t current_bytes_ = 0;
  Statistics statistics_;
  bool broken_ = false;  // a failed append could not be cut off: refuse further writes
};

// CRC-32 (IEEE 802.3, as zlib computes it); exposed for tests.
uint32_t Crc32(std::string_view bytes);

}  // namespace ferry
