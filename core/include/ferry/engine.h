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
// deadline that is already due: after a push answer the engine sends the next
// push and commits the answer on such a timer, so the server works on that
// push meanwhile (the native runtime starts a transfer at once; the browser's
// fetch does). A host that runs the timer first loses only that overlap.
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
#include "ferry/model.h"
#include "ferry/outbox.h"
#include "ferry/protocol.h"
#include "ferry/replica.h"
#include "ferry/store.h"

namespace ferry {

// Milliseconds: a duration, or a point on one of the two clocks of Instant.
using TimeMs = int64_t;

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
  kFollowUp
};
enum class SyncPhase { kPush, kPull };
enum class RunOutcome { kCompleted, kFailed, kCancelled };

std::string_view SyncStateName(SyncState state);
std::string_view TriggerReasonName(TriggerReason reason);
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
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

struct SyncRunRecord {
  uint64_t run_id = 0;
  TriggerReason reason = TriggerReason::kManual;
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
};
struct SyncProgressEvent {
  uint64_t run_id;
  SyncPhase phase;
  uint64_t pushed;      // applied (or duplicate) so far
  uint64_t push_done;   // answered so far: applied, duplicate, conflict or rejected
  uint64_t push_total;  // pending when the run began plus writes it picked up
  uint64_t pulled;
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
};
using Event = std::variant<SyncStartedEvent, SyncProgressEvent, SyncCompletedEvent, SyncFailedEvent,
                           SyncConflictEvent, MutationRejectedEvent, StatusChangedEvent,
                           DocumentsChangedEvent>;

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
  // Seeds backoff jitter (sync retries and live reconnects) and, for a new
  // store, the client id. Hosts pass real
  // randomness; the simulation passes a per-run seed to replay exactly.
  uint64_t random_seed = 0;
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
  RunTicket HandleTrigger(TriggerReason reason, Instant now);
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

  // --- Outputs ------------------------------------------------------------
  std::optional<Action> PollAction();
  // The earliest time HandleTimeout should be called, if any.
  std::optional<TimeMs> PollTimeout() const;

  // --- Queries and dead-letter management --------------------------------
  [[nodiscard]] Result<std::optional<Json>> Get(const DocumentId& id);
  [[nodiscard]] Result<std::vector<std::pair<std::string, Json>>> Scan(std::string_view collection,
                                                                       std::string_view key_prefix,
                                                                       std::size_t limit = 0);
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

  const std::string& client_id() const { return client_id_; }
  const EngineOptions& options() const { return options_; }
  bool online() const { return online_; }
  bool syncing() const { return run_.has_value(); }
  // The live stream is open and the server has greeted it.
  bool live_connected() const { return live_.id.has_value() && live_.greeted; }

 private:
  struct Run {
    uint64_t id = 0;
    TriggerReason reason = TriggerReason::kManual;
    TimeMs started_at = 0;
    SyncPhase phase = SyncPhase::kPush;
    uint64_t pushed = 0;
    uint64_t push_total = 0;
    uint64_t pulled = 0;
    uint64_t conflicts = 0;
    uint64_t rejected = 0;
    bool follow_up = false;  // a trigger arrived that this run cannot cover
    std::size_t batch_count_limit = 0;
    std::optional<RequestId> request;
    TimeMs request_deadline = 0;
    HttpRequest sent;                // the request in flight, to repeat once after a 401
    std::vector<OutboxEntry> batch;  // the push in flight
    std::string pull_cursor_sent;
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

  SyncEngine(Store& store, EngineOptions options, std::string client_id);
  [[nodiscard]] Status Load(Instant now);

  void StartRun(TriggerReason reason, Instant now);
  // After a local write: schedules a run (see local_write_debounce_ms).
  void ScheduleLocalWriteSync(Instant now);
  void SendNextPush(Instant now);
  void SendPull(Instant now);
  void SendRequestNow(std::string method, std::string target, std::string body, Instant now);
  void HandlePushResponse(const HttpResponse& response, Instant now);
  // Stages and commits the results of a push answer; false when that failed
  // (the run failed too). `ends_push_on_wire`: no later push was sent since.
  [[nodiscard]] bool ApplyPushResults(const std::vector<OutboxEntry>& batch,
                                      const std::vector<PushResult>& results,
                                      bool ends_push_on_wire, Instant now);
  // Commits answered_push_, if any. Every input calls it first, so answers
  // reach the store in the order they came.
  void FlushAnsweredPush(Instant now);
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
  void AbortRequest();
  // The push in flight ended without an answer that settled it (a failure,
  // a cancel, a refusal): counts its attempt in the entries it carried. When
  // that cannot be committed, the store's record makes the next Load count it.
  [[nodiscard]] Status EndPushInFlight();
  TimeMs BackoffDelay();
  // Opens the live stream when it should be open and is not (and its
  // reconnect delay has passed); closes it when it should not be open.
  void TendLiveStream(Instant now);
  void CloseLiveStream();
  void HandleStreamLine(std::string_view line, Instant now);
  void ScheduleLiveReconnect(Instant now);
  // Remembers how far the wall clock is ahead of the monotonic one, to report
  // deadlines as wall times in status().
  void Observe(Instant now) { wall_minus_monotonic_ = now.wall - now.monotonic; }
  void Emit(Event event);
  void EmitStatusIfChanged();
  void EmitProgress();
  // Recovers in-memory state from the store after a failed commit.
  void ReloadAfterStorageFailure();

  Store& store_;
  EngineOptions options_;
  std::string client_id_;
  Outbox outbox_;
  Replica replica_;
  HybridLogicalClock clock_;
  std::mt19937_64 random_;

  bool online_ = true;
  std::optional<Run> run_;
  uint64_t next_run_id_ = 1;
  RequestId next_request_id_ = 1;
  std::string cursor_;
  bool resyncing_ = false;
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
  SyncStatistics statistics_;
  std::deque<Action> actions_;
  std::optional<SyncStatus> last_status_emitted_;
  LiveStream live_;
  TimeMs wall_minus_monotonic_ = 0;
  // A push answer that settled every mutation it carried, not yet committed:
  // the next push was sent first (see HandlePushResponse).
  struct AnsweredPush {
    std::vector<OutboxEntry> batch;
    std::vector<PushResult> results;
    TimeMs answered_at = 0;  // monotonic; HandleTimeout is due from then
  };
  std::optional<AnsweredPush> answered_push_;
};

// JSON forms of a run record and of statistics (camelCase keys), shared by
// the persisted history and the bindings.
Json SyncRunToJson(const SyncRunRecord& run);
Json SyncStatisticsToJson(const SyncStatistics& statistics);

// Retry-After as delta-seconds or an HTTP-date (RFC 9110), relative to `now`.
std::optional<TimeMs> ParseRetryAfter(std::string_view value, TimeMs now);

}  // namespace ferry
