// ferry::Client: the native C++ API. A SQLite store, a libcurl transport (or
// one the host provides) and one owner thread that carries out the sync.
//
// Threading contract:
// - Every public method is thread-safe. Reads and writes run on the calling
//   thread under the client's engine lock (a durable write costs one SQLite
//   commit, not a thread hand-off); the owner thread takes the same lock for
//   its engine work and never holds it while it waits or calls back.
// - Callbacks (subscriptions, event listeners, sync completion callbacks,
//   the log hook and the token provider) run on the owner thread, never with
//   the lock held: they may call any method, Put and the callback form of
//   SyncNow included, and a slow token provider delays requests, not writes.
//   The blocking SyncNow() would wait on the very thread that must carry the
//   run out, so from a callback it fails at once with kInvalidArgument.
//   Destroying the Client from its own callback is allowed: the owner thread
//   finishes the callback and then ends.
// - Writes are durable when Put / Patch / Remove return Ok (committed to
//   SQLite with the configured synchronous level).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/engine.h"
#include "ferry/engine_host.h"
#include "ferry/store_sqlite.h"
#include "ferry/transport_curl.h"

namespace ferry {

struct ClientOptions {
  std::string path;      // the SQLite file for this user's store
  std::string endpoint;  // ferry-server base URL, e.g. "http://127.0.0.1:8080"
  // Asked on the owner thread before every request; returns the bearer token
  // (empty: no Authorization header). Ferry never logs or stores the token.
  // `refresh` is true when the server has just refused the token (401): return
  // a fresh one, not a cached one. The request is repeated once with it; a
  // second 401 puts the client in SyncState::kAuthError, writes kept.
  std::function<std::string(bool refresh)> token_provider;
  // Sent with every request, the live stream included (an API key beside or
  // instead of the bearer token). Open refuses names Ferry owns, names that
  // are not HTTP tokens, values with CR, LF or NUL, and Authorization when a
  // token provider is set (CheckCustomHeaders). Values are never logged.
  RequestHeaders headers;
  // Push bodies larger than this are sent gzip-compressed (zlib, level 1;
  // ferry-server accepts Content-Encoding: gzip). 0 turns compression off.
  std::size_t gzip_above_bytes = 1024;
  // Sync policy: batching, timeouts, backoff, debounce, interval, conflicts,
  // live updates (engine.live_updates, on by default), hooks (before_push,
  // after_pull, before_run: called on the owner thread, with the client's
  // engine locked, so a hook must not call the client). random_seed 0:
  // seeded from std::random_device.
  EngineOptions engine;
  // store.lock_timeout_ms: how long Open waits for another client (in this
  // process or another) to close the store; 0, the default, fails at once.
  SqliteStore::Options store;
  CurlTransport::Options transport;
  // When set, carries the requests instead of libcurl (`transport` is then
  // unused), e.g. a HostTransport. Used by this client only.
  std::shared_ptr<Transport> custom_transport;
  // Quiet by default: nothing is logged unless a hook is set.
  LogFunction log;
};

// What Client::Report reads in one turn of the engine lock, so the parts
// agree with each other (the pending count with the history, say).
struct ClientReport {
  SyncStatus status;
  SyncStatistics statistics;
  std::vector<SyncRunRecord> history;  // newest first
  std::vector<OutboxEntry> failed_mutations;
};

class Client {
 public:
  using ListenerId = ferry::ListenerId;

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
  // A local query (ferry/query.h) over the local view, pending writes
  // included: the page it asks for, or how many documents match.
  [[nodiscard]] Result<QueryPage> RunQuery(const Query& query);
  [[nodiscard]] Result<std::size_t> CountQuery(const Query& query);
  // How RunQuery would answer `query` (SyncEngine::ExplainQuery).
  [[nodiscard]] Result<Json> ExplainQuery(const Query& query);
  // A live query (SyncEngine::SubscribeQuery) with an id the caller picks:
  // its page comes to the event listeners as a QueryChangedEvent with that
  // id, then each page that differs. Unsubscribing ends them (an unknown
  // id: kNotFound).
  [[nodiscard]] Status SubscribeQuery(uint64_t id, const Query& query);
  [[nodiscard]] Status UnsubscribeQuery(uint64_t id);
  // Called with the ids of documents whose local view changed (local writes,
  // pulls, conflict resolutions).
  ListenerId Subscribe(std::function<void(const DocumentsChangedEvent&)> listener);
  // Every engine event: sync started / progress / completed / failed /
  // conflict, mutation rejected, status changed, documents changed, a live
  // query's page.
  ListenerId AddEventListener(std::function<void(const Event&)> listener);
  void RemoveListener(ListenerId id);

