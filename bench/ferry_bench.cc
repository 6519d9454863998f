// Ferry's native benchmarks. Each figure is measured beside a baseline taken
// in the same run on the same machine (raw SQLite), and reported as a ratio,
// because the machines are shared and noisy. bench/run.sh runs every
// subcommand against a local ferry-server and writes docs/BENCHMARKS.md.
//
//   ferry_bench write-latency DIR N
//   ferry_bench bulk DIR N
//   ferry_bench push DIR N ENDPOINT TOKEN
//   ferry_bench pull DIR N ENDPOINT TOKEN       (the server must hold N documents)
//   ferry_bench fill DIR N                      (then:)
//   ferry_bench memory DIR N ENDPOINT TOKEN
//
// Output: one JSON object per line, for run.sh to tabulate.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ferry/client.h"
#include "ferry/gzip_zlib.h"
#include "ferry/protocol.h"

namespace {

using Clock = std::chrono::steady_clock;
using ferry::Json;

double Seconds(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

double Percentile(std::vector<double> samples, double p) {
  std::sort(samples.begin(), samples.end());
  const std::size_t index = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  return samples[index];
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "ferry_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const ferry::Status& status, const char* what) {
  if (!status.ok()) Fail(std::string(what) + ": " + status.ToString());
}

// A document of about 200 bytes, like the workload.
Json Document(int i) {
  return Json{{"title", "Document number " + std::to_string(i)},
              {"body", std::string(120, static_cast<char>('a' + i % 26))},
              {"done", i % 2 == 0},
              {"n", i}};
}

std::string Key(int i) {
  char key[24];
  std::snprintf(key, sizeof key, "doc-%08d", i);
  return key;
}

// Raw SQLite with the same table, journal and synchronous settings as
// SqliteStore: the baseline Ferry is measured against.
//
// Ferry's local write stores two rows: the outbox entry, ordered by sequence
// for upload, and the document's local view, ordered by key for reads. They
// land on different B-tree pages, so a commit writes at least two pages to
// the WAL where a one-row insert writes one. InsertTwoRows is that floor:
// the same two rows, the same value in each, with no sync engine around them.
class RawSqlite {
 public:
  explicit RawSqlite(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) Fail("open raw sqlite");
    Exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;");
    sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)", -1, &insert_,
                       nullptr);
  }
  ~RawSqlite() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  void Exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) Fail(sqlite3_errmsg(db_));
  }
  void Insert(const std::string& key, const std::string& value) {
    sqlite3_bind_blob(insert_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE) Fail(sqlite3_errmsg(db_));
    sqlite3_reset(insert_);
  }
  void InsertTwoRows(int seq, const std::string& key, const std::string& value) {
    char outbox_key[32];
    std::snprintf(outbox_key, sizeof outbox_key, "o/%020d", seq);
    Insert(outbox_key, value);
    Insert("v/docs/" + key, value);
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

ferry::ClientOptions Options(const std::string& path,
                             const std::string& endpoint = "http://127.0.0.1:9",
                             const std::string& token = "") {
  ferry::ClientOptions options;
  options.path = path;
  options.endpoint = endpoint;
  options.token_provider = [token](bool /*refresh*/) { return token; };
  options.engine.live_updates = false;  // measured runs are the only syncs
  options.engine.sync_on_local_write = false;
  // Sizes under test can be overridden to compare settings in one run.
  if (const char* batch = std::getenv("FERRY_BENCH_PUSH_BATCH")) {
    options.engine.batch.max_count = std::strtoul(batch, nullptr, 10);
  }
  if (const char* page = std::getenv("FERRY_BENCH_PULL_PAGE")) {
    options.engine.pull_page_size = std::strtoul(page, nullptr, 10);
  }
  return options;
}

std::unique_ptr<ferry::Client> Open(ferry::ClientOptions options) {
  auto client = ferry::Client::Open(std::move(options));
  if (!client.ok()) Fail("open client: " + client.status().ToString());
  return std::move(*client);
}

// Microseconds per one-transaction commit of `rows` raw rows per document.
std::vector<double> RawLatencies(const std::string& path, int n, int rows) {
  std::vector<double> latencies;
  RawSqlite db(path);
  for (int i = 0; i < n; ++i) {
    const std::string value = ferry::DumpJson(Document(i));
    const auto start = Clock::now();
    db.Exec("BEGIN");
    if (rows == 1) {
      db.Insert(Key(i), value);
    } else {
      db.InsertTwoRows(i, Key(i), value);
    }
    db.Exec("COMMIT");
    latencies.push_back(Seconds(Clock::now() - start) * 1e6);
  }
  return latencies;
}

void WriteLatency(const std::string& dir, int n) {
  const std::vector<double> raw = RawLatencies(dir + "/raw-latency.db", n, 1);
  const std::vector<double> raw2 = RawLatencies(dir + "/raw2-latency.db", n, 2);
  std::vector<double> ferry_put;
  {
    auto client = Open(Options(dir + "/ferry-latency.db"));
    client->SetOnline(false);
    for (int i = 0; i < n; ++i) {
      Json document = Document(i);
      const auto start = Clock::now();
      Check(client->Put("docs", Key(i), std::move(document)), "put");
      ferry_put.push_back(Seconds(Clock::now() - start) * 1e6);
    }
  }
  std::printf(
      "{\"bench\":\"write-latency\",\"n\":%d,\"raw_p50_us\":%.1f,\"raw_p99_us\":%.1f,"
      "\"raw2_p50_us\":%.1f,\"raw2_p99_us\":%.1f,\"ferry_p50_us\":%.1f,\"ferry_p99_us\":%.1f}\n",
      n, Percentile(raw, 0.5), Percentile(raw, 0.99), Percentile(raw2, 0.5), Percentile(raw2, 0.99),
      Percentile(ferry_put, 0.5), Percentile(ferry_put, 0.99));
}

// Seconds to insert `values` raw: one transaction of one row each, or, as
// Ferry commits them, 1,000 documents per transaction of two rows each.
constexpr int kBulkChunk = 1000;
double RawBulkSeconds(const std::string& path, const std::vector<std::string>& values, int rows) {
  RawSqlite db(path);
  const int n = static_cast<int>(values.size());
  const int chunk = rows == 1 ? n : kBulkChunk;
  const auto start = Clock::now();
  for (int i = 0; i < n; i += chunk) {
    db.Exec("BEGIN");
    for (int j = i; j < std::min(n, i + chunk); ++j) {
      const std::string& value = values[static_cast<std::size_t>(j)];
      if (rows == 1) {
        db.Insert(Key(j), value);
      } else {
        db.InsertTwoRows(j, Key(j), value);
      }
    }
    db.Exec("COMMIT");
  }
  return Seconds(Clock::now() - start);
}

void Bulk(const std::string& dir, int n) {
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i)
    values.push_back(ferry::DumpJson(Document(i)));
  const double raw_seconds = RawBulkSeconds(dir + "/raw-bulk.db", values, 1);
  const double raw2_seconds = RawBulkSeconds(dir + "/raw2-bulk.db", values, 2);
  double ferry_seconds = 0;
  {
    auto client = Open(Options(dir + "/ferry-bulk.db"));
    client->SetOnline(false);
    std::vector<std::vector<ferry::LocalWrite>> chunks;
    for (int i = 0; i < n; i += kBulkChunk) {
      std::vector<ferry::LocalWrite> chunk;
      for (int j = i; j < std::min(n, i + kBulkChunk); ++j)
        chunk.push_back({ferry::MutationOp::kPut, {"docs", Key(j)}, Document(j)});
      chunks.push_back(std::move(chunk));
    }
    const auto start = Clock::now();
    for (auto& chunk : chunks)
      Check(client->Write(std::move(chunk)), "write");
    ferry_seconds = Seconds(Clock::now() - start);
  }
  std::printf(
      "{\"bench\":\"bulk\",\"n\":%d,\"raw_rows_per_s\":%.0f,\"raw2_docs_per_s\":%.0f,"
      "\"ferry_docs_per_s\":%.0f}\n",
      n, n / raw_seconds, n / raw2_seconds, n / ferry_seconds);
}

