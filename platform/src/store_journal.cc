#include "ferry/store_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

#include "store_lock.h"

namespace ferry {
namespace {

constexpr char kMagic[4] = {'F', 'J', 'S', '1'};
constexpr std::size_t kSegmentHeaderBytes = 16;  // magic, u32 version, u64 number
// Record header: u32 length, u32 ~length (so a damaged length is told apart
// from a short tail), u32 CRC-32 of the payload.
constexpr std::size_t kRecordHeaderBytes = 12;
constexpr uint32_t kMaxPayloadBytes = 1u << 30;
constexpr char kBatchRecord = 'B';
constexpr char kSnapshotBegin = 'S';
constexpr char kSnapshotEnd = 'E';
constexpr std::size_t kSnapshotChunkBytes = std::size_t{64} * 1024;

void PutU32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
}
void PutU64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
}
uint32_t GetU32(const char* data) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}
uint64_t GetU64(const char* data) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

std::string Framed(std::string_view payload) {
  std::string record;
  record.reserve(kRecordHeaderBytes + payload.size());
  PutU32(record, static_cast<uint32_t>(payload.size()));
  PutU32(record, ~static_cast<uint32_t>(payload.size()));
  PutU32(record, Crc32(payload));
  record += payload;
  return record;
}

std::string EncodeBatch(const WriteBatch& batch) {
  std::string payload(1, kBatchRecord);
  PutU32(payload, static_cast<uint32_t>(batch.operations().size()));
  for (const auto& operation : batch.operations()) {
    payload += operation.value ? '\1' : '\0';
    PutU32(payload, static_cast<uint32_t>(operation.key.size()));
    payload += operation.key;
    if (operation.value) {
      PutU32(payload, static_cast<uint32_t>(operation.value->size()));
      payload += *operation.value;
    }
  }
  return payload;
}

// Decodes a batch payload (after its type byte). nullopt when malformed.
std::optional<WriteBatch> DecodeBatch(std::string_view payload) {
  WriteBatch batch;
  std::size_t at = 0;
  const auto read_u32 = [&](uint32_t& value) {
    if (payload.size() - at < 4) return false;
    value = GetU32(payload.data() + at);
    at += 4;
    return true;
  };
  const auto read_bytes = [&](std::string_view& bytes) {
    uint32_t length = 0;
    if (!read_u32(length) || payload.size() - at < length) return false;
    bytes = payload.substr(at, length);
    at += length;
    return true;
  };
  uint32_t count = 0;
  if (!read_u32(count)) return std::nullopt;
  for (uint32_t i = 0; i < count; ++i) {
    if (at >= payload.size()) return std::nullopt;
    const char kind = payload[at++];
    std::string_view key, value;
    if (!read_bytes(key)) return std::nullopt;
    if (kind == '\1') {
      if (!read_bytes(value)) return std::nullopt;
      batch.Put(key, value);
    } else if (kind == '\0') {
      batch.Delete(key);
    } else {
      return std::nullopt;
    }
  }
  if (at != payload.size()) return std::nullopt;
  return batch;
}

Status IoError(const std::string& what) {
  // std::strerror may share a buffer between threads; the error category does not.
  return Status(ErrorCode::kIo, what + ": " + std::generic_category().message(errno));
}

// Writes at `offset`, not at the end: the journal knows where its segment
// ends, and an O_APPEND write costs Node's file system (NODERAWFS, the wasm
// build under Node) an fstat per write to find the end.
Status WriteAllAt(int fd, std::string_view bytes, std::size_t offset, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return IoError("writing " + path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
    offset += static_cast<std::size_t>(written);
  }
  return Status::Ok();
}

// Reads straight into a string of the file's size: opening a store reads
// every segment, and appending 64 KB chunks to a growing string copied each
// byte again (memcpy was 8% of opening 100,000 documents in Chromium).
Result<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return IoError("opening " + path);
  struct stat info {};
  std::string contents(
      ::fstat(fd, &info) == 0 && info.st_size > 0 ? static_cast<std::size_t>(info.st_size) : 0,
      '\0');
  std::size_t filled = 0;
  while (true) {
    // More than fstat said (a file that grew): room for another chunk.
    if (filled == contents.size()) contents.resize(filled + std::size_t{64} * 1024);
    const ssize_t got = ::read(fd, contents.data() + filled, contents.size() - filled);
    if (got < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return IoError("reading " + path);
    }
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  ::close(fd);
  contents.resize(filled);
  return contents;
}

