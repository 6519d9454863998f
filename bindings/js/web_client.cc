// The web runtime and the Embind surface of ferry-sync.
//
// The JS event loop drives the engine: every call from JS runs the engine on
// the spot, then Pump() hands its actions to the host (library_ferry.js ->
// Module.ferryHost, implemented in web/src): requests go out through fetch,
// the next deadline becomes one setTimeout, events go to the client's
// EventTarget, and a commit asks the host to persist (FS.syncfs). No threads,
// no ASYNCIFY, no blocking.
//
// The boundary is strings: arguments are checked C++ types (Embind rejects
// wrong JS types with an error before we run), and results are JSON objects
// {"ok":true,...} or {"ok":false,"code":"...","message":"..."} that the
// TypeScript wrapper turns into values or rejected promises.
//
// Threading: the JS event loop only.
#include <emscripten/bind.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "ferry/engine.h"
#include "ferry/json_forms.h"
#include "ferry/store_journal.h"

extern "C" {
// library_ferry.js
void ferry_js_fetch(int client, double request_id, const char* method, const char* target,
                    const char* body, double timeout_ms, int refresh_credentials);
void ferry_js_abort(int client, double request_id);
void ferry_js_set_timer(int client, double delay_ms);
void ferry_js_emit(int client, const char* event_json);
char* ferry_js_resolve(int client, const char* input_json);
void ferry_js_persist(int client);
double ferry_js_now();
}

namespace ferry {
namespace {

TimeMs Now() {
  return static_cast<TimeMs>(ferry_js_now());
}

std::string Error(const Status& status) {
  return DumpJson(
      Json{{"ok", false}, {"code", ErrorCodeName(status.code())}, {"message", status.message()}});
}

std::string Ok(Json fields = Json::object()) {
  fields["ok"] = true;
  return DumpJson(fields);
}

}  // namespace

// The custom resolver's answer: {"value": document} or {"deleted": true} or
// {"error": message}.
Result<std::optional<Json>> ParseResolution(const char* text) {
  auto parsed = ParseJson(text ? std::string_view(text) : std::string_view());
  if (!parsed.ok() || !parsed->is_object()) {
    return Status(ErrorCode::kInvalidArgument, "the resolver's answer does not decode");
  }
  if (parsed->contains("error")) {
    return Status(ErrorCode::kInvalidArgument, parsed->value("error", std::string("failed")));
  }
  if (parsed->value("deleted", false)) return std::optional<Json>();
  if (!parsed->contains("value")) return Status(ErrorCode::kInvalidArgument, "no value");
  return std::optional<Json>((*parsed)["value"]);
}

class WebClient {
 public:
  explicit WebClient(int handle) : handle_(handle) {}