// Fills a client's outbox offline, in chunks (not timed).
void Fill(ferry::Client& client, int n) {
  constexpr int kChunk = 10'000;
  for (int i = 0; i < n; i += kChunk) {
    std::vector<ferry::LocalWrite> chunk;
    for (int j = i; j < std::min(n, i + kChunk); ++j)
      chunk.push_back({ferry::MutationOp::kPut, {"docs", Key(j)}, Document(j)});
    Check(client.Write(std::move(chunk)), "fill");
  }
}

void Push(const std::string& dir, int n, const std::string& endpoint, const std::string& token) {
  auto client = Open(Options(dir + "/ferry-push.db", endpoint, token));
  client->SetOnline(false);
  Fill(*client, n);
  client->SetOnline(true);
  const auto start = Clock::now();
  auto run = client->SyncNow();
  const double seconds = Seconds(Clock::now() - start);
  if (!run.ok() || run->outcome != ferry::RunOutcome::kCompleted ||
      run->pushed != static_cast<uint64_t>(n)) {
    Fail("push run did not push everything");
  }
  std::printf("{\"bench\":\"push\",\"n\":%d,\"seconds\":%.3f,\"docs_per_s\":%.0f}\n", n, seconds,
              n / seconds);
}

void Pull(const std::string& dir, int n, const std::string& endpoint, const std::string& token) {
  auto client = Open(Options(dir + "/ferry-pull.db", endpoint, token));
  const auto start = Clock::now();
  auto run = client->SyncNow();
  const double seconds = Seconds(Clock::now() - start);
  if (!run.ok() || run->outcome != ferry::RunOutcome::kCompleted ||
      run->pulled < static_cast<uint64_t>(n)) {
    Fail("pull run did not pull everything");
  }
  std::printf("{\"bench\":\"pull\",\"n\":%d,\"seconds\":%.3f,\"docs_per_s\":%.0f}\n", n, seconds,
              n / seconds);
}

