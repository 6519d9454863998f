// SyncEngine: the sans-IO sync state machine (quinn-proto / nghttp2 style).
//
// The engine never blocks, sleeps, opens sockets or reads a clock. The host (a
// platform driver: the native owner thread with libcurl, or the browser event
// loop with fetch) feeds it inputs and carries out its outputs:
//
//   auto engine = SyncEngine::Open(store, options, now);
//   loop:
//     feed any input: HandleLocalWrite / HandleTrigger / HandleResponse /
//                     HandleStreamData / HandleStreamEnd / HandleOnline /
//                     HandleTimeout / Cancel                (time passed in)
//     while (auto action = engine->PollAction()) carry it out:
//       SendRequest   -> start the HTTP request; later HandleResponse(id, ...)
//       CancelRequest -> abort it; no HandleResponse is needed for it
//       OpenStream    -> start the long-lived live request; hand each body
//                        chunk to HandleStreamData(id, ...) and its end (any
//                        status, or a transport error) to HandleStreamEnd
//       CloseStream   -> abort it; no HandleStreamEnd is needed for it
//       Event         -> deliver to listeners
//     arm a timer for PollTimeout(); when it fires call HandleTimeout(now)
//
// Start the requests PollAction hands out before calling HandleTimeout for a
// deadline that is already due: after a push answer (or a pull page) the
// engine sends the next push (or asks for the next page) and commits the
// answer on such a timer, so the server works on that request meanwhile (the
// native runtime starts a transfer at once; the browser's fetch does). A host
// that runs the timer first loses only that overlap.
//
// Time: every input carries an Instant, the host's monotonic clock (every
// deadline: retries, debounce, interval, request timeouts, live reconnects)
// and its wall clock (the hybrid logical clock, and the times shown to users:
// history, last synced). A wall clock stepped back or forward moves no
// deadline.
//
// Durability: every Handle* call that changes local data commits to the Store
// before it returns, so the host may report a write durable when
// HandleLocalWrite returns Ok. Responses for unknown or cancelled requests are
// ignored, which makes late answers harmless.
//
// Threading: not thread-safe. Calls must be serialized by the host (one
// thread at a time: the native Client holds its engine lock around every
// call; the web runtime runs on the JS event loop). Not reentrant: do not
// call the engine from inside the work of another call.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ferry/conflict.h"
#include "ferry/hlc.h"
#include "ferry/live_query.h"
#include "ferry/model.h"
#include "ferry/outbox.h"
#include "ferry/protocol.h"
#include "ferry/push_sizer.h"
#include "ferry/query.h"
#include "ferry/query_index.h"
#include "ferry/replica.h"
#include "ferry/store.h"

namespace ferry {

// The host's two clocks read at one moment. `monotonic` never steps back
// (std::chrono::steady_clock, performance.now()): every deadline runs on it,
// and PollTimeout() answers on it. `wall` is milliseconds since the Unix
// epoch: the hybrid logical clock and the times reported to users.
struct Instant {
  TimeMs monotonic = 0;
  TimeMs wall = 0;

  constexpr Instant() = default;
  constexpr Instant(TimeMs monotonic_ms, TimeMs wall_ms) : monotonic(monotonic_ms), wall(wall_ms) {}
  // One reading for both clocks: for the simulation and tests, whose fake
  // clock never steps. Real hosts pass both readings.
  constexpr Instant(TimeMs both_ms) : monotonic(both_ms), wall(both_ms) {}
};
using RequestId = uint64_t;
// Identifies the sync run that will cover a trigger: the host waits for the
// SyncCompleted / SyncFailed event whose run id is at least the ticket.
using RunTicket = uint64_t;

// kAuthError: the server refused the credentials even after the host was
// asked for a fresh token; no automatic retries until a write, an interval or
// a trigger starts a run (each asks the host for a token again).
enum class SyncState { kNeverSynced, kIdle, kSyncing, kOffline, kError, kAuthError };
enum class TriggerReason {
  kLocalWrite,
  kOnline,
  kInterval,
  kPoke,
  kManual,
  kBackgroundSync,
  kAppStart,
  kRetry,
  kFollowUp,
  kReachable  // a reachability probe answered after network failures (see EngineOptions)
};
enum class SyncPhase { kPush, kPull };
enum class RunOutcome { kCompleted, kFailed, kCancelled };
// What a run does (issue 17, queue control): push the pending writes, pull
// the server's changes, or both. A push-only run never sends /v1/pull (not
// even to fetch its own writes back); a pull-only run sends no /v1/push, even
// with writes pending. Runs the engine starts on its own (a local write, an
// interval, a poke, a retry, a follow-up) do both.
enum class SyncDirection { kBoth, kPush, kPull };

std::string_view SyncStateName(SyncState state);
std::string_view TriggerReasonName(TriggerReason reason);
// "both", "push", "pull"; ParseSyncDirection accepts exactly these (the
// bindings refuse anything else with their invalid-argument error).
std::string_view SyncDirectionName(SyncDirection direction);
std::optional<SyncDirection> ParseSyncDirection(std::string_view name);
std::string_view RunOutcomeName(RunOutcome outcome);

struct HttpRequest {
  RequestId id = 0;
  std::string method;  // "GET" or "POST"
  std::string target;  // path and query, relative to the endpoint
  std::string body;    // JSON; the driver may gzip it
  TimeMs timeout_ms = 0;
  // The same request was just refused with 401: the driver asks its token
  // provider for a fresh token (not a cached one) for this attempt.
  bool refresh_credentials = false;
};

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer at all (see transport_error)
  std::string body;
  std::string retry_after;  // the Retry-After header, verbatim, if any
  std::string transport_error;
  // With status 0: the server was reached, but the client refused its
  // answer: TLS refused its certificate (a missing CA, a wrong host name), or
  // a browser refused a cross-origin answer (CORS). A configuration error,
  // not being offline.
  bool server_reached = false;
};

