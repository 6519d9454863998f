// The same core workload natively and in WebAssembly (Node): local writes
// through SyncEngine into a JournalStore, reads, and a full push + pull
// against the model server in process. Compare the two builds' ops/s.
//
//   core_bench DIR [N]     prints one JSON line
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ferry/engine.h"
#include "ferry/server_apply.h"
#include "ferry/store_journal.h"
#include "ferry/store_memory.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ferry;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "core_bench: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Fail("usage: core_bench DIR [N]");
  const std::string dir = argv[1];
  const int n = argc > 2 ? std::atoi(argv[2]) : 20000;
  auto store = JournalStore::Open(dir + "/core-bench-journal");
  if (!store.ok()) Fail(store.status().ToString());
  EngineOptions options;
  options.sync_on_local_write = false;
  options.random_seed = 1;
  TimeMs now = 1'700'000'000'000;
  auto engine = SyncEngine::Open(**store, options, now);
  if (!engine.ok()) Fail(engine.status().ToString());

  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    Json value = {
        {"title", "Document " + std::to_string(i)}, {"body", std::string(120, 'b')}, {"n", i}};
    if (!(*engine)
             ->HandleLocalWrite(MutationOp::kPut, {"docs", "d" + std::to_string(i)}, value, ++now)
             .ok()) {
      Fail("write failed");
    }
    while ((*engine)->PollAction()) {
    }
  }
  const double write_seconds = Seconds(start);

  start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto value = (*engine)->Get({"docs", "d" + std::to_string(i)});
    if (!value.ok() || !value->has_value()) Fail("read failed");
  }
  const double read_seconds = Seconds(start);

  MemoryStore server_store;
  ServerState server(server_store, "bench");
  start = Clock::now();
  (*engine)->HandleTrigger(TriggerReason::kManual, ++now);
  bool done = false;
  while (!done) {
    auto action = (*engine)->PollAction();
    if (!action) Fail("the sync stalled");
    if (auto* send = std::get_if<SendRequest>(&*action)) {
      ServerHttpResponse answer = HandleServerRequest(server, "u", send->request.method,
                                                      send->request.target, send->request.body);
      (*engine)->HandleResponse(send->request.id, {answer.status, answer.body, "", ""}, ++now);
    } else if (auto* event = std::get_if<Event>(&*action)) {
      if (std::holds_alternative<SyncCompletedEvent>(*event)) done = true;
      if (std::holds_alternative<SyncFailedEvent>(*event)) Fail("the sync failed");
    }
  }
  const double sync_seconds = Seconds(start);
  std::printf(
      "{\"bench\":\"core\",\"n\":%d,\"writes_per_s\":%.0f,\"reads_per_s\":%.0f,\"synced_docs_per_"
      "s\":%.0f}\n",
      n, n / write_seconds, n / read_seconds, n / sync_seconds);
  return 0;
}
