// ferry::async::AsyncClient: the C API (ferry.h) for JavaScript hosts, the
// Node addon and the React Native JSI module, written once.
//
// Every C call blocks until the client's owner thread answers, and no engine
// or disk work may run on a JavaScript thread. So each client has one FIFO
// worker thread that makes its C calls in call order, and everything that
// goes back to JavaScript (call results, events, log lines, requests for a
// token, a conflict to resolve, an HTTP request to carry) goes through ONE
// ordered queue the host supplies (Deliver). A call's result is queued only
// after the events the call caused (ferry_client_flush_events), so a
// JavaScript promise never settles before the status and change events of
// its call have been dispatched.
//
// Threading contract:
// - Create, the calls, Close and the destructor: the host's JS thread.
//   CompleteRequest and RequestData: any thread.
// - Everything handed to Deliver, and so every Completion and every
//   Callbacks member, runs on the JS thread, in the order it was queued.
// - The token provider and the conflict resolver are asked from the owner
//   thread, which blocks (never the JS thread) until the JS side answers,
//   the answer deadline passes (answer: no token / keep the server's
//   document), or the client starts closing (answered so at once).
// - After Close's completion nothing more is delivered. Dropping the last
//   reference without Close closes the client on the calling thread (it
//   waits for the worker) and delivers nothing more.
//
// Only the C API is used here (no Node or JSI header): hosts supply Deliver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/ferry.h"

namespace ferry::async {

// Runs `work` later on the JS thread. Called from any thread; the host keeps
// the order of the calls (one FIFO queue), and must not run `work` inline.
using Deliver = std::function<void(std::function<void()> work)>;

// The outcome of one call.
struct Result {
  ferry_result code = FERRY_OK;
  std::string message;  // why, on failure
  // get: the document's JSON (has_text false when it does not exist); scan,
  // query, syncNow, report: JSON; open: the client id.
  std::string text;
  bool has_text = false;
  uint64_t number = 0;  // retryFailedMutation: the new seq