struct SyncStatus {
  SyncState state = SyncState::kNeverSynced;
  std::size_t pending = 0;               // mutations waiting to be pushed
  std::size_t failed = 0;                // dead letters
  std::optional<TimeMs> last_synced_at;  // wall clock
  std::string last_error;  // the failed run's error in the states error and auth_error; else empty
  std::optional<TimeMs> next_retry_at;  // wall clock, estimated from the monotonic deadline

  bool operator==(const SyncStatus&) const = default;
};

struct SyncStatistics {
  uint64_t runs_started = 0;
  uint64_t runs_completed = 0;
  uint64_t runs_failed = 0;
  uint64_t runs_cancelled = 0;
  uint64_t mutations_pushed = 0;  // acknowledged as applied (or duplicate)
  uint64_t conflicts = 0;
  uint64_t rejected = 0;
  uint64_t documents_pulled = 0;
  uint64_t full_resyncs = 0;
  uint64_t documents_evicted = 0;  // local retention: rules and HandleEvict
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

struct SyncRunRecord {
  uint64_t run_id = 0;
  TriggerReason reason = TriggerReason::kManual;
  SyncDirection direction = SyncDirection::kBoth;
  TimeMs started_at = 0;
  TimeMs finished_at = 0;
  RunOutcome outcome = RunOutcome::kCompleted;
  uint64_t pushed = 0;
  uint64_t pulled = 0;
  uint64_t conflicts = 0;
  uint64_t rejected = 0;
  std::string error;
};

struct SyncStartedEvent {
  uint64_t run_id;
  TriggerReason reason;
  SyncDirection direction = SyncDirection::kBoth;
};
struct SyncProgressEvent {
  uint64_t run_id;
  SyncPhase phase;
  uint64_t pushed;      // applied (or duplicate) so far
  uint64_t push_done;   // answered so far: applied, duplicate, conflict or rejected
  uint64_t push_total;  // pending when the run began plus writes it picked up
  uint64_t pulled;
  // An estimate of the changes this pull brings: pulled plus the server's
  // "remaining" (an upper bound, PROTOCOL.md) while more pages follow;
  // pulled once the last page is in; 0 while unknown (before the first
  // page, or a server that does not say).
  uint64_t pull_total;
};
struct SyncCompletedEvent {
  SyncRunRecord run;
};
struct SyncFailedEvent {
  SyncRunRecord run;
};  // also cancelled runs (run.outcome says)
struct SyncConflictEvent {
  uint64_t run_id;
  Mutation local;          // the write the server refused (the first, if several)
  ServerDocument server;   // what the server held
  std::string resolution;  // ConflictDecision::resolution, e.g. "merged"
  DocumentState resolved;  // what the document is now; pushed again unless it is `server`
};
struct MutationRejectedEvent {
  Mutation mutation;
  std::string error;
};
struct StatusChangedEvent {
  SyncStatus status;
};
struct DocumentsChangedEvent {
  std::vector<DocumentId> documents;
  bool remote = false;  // false: a local write; true: a pull or a server answer
  // Local retention dropped them from this store (they stay on the server);
  // remote is false.
  bool evicted = false;
};
// A live query's page (SyncEngine::SubscribeQuery): the first at once,
// then each that differs, following the DocumentsChangedEvent that changed it.
struct QueryChangedEvent {
  uint64_t query = 0;  // the id given to SubscribeQuery
  // Shared by every listener the event reaches, never copied (a page may be
  // large; the event variant stays small).
  std::shared_ptr<const QueryUpdate> update;
};
using Event = std::variant<SyncStartedEvent, SyncProgressEvent, SyncCompletedEvent, SyncFailedEvent,
                           SyncConflictEvent, MutationRejectedEvent, StatusChangedEvent,
                           DocumentsChangedEvent, QueryChangedEvent>;

// One local write for SyncEngine::HandleLocalWrites.
struct LocalWrite {
  MutationOp op = MutationOp::kPut;
  DocumentId document;
  Json value;  // put: the value; patch: an RFC 7396 object; delete: null
};

struct SendRequest {
  HttpRequest request;
};
struct CancelRequest {
  RequestId id;
};
// The live stream (GET /v1/live, Server-Sent Events): no overall timeout
// (request.timeout_ms is 0); the body arrives in chunks for HandleStreamData.
struct OpenStream {
  HttpRequest request;
};
struct CloseStream {
  RequestId id;
};
using Action = std::variant<SendRequest, CancelRequest, OpenStream, CloseStream, Event>;

// Local retention of one collection's synced documents (EngineOptions::
// retention); 0 leaves a bound off.
struct RetentionRule {
  TimeMs max_age_ms = 0;      // evict what was synced longer ago than this
  std::size_t max_count = 0;  // keep at most this many, evicting the longest synced first
};

using RetentionRules = std::map<std::string, RetentionRule, std::less<>>;
// invalid_argument for a collection name ValidateDocumentId would refuse, or
// a rule with neither bound.
[[nodiscard]] Status ValidateRetention(const RetentionRules& rules);

// One resolved conflict as the conflict log keeps it (SyncEngine::
// ConflictLog): which document, by which strategy, who won, and when.
struct ConflictLogEntry {
  uint64_t id = 0;  // ascending; never reused, ClearConflictLog included
  TimeMs at = 0;    // wall time of the resolution
  DocumentId document;
  ConflictStrategy strategy = ConflictStrategy::kServerWins;
  // "server": the server's document stands; "local": the local edit won and
  // goes up again; "new": a value neither side had (merged, or a custom
  // resolver's).
  std::string winner;
  std::string resolution;  // ConflictDecision::resolution, e.g. "merged"
  uint64_t run_id = 0;
  Version server_version = 0;  // the server's version the local write met
};

// A conflict kept open for a person to resolve (ConflictStrategy::kManual,
// or a custom resolver that deferred), as SyncEngine::Conflicts lists it.
// The document shows the server's version until ResolveConflict settles it.
// Documents are compact JSON text, "null" when absent, as PendingMutations
// gives values: the bindings pass them on as text, and the wasm is spared
// building them.
struct OpenConflict {
  DocumentId document;
  std::string base_json;    // the server's document the local writes were made against
  std::string local_json;   // the local view when the conflict was met: its writes are kept here
  std::string remote_json;  // the server's document as this client knows it now
  std::string local_hlc;    // the newest local write's stamp
  std::string remote_hlc;   // the stamp of the server's write the conflict met; "" if unknown
  ConflictStrategy strategy = ConflictStrategy::kManual;
  TimeMs at = 0;  // wall time the conflict was met
  uint64_t run_id = 0;
  Version server_version = 0;  // of remote_json
};

// What a hook (EngineOptions::before_push, after_pull) decides for one
// write or one pulled change.
struct HookDecision {
  enum class Kind {
    kKeep,     // as it is
    kReplace,  // with `value` instead (before_push: a put's document or a patch's patch)
    kRefuse,   // before_push: a dead letter with `reason`; after_pull: not stored
  };
  Kind kind = Kind::kKeep;
  Json value;
  std::string reason;
};

struct EngineOptions {
  BatchLimits batch;
  std::size_t pull_page_size = 1000;
  TimeMs request_timeout_ms = 30'000;
  // Retry delay after the n-th consecutive failure: uniform in
  // [0, min(backoff_max_ms, backoff_base_ms * 2^(n-1))] ("full jitter"), and
  // never less than a server's Retry-After.
  TimeMs backoff_base_ms = 1'000;
  TimeMs backoff_max_ms = TimeMs{5} * 60'000;
  // A local write schedules a run this long after it (when none is due yet).
  // At 0, a write made while no run is in flight starts one on the host's
  // next HandleTimeout, so another device sees it within a round trip; the
  // writes made meanwhile (a burst, or while a push is in flight) gather
  // into the next batch, since a run pushes whatever is pending when its
  // previous batch is answered. A positive value waits that long first, to
  // gather writes an app knows will come together.
  bool sync_on_local_write = true;
  TimeMs local_write_debounce_ms = 0;
  std::optional<TimeMs> interval_ms;  // background sync interval; none by default
  std::size_t history_limit = 100;
  // The conflict log keeps the newest this many resolutions (0: none).
  std::size_t conflict_log_limit = 1000;
  ProtocolLimits protocol;
  // How conflicts are resolved, per collection (server wins by default). A
  // custom resolver runs on the thread that drives the engine, inside
  // HandleResponse; it must not call back into the engine.
  ConflictPolicy conflicts;
  // Live updates: hold the server's /v1/live stream open while online and
  // sync when it announces a change ("poke") or a (re)connection ("hello").
  // After the stream ends the engine reopens it after a delay drawn uniformly
  // from [cap/2, cap], cap = min(live_retry_max_ms, live_retry_base_ms *
  // 2^failures); a stream that said hello resets the failures.
  bool live_updates = true;
  TimeMs live_retry_base_ms = 500;
  TimeMs live_retry_max_ms = 30'000;
  // A stream line longer than this is not an event stream: the engine closes
  // the stream and reconnects later, so a hostile server cannot grow memory.
  std::size_t live_max_line_bytes = std::size_t{64} * 1024;
  // How many write ids (see HandleLocalWrites) the store remembers; a new
  // one beyond this makes it forget the oldest, in the same commit.
  std::size_t write_id_limit = 10'000;
  // Queue control (issue 17), both off by default. max_attempts: a write
  // whose push fails for a transient reason (no answer: a network error or
  // a timeout; or HTTP 408, 429, 5xx) once it has been carried by that many
  // pushes is dead-lettered with the push's error (a MutationRejectedEvent;
  // FailedMutations lists it). dead_letter_max_age_ms: dead letters older
  // than this (wall clock, since they were dead-lettered) are discarded, at
  // open and as time passes.
  std::optional<uint32_t> max_attempts;
  std::optional<TimeMs> dead_letter_max_age_ms;
  // Scope (issue 17). upload_only: collections whose writes are pushed but
  // never pulled back (a fleet of devices under one account does not
  // download each other's readings); a pushed write stays in the local store
  // as a synced document until the next full resync forgets it.
  // pull_collections: the collections pulled (nullopt: all). Each pull asks
  // the server for this scope only (PROTOCOL.md, "Pull scope"). Opening with
  // a scope other than the store's last one pulls from the beginning (so a
  // collection added to the scope arrives whole, whatever the old cursor
  // said) and then forgets the documents the new scope leaves out, keeping
  // those with pending writes.
  std::vector<std::string> upload_only;
  std::optional<std::vector<std::string>> pull_collections;
  // Deferrable collections (issue 17): while the host says the connection
  // is metered (HandleMetered), the runs the engine starts itself (a local
  // write, an interval, a retry, a follow-up, background sync...) push
  // everything but the writes of these collections that no push carried
  // yet, and a local write to them alone starts no run; a run the app asks
  // for (kManual) pushes them too, and so does every run once the
  // connection is not metered. Pulls are not deferred (one cursor covers
  // every collection; upload_only keeps readings from coming back).
  // Writes pushed ahead of deferred ones move those behind them: the
  // deferred writes take new seqs (Replica::StageRenumber), a cost in
  // proportion to the writes waiting, paid by each such push.
  std::vector<std::string> deferrable;
  // Query indexes (query_index.h), kept in the commit of every change to
  // the documents they index; opening with other declarations rebuilds or
  // drops the indexes that differ from the store's, in one commit each open.
  std::vector<IndexDeclaration> indexes;
  // Local retention (issue 17), by collection: synced documents are evicted
  // from this store (never from the server) when older or more than the
  // rule allows; a document with pending writes never is. Applied at open
  // and after each completed run, at most kEvictionsPerPass documents at a
  // time (the rest on the next pass). A document's age is the time since
  // its server copy last changed here (a pull, an acknowledged push); in
  // stores written by a Ferry that did not record it, since the upgrade.
  // An evicted document's version is forgotten too: a later local write to
  // it goes without a base and meets the server's copy as a conflict.
  RetentionRules retention;
  // Seeds backoff jitter (sync retries and live reconnects) and, for a new
  // store, the client id. Hosts pass real
  // randomness; the simulation passes a per-run seed to replay exactly.
  uint64_t random_seed = 0;

