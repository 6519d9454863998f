// Live queries (issue 18): a write that changes a live query's page, until
// that page comes out. Every figure is measured beside its peer in the same
// run, interleaved, so the ratios hold on a shared, noisy machine.
//
//   live_query_bench DIR [N]     N tasks (default 100,000 x FERRY_BENCH_SCALE)
//
// Engine ("live-query"): two engines over two stores (SQLite as the native
// Client opens it, then the memory store) that declare an index on
// ["project", "due"] and hold the same N tasks (batches of 1,000). One
// subscribes a live query; then single local writes that change its page,
// entering, moving within and leaving it in turn, go to both engines, the
// first one alternating. Timed on the subscribed one: from just before
// HandleLocalWrite until its QueryChangedEvent comes out of PollAction (and
// when HandleLocalWrite returned: the write's own part). On the other: the
// same write alone (HandleLocalWrite, then every action polled), and
// re-running the query after it (RunQuery), what an app without live
// queries would do. Two live queries, each in its own pass: a page through
// the index (project eq, orderBy due, limit 100) and one the index does not
// serve (state eq, orderBy due, limit 100), whose page is re-read by a scan
// whenever a document leaves it.
//
// Client ("live-query-client"): the same through ferry::Client on SQLite
// (the indexed query only): from just before Put until the listener added
// with AddEventListener runs on the owner thread with the page; the peer is
// Put on a second client with no live query, interleaved.
//
// Each page must be the re-run query's answer on the other store, and hold
// the written document (entering, moving) or not (leaving); the run aborts
// otherwise. Output: one JSON object per line.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "ferry/client.h"
#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "ferry/store_sqlite.h"
#include "query_tasks.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ferry;
using ferry::bench::Max;
using ferry::bench::Median;
using ferry::bench::Min;
using ferry::bench::Percentile;
using ferry::bench::Task;
using ferry::bench::TaskKey;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "live_query_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& status, const char* what) {
  if (!status.ok()) Fail(std::string(what) + ": " + status.ToString());
}

double Micros(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::micro>(end - start).count();
}

EngineOptions Options() {
  EngineOptions options;
  options.sync_on_local_write = false;
  options.live_updates = false;
  options.random_seed = 1;
  options.indexes = {{"tasks", "", {{"project"}, {"due"}}}};
  Check(ValidateIndexes(options.indexes), "indexes");
  return options;
}

Query ParseQuery(const std::string& text) {
  auto query = QueryFromText(text);
  if (!query.ok()) Fail("query: " + query.status().ToString());
  return std::move(*query);
}

// A live query and how a write moves a document into or out of its page.
struct Scenario {
  const char* name;
  std::string text;
  const char* field;  // the filtered field
  const char* in;     // a value it admits
  const char* out;    // one it does not
  bool indexed;       // ExplainQuery must say so
};

std::vector<Scenario> Scenarios() {
  return {
      {"indexed",
       R"({"collection":"tasks","where":{"path":"project","eq":"p42"},)"
       R"("orderBy":[{"path":"due"}],"limit":100})",
       "project", "p42", "p43", true},
      {"scan",
       R"({"collection":"tasks","where":{"path":"state","eq":"blocked"},)"
       R"("orderBy":[{"path":"due"}],"limit":100})",
       "state", "blocked", "open", false},
  };
}

constexpr const char* kKinds[] = {"enter", "move", "leave"};

bool Holds(const QueryPage& page, const std::string& key) {
  return std::any_of(page.documents.begin(), page.documents.end(),
                     [&](const auto& document) { return document.first == key; });
}

// A due date that sorts inside the page whatever the document's key: the
// middle one's or the first one's when it comes before the last one's; else
// (the page shares one date) a string just before the first one's.
Json EnteringDue(const QueryPage& page) {
  const auto due = [&](std::size_t i) {
    return page.documents[i].second["due"].get<std::string>();
  };
  const std::string last = due(page.documents.size() - 1);
  if (due(page.documents.size() / 2) < last) return due(page.documents.size() / 2);
  std::string first = due(0);
  if (first < last) return first;
  --first.back();  // "2026-01-01" -> "2026-01-00"
  return first;
}