Status Corruption(const std::string& path, std::string_view why) {
  std::string message = path;
  message.append(": ").append(why);
  return Status(ErrorCode::kCorruption, std::move(message));
}

// A whole segment header that names this build's format (or an older one)
// and the segment's own number.
Status CheckSegmentHeader(std::string_view contents, uint64_t number, const std::string& path) {
  if (std::memcmp(contents.data(), kMagic, 4) != 0) {
    return Corruption(path, "not a Ferry journal segment");
  }
  const uint32_t version = GetU32(contents.data() + 4);
  if (version > JournalStore::kFormatVersion) {
    return Status(ErrorCode::kUnsupportedVersion,
                  path + " has journal format " + std::to_string(version) +
                      ", newer than this build reads (" +
                      std::to_string(JournalStore::kFormatVersion) + ")");
  }
  if (GetU64(contents.data() + 8) != number) {
    return Corruption(path, "segment number does not match its name");
  }
  return Status::Ok();
}

// Reads the framed records of one segment, in the manner of LevelDB's
// log::Reader: it checks the framing only (length, its complement, CRC) and
// hands out whole, valid payloads; what a payload means is the replay's
// business. When it stops it says where and why, and the replay decides what
// that means for the segment (only the newest may have a torn tail).
class SegmentReader {
 public:
  enum class Stop {
    kNone,      // still reading
    kEnd,       // every byte was a valid record
    kTornTail,  // a bad record that a crash mid-append can leave: it runs to
                // the end of the segment, or only zeros follow it
    kDamage,    // a bad record with data after it: not a tear
  };

  // `records` is the segment's bytes after its header.
  explicit SegmentReader(std::string_view records) : records_(records) {}

  // The next record's payload (valid until the bytes go), or nullopt once
  // reading stopped.
  std::optional<std::string_view> Next() {
    if (stop_ != Stop::kNone) return std::nullopt;
    const std::size_t remaining = records_.size() - offset_;
    if (remaining == 0) return Stopped(Stop::kEnd);
    if (remaining < kRecordHeaderBytes) return Stopped(Stop::kTornTail);
    const char* header = records_.data() + offset_;
    const uint32_t length = GetU32(header);
    if (GetU32(header + 4) != ~length || length > kMaxPayloadBytes) {
      return Stopped(RestIsZero() ? Stop::kTornTail : Stop::kDamage);
    }
    if (remaining - kRecordHeaderBytes < length) return Stopped(Stop::kTornTail);
    const std::string_view payload = records_.substr(offset_ + kRecordHeaderBytes, length);
    if (Crc32(payload) != GetU32(header + 8)) {
      const bool reaches_end = remaining - kRecordHeaderBytes == length;
      return Stopped(reaches_end || RestIsZero() ? Stop::kTornTail : Stop::kDamage);
    }
    offset_ += kRecordHeaderBytes + length;
    return payload;
  }

  Stop stop() const { return stop_; }
  // Where the valid records end: the offset of the bad record, if any.
  std::size_t offset() const { return offset_; }

 private:
  std::nullopt_t Stopped(Stop why) {
    stop_ = why;
    return std::nullopt;
  }
  bool RestIsZero() const {
    return std::all_of(records_.begin() + static_cast<std::ptrdiff_t>(offset_), records_.end(),
                       [](char c) { return c == 0; });
  }

  std::string_view records_;
  std::size_t offset_ = 0;
  Stop stop_ = Stop::kNone;
};

}  // namespace

namespace {

// Slicing-by-8 (as zlib computes it with its braided tables): eight
// independent table lookups per eight bytes instead of one dependent lookup
// per byte. Opening a store checks every byte of its journal, and the
// byte-wise loop was the largest part of opening 100,000 documents in
// Chromium (docs/benchmarks/profiles.md).
using Crc32Tables = std::array<std::array<uint32_t, 256>, 8>;

// Not constexpr: the tables are computed on first use, not shipped. As a
// constant expression the compiler stored all 8 KB of them in the .wasm,
// 7 KB more to download gzipped.
[[gnu::noinline]] void FillCrc32Tables(Crc32Tables& t) {
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (std::size_t slice = 1; slice < 8; ++slice)
      t[slice][i] = (t[slice - 1][i] >> 8) ^ t[0][t[slice - 1][i] & 0xFF];
  }
}

const Crc32Tables& Crc32Table() {
  static Crc32Tables tables;
  static const bool filled = (FillCrc32Tables(tables), true);
  (void)filled;
  return tables;
}