  // Reachability probe. After a run fails with no HTTP answer (a transport
  // error or a timeout), the engine sends GET /v1/health on a short backoff
  // of its own instead of only waiting out the run backoff, which can reach
  // backoff_max_ms: the n-th probe follows the previous one after a delay
  // drawn uniformly from [cap/2, cap], cap = min(probe_max_ms, probe_base_ms *
  // 2^(n-1)). The first probe that gets any HTTP answer starts a run at once
  // (reason kReachable). Probing stops when a run gets an HTTP answer, when
  // the host goes offline or cancels.
  bool reachability_probe = true;
  TimeMs probe_base_ms = 250;
  TimeMs probe_max_ms = 4'000;
  // A probe unanswered this long counts as failed (the health endpoint does
  // no work, so a slow answer means a bad network).
  TimeMs probe_timeout_ms = 5'000;

  // Network-aware batching: the push batch adapts to how fast the server's
  // answers come (PushSizer, push_sizer.h): it starts at `batch`, shrinks in
  // proportion when a push takes longer than batch_target_ms and halves on
  // a push timeout or a 413, and grows back while full pushes are answered
  // well within the target; never above `batch`, never below
  // PushSizer::kFloorCount writes / kFloorBytes (or `batch`, if smaller).
  // Off: every push is cut at `batch`.
  bool adaptive_batch = true;
  TimeMs batch_target_ms = 2'000;