// The write number `i` makes to `page` (kind i % 3): a task outside the page
// enters it (the filtered field set to admit it, due among the page's), a
// member moves (due set to the first one's) or leaves (the field set to
// one the query does not admit). `serial` makes each value new.
struct Change {
  int kind;
  std::string key;
  Json value;
};
Change MakeChange(const Scenario& scenario, const QueryPage& page, std::mt19937& random, int n,
                  int i) {
  if (page.documents.size() < 3) Fail("the page has fewer than 3 documents");
  Change change;
  change.kind = i % 3;
  const auto& documents = page.documents;
  const auto member = [&] { return 1 + random() % (documents.size() - 1); };
  if (change.kind == 0) {
    int target;
    do {
      target = static_cast<int>(random() % static_cast<unsigned>(n));
    } while (Holds(page, TaskKey(target)));
    change.key = TaskKey(target);
    change.value = Task(random, target);
    change.value[scenario.field] = scenario.in;
    change.value["due"] = EnteringDue(page);
  } else {
    const auto& [key, value] = documents[member()];
    change.key = key;
    change.value = value;
    if (change.kind == 1) {
      change.value["due"] = documents.front().second["due"];
    } else {
      change.value[scenario.field] = scenario.out;
    }
  }
  change.value["title"] = "Changed " + std::to_string(i);
  return change;
}

// The page must hold the written document or not, as the change says.
void CheckPage(const QueryPage& page, const Change& change) {
  const bool expected = change.kind != 2;
  if (Holds(page, change.key) != expected)
    Fail(std::string(kKinds[change.kind]) + " " + change.key + ": the page " +
         (expected ? "lacks" : "holds") + " it");
}

std::unique_ptr<Store> OpenStore(const std::string& kind, const std::string& path) {
  if (kind == "memory") return std::make_unique<MemoryStore>();
  Check(SqliteStore::Destroy(path), "destroy");
  auto store = SqliteStore::Open(path);
  if (!store.ok()) Fail(store.status().ToString());
  return std::move(*store);
}

void Drain(SyncEngine& engine) {
  while (engine.PollAction()) {
  }
}

// The figures of one series of samples, in microseconds, as JSON fields.
void Figures(Json& line, const std::string& name, const std::vector<double>& us) {
  line[name + "_p50_us"] = Median(us);
  line[name + "_p99_us"] = Percentile(us, 0.99);
  line[name + "_max_us"] = Max(us);
  line[name + "_min_us"] = Min(us);
}

