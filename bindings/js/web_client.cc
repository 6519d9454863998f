// The web runtime and the Embind surface of ferry-sync.
//
// The JS event loop drives the engine: every call from JS runs the engine on
// the spot, then Pump() carries out the shared EngineHost's tasks through the
// JS host (library_ferry.js -> Module.ferryHost, implemented in web/src):
// tokens come from the app's getToken, requests (headers built by the host)
// go out through fetch, the next deadline becomes one setTimeout, events go to
// the client's EventTarget, and a commit asks the host to persist
// (web/src/persist.ts). No threads, no ASYNCIFY, no blocking.
//
// The boundary is strings: arguments are checked C++ types (Embind rejects
// wrong JS types with an error before we run), and results are JSON objects
// {"ok":true,...} or {"ok":false,"code":"...","message":"..."} that the
// TypeScript wrapper turns into values or rejected promises.
//
// Threading: the JS event loop only.
#include <emscripten/bind.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ferry/engine.h"
#include "ferry/engine_host.h"
#include "ferry/hook_forms.h"
#include "ferry/json_forms.h"
#include "ferry/request_headers.h"
#include "ferry/store_journal.h"

extern "C" {
// library_ferry.js
void ferry_js_need_token(int client, double request_id, int refresh);
void ferry_js_fetch(int client, const char* request_json);
void ferry_js_abort(int client, double request_id);
void ferry_js_set_timer(int client, double delay_ms);
void ferry_js_emit(int client, const char* event_json);
void ferry_js_sync_done(int client, double waiter, const char* result_json);
char* ferry_js_resolve(int client, const char* input_json);
char* ferry_js_hook(int client, int point, const char* input_json);
void ferry_js_persist(int client);
void ferry_js_log(int client, int level, const char* message);
double ferry_js_monotonic_now();
double ferry_js_wall_now();
}

namespace ferry {
namespace {

// Number.MAX_SAFE_INTEGER: the largest whole number a JS number carries exactly.
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

// performance.now() for deadlines (it never steps back), Date.now() for the
// hybrid logical clock and the times shown to users.
Instant Now() {
  return {static_cast<TimeMs>(ferry_js_monotonic_now()), static_cast<TimeMs>(ferry_js_wall_now())};
}

// An EngineHost request for ferry_js_fetch: {"id", "method", "url",
// "headers": [[name, value]...], "body", "gzip", "timeoutMs", "stream"}.
Json RequestJson(const OutgoingRequest& request) {
  Json headers = Json::array();
  for (const auto& [name, value] : request.headers)
    headers.push_back(Json::array({name, value}));
  return {{"id", request.id},
          {"method", request.method},
          {"url", request.url},
          {"headers", std::move(headers)},
          {"body", request.body},
          {"gzip", request.gzip_body},
          {"timeoutMs", request.timeout_ms},
          {"stream", request.stream}};
}

std::string Error(const Status& status) {
  return DumpJson(
      Json{{"ok", false}, {"code", ErrorCodeName(status.code())}, {"message", status.message()}});
}

std::string Ok(Json fields = Json::object()) {
  fields["ok"] = true;
  return DumpJson(fields);
}

// A live query's id from JS: a whole number from 1 to 2^53, else 0, which
// the engine refuses (a double that is not one must not reach the cast).
uint64_t QueryId(double id) {
  constexpr double kMax = 9007199254740992.0;  // 2^53
  return id >= 1 && id <= kMax && id == std::floor(id) ? static_cast<uint64_t>(id) : 0;
}

}  // namespace

class WebClient {
 public:
  explicit WebClient(int handle) : handle_(handle) {}