  // Hooks (engine_hooks.cc): the app's code at three points of a sync,
  // called on the engine's thread in the middle of its work, so a hook must
  // not call the engine (or the client). A hook that throws fails the run,
  // which is retried with backoff: nothing is lost. Unset: no hook.
  //
  // Before a push, for each write it is about to carry: keep it, push
  // another value (not for a delete), or refuse it, which makes it a dead
  // letter with the hook's reason (retryable, as any). A replaced value is
  // what the outbox keeps from then on and what the local view shows once
  // the server has it. Asked before every push that carries the write (a
  // retry asks again, with the value the hook gave), so a hook must answer
  // the same for a write it already answered.
  std::function<HookDecision(const Mutation&)> before_push;
  // After a pull, before a change that holds a document is stored: keep it,
  // store another value, or refuse it (nothing is stored; the local copy
  // stays as it was). Deletions are stored without asking.
  std::function<HookDecision(const DocumentId&, const Json& value)> after_pull;
  // Before a run starts: false postpones it. The run ends at once,
  // cancelled with the error "postponed" (an interval tick is skipped
  // without a run); its writes stay pending for the next run the hook lets
  // through. What a run did is in SyncCompletedEvent / SyncFailedEvent.
  std::function<bool(TriggerReason, SyncDirection)> before_run;
};

class SyncEngine {
 public:
  // Opens (or initializes) the engine state in `store`, which must outlive
  // the engine. Fails with kUnsupportedVersion for a store written by a newer
  // format, kCorruption when its state does not decode.
  [[nodiscard]] static Result<std::unique_ptr<SyncEngine>> Open(Store& store, EngineOptions options,
                                                                Instant now);

