// ferry::Client: the native C++ API. A SQLite store, a libcurl transport and
// one owner thread that drives the sync engine.
//
// Threading contract:
// - Every public method is thread-safe. A call runs on the calling thread
//   under the client's lock, serialized with the owner thread's sync work;
//   SyncNow then waits (without the lock) for the run to finish.
// - Callbacks (subscriptions, event listeners, the log hook and the token
//   provider) run on the owner thread with the lock held. They may call back
//   into the Client, but must not block for long: other calls wait for them.
// - Writes are durable when Put / Patch / Remove return Ok (committed to
//   SQLite with the configured synchronous level).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/engine.h"
#include "ferry/store_sqlite.h"
#include "ferry/transport_curl.h"

namespace ferry {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

struct ClientOptions {
  std::string path;      // the SQLite file for this user's store
  std::string endpoint;  // ferry-server base URL, e.g. "http://127.0.0.1:8080"
  // Asked on the owner thread before every request; returns the bearer token
  // (empty: no Authorization header). Ferry never logs or stores the token.
  // `refresh` is true when the server has just refused the token (401): return
  // a fresh one, not a cached one. The request is repeated once with it; a
  // second 401 puts the client in SyncState::kAuthError, writes kept.
  std::function<std::string(bool refresh)> token_provider;
  // Push bodies larger than this are sent gzip-compressed (zlib, level 1;
  // ferry-server accepts Content-Encoding: gzip). 0 turns compression off.
  std::size_t gzip_above_bytes = 1024;
  // Live updates: keep ferry-server's /v1/live Server-Sent Events stream open
  // and sync as soon as it says another device changed something. When the
  // stream is unavailable the client reconnects with backoff (up to
  // live_retry_max_ms) and relies on engine.interval_ms, if set, meanwhile.
  bool live_updates = true;
  TimeMs live_retry_max_ms = 30'000;
  EngineOptions engine;  // random_seed 0: seeded from std::random_device
  // store.lock_timeout_ms: how long Open waits for another client (in this
  // process or another) to close the store; 0, the default, fails at once.
  SqliteStore::Options store;
  CurlTransport::Options transport;
  // Quiet by default: nothing is logged unless a hook is set.
  std::function<void(LogLevel, const std::string&)> log;
};

class Client {
 public:
  using ListenerId = uint64_t;

  // One client per store: fails with kBusy while another client, in this
  // process or another, has the store at options.path open.
  [[nodiscard]] static Result<std::unique_ptr<Client>> Open(ClientOptions options);
  // Stops the owner thread; in-flight requests are abandoned (their mutations
  // stay pending and are sent again by the next session).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // --- Local data ----------------------------------------------------------
  [[nodiscard]] Status Put(std::string collection, std::string key, Json value);
  [[nodiscard]] Status Patch(std::string collection, std::string key, Json merge_patch);
  [[nodiscard]] Status Remove(std::string collection, std::string key);
  // Several writes in one atomic commit: all are durable when it returns Ok,
  // none if it fails. The fast path for bulk imports.
  [[nodiscard]] Status Write(std::vector<LocalWrite> writes);
  [[nodiscard]] Result<std::optional<Json>> Get(std::string collection, std::string key);
  [[nodiscard]] Result<std::vector<std::pair<std::string, Json>>> Scan(std::string collection,
                                                                       std::string key_prefix = "",
                                                                       std::size_t limit = 0);
  // Called with the ids of documents whose local view changed (local writes,
  // pulls, conflict resolutions).
  ListenerId Subscribe(std::function<void(const DocumentsChangedEvent&)> listener);
  // Every engine event: sync started / progress / completed / failed /
  // conflict, mutation rejected, status changed, documents changed.
  ListenerId AddEventListener(std::function<void(const Event&)> listener);
  void RemoveListener(ListenerId id);

  // --- Sync ------------------------------------------------------------------
  // Starts a sync (or joins the running one) and waits until a run that
  // covers this request ends; returns what it did.
  [[nodiscard]] Result<SyncRunRecord> SyncNow();
  void StartBackgroundSync(TimeMs interval_ms);
  void StopBackgroundSync();
  // Host-declared connectivity. While offline no request is made. Ferry also
  // infers reachability from transport failures: status() reports offline
  // after a network error until a request gets an HTTP answer, while retries
  // continue with backoff.
  void SetOnline(bool online);
  void Cancel();

  SyncStatus status();
  SyncStatistics statistics();
  [[nodiscard]] Result<std::vector<SyncRunRecord>> History(std::size_t limit = 50);
  [[nodiscard]] Result<std::vector<OutboxEntry>> FailedMutations();
  [[nodiscard]] Result<uint64_t> RetryFailedMutation(uint64_t seq);
  [[nodiscard]] Status DiscardFailedMutation(uint64_t seq);
  std::string client_id();

  // Sign-out: deletes a store's local data, pending writes included. Fails
  // with kBusy while the store is open, in this process or another.
  [[nodiscard]] static Status DeleteLocalData(const std::string& path);

 private:
  class Runtime;
  explicit Client(std::unique_ptr<Runtime> runtime);
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace ferry