uint32_t LoadLittleEndian32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

uint32_t Crc32(std::string_view bytes) {
  const Crc32Tables& t = Crc32Table();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t left = bytes.size();
  uint32_t crc = 0xFFFFFFFFu;
  for (; left >= 8; p += 8, left -= 8) {
    const uint32_t low = crc ^ LoadLittleEndian32(p);
    const uint32_t high = LoadLittleEndian32(p + 4);
    crc = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^ t[4][low >> 24] ^
          t[3][high & 0xFF] ^ t[2][(high >> 8) & 0xFF] ^ t[1][(high >> 16) & 0xFF] ^
          t[0][high >> 24];
  }
  for (; left > 0; ++p, --left)
    crc = t[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

JournalStore::JournalStore(std::string directory, Options options, std::unique_ptr<StoreLock> lock)
    : directory_(std::move(directory)), options_(options), lock_(std::move(lock)) {}

JournalStore::~JournalStore() {
  if (fd_ >= 0) ::close(fd_);
}

std::string JournalStore::SegmentPath(uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08llu.fj", static_cast<unsigned long long>(number));
  return directory_ + name;
}

Result<std::unique_ptr<JournalStore>> JournalStore::Open(const std::string& directory,
                                                         Options options) {
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("creating " + directory);
  }
  // Claimed before recovery, which may truncate and delete segments.
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<StoreLock> lock,
                         StoreLock::Acquire(directory + "/LOCK", options.lock_timeout_ms));
  std::unique_ptr<JournalStore> store(new JournalStore(directory, options, std::move(lock)));
  FERRY_RETURN_IF_ERROR(store->Recover());
  return store;
}

// What the records replayed so far say about snapshots.
struct JournalStore::ReplayState {
  bool journal_starts_at_one = true;
  // The state before a snapshot began, with its live byte count, kept until
  // the snapshot's end marker proves the snapshot complete.
  std::optional<std::pair<MemoryStore, std::size_t>> before_snapshot;
  std::optional<uint64_t> snapshot_segment, complete_snapshot;
  std::optional<uint64_t> orphan_end;  // see kSnapshotEnd in ReplayRecord
  std::size_t journal_bytes = 0;
};

Status JournalStore::Recover() {
  FERRY_ASSIGN_OR_RETURN(std::vector<uint64_t> numbers, ListSegments());
  if (numbers.empty()) {
    first_segment_ = 1;
    return OpenSegmentForAppend(1);
  }
  ReplayState state;
  state.journal_starts_at_one = numbers.front() == 1;
  for (uint64_t number : numbers) {
    FERRY_RETURN_IF_ERROR(ReplaySegment(number, number == numbers.back(), state));
  }
  return FinishRecovery(numbers, state);
}

// The segments on disk, oldest first, checked for gaps and against HEAD.
Result<std::vector<uint64_t>> JournalStore::ListSegments() const {
  std::vector<uint64_t> numbers;
  if (DIR* dir = ::opendir(directory_.c_str())) {
    // readdir is only unsafe when threads share one DIR; this one is local.
    while (dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
      unsigned long long number = 0;
      char tail = 0;
      if (std::sscanf(entry->d_name, "seg-%8llu.f%c", &number, &tail) == 2 && tail == 'j' &&
          std::strlen(entry->d_name) == 15) {
        numbers.push_back(number);
      }
    }
    ::closedir(dir);
  } else {
    return IoError("listing " + directory_);
  }
  std::sort(numbers.begin(), numbers.end());
  for (std::size_t i = 1; i < numbers.size(); ++i) {
    if (numbers[i] != numbers[i - 1] + 1) {
      return Status(ErrorCode::kCorruption,
                    directory_ + ": segment " + std::to_string(numbers[i - 1] + 1) + " is missing");
    }
  }
  // The HEAD file names the newest segment ever started; fewer segments on
  // disk means the newest ones were lost.
  uint64_t head = 0;
  if (auto contents = ReadFile(directory_ + "/HEAD"); contents.ok()) {
    head = std::strtoull(contents->c_str(), nullptr, 10);
  } else if (!numbers.empty()) {
    return Status(ErrorCode::kCorruption, directory_ + ": the HEAD file is missing");
  }
  if (!numbers.empty() && numbers.back() < head) {
    return Status(ErrorCode::kCorruption,
                  directory_ + ": segment " + std::to_string(head) + " (the newest) is missing");
  }
  return numbers;
}