  // --- Inputs -------------------------------------------------------------
  // Records a local write durably (one commit) and returns its seq. Invalid
  // ids or values are refused with kInvalidArgument / kTooLarge.
  [[nodiscard]] Result<uint64_t> HandleLocalWrite(MutationOp op, const DocumentId& id,
                                                  const Json& value, Instant now);
  // Several writes in one atomic, durable commit (all or none); much faster
  // than one call per write for bulk work. Returns their seqs in order.
  //
  // `write_id` makes the call idempotent whoever runs it: a host that may run
  // one call twice (a browser context re-running a call it had forwarded to
  // an owner that went away before answering) passes the same non-empty id
  // each time. The first call commits the id and the seqs together with the
  // writes; a later call with that id writes nothing, emits nothing and
  // returns the recorded seqs, even after the store was reopened. An id is 1
  // to 64 characters of [A-Za-z0-9_-] (kInvalidArgument otherwise); the store
  // remembers the newest EngineOptions::write_id_limit of them. Empty: none.
  [[nodiscard]] Result<std::vector<uint64_t>> HandleLocalWrites(std::span<const LocalWrite> writes,
                                                                Instant now,
                                                                std::string_view write_id = {});
  // Starts a run in `direction`, or joins the running one when it covers
  // the request: a run still pushing covers any trigger its direction
  // includes (it pushes what is pending now, then pulls if it pulls); else a
  // follow-up run in the union of the directions asked for comes after it.
  RunTicket HandleTrigger(TriggerReason reason, Instant now,
                          SyncDirection direction = SyncDirection::kBoth);
  // A forced full resync: forgets the pull cursor and pulls everything from
  // the start; documents absent from that full pull (purged at the server)
  // are forgotten locally unless they have pending writes. Pending writes
  // stay queued and shown, and the run pushes them as any run does.
  // Rule: the resync is the next run that pulls. With no run in flight that
  // run starts now (reason kManual, direction both); with one in flight, the
  // resync follows it (a follow-up run), so a pull in progress is never
  // mixed with a full one. The request is held in memory until that run
  // starts, and from then on in the store (an interrupted resync starts over
  // after a restart). Returns the ticket of the run that will do it.
  RunTicket HandleResync(Instant now);
  // Evicts synced documents of `collection` from the local store: `keys`,
  // or every document of the collection when nullopt. The server keeps
  // them; documents with pending writes are skipped. Returns how many were
  // evicted (tombstones included) and emits a DocumentsChangedEvent with
  // `evicted` for those that left the local view.
  [[nodiscard]] Result<std::size_t> HandleEvict(std::string_view collection,
                                                const std::optional<std::vector<std::string>>& keys,
                                                Instant now);
  void HandleResponse(RequestId id, const HttpResponse& response, Instant now);
  // A chunk of the live stream's body, split anywhere (even inside a line).
  // Chunks for a stream the engine closed are ignored.
  void HandleStreamData(RequestId id, std::string_view bytes, Instant now);
  // The live stream ended: the server closed it, answered with an error
  // status, or the transport failed (status 0). A 401 makes the next attempt
  // ask the host for a fresh token.
  void HandleStreamEnd(RequestId id, const HttpResponse& response, Instant now);
  void HandleTimeout(Instant now);
  void HandleOnline(bool online, Instant now);
  // Stops the running sync and any scheduled retry. Every mutation stays
  // pending; a request already sent may still take effect at the server,
  // which the next push then sees as a duplicate.
  void Cancel(Instant now);
  void SetInterval(std::optional<TimeMs> interval_ms, Instant now);
  // The host saw the network change (a new interface, a different Wi-Fi, an
  // OS reachability callback) without knowing whether the server can be
  // reached: while the engine waits out a retry after network failures, it
  // probes the server at once (see EngineOptions::reachability_probe) and
  // reopens the live stream without waiting for its backoff.
  void HandleNetworkChanged(Instant now);
  // The host says whether the connection is metered (a cellular network;
  // false at open): see EngineOptions::deferrable. Leaving it with writes
  // waiting starts a run (reason online) when none is running.
  void HandleMetered(bool metered, Instant now);

  // --- Outputs ------------------------------------------------------------
  std::optional<Action> PollAction();
  // The earliest time HandleTimeout should be called, if any.
  std::optional<TimeMs> PollTimeout() const;

  // --- Queries and dead-letter management --------------------------------
  [[nodiscard]] Result<std::optional<Json>> Get(const DocumentId& id);
  [[nodiscard]] Result<std::vector<std::pair<std::string, Json>>> Scan(std::string_view collection,
                                                                       std::string_view key_prefix,
                                                                       std::size_t limit = 0);
  // A local query (query.h) over the local view, pending writes included:
  // the page it asks for, or how many documents match (limit and cursor
  // aside). Reads through the index that fits best (query_index.h), else
  // scans the collection; ExplainQuery says which (QueryPlanToJson).
  [[nodiscard]] Result<QueryPage> RunQuery(const Query& query);
  [[nodiscard]] Result<std::size_t> CountQuery(const Query& query);
  [[nodiscard]] Json ExplainQuery(const Query& query) const;
  // A live query (live_query.h): its page now follows as a
  // QueryChangedEvent, then each new page, right after the
  // DocumentsChangedEvent of the change that made it (a local write, a pull,
  // a conflict's resolution, an eviction). Changes of other collections cost
  // nothing; others mostly update the page without running the query again
  // (engine_live_query.cc). The caller picks the id, so that it knows its
  // pages from the first: kInvalidArgument when a live query has it already
  // (or it is 0), or for a cursor the query did not give.
  [[nodiscard]] Status SubscribeQuery(uint64_t id, const Query& query);
  // False when no such live query is subscribed. Its events already queued
  // still come out of PollAction.
  bool UnsubscribeQuery(uint64_t id);
  SyncStatus status() const;
  const SyncStatistics& statistics() const { return statistics_; }
  // Newest first.
  [[nodiscard]] Result<std::vector<SyncRunRecord>> History(std::size_t limit);
  [[nodiscard]] Result<std::vector<OutboxEntry>> FailedMutations();
  // Puts a dead letter back in the queue (as a new seq) / drops it for good.
  // `write_id` as for HandleLocalWrites: run again with the same id, a retry
  // returns the seq it queued and a discard succeeds, and nothing changes.
  [[nodiscard]] Result<uint64_t> RetryFailedMutation(uint64_t seq, Instant now,
                                                     std::string_view write_id = {});
  [[nodiscard]] Status DiscardFailedMutation(uint64_t seq, Instant now,
                                             std::string_view write_id = {});
  // Pending (not dead-lettered) writes with seq above `after_seq`, in seq
  // order, at most `limit` (0: 100, every surface's default page): seq,
  // document, op, attempts, and the
  // last attempt's time and error (OutboxEntry::last_attempt_at, error).
  // Values are returned as value_json only.
  [[nodiscard]] Result<std::vector<OutboxEntry>> PendingMutations(uint64_t after_seq,
                                                                  std::size_t limit);
  // Forgets the recorded runs; with `keep_latest`, all but the newest.
  [[nodiscard]] Status ClearHistory(bool keep_latest);
  // The conflict log (engine_conflict_log.cc): every conflict resolution,
  // automatic or by a custom resolver, recorded in the commit that applied
  // it. Entries with id above `after_id`, oldest first, at most `limit`
  // (0: 100); the log keeps EngineOptions::conflict_log_limit entries.
  [[nodiscard]] Result<std::vector<ConflictLogEntry>> ConflictLog(uint64_t after_id,
                                                                  std::size_t limit);
  [[nodiscard]] Status ClearConflictLog();
  // Open conflicts (engine_open_conflicts.cc), in document order. They are
  // kept in the store, so they survive a restart until resolved.
  [[nodiscard]] Result<std::vector<OpenConflict>> Conflicts();
  // Settles the open conflict on `id` with `value` (nullopt: the document is
  // deleted): a local write like any other, made against the server's
  // version this client knows now and pushed as usual, unless the local view
  // already is `value` (the server's document kept); recorded in the
  // conflict log. kNotFound when no conflict is open on `id`. `write_id` as
  // for HandleLocalWrites: run again with the same id, nothing changes.
  [[nodiscard]] Status ResolveConflict(const DocumentId& id, const std::optional<Json>& value,
                                       Instant now, std::string_view write_id = {});

