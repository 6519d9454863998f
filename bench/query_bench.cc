// Local queries (issue 18): the same query answered through an index and by
// a scan of the collection, and what declared indexes cost local writes.
// Every figure is measured beside its peer in the same run, interleaved, so
// the ratios hold on a shared, noisy machine.
//
//   query_bench DIR [N]     N tasks (default 100,000 x FERRY_BENCH_SCALE)
//
// For each store (SQLite as the native Client opens it, then the memory
// store), three engines over three fresh stores declare 0, 1 and 3 indexes
// on "tasks" and receive the same writes: N new tasks in batches of 1,000
// (HandleLocalWrites, one durable commit each, as Client::Write), then N/50
// single puts replacing existing tasks (HandleLocalWrite, one commit each).
// Then the queries run on the store without indexes (a scan) and on the one
// with the index on ["project", "due"], alternating; the store with three
// indexes answers each once, untimed. Each query must give the same answer
// on all three, and the page 100 documents (at 100,000 tasks; at smaller
// sizes as many as match, up to 100), or the run aborts.
//
// Output: one JSON object per line ("query-writes", "query").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "ferry/store_sqlite.h"
#include "query_tasks.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ferry;
using ferry::bench::Median;
using ferry::bench::Min;
using ferry::bench::Percentile;
using ferry::bench::Task;
using ferry::bench::TaskKey;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "query_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& status, const char* what) {
  if (!status.ok()) Fail(std::string(what) + ": " + status.ToString());
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<IndexDeclaration> Indexes(int count) {
  std::vector<IndexDeclaration> all = {
      {"tasks", "", {{"project"}, {"due"}}},
      {"tasks", "", {{"state"}, {"priority"}}},
      {"tasks", "", {{"due"}}},
  };
  all.resize(static_cast<std::size_t>(count));
  Check(ValidateIndexes(all), "indexes");
  return all;
}

constexpr int kIndexCounts[] = {0, 1, 3};
constexpr int kStores = 3;

struct Subject {
  std::unique_ptr<Store> store;
  std::unique_ptr<SyncEngine> engine;
};

void Drain(SyncEngine& engine) {
  while (engine.PollAction()) {
  }
}

Query ParseQuery(const char* text) {
  auto query = QueryFromText(text);
  if (!query.ok()) Fail(std::string("query: ") + query.status().ToString());
  return std::move(*query);
}

// One query, timed on the scanning store and the indexed one in turn.
struct Case {
  const char* name;
  const char* text;
  bool count;  // CountQuery; else RunQuery
};

// Answers `query` on `engine`: the page as JSON, or the count.
Json Answer(SyncEngine& engine, const Query& query, bool count) {
  if (count) {
    auto n = engine.CountQuery(query);
    if (!n.ok()) Fail("count: " + n.status().ToString());
    return Json(*n);
  }
  auto page = engine.RunQuery(query);
  if (!page.ok()) Fail("query: " + page.status().ToString());
  return QueryPageToJson(*page);
}

std::size_t ResultCount(const Json& answer, bool count) {
  return count ? answer.get<std::size_t>() : answer["documents"].size();
}