// Replays one segment's records into memory_. A torn tail of the newest
// segment is truncated away; any other bad record is corruption.
Status JournalStore::ReplaySegment(uint64_t number, bool newest, ReplayState& state) {
  const std::string path = SegmentPath(number);
  FERRY_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  if (contents.size() < kSegmentHeaderBytes) {
    if (!newest) return Corruption(path, "segment header is cut short");
    return Status::Ok();  // a segment whose creation was torn: appending starts it over
  }
  FERRY_RETURN_IF_ERROR(CheckSegmentHeader(contents, number, path));
  SegmentReader reader(std::string_view(contents).substr(kSegmentHeaderBytes));
  while (std::optional<std::string_view> payload = reader.Next()) {
    FERRY_RETURN_IF_ERROR(ReplayRecord(*payload, number, path, state));
  }
  const std::size_t valid_bytes = kSegmentHeaderBytes + reader.offset();
  if (reader.stop() != SegmentReader::Stop::kEnd) {
    // Only the end of the newest segment may be torn by a crash.
    if (!newest || reader.stop() != SegmentReader::Stop::kTornTail) {
      return Corruption(path, "damaged record at offset " + std::to_string(valid_bytes));
    }
    statistics_.torn_bytes_dropped += contents.size() - valid_bytes;
    if (::truncate(path.c_str(), static_cast<off_t>(valid_bytes)) != 0) {
      return IoError("truncating " + path);
    }
  }
  state.journal_bytes += valid_bytes;
  return Status::Ok();
}

// Applies one valid record: a batch, or a snapshot marker.
Status JournalStore::ReplayRecord(std::string_view payload, uint64_t number,
                                  const std::string& path, ReplayState& state) {
  const auto corrupt = [&](std::string_view why) { return Corruption(path, why); };
  if (payload.empty()) return corrupt("empty record");
  switch (payload[0]) {
    case kBatchRecord: {
      auto batch = DecodeBatch(payload.substr(1));
      if (!batch) return corrupt("record does not decode");
      Apply(std::move(*batch));
      return Status::Ok();
    }
    case kSnapshotBegin:
      // The snapshot replaces everything before it, once it is complete.
      state.before_snapshot.emplace(std::move(memory_), statistics_.live_bytes);
      memory_ = MemoryStore();
      statistics_.live_bytes = 0;
      state.snapshot_segment = number;
      return Status::Ok();
    case kSnapshotEnd:
      if (!state.before_snapshot) {
        // The tail of an older snapshot whose first segments are gone:
        // segments made obsolete by a newer snapshot are deleted oldest
        // first, and a crash can cut that short. Legal only at the front of
        // a journal whose start was deleted, before any snapshot begins, and
        // only if a newer complete snapshot follows (checked in
        // FinishRecovery); that snapshot replaces what was replayed.
        if (state.snapshot_segment || state.orphan_end || state.journal_starts_at_one) {
          return corrupt("snapshot end without a beginning");
        }
        state.orphan_end = number;
        return Status::Ok();
      }
      state.before_snapshot.reset();
      state.complete_snapshot = state.snapshot_segment;
      return Status::Ok();
    default:
      return corrupt("unknown record type");
  }
}

// After the replay: drops a partial snapshot, removes segments a complete
// snapshot made obsolete, and opens the segment that appends continue in.
Status JournalStore::FinishRecovery(const std::vector<uint64_t>& numbers, ReplayState& state) {
  if (state.orphan_end && !state.complete_snapshot) {
    return Status(ErrorCode::kCorruption, SegmentPath(*state.orphan_end) +
                                              ": snapshot end without a beginning, and no "
                                              "complete snapshot after it");
  }
  uint64_t append_to = numbers.back();
  if (state.before_snapshot) {
    // A compaction was cut short: its partial snapshot is dropped and the
    // journal before it stays in charge. HEAD moves back first and the
    // segments go newest first, so a crash in between leaves a contiguous
    // journal that still holds the partial snapshot's start, and this runs again.
    memory_ = std::move(state.before_snapshot->first);
    statistics_.live_bytes = state.before_snapshot->second;
    append_to = *state.snapshot_segment - 1;
    FERRY_RETURN_IF_ERROR(WriteHead(append_to));
    for (uint64_t number = numbers.back(); number >= *state.snapshot_segment; --number) {
      ::unlink(SegmentPath(number).c_str());
    }
  }
  first_segment_ = state.complete_snapshot ? *state.complete_snapshot : numbers.front();
  // Segments before a complete snapshot are obsolete (their removal may have
  // been cut short). Without a snapshot, the journal must start at segment 1,
  // or its beginning was lost.
  if (!state.complete_snapshot && numbers.front() != 1) {
    return Status(ErrorCode::kCorruption, directory_ + ": segments before " +
                                              std::to_string(numbers.front()) + " are missing");
  }
  for (uint64_t number = numbers.front(); number < first_segment_; ++number) {
    ::unlink(SegmentPath(number).c_str());
  }
  statistics_.journal_bytes = state.journal_bytes;
  if (append_to < first_segment_) return OpenSegmentForAppend(first_segment_);
  return OpenSegmentForAppend(append_to);
}