  // Opens the store in `directory` (already mounted and loaded by the host)
  // with options as JSON: {"endpoint", "hasTokenProvider", "gzipAboveBytes",
  // "canGzip", "liveUpdates", "seed", "autoSync", "debounceMs", "intervalMs",
  // "requestTimeoutMs", "pushBatch", "pullPage", "conflicts": {"default",
  // "collections": {name: strategy}, "custom": bool}, "hooks": HookPoint bits}. The TypeScript
  // wrapper has checked every option's type; this checks again what it reads.
  std::string Open(std::string directory, std::string options_json) {
    if (host_) return Error(Status(ErrorCode::kInvalidArgument, "already open"));
    auto options = ParseJson(options_json);
    if (!options.ok() || !options->is_object()) {
      return Error(Status(ErrorCode::kInvalidArgument, "options must be a JSON object"));
    }
    auto engine_options = ParseEngineOptions(*options);
    if (!engine_options.ok()) return Error(engine_options.status());
    auto headers = ParseHeaders(*options, options->value("hasTokenProvider", false));
    if (!headers.ok()) return Error(headers.status());
    auto store = JournalStore::Open(directory);
    if (!store.ok()) return Error(store.status());
    store_ = std::move(*store);
    auto engine = SyncEngine::Open(*store_, *engine_options, Now());
    if (!engine.ok()) {
      store_.reset();
      return Error(engine.status());
    }
    const Json& o = *options;
    HostOptions host;
    host.endpoint = o.value("endpoint", std::string());
    host.has_token_provider = o.value("hasTokenProvider", false);
    host.gzip_above_bytes = o.value("gzipAboveBytes", std::size_t{1024});
    host.can_gzip = o.value("canGzip", false);
    host.headers = std::move(*headers);
    if (o.value("hasLog", false)) {
      host.log = [handle = handle_](LogLevel level, const std::string& message) {
        ferry_js_log(handle, static_cast<int>(level), message.c_str());
      };
    }
    host_ = std::make_unique<EngineHost>(std::move(*engine), std::move(host), Now());
    host_->AddListener([handle = handle_](const Event& event) {
      ferry_js_emit(handle, DumpJson(EventToJson(event)).c_str());
    });
    const std::string client_id = host_->engine().client_id();
    Pump();
    return Ok({{"clientId", client_id}});
  }

  // "headers": {name: value}, checked by the one rule every runtime uses.
  static Result<RequestHeaders> ParseHeaders(const Json& o, bool has_token_provider) {
    RequestHeaders headers;
    const auto found = o.find("headers");
    if (found != o.end() && !found->is_null()) {
      if (!found->is_object()) {
        return Status(ErrorCode::kInvalidArgument, "options.headers must be an object");
      }
      for (const auto& [name, value] : found->items()) {
        if (!value.is_string()) {
          return Status(ErrorCode::kInvalidArgument,
                        "options.headers: the value of " + name + " must be a string");
        }
        headers.emplace_back(name, value.get<std::string>());
      }
    }
    FERRY_RETURN_IF_ERROR(CheckCustomHeaders(headers, has_token_provider));
    return headers;
  }