long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Fills a store with n pending mutations (run as its own process, so the
// memory figure below is not inflated by building them).
void FillStore(const std::string& dir, int n) {
  auto client = Open(Options(dir + "/ferry-memory.db"));
  client->SetOnline(false);
  Fill(*client, n);
  std::printf("{\"bench\":\"fill\",\"n\":%d,\"pending\":%zu}\n", n, client->status().pending);
}

// Opens a store holding n pending mutations, then pushes them all to the
// server; reports the peak RSS after opening and after draining.
void Memory(const std::string& dir, int n, const std::string& endpoint, const std::string& token) {
  auto client = Open(Options(dir + "/ferry-memory.db", endpoint, token));
  client->SetOnline(false);
  const std::size_t pending = client->status().pending;
  if (pending != static_cast<std::size_t>(n)) Fail("the store does not hold n pending mutations");
  const long after_open = PeakRssKb();
  client->SetOnline(true);
  const auto start = Clock::now();
  auto run = client->SyncNow();
  const double seconds = Seconds(Clock::now() - start);
  if (!run.ok() || run->outcome != ferry::RunOutcome::kCompleted) Fail("draining failed");
  std::printf(
      "{\"bench\":\"memory\",\"n\":%d,\"pending\":%zu,\"peak_rss_kb_open\":%ld,"
      "\"peak_rss_kb_drained\":%ld,\"drain_seconds\":%.1f,\"pushed\":%llu}\n",
      n, pending, after_open, PeakRssKb(), seconds, static_cast<unsigned long long>(run->pushed));
}

}  // namespace

// Live updates: a write on client A until client B shows it, both online
// over loopback. A syncs on its own after the write (at once: nothing is in
// flight); B has no interval and learns of the change only from the
// /v1/live stream. Latencies from Put() returning to B's change event.
void LiveLatency(const std::string& dir, int n, const std::string& endpoint,
                 const std::string& token) {
  ferry::ClientOptions writer_options = Options(dir + "/ferry-live-a.db", endpoint, token);
  writer_options.engine.sync_on_local_write = true;
  ferry::ClientOptions reader_options = Options(dir + "/ferry-live-b.db", endpoint, token);
  reader_options.engine.live_updates = true;
  // Declared before the clients, so they outlive the clients' listeners.
  std::mutex mutex;
  std::condition_variable changed;
  std::set<std::string> seen;
  auto writer = Open(writer_options);
  auto reader = Open(reader_options);
  reader->AddEventListener([&](const ferry::Event& event) {
    auto* documents = std::get_if<ferry::DocumentsChangedEvent>(&event);
    if (!documents || !documents->remote) return;
    std::lock_guard lock(mutex);
    for (const auto& id : documents->documents)
      seen.insert(id.key);
    changed.notify_all();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the stream is open
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    const std::string key = "live-" + std::to_string(i);
    const auto start = Clock::now();
    Check(writer->Put("docs", key, Document(i)), "put");
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::seconds(10), [&] { return seen.contains(key); }))
      Fail("client B never saw " + key);
    samples.push_back(Seconds(Clock::now() - start) * 1000);
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("{\"bench\":\"live-latency\",\"n\":%d,\"p50_ms\":%.1f,\"p99_ms\":%.1f}\n", n,
              Percentile(samples, 0.5), Percentile(samples, 0.99));
}