  const std::string& client_id() const { return client_id_; }
  const EngineOptions& options() const { return options_; }
  bool online() const { return online_; }
  bool syncing() const { return run_.has_value(); }
  // The live stream is open and the server has greeted it.
  bool live_connected() const { return live_.id.has_value() && live_.greeted; }
  // A reachability probe is scheduled or in flight.
  bool probing() const { return probe_.id.has_value() || probe_.at.has_value(); }
  // The limits the next push is cut at (see EngineOptions::adaptive_batch).
  BatchLimits push_batch_limits() const {
    return options_.adaptive_batch ? push_sizer_.limits() : options_.batch;
  }

 private:
  struct Run {
    uint64_t id = 0;
    TriggerReason reason = TriggerReason::kManual;
    SyncDirection direction = SyncDirection::kBoth;
    TimeMs started_at = 0;
    SyncPhase phase = SyncPhase::kPush;
    uint64_t pushed = 0;
    uint64_t push_total = 0;
    uint64_t pulled = 0;
    uint64_t pull_total = 0;  // SyncProgressEvent::pull_total
    uint64_t conflicts = 0;
    uint64_t rejected = 0;
    // A trigger arrived that this run cannot cover: a follow-up run in this
    // direction comes after it.
    std::optional<SyncDirection> follow_up;
    std::size_t batch_count_limit = 0;
    std::optional<RequestId> request;
    TimeMs request_deadline = 0;
    HttpRequest sent;                // the request in flight, to repeat once after a 401
    std::vector<OutboxEntry> batch;  // the push in flight
    TimeMs push_sent_at = 0;         // monotonic, of the push in flight
    std::size_t push_bytes = 0;      // its values' encoded bytes
    std::size_t deferred = 0;        // writes the push phase left for later (metered)
  };

  // The live stream's state; see EngineOptions::live_updates.
  struct LiveStream {
    std::optional<RequestId> id;  // open (or opening)
    bool greeted = false;         // "hello" arrived on the open stream
    uint32_t failures = 0;        // consecutive ends without a hello
    bool refresh_credentials = false;
    std::optional<TimeMs> reopen_at;
    std::string line;        // the incomplete line so far
    std::string event_name;  // the "event:" field of the event being read
  };

  // The reachability probe's state; see EngineOptions::reachability_probe.
  struct ReachabilityProbe {
    std::optional<RequestId> id;  // in flight
    TimeMs deadline = 0;          // of the probe in flight
    std::optional<TimeMs> at;     // the next probe is due
    uint32_t failures = 0;        // consecutive probes without an answer
  };

  SyncEngine(Store& store, EngineOptions options, std::string client_id);
  [[nodiscard]] Status Load(Instant now);
  // Compares the options' pull scope with the one the cursor was obtained
  // under; a different one starts a full resync (EngineOptions::upload_only).
  [[nodiscard]] Status AdoptPullScope();
  // Builds the declared indexes the store lacks and drops those no longer
  // declared (engine_query.cc).
  [[nodiscard]] Status AdoptIndexes();
  // Brings the live queries up to date with `changed`, just polled, and
  // queues their new pages to come out next (engine_live_query.cc).
  void RefreshLiveQueries(const DocumentsChangedEvent& changed);
  // The documents matching `query`, read through its plan's index or by
  // scanning; QueryPageOf cuts the page from them.
  [[nodiscard]] Result<std::vector<std::pair<std::string, Json>>> ReadMatching(const Query& query);
  // The documents `plan` reads, filtered by the query (engine_query.cc).
  [[nodiscard]] Result<std::vector<std::pair<std::string, Json>>> ReadPlanned(
      const Query& query, const QueryPlan& plan);