  // An option left out keeps the engine's default, so each default is
  // written once, in EngineOptions.
  Result<EngineOptions> ParseEngineOptions(const Json& o) {
    EngineOptions engine_options;
    try {
      engine_options.random_seed = o.value("seed", engine_options.random_seed);
      engine_options.sync_on_local_write = o.value("autoSync", engine_options.sync_on_local_write);
      engine_options.live_updates = o.value("liveUpdates", engine_options.live_updates);
      engine_options.local_write_debounce_ms =
          o.value("debounceMs", engine_options.local_write_debounce_ms);
      engine_options.request_timeout_ms =
          o.value("requestTimeoutMs", engine_options.request_timeout_ms);
      engine_options.batch.max_count = o.value("pushBatch", engine_options.batch.max_count);
      engine_options.pull_page_size = o.value("pullPage", engine_options.pull_page_size);
    } catch (const Json::exception& error) {
      return Status(ErrorCode::kInvalidArgument, std::string("options: ") + error.what());
    }
    // Backoff, batch, page and history bounds (issue 17): a positive whole
    // number, else the default (ferry-sync checked the types already).
    ReadPositive(o, "backoffBaseMs", engine_options.backoff_base_ms);
    ReadPositive(o, "backoffMaxMs", engine_options.backoff_max_ms);
    ReadPositive(o, "pushBatchSize", engine_options.batch.max_count);
    ReadPositive(o, "pushBatchBytes", engine_options.batch.max_bytes);
    ReadPositive(o, "pullPageSize", engine_options.pull_page_size);
    ReadPositive(o, "historyLimit", engine_options.history_limit);
    // 0 is a choice here (record none); absent keeps the default.
    if (const auto found = o.find("conflictLogLimit");
        found != o.end() && found->is_number_unsigned() && found->get<uint64_t>() <= UINT32_MAX) {
      engine_options.conflict_log_limit = found->get<std::size_t>();
    }
    if (o.contains("intervalMs") && o["intervalMs"].is_number()) {
      engine_options.interval_ms = o["intervalMs"].get<TimeMs>();
    }
    // Queue control (issue 17): absent or 0 leaves each off.
    if (o.contains("maxAttempts") && o["maxAttempts"].is_number_unsigned() &&
        o["maxAttempts"].get<uint64_t>() > 0) {
      engine_options.max_attempts =
          static_cast<uint32_t>(std::min<uint64_t>(o["maxAttempts"].get<uint64_t>(), UINT32_MAX));
    }
    if (o.contains("deadLetterMaxAgeMs") && o["deadLetterMaxAgeMs"].is_number() &&
        o["deadLetterMaxAgeMs"].get<double>() > 0) {
      engine_options.dead_letter_max_age_ms = o["deadLetterMaxAgeMs"].get<TimeMs>();
    }
    FERRY_RETURN_IF_ERROR(ReadScope(o, engine_options));
    FERRY_RETURN_IF_ERROR(ReadRetention(o, engine_options));
    FERRY_RETURN_IF_ERROR(
        ParseConflictOptions(o.value("conflicts", Json::object()), engine_options));
    // "hooks": the HookPoint bits the app gave hooks for; each asks the JS
    // host (ferry_js_hook) synchronously, as the resolver does.
    if (const auto hooks = o.find("hooks"); hooks != o.end() && hooks->is_number_unsigned()) {
      InstallHooks(engine_options, hooks->get<unsigned>(),
                   [this](HookPoint point, const std::string& input) {
                     char* answer = ferry_js_hook(handle_, static_cast<int>(point), input.c_str());
                     std::string text = answer != nullptr ? answer : "";
                     std::free(answer);
                     return text;
                   });
    }
    return engine_options;
  }

  // Sets `target` from `o[name]` when that is a whole number from 1 to
  // `max`; anything else leaves the default (never a throw in the module).
  template <typename Number>
  static void ReadPositive(const Json& o, const char* name, Number& target,
                           uint64_t max = UINT32_MAX) {
    const auto found = o.find(name);
    if (found == o.end() || !found->is_number_unsigned()) return;
    const uint64_t value = found->get<uint64_t>();
    if (value > 0 && value <= max) target = static_cast<Number>(value);
  }

  // "uploadOnly", "deferrable" and "pullCollections" (absent: every
  // collection), arrays of collection names the engine checks at open; and
  // "indexes", declarations as query_index.h reads them.
  static Status ReadScope(const Json& o, EngineOptions& options) {
    if (o.contains("uploadOnly")) {
      FERRY_RETURN_IF_ERROR(ReadNames(o["uploadOnly"], "options.uploadOnly", options.upload_only));
    }
    if (o.contains("deferrable")) {
      FERRY_RETURN_IF_ERROR(ReadNames(o["deferrable"], "options.deferrable", options.deferrable));
    }
    if (o.contains("indexes")) {
      FERRY_ASSIGN_OR_RETURN(options.indexes, IndexesFromJson(o["indexes"]));
    }
    if (o.contains("pullCollections") && !o["pullCollections"].is_null()) {
      FERRY_RETURN_IF_ERROR(ReadNames(o["pullCollections"], "options.pullCollections",
                                      options.pull_collections.emplace()));
    }
    return Status::Ok();
  }

