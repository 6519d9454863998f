#include "ferry/store_journal.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "core/indexed_store_contract.h"
#include "core/store_contract.h"
#ifndef __EMSCRIPTEN__
#include "support/disk_full.h"
#endif
#include "support/store_lock_checks.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;

TempDir& Directory() {
  static TempDir directory;
  return directory;
}

std::string FreshDirectory() {
  static int counter = 0;
  return Directory().File("journal-" + std::to_string(++counter));
}

JournalStore::Options SmallSegments() {
  JournalStore::Options options;
  options.segment_bytes = 4096;
  options.compaction_min_bytes = 32 * 1024;
  return options;
}

class JournalBackend {
 public:
  static std::unique_ptr<Store> Open() {
    path() = FreshDirectory();
    return Reopen(nullptr);
  }
  static std::unique_ptr<Store> Reopen(std::unique_ptr<Store> old) {
    old.reset();
    auto store = JournalStore::Open(path(), SmallSegments());
    if (!store.ok()) ADD_FAILURE() << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  static std::string& path() {
    static std::string current;
    return current;
  }
};

INSTANTIATE_TEST_SUITE_P(Journal, StoreContractTest,
                         ::testing::Values(StoreBackend{"journal", &JournalBackend::Open,
                                                        &JournalBackend::Reopen}),
                         PrintBackend);

INSTANTIATE_TEST_SUITE_P(JournalIndexes, IndexedStoreTest,
                         ::testing::Values(StoreBackend{"journal", &JournalBackend::Open,
                                                        &JournalBackend::Reopen}),
                         PrintBackend);

std::string SegmentFile(const std::string& directory, int number) {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08d.fj", number);
  return directory + name;
}

std::vector<fs::path> Segments(const std::string& directory) {
  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.path().extension() == ".fj") segments.push_back(entry.path());
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Fills a journal with `commits` batches of one key each ("k<i>" -> "v<i>").
std::string Filled(int commits, JournalStore::Options options = SmallSegments()) {
  const std::string directory = FreshDirectory();
  auto store = JournalStore::Open(directory, options);
  EXPECT_TRUE(store.ok());
  for (int i = 0; i < commits; ++i) {
    EXPECT_TRUE((*store)
                    ->Put("k" + std::to_string(i), "v" + std::string(100, 'x') + std::to_string(i))
                    .ok());
  }
  return directory;
}

std::size_t CountKeys(Store& store) {
  std::size_t count = 0;
  EXPECT_TRUE(store
                  .Scan("", "",
                        [&](std::string_view, std::string_view) {
                          ++count;
                          return true;
                        })
                  .ok());
  return count;
}

// Stored journals were written with the byte-wise CRC: the sliced one must
// give the same value for every length and alignment.
TEST(JournalStoreCrc32, MatchesTheByteWiseCrcForEveryLengthAndAlignment) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the standard check value
  const auto byte_wise = [](std::string_view bytes) {
    uint32_t crc = 0xFFFFFFFFu;
    for (const char c : bytes) {
      crc ^= static_cast<unsigned char>(c);
      for (int bit = 0; bit < 8; ++bit)
        crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
  };
  std::string data;
  for (int i = 0; i < 100; ++i)
    data.push_back(static_cast<char>(i * 37 + 11));
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t length = 0; offset + length <= data.size(); ++length) {
      const std::string_view bytes = std::string_view(data).substr(offset, length);
      ASSERT_EQ(Crc32(bytes), byte_wise(bytes)) << offset << " " << length;
    }
  }
}

TEST(JournalStore, SecondOpenInTheSameProcessFailsClearly) {
  const std::string directory = FreshDirectory();
  ExpectSecondOpenInThisProcessFailsClearly([&] { return JournalStore::Open(directory); });
}

TEST(JournalStore, TornTailIsTruncatedAndLaterWritesPersist) {
  const std::string directory = Filled(10);
  const fs::path newest = Segments(directory).back();
  {
    std::ofstream file(newest, std::ios::binary | std::ios::app);
    file.write("\x30\x00\x00\x00\xcf\xff", 6);  // a record header cut short by a crash
  }
  {
    auto store = JournalStore::Open(directory, SmallSegments());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->statistics().torn_bytes_dropped, 6u);
    EXPECT_EQ(CountKeys(**store), 10u);
    ASSERT_TRUE((*store)->Put("after", "crash").ok());
  }
  auto store = JournalStore::Open(directory, SmallSegments());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(CountKeys(**store), 11u);
  auto after = (*store)->Get("after");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, "crash");
}