  void StartRun(TriggerReason reason, Instant now, SyncDirection direction = SyncDirection::kBoth);
  // Asks for a follow-up run after the running one, widening one asked for.
  void AskFollowUp(SyncDirection direction);
  // Makes the starting run a full resync (see HandleResync); false when its
  // record could not be committed (the run failed).
  [[nodiscard]] bool BeginRequestedResync(Instant now);
  // No more pushes to send: pull, or end a push-only run.
  void FinishPushPhase(Instant now);
  // After a local write: schedules a run (see local_write_debounce_ms).
  void ScheduleLocalWriteSync(Instant now);
  void SendNextPush(Instant now);
  // Hooks (engine_hooks.cc). AskBeforePush stages each decision for `batch`
  // into `txn` (a replaced value, a refused write's dead letter), leaves in
  // `batch` what goes and in `events` what to emit after the commit; an
  // error (a hook that threw, storage) fails the run. AskAfterPull: whether
  // to store `change`, which it may rewrite. AskBeforeRun: whether a run
  // may start.
  [[nodiscard]] Status AskBeforePush(Transaction& txn, std::vector<OutboxEntry>& batch,
                                     std::vector<Event>& events, Instant now);
  [[nodiscard]] Result<bool> AskAfterPull(PulledChange& change);
  [[nodiscard]] Result<bool> AskBeforeRun(TriggerReason reason, SyncDirection direction);
  // Metered mode (engine_metered.cc). DeferringWrites: whether the run in
  // progress leaves deferrable writes for later. MoveDeferredBehind stages
  // new seqs for every deferred entry when `batch` would go ahead of one.
  // OnlyDeferrable: whether local writes this light start no run.
  bool DeferringWrites() const;
  [[nodiscard]] Status MoveDeferredBehind(Transaction& txn, const DeferredEntries& deferred,
                                          const std::vector<OutboxEntry>& batch);
  bool OnlyDeferrable(std::span<const LocalWrite> writes) const;
  // Starts the pull phase (from the stored cursor) / asks for the page after
  // `cursor`.
  void SendPull(Instant now);
  void SendPullPage(const std::string& cursor, Instant now);
  void SendRequestNow(std::string method, std::string target, std::string body, Instant now);
  void HandlePushResponse(const HttpResponse& response, Instant now);
  // Stages and commits the results of a push answer; false when that failed
  // (the run failed too). `ends_push_on_wire`: no later push was sent since.
  [[nodiscard]] bool ApplyPushResults(const std::vector<OutboxEntry>& batch,
                                      const std::vector<PushResult>& results,
                                      bool ends_push_on_wire, Instant now);
  // Commits answered_push_ and then pulled_page_, if any. Every input calls
  // it first, so answers reach the store in the order they came.
  void FlushAnswers(Instant now);
  void FlushAnsweredPush(Instant now);
  void FlushPulledPage(Instant now);
  // Stores a pull page and moves the cursor past it; false when that failed
  // (the run failed too).
  [[nodiscard]] bool ApplyPulledPage(const PullPage& page, Instant now);
  void HandlePullResponse(const HttpResponse& response, Instant now);
  // Resolves a conflict on `entry`'s document with the collection's strategy,
  // staging the outcome into `txn`; returns the event to emit.
  [[nodiscard]] Result<SyncConflictEvent> StageConflict(Transaction& txn, const OutboxEntry& entry,
                                                        const ServerDocument& current, Instant now);
  void ObserveRemoteClock(const std::string& hlc, Instant now);
  // The seqs recorded for `write_id` if a call with it was committed already
  // (see HandleLocalWrites); nothing for an empty id.
  [[nodiscard]] Result<std::optional<std::vector<uint64_t>>> FindWriteId(std::string_view write_id);
  // Stages the record of `write_id` (none if empty) and forgets the oldest
  // ids beyond EngineOptions::write_id_limit.
  [[nodiscard]] Status StageWriteId(Transaction& txn, std::string_view write_id,
                                    std::span<const uint64_t> seqs);
  [[nodiscard]] Status FinishResync();
  void CompleteRun(Instant now);
  void FailRun(const Status& error, Instant now, std::optional<TimeMs> retry_after = std::nullopt,
               bool retry = true);
  void EndRun(RunOutcome outcome, const std::string& error, Instant now);
  void AbortRequest(Instant now, const Status& failure = Status::Ok());
  // The push in flight ended without an answer that settled it (a failure,
  // a cancel, a refusal): counts its attempt in the entries it carried. When
  // that cannot be committed, the store's record makes the next Load count it.
  // `failure` (Ok for a cancel) becomes the entries' last error; a
  // transient one dead-letters those that reached EngineOptions::max_attempts.
  [[nodiscard]] Status EndPushInFlight(Instant now, const Status& failure = Status::Ok());
  // Dead-letters `capped` (staged already in `txn` as pending) for the
  // attempt cap; emits after the commit.
  [[nodiscard]] Status StageAttemptCap(Transaction& txn, std::vector<OutboxEntry>& counted,
                                       const std::string& error, Instant now);
  // Discards dead letters older than EngineOptions::dead_letter_max_age_ms
  // and arms dead_letter_check_at_ for the next one to come of age.
  void ExpireDeadLetters(Instant now);
  // A dead letter was made: make sure a check is due when it comes of age.
  void ScheduleDeadLetterCheck(Instant now);
  TimeMs BackoffDelay();
  // Opens the live stream when it should be open and is not (and its
  // reconnect delay has passed); closes it when it should not be open.
  void TendLiveStream(Instant now);
  void CloseLiveStream();
  void HandleStreamLine(std::string_view line, Instant now);
  void ScheduleLiveReconnect(Instant now);
  // Reachability probe (engine_probe.cc). Schedules the next probe when the
  // engine waits out a retry after a failure without an HTTP answer.
  void ScheduleProbe(Instant now);
  void SendProbe(Instant now);
  // Due probes and probe timeouts, from HandleTimeout.
  void TendProbe(Instant now);
  void HandleProbeResponse(const HttpResponse& response, Instant now);
  // Stops probing (cancels a probe in flight); `reset` also forgets failures.
  void StopProbe(bool reset);
  // Local retention (engine_retention.cc): one pass of the rules, at most
  // kEvictionsPerPass evictions.
  [[nodiscard]] Status ApplyRetention(Instant now);
  // The keys of `collection` its rule evicts now, oldest first.
  [[nodiscard]] Result<std::vector<std::string>> RetentionVictims(std::string_view collection,
                                                                  const RetentionRule& rule,
                                                                  TimeMs now_wall);
  // Reads the conflict log's next id (engine_conflict_log.cc).
  [[nodiscard]] Status LoadConflictLog();
  // Stages `entry` into the conflict log (its id assigned here) and drops
  // the entry that falls out of EngineOptions::conflict_log_limit.
  void StageConflictLogEntry(Transaction& txn, ConflictLogEntry entry);
  // Reads which documents have an open conflict (engine_open_conflicts.cc).
  [[nodiscard]] Status LoadOpenConflicts();
  // Stages the document's open conflict (replacing one it had).
  void StageOpenConflict(Transaction& txn, const ConflictInput& input, ConflictStrategy strategy,
                         Version server_version, TimeMs at);
  // The open conflict on `id` with the server's document as known now.
  [[nodiscard]] Result<std::optional<OpenConflict>> ReadOpenConflict(Transaction& txn,
                                                                     const DocumentId& id);
  // Stages `statistics` as the store's counters.
  void StageStatistics(Transaction& txn, const SyncStatistics& statistics);
  // Evicts `keys` of `collection` in one commit; emits the change event.
  [[nodiscard]] Result<std::size_t> Evict(std::string_view collection,
                                          const std::vector<std::string>& keys);
  // Remembers how far the wall clock is ahead of the monotonic one, to report
  // deadlines as wall times in status(); server copies staged while handling
  // this input are synced at `now`.
  void Observe(Instant now) {
    wall_minus_monotonic_ = now.wall - now.monotonic;
    replica_.set_time(now.wall);
  }
  void Emit(Event event);
  void EmitStatusIfChanged();
  void EmitProgress();
  // Recovers in-memory state from the store after a failed commit.
  void ReloadAfterStorageFailure();