  // "retention": [{"collection", "maxAgeMs", "maxCount"}] (ferry-sync's
  // retentionRules); the engine checks the names and that a rule has a bound.
  static Status ReadRetention(const Json& o, EngineOptions& options) {
    const auto found = o.find("retention");
    if (found == o.end()) return Status::Ok();
    if (!found->is_array()) {
      return Status(ErrorCode::kInvalidArgument, "options.retention must be an array");
    }
    for (const Json& rule : *found) {
      if (!rule.is_object() || !rule.value("collection", Json()).is_string()) {
        return Status(ErrorCode::kInvalidArgument, "options.retention: a rule needs a collection");
      }
      RetentionRule& read = options.retention[rule["collection"].get<std::string>()];
      ReadPositive(rule, "maxAgeMs", read.max_age_ms, kMaxSafeInteger);
      ReadPositive(rule, "maxCount", read.max_count);
    }
    return Status::Ok();
  }

  // A JSON array of strings into `target`; `what` names it in the error.
  static Status ReadNames(const Json& list, const char* what, std::vector<std::string>& target) {
    if (!list.is_array()) {
      return Status(ErrorCode::kInvalidArgument, std::string(what) + " must be an array");
    }
    for (const Json& name : list) {
      if (!name.is_string()) {
        return Status(ErrorCode::kInvalidArgument, std::string(what) + " must hold strings");
      }
      target.push_back(name.get<std::string>());
    }
    return Status::Ok();
  }

  // "conflicts" from the options; a custom resolver calls back into the JS
  // host (ferry_js_resolve) synchronously.
  Status ParseConflictOptions(const Json& conflicts, EngineOptions& options) {
    FERRY_RETURN_IF_ERROR(ConflictStrategiesFromJson(conflicts, options.conflicts));
    if (conflicts.value("custom", false)) {
      options.conflicts.custom = [this](const ConflictInput& in) -> Result<std::optional<Json>> {
        char* answer = ferry_js_resolve(handle_, DumpJson(ConflictInputToJson(in)).c_str());
        auto resolution = ConflictAnswerFromText(answer != nullptr ? answer : "");
        std::free(answer);
        return resolution;
      };
    }
    return Status::Ok();
  }

  // writes: [{"op":"put"|"patch"|"delete","collection","key","value"}]
  // write_id: empty, or the id of a call another context forwarded, the same
  // each time it is run (SyncEngine::HandleLocalWrites applies it once).
  std::string Write(std::string writes_json, std::string write_id) {
    if (!host_) return NotOpen();
    auto writes = LocalWritesFromText(writes_json);
    if (!writes.ok()) return Error(writes.status());
    auto seqs = host_->engine().HandleLocalWrites(*writes, Now(), write_id);
    Pump();
    if (!seqs.ok()) return Error(seqs.status());
    return Ok({{"seqs", *seqs}});
  }

  std::string Get(std::string collection, std::string key) {
    if (!host_) return NotOpen();
    auto value = host_->engine().Get({std::move(collection), std::move(key)});
    if (!value.ok()) return Error(value.status());
    return Ok({{"value", value->value_or(Json())}, {"exists", value->has_value()}});
  }

  std::string Scan(std::string collection, std::string prefix, double limit) {
    if (!host_) return NotOpen();
    auto rows =
        host_->engine().Scan(collection, prefix, limit > 0 ? static_cast<std::size_t>(limit) : 0);
    if (!rows.ok()) return Error(rows.status());
    Json items = Json::array();
    for (auto& [key, value] : *rows)
      items.push_back({{"key", key}, {"value", std::move(value)}});
    return Ok({{"items", std::move(items)}});
  }