void RunEngine(const std::string& kind, const std::string& dir, int n, int writes_indexed,
               int writes_scan) {
  TimeMs now = 1'700'000'000'000;
  std::unique_ptr<Store> stores[2] = {OpenStore(kind, dir + "/live-query-a.db"),
                                      OpenStore(kind, dir + "/live-query-b.db")};
  std::unique_ptr<SyncEngine> engines[2];
  for (int s = 0; s < 2; ++s) {
    auto engine = SyncEngine::Open(*stores[s], Options(), now);
    if (!engine.ok()) Fail(engine.status().ToString());
    engines[s] = std::move(*engine);
  }
  SyncEngine& live = *engines[0];  // subscribes
  SyncEngine& peer = *engines[1];  // does not
  std::mt19937 random(42);
  for (int first = 0; first < n; first += 1000) {
    std::vector<LocalWrite> batch;
    for (int i = first; i < std::min(n, first + 1000); ++i)
      batch.push_back({MutationOp::kPut, {"tasks", TaskKey(i)}, Task(random, i)});
    ++now;
    for (auto& engine : engines) {
      if (!engine->HandleLocalWrites(batch, now).ok()) Fail("bulk write");
      Drain(*engine);
    }
  }

  uint64_t id = 0;
  for (const Scenario& scenario : Scenarios()) {
    const int writes = scenario.indexed ? writes_indexed : writes_scan;
    const Query query = ParseQuery(scenario.text);
    const Json plan = live.ExplainQuery(query);
    if (plan["index"].is_null() == scenario.indexed)
      Fail(std::string(scenario.name) + ": unexpected plan " + plan.dump());
    Check(live.SubscribeQuery(++id, query), "subscribe");
    std::shared_ptr<const QueryUpdate> update;
    while (auto action = live.PollAction()) {
      if (auto* event = std::get_if<Event>(&*action)) {
        if (auto* changed = std::get_if<QueryChangedEvent>(event)) update = changed->update;
      }
    }
    if (!update) Fail("no first page");
    std::vector<double> total, write_part, alone, rerun, by_kind[3];
    for (int i = 0; i < writes; ++i) {
      const Change change = MakeChange(scenario, update->page, random, n, i);
      ++now;
      for (int turn = 0; turn < 2; ++turn) {
        if ((turn + i) % 2 == 0) {
          const auto start = Clock::now();
          auto seq =
              live.HandleLocalWrite(MutationOp::kPut, {"tasks", change.key}, change.value, now);
          const auto written = Clock::now();
          if (!seq.ok()) Fail("write: " + seq.status().ToString());
          std::shared_ptr<const QueryUpdate> next;
          while (!next) {
            auto action = live.PollAction();
            if (!action) Fail(std::string(kKinds[change.kind]) + ": no page for " + change.key);
            if (auto* event = std::get_if<Event>(&*action)) {
              if (auto* changed = std::get_if<QueryChangedEvent>(event)) {
                if (changed->query == id) next = changed->update;
              }
            }
          }
          const auto delivered = Clock::now();
          Drain(live);
          total.push_back(Micros(start, delivered));
          write_part.push_back(Micros(start, written));
          by_kind[change.kind].push_back(total.back());
          update = std::move(next);
        } else {
          auto start = Clock::now();
          auto seq =
              peer.HandleLocalWrite(MutationOp::kPut, {"tasks", change.key}, change.value, now);
          if (!seq.ok()) Fail("write: " + seq.status().ToString());
          Drain(peer);
          alone.push_back(Micros(start, Clock::now()));
        }
      }
      // Re-running the query on the peer: the same answer as the live page.
      const auto start = Clock::now();
      auto answer = peer.RunQuery(query);
      rerun.push_back(Micros(start, Clock::now()));
      if (!answer.ok()) Fail("query: " + answer.status().ToString());
      CheckPage(update->page, change);
      if (answer->documents != update->page.documents || answer->next != update->page.next)
        Fail(std::string(kKinds[change.kind]) + " " + change.key +
             ": the live page differs from the query's answer");
    }
    if (!live.UnsubscribeQuery(id)) Fail("unsubscribe");
    Json line = {{"bench", "live-query"},
                 {"store", kind},
                 {"n", n},
                 {"query", scenario.name},
                 {"text", scenario.text},
                 {"plan", plan},
                 {"writes", writes},
                 {"results", update->page.documents.size()}};
    Figures(line, "live", total);
    Figures(line, "live_write", write_part);
    Figures(line, "alone", alone);
    Figures(line, "rerun", rerun);
    for (int k = 0; k < 3; ++k)
      Figures(line, std::string("live_") + kKinds[k], by_kind[k]);
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
}

// What the listener of a Client's live query saw last.
struct Inbox {
  std::mutex mutex;
  std::condition_variable arrived;
  std::shared_ptr<const QueryUpdate> update;
  Clock::time_point at;
  uint64_t pages = 0;
};

std::unique_ptr<Client> OpenClient(const std::string& path) {
  Check(Client::DeleteLocalData(path), "delete");
  ClientOptions options;
  options.path = path;
  options.endpoint = "http://127.0.0.1:9";  // never reached: no sync runs
  options.engine = Options();
  auto client = Client::Open(std::move(options));
  if (!client.ok()) Fail(client.status().ToString());
  return std::move(*client);
}

void RunClient(const std::string& dir, int n, int writes) {
  std::unique_ptr<Client> clients[2] = {OpenClient(dir + "/live-query-client-a.db"),
                                        OpenClient(dir + "/live-query-client-b.db")};
  std::mt19937 random(42);
  for (int first = 0; first < n; first += 1000) {
    std::vector<LocalWrite> batch;
    for (int i = first; i < std::min(n, first + 1000); ++i)
      batch.push_back({MutationOp::kPut, {"tasks", TaskKey(i)}, Task(random, i)});
    for (auto& client : clients)
      Check(client->Write(batch), "bulk write");
  }
  const Scenario scenario = Scenarios().front();
  const Query query = ParseQuery(scenario.text);
  constexpr uint64_t kId = 7;
  Inbox inbox;
  clients[0]->AddEventListener([&inbox](const Event& event) {
    const auto* changed = std::get_if<QueryChangedEvent>(&event);
    if (changed == nullptr || changed->query != kId) return;
    const auto at = Clock::now();
    {
      std::lock_guard lock(inbox.mutex);
      inbox.update = changed->update;
      inbox.at = at;
      ++inbox.pages;
    }
    inbox.arrived.notify_one();
  });
  const auto wait_for = [&](uint64_t pages) {
    std::unique_lock lock(inbox.mutex);
    if (!inbox.arrived.wait_for(lock, std::chrono::seconds(10),
                                [&] { return inbox.pages >= pages; }))
      Fail("no page from the client's live query");
    if (inbox.pages != pages) Fail("more pages than writes");
    return std::pair(inbox.update, inbox.at);
  };
  Check(clients[0]->SubscribeQuery(kId, query), "subscribe");
  auto [update, ignored] = wait_for(1);
  std::vector<double> total, put_part, alone, by_kind[3];
  for (int i = 0; i < writes; ++i) {
    const Change change = MakeChange(scenario, update->page, random, n, i);
    for (int turn = 0; turn < 2; ++turn) {
      if ((turn + i) % 2 == 0) {
        const auto start = Clock::now();
        Check(clients[0]->Put("tasks", change.key, change.value), "put");
        const auto written = Clock::now();
        auto [next, at] = wait_for(static_cast<uint64_t>(i) + 2);
        total.push_back(Micros(start, at));
        put_part.push_back(Micros(start, written));
        by_kind[change.kind].push_back(total.back());
        update = std::move(next);
      } else {
        const auto start = Clock::now();
        Check(clients[1]->Put("tasks", change.key, change.value), "put");
        alone.push_back(Micros(start, Clock::now()));
      }
    }
    CheckPage(update->page, change);
  }
  // The last page is the query's answer on the other client.
  auto answer = clients[1]->RunQuery(query);
  if (!answer.ok() || answer->documents != update->page.documents)
    Fail("the client's live page differs from the query's answer");
  Json line = {{"bench", "live-query-client"},
               {"store", "sqlite"},
               {"n", n},
               {"query", scenario.name},
               {"text", scenario.text},
               {"writes", writes},
               {"results", update->page.documents.size()}};
  Figures(line, "live", total);
  Figures(line, "live_put", put_part);
  Figures(line, "alone", alone);
  for (int k = 0; k < 3; ++k)
    Figures(line, std::string("live_") + kKinds[k], by_kind[k]);
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Fail("usage: live_query_bench DIR [N]");
  const std::string dir = argv[1];
  const char* scale_text = std::getenv("FERRY_BENCH_SCALE");
  const double scale = scale_text != nullptr ? std::atof(scale_text) : 1.0;
  const int n = argc > 2 ? std::atoi(argv[2]) : std::max(1000, static_cast<int>(100000 * scale));
  // Writes per pass (each kind a third): the unindexed query's peer scans
  // the collection after every write, so it gets fewer.
  const char* writes_text = std::getenv("FERRY_BENCH_LIVE_WRITES");
  const int writes = writes_text != nullptr ? std::max(3, std::atoi(writes_text)) : 1500;
  const int writes_scan = std::max(30, writes / 25);
  RunEngine("sqlite", dir, n, writes, writes_scan);
  RunEngine("memory", dir, n, writes, writes_scan);
  RunClient(dir, n, writes);
  return 0;
}