  Store& store_;
  EngineOptions options_;
  std::string client_id_;
  Outbox outbox_;
  QueryIndexes indexes_;  // before replica_, which keeps a pointer to it
  Replica replica_;
  HybridLogicalClock clock_;
  std::mt19937_64 random_;

  bool online_ = true;
  bool metered_ = false;  // see HandleMetered
  std::optional<Run> run_;
  uint64_t next_run_id_ = 1;
  RequestId next_request_id_ = 1;
  std::string cursor_;
  CollectionScope pull_scope_;  // from the options: upload_only, pull_collections
  // Server copies without a sync time (store format 1) count as synced then:
  // when this store was first opened by a Ferry that records it.
  TimeMs copies_timed_since_ = 0;
  uint64_t next_conflict_log_id_ = 1;  // persisted with each entry
  // Documents with an open conflict, kept from eviction; the records
  // themselves stay in the store.
  std::set<DocumentId> open_conflicts_;
  bool resyncing_ = false;
  bool resync_requested_ = false;  // HandleResync: the next run that pulls resyncs
  std::set<DocumentId> resync_seen_;
  std::optional<TimeMs> last_synced_at_;
  std::string last_error_;
  bool last_run_failed_ = false;
  bool auth_failed_ = false;  // a 401 survived a token refresh; cleared by any 200
  // The last request got no HTTP answer (a transport error or a timeout):
  // status() says offline rather than error until a request is answered.
  bool unreachable_ = false;
  uint32_t consecutive_failures_ = 0;
  std::optional<TimeMs> retry_at_;
  std::optional<TimeMs> debounce_at_;
  std::optional<TimeMs> interval_at_;
  std::optional<TimeMs> dead_letter_check_at_;  // monotonic; see ExpireDeadLetters
  SyncStatistics statistics_;
  std::deque<Action> actions_;
  // Live queries by id. Each follows the DocumentsChangedEvents emitted
  // after it was subscribed (counted from `since`): its first page holds what
  // earlier ones changed. A stale one failed to refresh and runs again next.
  struct LiveQueryState {
    LiveQuery live;
    uint64_t since = 0;
    bool stale = false;
  };
  std::map<uint64_t, LiveQueryState> live_queries_;
  uint64_t changes_emitted_ = 0;
  uint64_t changes_polled_ = 0;
  std::optional<SyncStatus> last_status_emitted_;
  LiveStream live_;
  ReachabilityProbe probe_;
  PushSizer push_sizer_{options_.batch, options_.batch_target_ms};
  TimeMs wall_minus_monotonic_ = 0;
  // A push answer that settled every mutation it carried, not yet committed:
  // the next push was sent first (see HandlePushResponse).
  struct AnsweredPush {
    std::vector<OutboxEntry> batch;
    std::vector<PushResult> results;
    TimeMs answered_at = 0;  // monotonic; HandleTimeout is due from then
  };
  std::optional<AnsweredPush> answered_push_;
  // A pull page not stored yet: the next one was asked for first (see
  // HandlePullResponse).
  struct PulledPage {
    PullPage page;
    TimeMs answered_at = 0;  // monotonic; HandleTimeout is due from then
  };
  std::optional<PulledPage> pulled_page_;
};

// JSON forms of a run record and of statistics (camelCase keys), shared by
// the persisted history and the bindings.
Json SyncRunToJson(const SyncRunRecord& run);
Json SyncStatisticsToJson(const SyncStatistics& statistics);
// {"id", "at", "collection", "key", "strategy", "winner", "resolution",
// "runId", "serverVersion"}: the stored form of a conflict log entry, and, as
// a JSON array of them, the bindings'. Written as text, not through a Json
// object: nlohmann's object construction cost the wasm 4 KB here.
std::string ConflictLogEntryJson(const ConflictLogEntry& entry);
std::string ConflictLogJson(const std::vector<ConflictLogEntry>& entries);
// {"collection", "key", "base", "local", "remote", "localHlc", "remoteHlc",
// "strategy", "at", "runId", "serverVersion"} (null for an absent document),
// and an array of them: the bindings' form of open conflicts.
std::string OpenConflictJson(const OpenConflict& conflict);
std::string OpenConflictsJson(const std::vector<OpenConflict>& conflicts);

// Retry-After as delta-seconds or an HTTP-date (RFC 9110), relative to `now`.
std::optional<TimeMs> ParseRetryAfter(std::string_view value, TimeMs now);

}  // namespace ferry