  bool ok() const { return code == FERRY_OK; }
  // The error's name as JavaScript spells it: "invalid_argument", "busy"...
  const char* code_name() const { return ferry_result_name(code); }
};
// A completion is moved to the JS thread, never copied, and destroyed
// there: a host may capture JavaScript references in it.
using Completion = std::function<void(Result)>;

struct OpenOptions {
  std::string path;      // the SQLite file
  std::string endpoint;  // ferry-server's base URL
  bool sync_on_local_write = true;
  int64_t request_timeout_ms = 30000;
  int64_t interval_ms = 0;  // 0: none
  bool live_updates = true;
  std::size_t gzip_above_bytes = 1024;
  std::string conflicts_json;   // as ferry_client_options.conflicts_json ("" = default)
  bool host_transport = false;  // Callbacks::send_request carries HTTP (else libcurl)
  // As ferry_client_options.store_lock_timeout_ms: Open waits (on the
  // client's worker thread) this long for another client to close the store.
  int64_t store_lock_timeout_ms = 0;
  // How long the owner thread waits for the JS side to answer a token
  // request or a conflict; 0: request_timeout_ms.
  int64_t answer_deadline_ms = 0;
  // As ferry_client_options.max_attempts and dead_letter_max_age_ms; 0: off.
  uint32_t max_attempts = 0;
  int64_t dead_letter_max_age_ms = 0;
  // As the ferry_client_options fields of the same names; 0: the C API's
  // default (ferry_client_options_init), so each default is written once.
  int64_t backoff_base_ms = 0;
  int64_t backoff_max_ms = 0;
  std::size_t push_batch_size = 0;
  std::size_t push_batch_bytes = 0;
  std::size_t pull_page_size = 0;
  std::size_t history_limit = 0;
  // As ferry_client_options.conflict_log_limit (0: none); nullopt: its default.
  std::optional<std::size_t> conflict_log_limit;
  // As ferry_client_options.hook_points: where Callbacks::hook is asked.
  unsigned hook_points = 0;
  // As ferry_client_options.headers (checked by ferry_client_open).
  std::vector<std::pair<std::string, std::string>> headers;
  // As ferry_client_options.upload_only; pull_collections as its
  // pull_collections with has_pull_scope (nullopt: every collection).
  std::vector<std::string> upload_only;
  // As ferry_client_options.deferrable.
  std::vector<std::string> deferrable;
  // As ferry_client_options.indexes_json (empty: none).
  std::string indexes_json;
  std::optional<std::vector<std::string>> pull_collections;
  // As ferry_client_options.retention (0: a bound left out).
  struct Retention {
    std::string collection;
    int64_t max_age_ms = 0;
    uint64_t max_count = 0;
  };
  std::vector<Retention> retention;
};

// One HTTP request for a host transport (a copy: the host keeps it).
struct HttpRequest {
  uint64_t id = 0;
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // bytes
  int64_t timeout_ms = 0;
  bool stream = false;
};

// The JS side's answer to a token request.
struct TokenAnswer {
  enum class Kind { kToken, kNone, kFailed };
  Kind kind = Kind::kNone;
  std::string text;  // the token, or why there is none (kFailed)
};
// Hands the answer back; any thread, once (later calls are ignored).
using TokenReply = std::function<void(TokenAnswer)>;

// What the JS side provides. Each member runs on the JS thread (through
// Deliver). An empty get_token means no token provider; an empty
// resolve_conflict refuses the strategy "custom" at open; send_request is
// required with OpenOptions::host_transport.
struct Callbacks {
  std::function<void(const std::string& event_json)> on_event;
  // Answer through `reply`, now or later (a promise).
  std::function<void(bool refresh, TokenReply reply)> get_token;
  // Returns the answer JSON: {"value": document} | {"deleted": true} |
  // {"error": message}.
  std::function<std::string(const std::string& input_json)> resolve_conflict;
  // A hook (ferry_hook_callback): `point` a FERRY_HOOK_* value; returns the
  // answer JSON ({"keep"}, {"value"}, {"refuse"}, {"error"}; hook_forms.h).
  std::function<std::string(int point, const std::string& input_json)> hook;
  std::function<void(HttpRequest request)> send_request;
  std::function<void(uint64_t request_id)> cancel_request;
  std::function<void(int level, const std::string& message)> log;
};

class AsyncClient {
 public:
  // JS thread. Starts the worker thread; call Open next.
  AsyncClient(Deliver deliver, Callbacks callbacks);
  // Without Close: closes here, waiting for the worker; delivers nothing more.
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Each runs its C call on the worker, in call order, and delivers `done`.
  void Open(OpenOptions options, Completion done);  // text: the client id
  void Write(std::string writes_json, Completion done);
  void Get(std::string collection, std::string key, Completion done);
  void Scan(std::string collection, std::string key_prefix, std::size_t limit, Completion done);
  // ferry_client_query: text, the page's JSON. ferry_client_count: number.
  // ferry_client_explain: text, the plan's JSON.
  void Query(std::string query_json, Completion done);
  void Count(std::string query_json, Completion done);
  void Explain(std::string query_json, Completion done);
  // ferry_client_subscribe_query with the caller's id; delivered after its
  // first page reached the event listener. Both: no result.
  void SubscribeQuery(uint64_t id, std::string query_json, Completion done);
  void UnsubscribeQuery(uint64_t id, Completion done);
  // Never blocks the worker (ferry_client_sync_now_direction_async): calls
  // after it run while the sync does. `direction`: a ferry_sync_direction
  // value (another is FERRY_INVALID_ARGUMENT). text: the run's JSON.
  void SyncNow(int direction, Completion done);
  // A forced full resync (ferry_client_resync_async), answered as SyncNow.
  void Resync(Completion done);
  void StartBackgroundSync(int64_t interval_ms, Completion done);
  void StopBackgroundSync(Completion done);
  void SetOnline(bool online, Completion done);
  void NetworkChanged(Completion done);
  void SetMetered(bool metered, Completion done);
  void Cancel(Completion done);
  // text: {"status", "statistics", "history", "failedMutations"}.
  void Report(std::size_t history_limit, Completion done);
  void RetryFailedMutation(uint64_t seq, Completion done);  // number: the new seq
  void DiscardFailedMutation(uint64_t seq, Completion done);
  // text: ferry_client_pending_mutations' JSON array.
  void PendingMutations(uint64_t after_seq, std::size_t limit, Completion done);
  void ClearHistory(bool keep_latest, Completion done);
  // The conflict log page as JSON text (ferry_client_conflict_log).
  void ConflictLog(uint64_t after_id, std::size_t limit, Completion done);
  void ClearConflictLog(Completion done);
  // Open conflicts as JSON text (ferry_client_conflicts); settling one with
  // `value_json`, the document or null to delete it.
  void Conflicts(Completion done);
  void ResolveConflict(std::string collection, std::string key, std::string value_json,
                       Completion done);
  // ferry_client_evict: `keys`, or the whole collection when nullopt.
  // number: how many went.
  void Evict(std::string collection, std::optional<std::vector<std::string>> keys, Completion done);
  // Closes the client (answering waiting token and conflict requests at
  // once), then delivers `done`, and nothing after it. Calls made after
  // Close fail with FERRY_INVALID_HANDLE.
  void Close(Completion done);

  // Host transport answers: any thread; they queue the answer for the owner
  // thread and never wait for the engine. A late or unknown id is ignored.
  void CompleteRequest(uint64_t request_id, int status, const std::string& body,
                       const std::string& retry_after, const std::string& transport_error);
  void RequestData(uint64_t request_id, const std::string& chunk);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Sign-out: ferry_delete_local_data on a thread of its own; `done` through
// `deliver`.
void DeleteLocalData(std::string path, Deliver deliver, Completion done);

// ferry_cleartext_endpoint_warning, at once on the calling thread (it does no
// I/O): the warning's text, or no text when there is nothing to warn of.
Result CleartextEndpointWarning(const std::string& endpoint);

}  // namespace ferry::async