TEST(JournalStore, RecordCutShortDropsOnlyThatCommit) {
  const std::string directory = Filled(3, JournalStore::Options{});
  const fs::path newest = Segments(directory).back();
  const std::string bytes = ReadAll(newest);
  WriteAll(newest, bytes.substr(0, bytes.size() - 5));
  auto store = JournalStore::Open(directory);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(CountKeys(**store), 2u);
  auto last = (*store)->Get("k2");
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_value());
}

TEST(JournalStore, ZeroFilledTailIsATearNotDamage) {
  const std::string directory = Filled(3, JournalStore::Options{});
  const fs::path newest = Segments(directory).back();
  { std::ofstream(newest, std::ios::binary | std::ios::app) << std::string(64, '\0'); }
  auto store = JournalStore::Open(directory);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(CountKeys(**store), 3u);
}

TEST(JournalStore, FlippedByteWithIntactDataAfterItIsCorruption) {
  const std::string directory = Filled(5, JournalStore::Options{});
  const fs::path newest = Segments(directory).back();
  std::string bytes = ReadAll(newest);
  bytes[16 + 12 + 10] ^= 0x40;  // inside the first record's payload
  WriteAll(newest, bytes);
  auto store = JournalStore::Open(directory);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(store.status().message().find("damaged record"), std::string::npos);
}

TEST(JournalStore, DamageInAnOlderSegmentIsCorruption) {
  const std::string directory = Filled(200);
  const auto segments = Segments(directory);
  ASSERT_GE(segments.size(), 3u);
  std::string bytes = ReadAll(segments[1]);
  bytes[bytes.size() - 3] ^= 0x01;  // its last record: not a tear, it is not the newest segment
  WriteAll(segments[1], bytes);
  auto store = JournalStore::Open(directory, SmallSegments());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kCorruption);
}

TEST(JournalStore, MissingSegmentsAreCorruption) {
  for (const char* which : {"first", "middle", "newest"}) {
    const std::string directory = Filled(200);
    const auto segments = Segments(directory);
    ASSERT_GE(segments.size(), 3u);
    const fs::path victim = std::string(which) == "first"    ? segments.front()
                            : std::string(which) == "middle" ? segments[1]
                                                             : segments.back();
    fs::remove(victim);
    auto store = JournalStore::Open(directory, SmallSegments());
    ASSERT_FALSE(store.ok()) << which;
    EXPECT_EQ(store.status().code(), ErrorCode::kCorruption) << which;
    EXPECT_NE(store.status().message().find("missing"), std::string::npos)
        << store.status().message();
  }
}

// HEAD is rewritten in place at a fixed width, never renamed over (see
// WriteHead); a HEAD in the short form older builds wrote still reads, and
// the next segment replaces it whole.
TEST(JournalStore, HeadIsRewrittenInPlaceAndReadsTheOlderForm) {
  const std::string directory = Filled(200);
  const auto newest = [&] {
    return std::stoull(Segments(directory).back().stem().string().substr(4));
  };
  char expected[32];
  std::snprintf(expected, sizeof expected, "%020llu\n", newest());
  EXPECT_EQ(ReadAll(directory + "/HEAD"), expected);
  EXPECT_FALSE(fs::exists(directory + "/HEAD.tmp"));

  WriteAll(directory + "/HEAD", std::to_string(newest()) + "\n");
  auto store = JournalStore::Open(directory, SmallSegments());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const auto before = newest();
  for (int i = 0; newest() == before; ++i)
    ASSERT_TRUE((*store)->Put("more" + std::to_string(i), std::string(100, 'y')).ok());
  std::snprintf(expected, sizeof expected, "%020llu\n", newest());
  EXPECT_EQ(ReadAll(directory + "/HEAD"), expected);
  store->reset();
  EXPECT_TRUE(JournalStore::Open(directory, SmallSegments()).ok());
}

TEST(JournalStore, NewerFormatIsRefused) {
  const std::string directory = Filled(2);
  const fs::path first = Segments(directory).front();
  std::string bytes = ReadAll(first);
  bytes[4] = 9;  // format version
  WriteAll(first, bytes);
  auto store = JournalStore::Open(directory, SmallSegments());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnsupportedVersion);
}