  // --- Sync ------------------------------------------------------------------
  // Starts a sync (or joins the running one) and waits until a run that
  // covers this request ends; returns what it did. Not from a callback (see
  // the threading contract): use the callback form there.
  // `direction`: push only, pull only, or both (SyncDirection, engine.h).
  [[nodiscard]] Result<SyncRunRecord> SyncNow(SyncDirection direction = SyncDirection::kBoth);
  // The same without waiting: `done` runs on the owner thread when the run
  // ends. If the client is closed first, `done` gets a run whose outcome is
  // kCancelled (the running run, or a record of one that never started).
  void SyncNow(SyncCallback done, SyncDirection direction = SyncDirection::kBoth);
  // A forced full resync: forgets the pull cursor and pulls everything from
  // the start, keeping pending writes; documents the server no longer has
  // are forgotten unless they have pending writes. With a run in flight the
  // resync is the run after it (SyncEngine::HandleResync). Waits for that run
  // and returns it; not from a callback (use the callback form there).
  [[nodiscard]] Result<SyncRunRecord> Resync();
  void Resync(SyncCallback done);
  void StartBackgroundSync(TimeMs interval_ms);
  void StopBackgroundSync();
  // Host-declared connectivity. While offline no request is made. Ferry also
  // infers reachability: status() reports offline after a request got no HTTP
  // answer until one does, while retries continue with backoff.
  void SetOnline(bool online);
  // The network changed (an OS reachability callback, a new interface):
  // after network failures Ferry probes the server at once instead of
  // waiting out its probe backoff (EngineOptions::reachability_probe).
  void NetworkChanged();
  // Whether the connection is metered (false at open): while it is, the
  // runs Ferry starts itself leave the writes of EngineOptions::deferrable
  // collections for later (see there); sync_now pushes them.
  void SetMetered(bool metered);
  void Cancel();

  SyncStatus status();
  SyncStatistics statistics();
  [[nodiscard]] Result<std::vector<SyncRunRecord>> History(std::size_t limit = 50);
  [[nodiscard]] Result<std::vector<OutboxEntry>> FailedMutations();
  [[nodiscard]] Result<uint64_t> RetryFailedMutation(uint64_t seq);
  [[nodiscard]] Status DiscardFailedMutation(uint64_t seq);
  // status(), statistics(), History(history_limit) and FailedMutations() at
  // one moment.
  [[nodiscard]] Result<ClientReport> Report(std::size_t history_limit = 50);
  std::string client_id();

  // --- Queue control (issue 17) ------------------------------------------------
  // Pending writes after `after_seq`, in seq order, at most `limit` (0: 100):
  // page with the last seq of a page. Each entry has its seq, document, op,
  // attempts, last_attempt_at (wall ms, 0: none yet) and error (the last
  // failed push's). Values are not parsed (value_json holds them).
  [[nodiscard]] Result<std::vector<OutboxEntry>> PendingMutations(uint64_t after_seq = 0,
                                                                  std::size_t limit = 100);
  // Forgets past runs; with `keep_latest`, all but the newest.
  [[nodiscard]] Status ClearHistory(bool keep_latest = false);
  // The conflict log: resolutions with id above `after_id`, oldest first, at
  // most `limit` (0: 100); page with the last id of a page. The log keeps
  // EngineOptions::conflict_log_limit entries (1000 by default).
  [[nodiscard]] Result<std::vector<ConflictLogEntry>> ConflictLog(uint64_t after_id = 0,
                                                                  std::size_t limit = 100);
  [[nodiscard]] Status ClearConflictLog();
  // Conflicts kept open for a person (strategy manual, or a custom resolver
  // that deferred), with base, local and the server's document now; they
  // survive a restart. ResolveConflict settles one with a value (nullopt:
  // delete), pushed like any write; kNotFound when none is open there.
  [[nodiscard]] Result<std::vector<OpenConflict>> Conflicts();
  [[nodiscard]] Status ResolveConflict(std::string collection, std::string key,
                                       const std::optional<Json>& value);

  // --- Local retention (issue 17) ----------------------------------------------
  // Drops synced documents of `collection` from this store, never from the
  // server: `keys`, or the whole collection when nullopt. Documents with
  // pending writes stay. Returns how many went (SyncEngine::HandleEvict);
  // listeners hear a change with `evicted`. Rules that evict by themselves:
  // ClientOptions::engine.retention.
  [[nodiscard]] Result<std::size_t> Evict(const std::string& collection,
                                          const std::optional<std::vector<std::string>>& keys);

  // Returns once the owner thread has delivered, to every listener, each
  // event that the calls which returned before this one caused. A host that
  // passes events and call results to another thread through one queue
  // calls it before queueing a result, so that the result follows the events
  // its call caused. On the owner thread (from a callback) it would wait for
  // itself: it returns false there at once and waits for nothing.
  bool FlushEvents();

  // Sign-out: deletes a store's local data, pending writes included. Fails
  // with kBusy while the store is open, in this process or another.
  [[nodiscard]] static Status DeleteLocalData(const std::string& path);

 private:
  class Runtime;
  explicit Client(std::shared_ptr<Runtime> runtime);
  // Runs `start` with a callback and waits for the run it reports; refused
  // on the owner thread, which would wait on itself.
  [[nodiscard]] Result<SyncRunRecord> WaitForRun(std::string_view operation,
                                                 const std::function<void(SyncCallback)>& start);
  // Shared with the owner thread, which may outlive the Client by the rest
  // of a callback when the Client is destroyed from inside one.
  std::shared_ptr<Runtime> runtime_;
};

}  // namespace ferry