  // A local query (query.h) as JSON text: {"page": {"documents", "next"}}.
  std::string Query(std::string query_json) {
    if (!host_) return NotOpen();
    auto query = QueryFromText(query_json);
    if (!query.ok()) return Error(query.status());
    auto page = host_->engine().RunQuery(*query);
    if (!page.ok()) return Error(page.status());
    return Ok({{"page", QueryPageToJson(*page)}});
  }

  std::string Count(std::string query_json) {
    if (!host_) return NotOpen();
    auto query = QueryFromText(query_json);
    if (!query.ok()) return Error(query.status());
    auto count = host_->engine().CountQuery(*query);
    if (!count.ok()) return Error(count.status());
    return Ok({{"count", *count}});
  }

  // {"plan": SyncEngine::ExplainQuery's JSON}.
  std::string Explain(std::string query_json) {
    if (!host_) return NotOpen();
    auto query = QueryFromText(query_json);
    if (!query.ok()) return Error(query.status());
    return Ok({{"plan", host_->engine().ExplainQuery(*query)}});
  }

  // A live query with the caller's id (SyncEngine::SubscribeQuery): its
  // first page goes out as a "query" event before this returns.
  std::string SubscribeQuery(double id, std::string query_json) {
    if (!host_) return NotOpen();
    auto query = QueryFromText(query_json);
    if (!query.ok()) return Error(query.status());
    Status subscribed = host_->engine().SubscribeQuery(QueryId(id), *query);
    Pump();
    return subscribed.ok() ? Ok() : Error(subscribed);
  }

  std::string UnsubscribeQuery(double id) {
    if (!host_) return NotOpen();
    if (host_->engine().UnsubscribeQuery(QueryId(id))) return Ok();
    return Error(Status(ErrorCode::kNotFound, "no such live query"));
  }

  // Starts (or joins) a sync in `direction` ("both", "push" or "pull");
  // ferry_js_sync_done(handle, waiter, result) reports the run that covered
  // it: {"ok":true,"run":{...}} or an error.
  void SyncNow(std::string reason, std::string direction, double waiter) {
    if (!host_) {
      ferry_js_sync_done(handle_, waiter, NotOpen().c_str());
      return;
    }
    const std::optional<SyncDirection> parsed_direction = ParseSyncDirection(direction);
    if (!parsed_direction) {
      const Status invalid(ErrorCode::kInvalidArgument,
                           "direction must be \"push\", \"pull\" or \"both\"");
      ferry_js_sync_done(handle_, waiter, Error(invalid).c_str());
      return;
    }
    TriggerReason parsed = TriggerReason::kManual;
    if (reason == "background_sync") parsed = TriggerReason::kBackgroundSync;
    if (reason == "poke") parsed = TriggerReason::kPoke;
    if (reason == "app_start") parsed = TriggerReason::kAppStart;
    host_->RequestSync(parsed, Now(), RunDone(waiter), *parsed_direction);
    Pump();
  }

  // A forced full resync (EngineHost::RequestResync), reported as SyncNow's.
  void Resync(double waiter) {
    if (!host_) {
      ferry_js_sync_done(handle_, waiter, NotOpen().c_str());
      return;
    }
    host_->RequestResync(Now(), RunDone(waiter));
    Pump();
  }

  // Hands the run that answers `waiter` to the package.
  [[nodiscard]] SyncCallback RunDone(double waiter) const {
    return [handle = handle_, waiter](const Result<SyncRunRecord>& run) {
      const std::string answer =
          run.ok() ? Ok({{"run", SyncRunToJson(*run)}}) : Error(run.status());
      ferry_js_sync_done(handle, waiter, answer.c_str());
    };
  }

  void SetOnline(bool online) {
    if (!host_) return;
    host_->engine().HandleOnline(online, Now());
    Pump();
  }

  void NetworkChanged() {
    if (!host_) return;
    host_->engine().HandleNetworkChanged(Now());
    Pump();
  }

  void SetMetered(bool metered) {
    if (!host_) return;
    host_->engine().HandleMetered(metered, Now());
    Pump();
  }