TEST(JournalStore, AWriteTouchesOnlyTheNewestSegment) {
  const std::string directory = Filled(500);
  auto segments = Segments(directory);
  ASSERT_GE(segments.size(), 10u);
  std::vector<std::uintmax_t> sizes;
  for (const auto& segment : segments)
    sizes.push_back(fs::file_size(segment));
  std::vector<std::string> contents;
  for (const auto& segment : segments)
    contents.push_back(ReadAll(segment));
  {
    auto store = JournalStore::Open(directory, SmallSegments());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put("one-more", "value").ok());
  }
  auto after = Segments(directory);
  // Everything but the newest one or two segments (a roll) is byte-identical:
  // persisting a write costs the same whatever the store's size.
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    EXPECT_EQ(ReadAll(after[i]), contents[i]) << after[i];
  }
  EXPECT_LE(after.size(), segments.size() + 1);
}

// Every entry of a store, for comparing whole stores.
std::map<std::string, std::string> Contents(Store& store) {
  std::map<std::string, std::string> entries;
  EXPECT_TRUE(store
                  .Scan("", "",
                        [&](std::string_view key, std::string_view value) {
                          entries[std::string(key)] = std::string(value);
                          return true;
                        })
                  .ok());
  return entries;
}

TEST(JournalStore, CompactionDropsGarbageAndKeepsEveryLiveEntry) {
  const std::string directory = FreshDirectory();
  std::map<std::string, std::string> expected;
  std::size_t compactions = 0;
  {
    auto store = JournalStore::Open(directory, SmallSegments());
    ASSERT_TRUE(store.ok());
    for (int round = 0; round < 100; ++round) {
      WriteBatch batch;
      for (int k = 0; k < 10; ++k) {
        const std::string key = "key" + std::to_string(k);
        const std::string value =
            std::string(200, static_cast<char>('a' + round % 26)) + std::to_string(round);
        batch.Put(key, value);
        expected[key] = value;
      }
      batch.Delete("key3");
      expected.erase("key3");
      ASSERT_TRUE((*store)->Commit(batch).ok());
    }
    compactions = (*store)->statistics().compactions;
    EXPECT_GT(compactions, 0u);
    EXPECT_LT((*store)->statistics().journal_bytes,
              4 * (*store)->statistics().live_bytes + 64 * 1024);
  }
  EXPECT_LT(Segments(directory).size(), 12u);
  auto store = JournalStore::Open(directory, SmallSegments());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Contents(**store), expected);
}