// HEAD names the newest segment the journal should have; it moves forward
// with every new segment (and back only when recovery drops a partial
// snapshot). It is overwritten in place, always 21 bytes (20 digits and a
// newline), in one write within the file's first sector: a crash leaves the
// old number or the new one, and either is a valid lower bound. Not written
// to a temporary name and renamed over: ext4 flushes the data of a file
// renamed over another (auto_da_alloc), which cost about 1 ms per segment,
// most of a small write's time (strace, core_bench).
Status JournalStore::WriteHead(uint64_t number) {
  const std::string path = directory_ + "/HEAD";
  const int head = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
  if (head < 0) return IoError("writing " + path);
  std::array<char, 22> text{};
  std::snprintf(text.data(), text.size(), "%020llu\n", static_cast<unsigned long long>(number));
  Status written = WriteAllAt(head, std::string_view(text.data(), text.size() - 1), 0, path);
  ::close(head);
  return written;
}

Status JournalStore::OpenSegmentForAppend(uint64_t number) {
  if (fd_ >= 0) ::close(fd_);
  const std::string path = SegmentPath(number);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
  if (fd_ < 0) return IoError("opening " + path);
  struct stat info {};
  if (::fstat(fd_, &info) != 0) return IoError("inspecting " + path);
  current_segment_ = number;
  current_bytes_ = static_cast<std::size_t>(info.st_size);
  if (current_bytes_ < kSegmentHeaderBytes) {
    if (::ftruncate(fd_, 0) != 0) return IoError("resetting " + path);
    std::string header(kMagic, 4);
    PutU32(header, kFormatVersion);
    PutU64(header, number);
    if (Status written = WriteAllAt(fd_, header, 0, path); !written.ok()) {
      // A full disk: leave an empty segment (recovery starts such a newest
      // segment over) and let the next append write the header again.
      current_bytes_ = 0;
      (void)::ftruncate(fd_, 0);
      return written;
    }
    current_bytes_ = header.size();
    statistics_.journal_bytes += header.size();
    FERRY_RETURN_IF_ERROR(WriteHead(number));
  }
  statistics_.segments = current_segment_ - first_segment_ + 1;
  return Status::Ok();
}

Status JournalStore::AppendRecord(std::string_view payload) {
  if (broken_) {
    return Status(ErrorCode::kIo, directory_ +
                                      ": an earlier failed write or compaction could not be "
                                      "undone; reopen the store to recover it");
  }
  const std::string record = Framed(payload);
  if (current_bytes_ < kSegmentHeaderBytes) {
    // The segment's header did not make it to disk (a failed write): again.
    FERRY_RETURN_IF_ERROR(OpenSegmentForAppend(current_segment_));
  } else if (current_bytes_ > kSegmentHeaderBytes &&
             current_bytes_ + record.size() > options_.segment_bytes) {
    FERRY_RETURN_IF_ERROR(OpenSegmentForAppend(current_segment_ + 1));
  }
  Status written = WriteAllAt(fd_, record, current_bytes_, SegmentPath(current_segment_));
  if (written.ok() && options_.sync_on_commit && ::fsync(fd_) != 0) {
    written = IoError("syncing the journal");
  }
  if (!written.ok()) {
    // A failed write (a full disk) can leave part of the record behind. Cut
    // it off, so the next record follows the last whole one: appended after
    // torn bytes, a later commit was silently dropped at the next open
    // (found by DiskFullIsACleanErrorAndLosesNoCommittedBatch).
    if (::ftruncate(fd_, static_cast<off_t>(current_bytes_)) != 0) broken_ = true;
    return written;
  }
  current_bytes_ += record.size();
  statistics_.journal_bytes += record.size();
  return Status::Ok();
}

void JournalStore::Apply(const WriteBatch& batch) {
  AddLiveBytes(memory_.CommitMeasured(batch));
}