  void Cancel() {
    if (!host_) return;
    host_->engine().Cancel(Now());
    Pump();
  }

  // <= 0 stops background sync.
  void SetInterval(double interval_ms) {
    if (!host_) return;
    host_->engine().SetInterval(
        interval_ms > 0 ? std::optional<TimeMs>(static_cast<TimeMs>(interval_ms)) : std::nullopt,
        Now());
    Pump();
  }

  std::string GetStatus() {
    return host_ ? Ok({{"status", SyncStatusToJson(host_->engine().status())}}) : NotOpen();
  }

  std::string GetStatistics() {
    if (!host_) return NotOpen();
    return Ok({{"statistics", SyncStatisticsToJson(host_->engine().statistics())}});
  }

  std::string History(double limit) {
    if (!host_) return NotOpen();
    auto runs = host_->engine().History(limit > 0 ? static_cast<std::size_t>(limit) : 50);
    if (!runs.ok()) return Error(runs.status());
    Json items = Json::array();
    for (const SyncRunRecord& run : *runs)
      items.push_back(SyncRunToJson(run));
    return Ok({{"runs", std::move(items)}});
  }

  std::string FailedMutations() {
    if (!host_) return NotOpen();
    auto entries = host_->engine().FailedMutations();
    if (!entries.ok()) return Error(entries.status());
    Json items = Json::array();
    for (const OutboxEntry& entry : *entries)
      items.push_back(FailedMutationToJson(entry));
    return Ok({{"mutations", std::move(items)}});
  }

  std::string RetryFailedMutation(double seq, std::string write_id) {
    if (!host_) return NotOpen();
    auto retried = host_->engine().RetryFailedMutation(static_cast<uint64_t>(seq), Now(), write_id);
    Pump();
    if (!retried.ok()) return Error(retried.status());
    return Ok({{"seq", *retried}});
  }

  std::string DiscardFailedMutation(double seq, std::string write_id) {
    if (!host_) return NotOpen();
    Status discarded =
        host_->engine().DiscardFailedMutation(static_cast<uint64_t>(seq), Now(), write_id);
    Pump();
    return discarded.ok() ? Ok() : Error(discarded);
  }

  // Queue control (issue 17).
  std::string PendingMutations(double after_seq, double limit) {
    if (!host_) return NotOpen();
    auto entries =
        host_->engine().PendingMutations(after_seq > 0 ? static_cast<uint64_t>(after_seq) : 0,
                                         limit > 0 ? static_cast<std::size_t>(limit) : 0);
    if (!entries.ok()) return Error(entries.status());
    Json items = Json::array();
    for (const OutboxEntry& entry : *entries)
      items.push_back(PendingMutationToJson(entry));
    return Ok({{"mutations", std::move(items)}});
  }

  std::string ConflictLog(double after_id, double limit) {
    if (!host_) return NotOpen();
    auto entries = host_->engine().ConflictLog(after_id > 0 ? static_cast<uint64_t>(after_id) : 0,
                                               limit > 0 ? static_cast<std::size_t>(limit) : 0);
    if (!entries.ok()) return Error(entries.status());
    return "{\"ok\":true,\"entries\":" + ConflictLogJson(*entries) + "}";
  }

  std::string ClearConflictLog() {
    if (!host_) return NotOpen();
    Status cleared = host_->engine().ClearConflictLog();
    return cleared.ok() ? Ok() : Error(cleared);
  }

  std::string Conflicts() {
    if (!host_) return NotOpen();
    auto open = host_->engine().Conflicts();
    if (!open.ok()) return Error(open.status());
    return "{\"ok\":true,\"conflicts\":" + OpenConflictsJson(*open) + "}";
  }

  // value_json: the document, or null to delete it.
  std::string ResolveConflict(std::string collection, std::string key, std::string value_json,
                              std::string write_id) {
    if (!host_) return NotOpen();
    auto value = ParseJson(value_json);
    if (!value.ok()) return Error(value.status());
    Status resolved = host_->engine().ResolveConflict(
        {std::move(collection), std::move(key)},
        value->is_null() ? std::nullopt : std::optional<Json>(std::move(*value)), Now(), write_id);
    Pump();
    return resolved.ok() ? Ok() : Error(resolved);
  }