// A compaction cut short: a new segment holds a snapshot beginning and a
// batch, but no end. The journal before it must stay in charge.
TEST(JournalStore, CompactionCutShortLeavesTheOldJournalInCharge) {
  const std::string directory = Filled(5, JournalStore::Options{});
  const int next = static_cast<int>(Segments(directory).size()) + 1;
  const auto record = [](std::string payload) {
    std::string out;
    const auto u32 = [&out](uint32_t v) {
      for (int i = 0; i < 4; ++i)
        out += static_cast<char>((v >> (8 * i)) & 0xFF);
    };
    u32(static_cast<uint32_t>(payload.size()));
    u32(~static_cast<uint32_t>(payload.size()));
    u32(Crc32(payload));
    return out + payload;
  };
  std::string segment("FJS1\x01\x00\x00\x00", 8);
  for (int i = 0; i < 8; ++i)
    segment += static_cast<char>(i == 0 ? next : 0);
  segment += record("S");
  // A batch putting k0 -> "snapshot value": one op, kind 1, key, value.
  std::string batch = "B";
  const auto u32 = [&batch](uint32_t v) {
    for (int i = 0; i < 4; ++i)
      batch += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  u32(1);
  batch += '\1';
  u32(2);
  batch += "k0";
  u32(14);
  batch += "snapshot value";
  segment += record(batch);
  WriteAll(SegmentFile(directory, next), segment);
  WriteAll(directory + "/HEAD", std::to_string(next) + "\n");

  auto store = JournalStore::Open(directory);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(CountKeys(**store), 5u);
  auto k0 = (*store)->Get("k0");
  ASSERT_TRUE(k0.ok() && k0->has_value());
  EXPECT_NE(**k0, "snapshot value");
  EXPECT_FALSE(fs::exists(SegmentFile(directory, next)));
}

// Found by the journal crash loop (reliability_tests): a snapshot spanning
// several segments, whose first segment was deleted by the next compaction's
// cleanup before a crash stopped it. The rest of that old snapshot (ending in
// its end marker) is obsolete, not corrupt.
TEST(JournalStore, CleanupCutShortInsideAnOlderSnapshotIsRecovered) {
  const std::string directory = FreshDirectory();
  const std::string saved = FreshDirectory();
  JournalStore::Options options = SmallSegments();
  options.compaction_min_bytes = std::size_t{1} << 30;  // compactions only when asked
  std::map<std::string, std::string> expected;
  {
    auto store = JournalStore::Open(directory, options);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 400; ++i) {  // ~200 KB live: the snapshot spans 4+ segments
      expected["k" + std::to_string(i)] = std::string(500, 'a') + std::to_string(i);
      ASSERT_TRUE((*store)->Put("k" + std::to_string(i), expected["k" + std::to_string(i)]).ok());
    }
    ASSERT_TRUE((*store)->Compact().ok());
    ASSERT_TRUE((*store)->Put("after-first", "1").ok());
    expected["after-first"] = "1";
    fs::copy(directory, saved);  // the first snapshot's segments, before the second compaction
    ASSERT_TRUE((*store)->Compact().ok());
    ASSERT_TRUE((*store)->Put("after-second", "2").ok());
    expected["after-second"] = "2";
  }
  // Put back every segment of the first snapshot but its first one: the second
  // compaction's cleanup had deleted only that one when the crash came.
  const std::vector<fs::path> old_segments = Segments(saved);
  ASSERT_GE(old_segments.size(), 3u);
  for (std::size_t i = 1; i < old_segments.size(); ++i)
    fs::copy_file(old_segments[i], fs::path(directory) / old_segments[i].filename());

  for (int open = 0; open < 2; ++open) {  // recovery cleans up; the second open is plain
    auto store = JournalStore::Open(directory, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(Contents(**store), expected);
  }
  // Without a complete snapshot after it, an orphaned end is still corruption.
  const std::vector<fs::path> now = Segments(directory);
  for (const fs::path& segment : now)
    fs::remove(segment);
  for (std::size_t i = 1; i < old_segments.size(); ++i)
    fs::copy_file(old_segments[i], fs::path(directory) / old_segments[i].filename(),
                  fs::copy_options::overwrite_existing);
  WriteAll(directory + "/HEAD", old_segments.back().filename().string().substr(4, 8) + "\n");
  auto orphan = JournalStore::Open(directory, options);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.status().code(), ErrorCode::kCorruption);
}

// Also from the crash loop: dropping a partial snapshot at open must leave a
// journal that opens again (HEAD moves back with it), even when that open
// was itself cut short after removing only the newest of its segments.
TEST(JournalStore, DroppedPartialSnapshotOpensAgainEvenIfTheDropWasCutShort) {
  JournalStore::Options options = SmallSegments();
  options.compaction_min_bytes = std::size_t{1} << 30;
  for (const bool drop_cut_short : {false, true}) {
    SCOPED_TRACE(drop_cut_short ? "the first drop was cut short" : "a plain drop");
    const std::string directory = FreshDirectory();
    const std::string saved = FreshDirectory();
    {
      auto store = JournalStore::Open(directory, options);
      ASSERT_TRUE(store.ok());
      for (int i = 0; i < 400; ++i)
        ASSERT_TRUE((*store)->Put("k" + std::to_string(i), std::string(500, 'b')).ok());
      fs::copy(directory, saved);
      ASSERT_TRUE((*store)->Compact().ok());
    }
    // Cut the snapshot short: drop the segment holding its end marker, and
    // put back every older segment the compaction's cleanup deleted.
    fs::remove(Segments(directory).back());
    const std::string newest = Segments(directory).back().filename().string().substr(4, 8);
    WriteAll(directory + "/HEAD", std::to_string(std::stoi(newest)) + "\n");
    for (const fs::path& old : Segments(saved))
      fs::copy_file(old, fs::path(directory) / old.filename());
    ASSERT_GE(Segments(directory).size(), Segments(saved).size() + 2);
    if (drop_cut_short) {
      // An open that died after moving HEAD back and deleting one segment.
      fs::remove(Segments(directory).back());
      WriteAll(directory + "/HEAD", std::to_string(Segments(saved).size()) + "\n");
    }
    for (int open = 0; open < 3; ++open) {  // no writes in between: HEAD must agree
      auto store = JournalStore::Open(directory, options);
      ASSERT_TRUE(store.ok()) << "open " << open << ": " << store.status().ToString();
      EXPECT_EQ(CountKeys(**store), 400u);
    }
    EXPECT_EQ(Segments(directory).size(), Segments(saved).size());  // the snapshot's are gone
  }
}