  // Opens the store in `directory` (already mounted and loaded by the host)
  // with options as JSON: {"seed", "autoSync", "debounceMs", "intervalMs",
  // "requestTimeoutMs", "pushBatch", "pullPage", "conflicts": {"default",
  // "collections": {name: strategy}, "custom": bool}}.
  std::string Open(std::string directory, std::string options_json) {
    if (engine_) return Error(Status(ErrorCode::kInvalidArgument, "already open"));
    auto options = ParseJson(options_json);
    if (!options.ok() || !options->is_object()) {
      return Error(Status(ErrorCode::kInvalidArgument, "options must be a JSON object"));
    }
    EngineOptions engine_options;
    const Json& o = *options;
    engine_options.random_seed = o.value("seed", uint64_t{0});
    engine_options.sync_on_local_write = o.value("autoSync", true);
    engine_options.local_write_debounce_ms = o.value("debounceMs", TimeMs{50});
    engine_options.request_timeout_ms = o.value("requestTimeoutMs", TimeMs{30'000});
    engine_options.batch.max_count = o.value("pushBatch", std::size_t{500});
    engine_options.pull_page_size = o.value("pullPage", std::size_t{1000});
    if (o.contains("intervalMs") && o["intervalMs"].is_number()) {
      engine_options.interval_ms = o["intervalMs"].get<TimeMs>();
    }
    if (Status parsed = ParseConflictOptions(o.value("conflicts", Json::object()), engine_options);
        !parsed.ok()) {
      return Error(parsed);
    }
    auto store = JournalStore::Open(directory);
    if (!store.ok()) return Error(store.status());
    store_ = std::move(*store);
    auto engine = SyncEngine::Open(*store_, engine_options, Now());
    if (!engine.ok()) return Error(engine.status());
    engine_ = std::move(*engine);
    if (engine_options.sync_on_local_write || engine_options.interval_ms) {
      (void)engine_->HandleTrigger(TriggerReason::kAppStart, Now());
    }
    Pump();
    return Ok({{"clientId", engine_->client_id()}});
  }

  // "conflicts" from the options; a custom resolver calls back into the JS
  // host (ferry_js_resolve) synchronously.
  Status ParseConflictOptions(const Json& conflicts, EngineOptions& options) {
    FERRY_RETURN_IF_ERROR(ConflictStrategiesFromJson(conflicts, options.conflicts));
    if (conflicts.value("custom", false)) {
      options.conflicts.custom = [this](const ConflictInput& in) -> Result<std::optional<Json>> {
        Json input = {{"collection", in.document.collection},
                      {"key", in.document.key},
                      {"base", in.base ? *in.base : Json()},
                      {"local", in.local ? *in.local : Json()},
                      {"remote", in.remote ? *in.remote : Json()},
                      {"localHlc", in.local_hlc},
                      {"remoteHlc", in.remote_hlc}};
        char* answer = ferry_js_resolve(handle_, DumpJson(input).c_str());
        auto resolution = ParseResolution(answer);
        std::free(answer);
        return resolution;
      };
    }
    return Status::Ok();
  }

  // writes: [{"op":"put"|"patch"|"delete","collection","key","value"}]
  std::string Write(std::string writes_json) {
    if (!engine_) return NotOpen();
    auto parsed = ParseJson(writes_json, {.max_bytes = 64u << 20, .max_depth = kMaxValueDepth + 4});
    if (!parsed.ok()) {
      return Error(Status(ErrorCode::kInvalidArgument, "writes must be a JSON array"));
    }
    auto writes = LocalWritesFromJson(*parsed);
    if (!writes.ok()) return Error(writes.status());
    auto seqs = engine_->HandleLocalWrites(*writes, Now());
    Pump();
    if (!seqs.ok()) return Error(seqs.status());
    return Ok({{"seqs", *seqs}});
  }

  std::string Get(std::string collection, std::string key) {
    if (!engine_) return NotOpen();
    auto value = engine_->Get({std::move(collection), std::move(key)});
    if (!value.ok()) return Error(value.status());
    return Ok({{"value", value->value_or(Json())}, {"exists", value->has_value()}});
  }

  std::string Scan(std::string collection, std::string prefix, double limit) {
    if (!engine_) return NotOpen();
    auto rows = engine_->Scan(collection, prefix, limit > 0 ? static_cast<std::size_t>(limit) : 0);
    if (!rows.ok()) return Error(rows.status());
    Json items = Json::array();
    for (auto& [key, value] : *rows)
      items.push_back({{"key", key}, {"value", std::move(value)}});
    return Ok({{"items", std::move(items)}});
  }

  double Trigger(std::string reason) {
    if (!engine_) return 0;
    TriggerReason parsed = TriggerReason::kManual;
    if (reason == "background_sync") parsed = TriggerReason::kBackgroundSync;
    if (reason == "poke") parsed = TriggerReason::kPoke;
    if (reason == "app_start") parsed = TriggerReason::kAppStart;
    const RunTicket ticket = engine_->HandleTrigger(parsed, Now());
    Pump();
    return static_cast<double>(ticket);
  }

  void SetOnline(bool online) {
    if (!engine_) return;
    engine_->HandleOnline(online, Now());
    Pump();
  }

  void Cancel() {
    if (!engine_) return;
    engine_->Cancel(Now());
    Pump();
  }

  // <= 0 stops background sync.
  void SetInterval(double interval_ms) {
    if (!engine_) return;
    engine_->SetInterval(
        interval_ms > 0 ? std::optional<TimeMs>(static_cast<TimeMs>(interval_ms)) : std::nullopt,
        Now());
    Pump();
  }

  std::string GetStatus() {
    return engine_ ? Ok({{"status", SyncStatusToJson(engine_->status())}}) : NotOpen();
  }

  std::string GetStatistics() {
    if (!engine_) return NotOpen();
    return Ok({{"statistics", SyncStatisticsToJson(engine_->statistics())}});
  }

  std::string History(double limit) {
    if (!engine_) return NotOpen();
    auto runs = engine_->History(limit > 0 ? static_cast<std::size_t>(limit) : 50);
    if (!runs.ok()) return Error(runs.status());
    Json items = Json::array();
    for (const SyncRunRecord& run : *runs)
      items.push_back(SyncRunToJson(run));
    return Ok({{"runs", std::move(items)}});
  }

  std::string Failed() {
    if (!engine_) return NotOpen();
    auto entries = engine_->FailedMutations();
    if (!entries.ok()) return Error(entries.status());
    Json items = Json::array();
    for (const OutboxEntry& entry : *entries) {
      items.push_back(FailedMutationToJson(entry));
    }
    return Ok({{"mutations", std::move(items)}});
  }

  std::string RetryFailed(double seq) {
    if (!engine_) return NotOpen();
    auto retried = engine_->RetryFailedMutation(static_cast<uint64_t>(seq), Now());
    Pump();
    if (!retried.ok()) return Error(retried.status());
    return Ok({{"seq", *retried}});
  }

  std::string DiscardFailed(double seq) {
    if (!engine_) return NotOpen();
    Status discarded = engine_->DiscardFailedMutation(static_cast<uint64_t>(seq), Now());
    Pump();
    return discarded.ok() ? Ok() : Error(discarded);
  }

  void HandleResponse(double request_id, int status, std::string body, std::string retry_after,
                      std::string transport_error) {
    if (!engine_) return;
    HttpResponse response{status, std::move(body), std::move(retry_after),
                          std::move(transport_error)};
    engine_->HandleResponse(static_cast<RequestId>(request_id), response, Now());
    Pump();
  }

  void HandleTimer() {
    if (!engine_) return;
    engine_->HandleTimeout(Now());
    Pump();
  }

  std::string ClientId() { return engine_ ? engine_->client_id() : std::string(); }

  void Close() {
    if (engine_) engine_->Cancel(Now());
    Pump();
    engine_.reset();
    store_.reset();
  }

 private:
  static std::string NotOpen() {
    return Error(ferry::Status(ErrorCode::kInvalidArgument, "the client is closed"));
  }

  // Hands the engine's actions to the host and re-arms the one timer.
  void Pump() {
    if (!engine_) return;
    while (auto action = engine_->PollAction()) {
      if (auto* send = std::get_if<SendRequest>(&*action)) {
        const HttpRequest& request = send->request;
        ferry_js_fetch(handle_, static_cast<double>(request.id), request.method.c_str(),
                       request.target.c_str(), request.body.c_str(),
                       static_cast<double>(request.timeout_ms),
                       request.refresh_credentials ? 1 : 0);
      } else if (auto* cancel = std::get_if<CancelRequest>(&*action)) {
        ferry_js_abort(handle_, static_cast<double>(cancel->id));
      } else {
        ferry_js_emit(handle_, DumpJson(EventToJson(std::get<Event>(*action))).c_str());
      }
    }
    const auto deadline = engine_->PollTimeout();
    const double delay =
        deadline ? static_cast<double>(std::max<TimeMs>(0, *deadline - Now())) : -1;
    if (delay != armed_delay_ || deadline != armed_deadline_) {
      armed_delay_ = delay;
      armed_deadline_ = deadline;
      ferry_js_set_timer(handle_, delay);
    }
    if (store_ && store_->statistics().commits != persisted_commits_) {
      persisted_commits_ = store_->statistics().commits;
      ferry_js_persist(handle_);
    }
  }

  int handle_;
  std::unique_ptr<JournalStore> store_;
  std::unique_ptr<SyncEngine> engine_;
  double armed_delay_ = -2;
  std::optional<TimeMs> armed_deadline_;
  uint64_t persisted_commits_ = 0;
};

}  // namespace ferry

EMSCRIPTEN_BINDINGS(ferry) {
  emscripten::class_<ferry::WebClient>("WebClient")
      .constructor<int>()
      .function("open", &ferry::WebClient::Open)
      .function("write", &ferry::WebClient::Write)
      .function("get", &ferry::WebClient::Get)
      .function("scan", &ferry::WebClient::Scan)
      .function("trigger", &ferry::WebClient::Trigger)
      .function("setOnline", &ferry::WebClient::SetOnline)
      .function("cancel", &ferry::WebClient::Cancel)
      .function("setInterval", &ferry::WebClient::SetInterval)
      .function("status", &ferry::WebClient::GetStatus)
      .function("statistics", &ferry::WebClient::GetStatistics)
      .function("history", &ferry::WebClient::History)
      .function("failed", &ferry::WebClient::Failed)
      .function("retryFailed", &ferry::WebClient::RetryFailed)
      .function("discardFailed", &ferry::WebClient::DiscardFailed)
      .function("handleResponse", &ferry::WebClient::HandleResponse)
      .function("handleTimer", &ferry::WebClient::HandleTimer)
      .function("clientId", &ferry::WebClient::ClientId)
      .function("close", &ferry::WebClient::Close);
}