  std::string ClearHistory(bool keep_latest) {
    if (!host_) return NotOpen();
    Status cleared = host_->engine().ClearHistory(keep_latest);
    return cleared.ok() ? Ok() : Error(cleared);
  }

  // keys_json: a JSON array of keys, or null for the whole collection.
  std::string Evict(std::string collection, std::string keys_json) {
    if (!host_) return NotOpen();
    auto parsed = ParseJson(keys_json);
    if (!parsed.ok()) return Error(parsed.status());
    std::optional<std::vector<std::string>> keys;
    if (!parsed->is_null()) {
      Status read = ReadNames(*parsed, "keys", keys.emplace());
      if (!read.ok()) return Error(read);
    }
    auto evicted = host_->engine().HandleEvict(collection, keys, Now());
    Pump();
    if (!evicted.ok()) return Error(evicted.status());
    return Ok({{"evicted", *evicted}});
  }

  // --- Answers from the JS host (EngineHost's tasks carried out) ----------
  void HandleToken(double request_id, std::string token) {
    if (!host_) return;
    host_->HandleToken(static_cast<RequestId>(request_id), token, Now());
    Pump();
  }

  void HandleTokenFailure(double request_id, std::string error) {
    if (!host_) return;
    host_->HandleTokenFailure(static_cast<RequestId>(request_id), error, Now());
    Pump();
  }

  void HandleStreamData(double request_id, std::string bytes) {
    if (!host_) return;
    host_->HandleStreamData(static_cast<RequestId>(request_id), bytes, Now());
    Pump();
  }

  // `server_reached`: with status 0, the browser refused an answer the server
  // gave (CORS), which is a configuration error, not being offline.
  void HandleTransferDone(double request_id, int status, std::string body, std::string retry_after,
                          std::string transport_error, bool server_reached) {
    if (!host_) return;
    HttpResponse response{status, std::move(body), std::move(retry_after),
                          std::move(transport_error), server_reached};
    host_->HandleTransferDone(static_cast<RequestId>(request_id), response, Now());
    Pump();
  }

  void HandleTimeout() {
    if (!host_) return;
    host_->engine().HandleTimeout(Now());
    Pump();
  }

  std::string ClientId() { return host_ ? host_->engine().client_id() : std::string(); }

  void Close() {
    if (!host_) return;
    std::vector<HostTask> closing = host_->Close(Now());
    std::unique_ptr<EngineHost> host = std::move(host_);
    for (HostTask& task : closing) {
      if (auto* delivery = std::get_if<Delivery>(&task)) {
        delivery->listeners.clear();  // SyncNow waiters learn the client closed; no more events
        EngineHost::Deliver(*delivery);
      }
    }
    host.reset();
    store_.reset();
  }

 private:
  static std::string NotOpen() {
    return Error(ferry::Status(ErrorCode::kInvalidArgument, "the client is closed"));
  }

  // Carries out the host's tasks through the JS host, re-arms the one timer
  // and asks for a persist after commits. JS code called from here (event
  // listeners) may call back into this client, even close it.
  void Pump() {
    while (host_) {
      std::vector<HostTask> tasks = host_->TakeTasks();
      if (tasks.empty()) break;
      for (HostTask& task : tasks) {
        std::visit(Overloaded{
                       [this](NeedToken& need) {
                         ferry_js_need_token(handle_, static_cast<double>(need.id),
                                             need.refresh ? 1 : 0);
                       },
                       [this](StartTransfer& start) {
                         ferry_js_fetch(handle_, DumpJson(RequestJson(start.request)).c_str());
                       },
                       [this](AbortTransfer& abort) {
                         ferry_js_abort(handle_, static_cast<double>(abort.id));
                       },
                       [](Delivery& delivery) { EngineHost::Deliver(delivery); },
                   },
                   task);
      }
    }
    if (!host_) return;
    ArmTimer();
    if (store_ && store_->statistics().commits != persisted_commits_) {
      persisted_commits_ = store_->statistics().commits;
      ferry_js_persist(handle_);
    }
  }

