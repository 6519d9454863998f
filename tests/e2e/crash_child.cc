// The process the crash-loop tests (reliability_test.cc) SIGKILL at random
// moments. It works until killed and reports on stdout, one line per step,
// what has become durable, so the parent can check nothing acknowledged is
// lost after the restart:
//
//   crash_child client ENDPOINT DB TAG   writes "crash/TAG-<i>" documents one
//       after another through a Client (SQLite store, libcurl) that syncs on its
//       own; prints "ready <i>" (the first write it will make: all before it
//       are in its store), "w <i>" once Put(i) has returned, and "s+" / "s-"
//       around every sync run.
//   crash_child journal DIR              commits numbered batches to a
//       JournalStore with small segments, compacting every 40 commits; prints
//       "ready <n>" (the next commit: all before it were recovered), "c <n>"
//       once commit n has returned, "x+" / "x-" around each compaction.
//
// Lines are written with write(2), so each is whole in the pipe even when
// several threads report.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "ferry/client.h"
#include "ferry/store_journal.h"

namespace {

void Say(const std::string& line) {
  const std::string text = line + "\n";
  if (write(STDOUT_FILENO, text.data(), text.size()) < 0) _exit(3);  // the parent is gone
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "crash_child: %s\n", what.c_str());
  return 1;
}

int RunClient(const std::string& endpoint, const std::string& db, const std::string& tag) {
  ferry::ClientOptions options;
  options.endpoint = endpoint;
  options.path = db;
  options.token_provider = [](bool) { return std::string("token-alice"); };
  options.engine.live_updates = false;
  options.engine.sync_on_local_write = true;
  options.engine.local_write_debounce_ms = 5;
  options.engine.batch.max_count = 10;
  options.engine.backoff_base_ms = 20;
  options.engine.backoff_max_ms = 100;
  auto opened = ferry::Client::Open(options);
  if (!opened.ok()) return Fail(opened.status().ToString());
  ferry::Client& client = **opened;
  client.AddEventListener([](const ferry::Event& event) {
    if (std::holds_alternative<ferry::SyncStartedEvent>(event)) Say("s+");
    if (std::holds_alternative<ferry::SyncCompletedEvent>(event) ||
        std::holds_alternative<ferry::SyncFailedEvent>(event)) {
      Say("s-");
    }
  });
  client.StartBackgroundSync(30);  // pulls the parent's writes as well
  // Carries on from the writes the store already holds (all durable ones).
  auto existing = client.Scan("crash");
  if (!existing.ok()) return Fail(existing.status().ToString());
  int next = 0;
  const std::string prefix = tag + "-";
  for (const auto& [key, value] : *existing)
    if (key.rfind(prefix, 0) == 0) ++next;
  Say("ready " + std::to_string(next));
  for (int i = next;; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "%s-%07d", tag.c_str(), i);
    auto written = client.Put("crash", key, ferry::Json{{"i", i}, {"pad", std::string(200, 'p')}});
    if (!written.ok()) return Fail(written.ToString());
    Say("w " + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

int RunJournal(const std::string& directory) {
  ferry::JournalStore::Options options;
  options.segment_bytes = 4096;  // many segments, so kills land on roll-overs too
  options.compaction_min_bytes = 16 * 1024;
  auto opened = ferry::JournalStore::Open(directory, options);
  if (!opened.ok()) return Fail(opened.status().ToString());
  ferry::JournalStore& store = **opened;
  auto next_text = store.Get("next");
  if (!next_text.ok()) return Fail(next_text.status().ToString());
  long next = *next_text ? std::stol(**next_text) : 0;
  Say("ready " + std::to_string(next));
  for (long n = next;; ++n) {
    // "next" and the commit's own key land together or not at all; the "slot"
    // keys are overwritten over and over, which makes garbage to compact.
    ferry::WriteBatch batch;
    batch.Put("next", std::to_string(n + 1));
    batch.Put("commit/" + std::to_string(n), std::string(64, 'c'));
    batch.Put("slot/" + std::to_string(n % 50), std::to_string(n) + std::string(300, 's'));
    auto committed = store.Commit(batch);
    if (!committed.ok()) return Fail(committed.ToString());
    Say("c " + std::to_string(n));
    if (n % 40 == 39) {
      Say("x+");
      auto compacted = store.Compact();
      if (!compacted.ok()) return Fail(compacted.ToString());
      Say("x-");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "client") == 0) return RunClient(argv[2], argv[3], argv[4]);
  if (argc == 3 && std::strcmp(argv[1], "journal") == 0) return RunJournal(argv[2]);
  std::fprintf(stderr, "usage: crash_child client ENDPOINT DB TAG | crash_child journal DIR\n");
  return 2;
}