// Bytes on the wire for typical push batches: a real push body (the
// protocol encoder) of n notes, plain and gzip-compressed as the native
// client sends it (level 1) and at zlib's default level 6, for comparison.
void WireBytes(int n) {
  static const char* kWords[] = {"milk",    "meeting",  "call",    "Lyon",  "train",
                                 "invoice", "plumber",  "notes",   "draft", "review",
                                 "garden",  "birthday", "tickets", "print"};
  std::mt19937 random(42);
  ferry::PushRequestWriter writer("k3j4h5g6f7d8s9a0q1w2");
  for (int i = 0; i < n; ++i) {
    std::string body;
    for (int w = 0; w < 24; ++w) {
      if (w) body += ' ';
      body += kWords[random() % std::size(kWords)];
    }
    ferry::Mutation mutation;
    mutation.client_id = "k3j4h5g6f7d8s9a0q1w2";
    mutation.seq = static_cast<uint64_t>(i + 1);
    mutation.document = {"notes", Key(i)};
    mutation.value = ferry::Json{{"title", "Note " + std::to_string(i)},
                                 {"body", body},
                                 {"done", i % 3 == 0},
                                 {"tags", {"home", "todo"}},
                                 {"updatedAt", 1'700'000'000'000 + i * 1000}};
    mutation.base_version = static_cast<uint64_t>(i % 7);
    mutation.hlc = {1'700'000'000'000 + i, 0, "k3j4h5g6f7d8s9a0q1w2"};
    writer.AddMutation(mutation, ferry::DumpJson(mutation.value));
  }
  const std::string plain = std::move(writer).Finish();
  const auto fast = ferry::GzipZlib(plain, 1), standard = ferry::GzipZlib(plain, 6);
  if (!fast || !standard) Fail("gzip failed");
  constexpr int kRounds = 20;
  const auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i)
    if (!ferry::GzipZlib(plain, 1)) Fail("gzip failed");
  const double level1_ms = Seconds(Clock::now() - start) * 1000 / kRounds;
  std::printf(
      "{\"bench\":\"wire-bytes\",\"n\":%d,\"plain_bytes\":%zu,\"gzip1_bytes\":%zu,"
      "\"gzip6_bytes\":%zu,\"gzip1_ms\":%.2f}\n",
      n, plain.size(), fast->size(), standard->size(), level1_ms);
}

int main(int argc, char** argv) {
  if (argc < 4)
    Fail(
        "usage: ferry_bench write-latency|bulk|push|pull|memory|wire-bytes|live-latency DIR N "
        "[ENDPOINT TOKEN]");
  const std::string command = argv[1], dir = argv[2];
  const int n = std::atoi(argv[3]);
  const std::string endpoint = argc > 4 ? argv[4] : "", token = argc > 5 ? argv[5] : "";
  if (command == "write-latency")
    WriteLatency(dir, n);
  else if (command == "bulk")
    Bulk(dir, n);
  else if (command == "push")
    Push(dir, n, endpoint, token);
  else if (command == "pull")
    Pull(dir, n, endpoint, token);
  else if (command == "fill")
    FillStore(dir, n);
  else if (command == "memory")
    Memory(dir, n, endpoint, token);
  else if (command == "wire-bytes")
    WireBytes(n);
  else if (command == "live-latency")
    LiveLatency(dir, n, endpoint, token);
  else
    Fail("unknown benchmark " + command);
  return 0;
}