  void ArmTimer() {
    const auto deadline = host_->PollTimeout();
    const double delay =
        deadline ? static_cast<double>(std::max<TimeMs>(0, *deadline - Now().monotonic)) : -1;
    if (delay != armed_delay_ || deadline != armed_deadline_) {
      armed_delay_ = delay;
      armed_deadline_ = deadline;
      ferry_js_set_timer(handle_, delay);
    }
  }

  int handle_;
  std::unique_ptr<JournalStore> store_;
  std::unique_ptr<EngineHost> host_;
  double armed_delay_ = -2;
  std::optional<TimeMs> armed_deadline_;
  uint64_t persisted_commits_ = 0;
};

}  // namespace ferry

namespace {

// The EngineHost's warning for a plain http:// endpoint, for the package to
// print ("" when there is none).
std::string CleartextEndpointWarningText(std::string endpoint) {
  return ferry::CleartextEndpointWarning(endpoint).value_or("");
}

}  // namespace

EMSCRIPTEN_BINDINGS(ferry) {
  emscripten::function("cleartextEndpointWarning", &CleartextEndpointWarningText);
  emscripten::class_<ferry::WebClient>("WebClient")
      .constructor<int>()
      .function("open", &ferry::WebClient::Open)
      .function("write", &ferry::WebClient::Write)
      .function("get", &ferry::WebClient::Get)
      .function("scan", &ferry::WebClient::Scan)
      .function("syncNow", &ferry::WebClient::SyncNow)
      .function("resync", &ferry::WebClient::Resync)
      .function("setOnline", &ferry::WebClient::SetOnline)
      .function("networkChanged", &ferry::WebClient::NetworkChanged)
      .function("query", &ferry::WebClient::Query)
      .function("count", &ferry::WebClient::Count)
      .function("explain", &ferry::WebClient::Explain)
      .function("setMetered", &ferry::WebClient::SetMetered)
      .function("cancel", &ferry::WebClient::Cancel)
      .function("setInterval", &ferry::WebClient::SetInterval)
      .function("status", &ferry::WebClient::GetStatus)
      .function("statistics", &ferry::WebClient::GetStatistics)
      .function("history", &ferry::WebClient::History)
      .function("failedMutations", &ferry::WebClient::FailedMutations)
      .function("retryFailedMutation", &ferry::WebClient::RetryFailedMutation)
      .function("subscribeQuery", &ferry::WebClient::SubscribeQuery)
      .function("unsubscribeQuery", &ferry::WebClient::UnsubscribeQuery)
      .function("discardFailedMutation", &ferry::WebClient::DiscardFailedMutation)
      .function("pendingMutations", &ferry::WebClient::PendingMutations)
      .function("clearHistory", &ferry::WebClient::ClearHistory)
      .function("conflictLog", &ferry::WebClient::ConflictLog)
      .function("clearConflictLog", &ferry::WebClient::ClearConflictLog)
      .function("conflicts", &ferry::WebClient::Conflicts)
      .function("resolveConflict", &ferry::WebClient::ResolveConflict)
      .function("evict", &ferry::WebClient::Evict)
      .function("handleToken", &ferry::WebClient::HandleToken)
      .function("handleTokenFailure", &ferry::WebClient::HandleTokenFailure)
      .function("handleStreamData", &ferry::WebClient::HandleStreamData)
      .function("handleTransferDone", &ferry::WebClient::HandleTransferDone)
      .function("handleTimeout", &ferry::WebClient::HandleTimeout)
      .function("clientId", &ferry::WebClient::ClientId)
      .function("close", &ferry::WebClient::Close);
}
