// The Ferry demo: two clients syncing with a local ferry-server.
//
//   ferry-demo --endpoint http://127.0.0.1:PORT --token TOKEN --dir DIR [--count 3000]
//
// Client A writes documents while offline, goes online and pushes them with a
// progress bar; client B starts empty and pulls them; both edit (some of the
// same documents), sync, and the demo checks they converged and prints a
// summary. scripts/demo.sh starts the server and runs this.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "ferry/client.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void DrawBar(const char* label, uint64_t done, uint64_t total) {
  constexpr int kWidth = 40;
  const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / total);
  const int filled = static_cast<int>(fraction * kWidth);
  std::printf("\r  %-6s [%s%s] %6llu/%llu", label, std::string(filled, '#').c_str(),
              std::string(kWidth - filled, '.').c_str(), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(total));
  std::fflush(stdout);
}

// Prints push and pull progress bars for one client's sync runs. The pull
// bar needs a known total, so it is drawn only while `expected_pull` is set.
void ShowProgress(ferry::Client& client, const std::atomic<uint64_t>& expected_pull) {
  client.AddEventListener([&expected_pull](const ferry::Event& event) {
    if (auto* progress = std::get_if<ferry::SyncProgressEvent>(&event)) {
      if (progress->phase == ferry::SyncPhase::kPush) {
        DrawBar("push", progress->push_done, progress->push_total);
      } else if (const uint64_t expected = expected_pull.load(); expected > 0) {
        DrawBar("pull", progress->pulled, expected);
      }
    }
  });
}

ferry::SyncRunRecord MustSync(ferry::Client& client, const char* who) {
  auto run = client.SyncNow();
  if (!run.ok() || run->outcome != ferry::RunOutcome::kCompleted) {
    std::fprintf(stderr, "\nsync of %s failed: %s\n", who,
                 run.ok() ? run->error.c_str() : run.status().ToString().c_str());
    std::exit(1);
  }
  if (run->pushed + run->pulled > 0) std::printf("\n");
  return *run;
}

void Must(const ferry::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint, token, dir;
  int count = 3000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--endpoint") endpoint = argv[i + 1];
    if (flag == "--token") token = argv[i + 1];
    if (flag == "--dir") dir = argv[i + 1];
    if (flag == "--count") count = std::atoi(argv[i + 1]);
  }
  if (endpoint.empty() || token.empty() || dir.empty() || count <= 0) {
    std::fprintf(stderr, "usage: ferry-demo --endpoint URL --token TOKEN --dir DIR [--count N]\n");
    return 2;
  }
  const auto open = [&](const char* name) {
    ferry::ClientOptions options;
    options.path = dir + "/" + name + ".db";
    options.endpoint = endpoint;
    options.token_provider = [token](bool /*refresh*/) { return token; };
    options.engine.live_updates = false;         // the demo drives each sync itself, step by step
    options.engine.sync_on_local_write = false;  // the demo syncs explicitly, to show each step
    auto client = ferry::Client::Open(std::move(options));
    if (!client.ok()) {
      std::fprintf(stderr, "cannot open client %s: %s\n", name, client.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(*client);
  };
  const auto demo_start = Clock::now();
  uint64_t pushed = 0, pulled = 0, conflicts = 0;

  std::printf("1. Client A is offline and writes %d notes\n", count);
  auto a = open("client-a");
  a->SetOnline(false);
  auto write_start = Clock::now();
  for (int i = 0; i < count; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "note-%05d", i);
    Must(a->Put("notes", key, {{"title", "Note " + std::to_string(i)}, {"done", false}, {"n", i}}),
         "write");
  }
  std::printf("   %d durable writes in %.2f s; status: %s, %zu pending\n", count,
              SecondsSince(write_start),
              std::string(ferry::SyncStateName(a->status().state)).c_str(), a->status().pending);

  std::printf("2. Client A goes online and syncs\n");
  std::atomic<uint64_t> expected_pull{0};
  ShowProgress(*a, expected_pull);
  a->SetOnline(true);
  auto run = MustSync(*a, "client A");
  pushed += run.pushed;
  std::printf("   pushed %llu in %.2f s\n", static_cast<unsigned long long>(run.pushed),
              (run.finished_at - run.started_at) / 1000.0);

  std::printf("3. Client B starts empty and pulls\n");
  auto b = open("client-b");
  ShowProgress(*b, expected_pull);
  expected_pull = static_cast<uint64_t>(count);
  run = MustSync(*b, "client B");
  expected_pull = 0;
  pulled += run.pulled;
  std::printf("   pulled %llu in %.2f s\n", static_cast<unsigned long long>(run.pulled),
              (run.finished_at - run.started_at) / 1000.0);

  std::printf("4. Both edit: A marks notes done, B renames others, both touch note-00000..00002\n");
  for (int i = 0; i < 10; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "note-%05d", i);
    Must(a->Patch("notes", key, {{"done", true}}), "patch");
  }
  for (int i = 0; i < 3; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "note-%05d", i);
    Must(b->Patch("notes", key, {{"title", "Renamed by B"}}), "patch");
  }
  for (int i = 100; i < 110; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "note-%05d", i);
    Must(b->Patch("notes", key, {{"title", "Edited by B"}}), "patch");
  }
  Must(b->Remove("notes", "note-00200"), "remove");
  run = MustSync(*a, "client A");
  pushed += run.pushed;
  pulled += run.pulled;
  run = MustSync(*b, "client B");
  pushed += run.pushed;
  pulled += run.pulled;
  conflicts += run.conflicts;
  run = MustSync(*a, "client A");
  pulled += run.pulled;

  auto scan_a = a->Scan("notes");
  auto scan_b = b->Scan("notes");
  const bool converged = scan_a.ok() && scan_b.ok() && *scan_a == *scan_b;
  auto note = a->Get("notes", "note-00001");
  std::printf("\nSummary\n");
  std::printf("  pushed:     %llu mutations\n", static_cast<unsigned long long>(pushed));
  std::printf("  pulled:     %llu documents\n", static_cast<unsigned long long>(pulled));
  std::printf("  conflicts:  %llu (resolved server-wins: B's renames of notes A had changed)\n",
              static_cast<unsigned long long>(conflicts));
  std::printf("  documents:  A has %zu, B has %zu; %s\n", scan_a.ok() ? scan_a->size() : 0,
              scan_b.ok() ? scan_b->size() : 0, converged ? "converged" : "NOT converged");
  if (note.ok() && note->has_value()) std::printf("  note-00001: %s\n", (*note)->dump().c_str());
  std::printf("  time:       %.2f s\n", SecondsSince(demo_start));
  return converged ? 0 : 1;
}