#ifndef __EMSCRIPTEN__  // fork and rlimits: native only
// A full disk cuts a record short. The store must refuse that commit cleanly
// and, once space is freed, append after its last whole record, not after the
// torn bytes (which would read as damage in the middle of the journal).
TEST(JournalStore, DiskFullIsACleanErrorAndLosesNoCommittedBatch) {
  const std::string directory = FreshDirectory();
  const auto open = [&]() -> std::unique_ptr<Store> {
    auto store = JournalStore::Open(directory, SmallSegments());
    return store.ok() ? std::move(*store) : nullptr;
  };
  { ASSERT_NE(open(), nullptr); }
  // Segments roll at 4 KB, three ~1 KB records each: a cap of 2,500 bytes
  // falls inside the third record of a segment, so that record is torn.
  const DiskFullReport report = FillUntilFull(open, 2500);
  EXPECT_EQ(report.failure, ErrorCode::kIo);
  auto reopened = JournalStore::Open(directory, SmallSegments());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ExpectNothingCommittedWasLost(report, **reopened);
}

// The disk fills up inside a compaction: its snapshot record cannot be
// written. Commits before and after it must all survive.
TEST(JournalStore, DiskFullDuringCompactionLosesNoCommittedBatch) {
  const std::string directory = FreshDirectory();
  JournalStore::Options no_compaction = SmallSegments();
  no_compaction.compaction_min_bytes = std::size_t{1} << 30;
  {
    // Much garbage (the same keys over and over), not compacted yet.
    auto store = JournalStore::Open(directory, no_compaction);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE((*store)->Put("g/" + std::to_string(i % 20), std::string(900, 'g')).ok());
  }
  // In the child the first commit starts a compaction whose ~18 KB snapshot
  // record cannot fit under the cap.
  const auto open = [&]() -> std::unique_ptr<Store> {
    auto store = JournalStore::Open(directory, SmallSegments());
    return store.ok() ? std::move(*store) : nullptr;
  };
  const DiskFullReport report = FillUntilFull(open, 2500);
  EXPECT_EQ(report.failure, ErrorCode::kIo);
  auto reopened = JournalStore::Open(directory, SmallSegments());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ExpectNothingCommittedWasLost(report, **reopened);
  EXPECT_EQ(CountKeys(**reopened),
            20u + report.commits_before_full + 2);  // g/*, full/*, last, after
}
#endif

// Random damage to random places must end in a clean open or a clear error,
// never a crash or a hang.
TEST(JournalStore, SurvivesRandomDamage) {
  std::mt19937 random(7);
  int opened = 0, refused = 0;
  for (int round = 0; round < 60; ++round) {
    const std::string directory = Filled(60);
    auto segments = Segments(directory);
    const fs::path victim = segments[random() % segments.size()];
    std::string bytes = ReadAll(victim);
    switch (random() % 3) {
      case 0:
        for (int i = 0; i < 3; ++i)
          bytes[random() % bytes.size()] ^= static_cast<char>(1 + random() % 255);
        break;
      case 1:
        bytes.resize(random() % bytes.size());
        break;
      default:
        bytes.insert(random() % bytes.size(),
                     std::string(1 + random() % 40, static_cast<char>(random())));
        break;
    }
    WriteAll(victim, bytes);
    auto store = JournalStore::Open(directory, SmallSegments());
    if (store.ok()) {
      ++opened;
      EXPECT_LE(CountKeys(**store), 60u);
    } else {
      ++refused;
      EXPECT_TRUE(store.status().code() == ErrorCode::kCorruption ||
                  store.status().code() == ErrorCode::kUnsupportedVersion)
          << store.status().ToString();
    }
  }
  EXPECT_GT(opened + refused, 0);
}

}  // namespace
}  // namespace ferry::testing
