// Fuzzes JournalStore recovery with arbitrary segment files. The input's
// first byte picks the first segment's number (1 + byte % 8); the rest is
// split on the marker "\xF0SEG" into the segment files, and HEAD names the
// last one. Properties:
//   - Open returns a store or a clear error, never crashes;
//   - a recovered store accepts a commit, and reopening it gives back the same
//     entries plus that commit (recovery is stable and nothing it kept is lost).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "ferry/store_journal.h"
#include "fuzz_check.h"

namespace {

std::map<std::string, std::string> Contents(ferry::Store& store) {
  std::map<std::string, std::string> entries;
  FERRY_FUZZ_CHECK(store
                       .Scan("", "",
                             [&](std::string_view key, std::string_view value) {
                               entries[std::string(key)] = std::string(value);
                               return true;
                             })
                       .ok(),
                   "a recovered store can be scanned");
  return entries;
}

const std::string& Directory() {
  static const std::string directory = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ferry-fuzz-journal-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return directory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string& directory = Directory();
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    std::filesystem::remove(entry.path());
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  unsigned number = 1 + data[0] % 8;
  constexpr std::string_view kMarker("\xF0SEG", 4);
  while (true) {
    const std::size_t end = rest.find(kMarker);
    char name[32];
    std::snprintf(name, sizeof name, "/seg-%08u.fj", number);
    std::ofstream(directory + name, std::ios::binary) << rest.substr(0, end);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + kMarker.size());
    ++number;
  }
  std::ofstream(directory + "/HEAD") << number << "\n";

  ferry::JournalStore::Options options;
  options.segment_bytes = 1024;  // small, so commits roll over and compact too
  options.compaction_min_bytes = 4096;
  std::map<std::string, std::string> expected;
  {
    auto store = ferry::JournalStore::Open(directory, options);
    if (!store.ok()) return 0;  // a clear error is a fine answer to damage
    expected = Contents(**store);
    FERRY_FUZZ_CHECK((*store)->Put("fuzz/after", "committed").ok(),
                     "a recovered store accepts a commit");
    expected["fuzz/after"] = "committed";
  }
  auto reopened = ferry::JournalStore::Open(directory, options);
  FERRY_FUZZ_CHECK(reopened.ok(), "a store that opened and committed opens again");
  FERRY_FUZZ_CHECK(Contents(**reopened) == expected, "reopening keeps every entry and the commit");
  return 0;
}