void JournalStore::Apply(WriteBatch&& batch) {
  AddLiveBytes(memory_.CommitMeasured(std::move(batch)));
}

// Live bytes decide when to compact.
void JournalStore::AddLiveBytes(int64_t delta) {
  statistics_.live_bytes =
      static_cast<std::size_t>(static_cast<int64_t>(statistics_.live_bytes) + delta);
}

Result<std::optional<std::string>> JournalStore::Get(std::string_view key) {
  return memory_.Get(key);
}

Status JournalStore::Scan(std::string_view begin, std::string_view end, const ScanVisitor& visit) {
  return memory_.Scan(begin, end, visit);
}

Status JournalStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  // Durable first, visible second: a failed append leaves memory untouched.
  FERRY_RETURN_IF_ERROR(AppendRecord(EncodeBatch(batch)));
  Apply(batch);
  ++statistics_.commits;
  // The batch is committed whatever happens next: a compaction that fails
  // (a full disk) undoes itself and is tried again on a later commit. If it
  // cannot even be undone, the next commit says so (broken_).
  if (!MaybeCompact().ok()) ++statistics_.compactions_failed;
  return Status::Ok();
}

Status JournalStore::MaybeCompact() {
  if (statistics_.journal_bytes < options_.compaction_min_bytes) return Status::Ok();
  if (static_cast<double>(statistics_.journal_bytes) <=
      options_.garbage_ratio *
          static_cast<double>(std::max<std::size_t>(statistics_.live_bytes, 1))) {
    return Status::Ok();
  }
  return Compact();
}

Status JournalStore::Compact() {
  const uint64_t old_first = first_segment_;
  const uint64_t old_current = current_segment_;
  const uint64_t snapshot_start = current_segment_ + 1;
  const std::size_t bytes_before = statistics_.journal_bytes;
  Status written = WriteSnapshot(snapshot_start);
  if (!written.ok()) {
    // Undo: without its end marker the partial snapshot would be dropped at
    // the next open, and every commit appended after it with it. HEAD moves
    // back first, then the snapshot's segments go newest first (as in
    // Recover), and appends continue in the old newest segment. If even HEAD
    // cannot be written, writes stop here and the next open drops the
    // partial snapshot.
    if (!WriteHead(old_current).ok()) {
      broken_ = true;
      return written;
    }
    for (uint64_t number = current_segment_; number >= snapshot_start; --number)
      ::unlink(SegmentPath(number).c_str());
    statistics_.journal_bytes = bytes_before;
    if (!OpenSegmentForAppend(old_current).ok()) broken_ = true;
    first_segment_ = old_first;
    statistics_.segments = current_segment_ - first_segment_ + 1;
    return written;
  }
  // The snapshot is complete: everything before it can go.
  for (uint64_t number = old_first; number < snapshot_start; ++number) {
    ::unlink(SegmentPath(number).c_str());
  }
  first_segment_ = snapshot_start;
  statistics_.journal_bytes -= std::min(statistics_.journal_bytes, bytes_before);
  statistics_.segments = current_segment_ - first_segment_ + 1;
  ++statistics_.compactions;
  return Status::Ok();
}

// The live entries as a snapshot (begin marker, batches, end marker) starting
// in the new segment `first`, synced to disk.
Status JournalStore::WriteSnapshot(uint64_t first) {
  FERRY_RETURN_IF_ERROR(OpenSegmentForAppend(first));
  FERRY_RETURN_IF_ERROR(AppendRecord(std::string(1, kSnapshotBegin)));
  WriteBatch chunk;
  std::size_t chunk_bytes = 0;
  Status failure;
  FERRY_RETURN_IF_ERROR(memory_.Scan("", "", [&](std::string_view key, std::string_view value) {
    chunk.Put(key, value);
    chunk_bytes += key.size() + value.size();
    if (chunk_bytes >= kSnapshotChunkBytes) {
      failure = AppendRecord(EncodeBatch(chunk));
      chunk.Clear();
      chunk_bytes = 0;
    }
    return failure.ok();
  }));
  FERRY_RETURN_IF_ERROR(failure);
  if (!chunk.empty()) FERRY_RETURN_IF_ERROR(AppendRecord(EncodeBatch(chunk)));
  FERRY_RETURN_IF_ERROR(AppendRecord(std::string(1, kSnapshotEnd)));
  if (::fsync(fd_) != 0) return IoError("syncing a snapshot");
  return Status::Ok();
}

}  // namespace ferry