void RunStore(const std::string& kind, const std::string& dir, int n, int rounds) {
  Subject subjects[kStores];
  TimeMs now = 1'700'000'000'000;
  for (int s = 0; s < kStores; ++s) {
    if (kind == "sqlite") {
      const std::string path = dir + "/query-bench-" + std::to_string(kIndexCounts[s]) + ".db";
      Check(SqliteStore::Destroy(path), "destroy");
      auto store = SqliteStore::Open(path);
      if (!store.ok()) Fail(store.status().ToString());
      subjects[s].store = std::move(*store);
    } else {
      subjects[s].store = std::make_unique<MemoryStore>();
    }
    EngineOptions options;
    options.sync_on_local_write = false;
    options.random_seed = 1;
    options.indexes = Indexes(kIndexCounts[s]);
    auto engine = SyncEngine::Open(*subjects[s].store, std::move(options), now);
    if (!engine.ok()) Fail(engine.status().ToString());
    subjects[s].engine = std::move(*engine);
  }

  // Bulk: the same batches to each store in turn, the first store rotating.
  constexpr int kBatch = 1000;
  std::vector<double> batch_seconds[kStores];
  double bulk_total[kStores] = {};
  std::mt19937 random(42);
  for (int first = 0; first < n; first += kBatch) {
    std::vector<LocalWrite> writes;
    for (int i = first; i < std::min(n, first + kBatch); ++i)
      writes.push_back({MutationOp::kPut, {"tasks", TaskKey(i)}, Task(random, i)});
    ++now;
    for (int turn = 0; turn < kStores; ++turn) {
      const int s = (turn + first / kBatch) % kStores;
      const auto start = Clock::now();
      auto seqs = subjects[s].engine->HandleLocalWrites(writes, now);
      if (!seqs.ok()) Fail("bulk write: " + seqs.status().ToString());
      Drain(*subjects[s].engine);
      const double seconds = Seconds(start);
      if (writes.size() == kBatch) batch_seconds[s].push_back(seconds);
      bulk_total[s] += seconds;
    }
  }

  // Single durable writes replacing existing tasks (so each moves its index
  // entries), the same sequence on each store, the first store rotating.
  const int singles = std::max(100, n / 50);
  std::vector<double> single_seconds[kStores];
  for (int i = 0; i < singles; ++i) {
    const int target = static_cast<int>(random() % static_cast<unsigned>(n));
    const Json value = Task(random, target);
    ++now;
    for (int turn = 0; turn < kStores; ++turn) {
      const int s = (turn + i) % kStores;
      const auto start = Clock::now();
      auto seq = subjects[s].engine->HandleLocalWrite(MutationOp::kPut, {"tasks", TaskKey(target)},
                                                      value, now);
      if (!seq.ok()) Fail("single write: " + seq.status().ToString());
      Drain(*subjects[s].engine);
      single_seconds[s].push_back(Seconds(start));
    }
  }
  for (int s = 0; s < kStores; ++s) {
    std::vector<double> rates;
    for (double seconds : batch_seconds[s])
      rates.push_back(kBatch / seconds);
    const Json line = {
        {"bench", "query-writes"},
        {"store", kind},
        {"n", n},
        {"indexes", kIndexCounts[s]},
        {"batch", kBatch},
        {"batches", batch_seconds[s].size()},
        {"bulk_median_docs_per_s", Median(rates)},
        {"bulk_best_docs_per_s", *std::max_element(rates.begin(), rates.end())},
        {"bulk_total_docs_per_s", n / bulk_total[s]},
        {"singles", singles},
        {"single_p50_us", Median(single_seconds[s]) * 1e6},
        {"single_p99_us", Percentile(single_seconds[s], 0.99) * 1e6},
        {"single_min_us", Min(single_seconds[s]) * 1e6},
    };
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }

  const Case cases[] = {
      {"page",
       R"({"collection":"tasks","where":{"path":"project","eq":"p42"},)"
       R"("orderBy":[{"path":"due"}],"limit":100})",
       false},
      {"count", R"({"collection":"tasks","where":{"path":"project","eq":"p42"}})", true},
      {"range",
       R"({"collection":"tasks","where":{"and":[{"path":"project","eq":"p42"},)"
       R"({"path":"due","gte":"2026-03-01","lt":"2026-04-01"}]},"orderBy":[{"path":"due"}]})",
       false},
  };
  SyncEngine& scan = *subjects[0].engine;
  SyncEngine& indexed = *subjects[1].engine;
  // Indexed queries take microseconds, scans up to seconds: each round times
  // one scan and this many indexed answers.
  constexpr int kIndexedPerRound = 30;
  for (const Case& c : cases) {
    const Query query = ParseQuery(c.text);
    const Json scan_plan = scan.ExplainQuery(query), index_plan = indexed.ExplainQuery(query);
    if (!scan_plan["index"].is_null() || index_plan["index"].is_null())
      Fail(std::string(c.name) + ": unexpected plans " + scan_plan.dump() + " " +
           index_plan.dump());
    // The same answer from every store (untimed; also warms each up).
    const Json expected = Answer(scan, query, c.count);
    for (int s = 1; s < kStores; ++s) {
      if (Answer(*subjects[s].engine, query, c.count) != expected)
        Fail(std::string(c.name) + ": the store with " + std::to_string(kIndexCounts[s]) +
             " indexes answers differently from the scan");
    }
    const std::size_t results = ResultCount(expected, c.count);
    if (std::string(c.name) == "page") {
      // 100 at the full size; a quick pass may have fewer tasks in p42.
      const Json matches = Answer(scan, query, true);
      if (results != std::min<std::size_t>(100, matches.get<std::size_t>()))
        Fail("page: " + std::to_string(results) + " results of " + matches.dump() + " matches");
      if (n >= 100000 && results != 100) Fail("page: not 100 results");
    }
    std::vector<double> scan_seconds, index_seconds;
    for (int round = 0; round < rounds; ++round) {
      auto start = Clock::now();
      if (ResultCount(Answer(scan, query, c.count), c.count) != results)
        Fail("scan answer changed");
      scan_seconds.push_back(Seconds(start));
      for (int i = 0; i < kIndexedPerRound; ++i) {
        start = Clock::now();
        if (ResultCount(Answer(indexed, query, c.count), c.count) != results)
          Fail("indexed answer changed");
        index_seconds.push_back(Seconds(start));
      }
    }
    const Json line = {
        {"bench", "query"},
        {"store", kind},
        {"n", n},
        {"query", c.name},
        {"text", c.text},
        {"results", results},
        {"plan", index_plan},
        {"scan_runs", scan_seconds.size()},
        {"index_runs", index_seconds.size()},
        {"scan_median_us", Median(scan_seconds) * 1e6},
        {"scan_min_us", Min(scan_seconds) * 1e6},
        {"index_median_us", Median(index_seconds) * 1e6},
        {"index_min_us", Min(index_seconds) * 1e6},
        {"index_p99_us", Percentile(index_seconds, 0.99) * 1e6},
    };
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Fail("usage: query_bench DIR [N]");
  const std::string dir = argv[1];
  const char* scale_text = std::getenv("FERRY_BENCH_SCALE");
  const double scale = scale_text != nullptr ? std::atof(scale_text) : 1.0;
  const int n = argc > 2 ? std::atoi(argv[2]) : std::max(1000, static_cast<int>(100000 * scale));
  const char* rounds_text = std::getenv("FERRY_BENCH_QUERY_ROUNDS");
  const int rounds = rounds_text != nullptr ? std::max(1, std::atoi(rounds_text)) : 11;
  RunStore("sqlite", dir, n, rounds);
  RunStore("memory", dir, n, rounds);
  return 0;
}
