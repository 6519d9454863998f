#include "binding_host_object.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "client_host_object.h"
#include "host_function.h"
#include "js_errors.h"

namespace ferry::react_native {
namespace {

constexpr std::int64_t kMaxInteger = (std::int64_t{1} << 53) - 1;  // Number.MAX_SAFE_INTEGER

// "headers": {name: value}; which ones are allowed is the C API's rule,
// applied at open.
std::vector<std::pair<std::string, std::string>> ReadHeaders(jsi::Runtime& runtime,
                                                             const jsi::Object& options) {
  const jsi::Value value = options.getProperty(runtime, "headers");
  if (!value.isObject()) throw TypeError(runtime, "options.headers must be an object");
  const jsi::Object headers = value.getObject(runtime);
  const jsi::Array names = headers.getPropertyNames(runtime);
  std::vector<std::pair<std::string, std::string>> read;
  for (std::size_t index = 0; index < names.size(runtime); ++index) {
    const jsi::Value name = names.getValueAtIndex(runtime, index);
    if (!name.isString()) throw TypeError(runtime, "options.headers names must be strings");
    std::string text = name.getString(runtime).utf8(runtime);
    read.emplace_back(text, RequireStringMember(runtime, headers, text.c_str()));
  }
  return read;
}

// "retention": [{collection, maxAgeMs, maxCount}] (0: a bound left out).
std::vector<async::OpenOptions::Retention> ReadRetention(jsi::Runtime& runtime,
                                                         const jsi::Object& options) {
  const jsi::Value value = options.getProperty(runtime, "retention");
  if (!value.isObject() || !value.getObject(runtime).isArray(runtime)) {
    throw TypeError(runtime, "options.retention must be an array");
  }
  const jsi::Array rules = value.getObject(runtime).getArray(runtime);
  std::vector<async::OpenOptions::Retention> read;
  for (std::size_t index = 0; index < rules.size(runtime); ++index) {
    const jsi::Value rule = rules.getValueAtIndex(runtime, index);
    if (!rule.isObject()) throw TypeError(runtime, "options.retention holds objects");
    const jsi::Object object = rule.getObject(runtime);
    read.push_back({RequireStringMember(runtime, object, "collection"),
                    RequireIntegerMember(runtime, object, "maxAgeMs", 0, kMaxInteger),
                    static_cast<std::uint64_t>(
                        RequireIntegerMember(runtime, object, "maxCount", 0, kMaxInteger))});
  }
  return read;
}

async::OpenOptions ReadOpenOptions(jsi::Runtime& runtime, const jsi::Object& options) {
  async::OpenOptions read;
  read.path = RequireStringMember(runtime, options, "path");
  read.endpoint = RequireStringMember(runtime, options, "endpoint");
  read.sync_on_local_write = RequireBooleanMember(runtime, options, "syncOnLocalWrite");
  read.request_timeout_ms =
      RequireIntegerMember(runtime, options, "requestTimeoutMs", 1, kMaxInteger);
  read.interval_ms = RequireIntegerMember(runtime, options, "intervalMs", 0, kMaxInteger);
  read.live_updates = RequireBooleanMember(runtime, options, "liveUpdates");
  read.gzip_above_bytes = static_cast<std::size_t>(
      RequireIntegerMember(runtime, options, "gzipAboveBytes", 0, kMaxInteger));
  read.conflicts_json = RequireStringMember(runtime, options, "conflictsJson");
  read.host_transport = RequireBooleanMember(runtime, options, "hostTransport");
  read.store_lock_timeout_ms =
      RequireIntegerMember(runtime, options, "storeLockTimeoutMs", 0, kMaxInteger);
  read.max_attempts = static_cast<std::uint32_t>(
      RequireIntegerMember(runtime, options, "maxAttempts", 0, UINT32_MAX));
  read.dead_letter_max_age_ms =
      RequireIntegerMember(runtime, options, "deadLetterMaxAgeMs", 0, kMaxInteger);
  // 0: the default.
  read.backoff_base_ms = RequireIntegerMember(runtime, options, "backoffBaseMs", 0, UINT32_MAX);
  read.backoff_max_ms = RequireIntegerMember(runtime, options, "backoffMaxMs", 0, UINT32_MAX);
  read.push_batch_size = static_cast<std::size_t>(
      RequireIntegerMember(runtime, options, "pushBatchSize", 0, UINT32_MAX));
  read.push_batch_bytes = static_cast<std::size_t>(
      RequireIntegerMember(runtime, options, "pushBatchBytes", 0, UINT32_MAX));
  read.pull_page_size = static_cast<std::size_t>(
      RequireIntegerMember(runtime, options, "pullPageSize", 0, UINT32_MAX));
  read.history_limit = static_cast<std::size_t>(
      RequireIntegerMember(runtime, options, "historyLimit", 0, UINT32_MAX));
  // null or absent: the default; 0 records none.
  if (const jsi::Value limit = options.getProperty(runtime, "conflictLogLimit");
      !limit.isNull() && !limit.isUndefined()) {
    read.conflict_log_limit = static_cast<std::size_t>(
        RequireIntegerMember(runtime, options, "conflictLogLimit", 0, UINT32_MAX));
  }
  read.hook_points =
      static_cast<unsigned>(RequireIntegerMember(runtime, options, "hookPoints", 0, UINT32_MAX));
  read.headers = ReadHeaders(runtime, options);
  read.upload_only = *RequireStringsMember(runtime, options, "uploadOnly", false);
  read.deferrable = *RequireStringsMember(runtime, options, "deferrable", false);
  read.indexes_json = RequireStringMember(runtime, options, "indexesJson");
  read.pull_collections = RequireStringsMember(runtime, options, "pullCollections", true);
  read.retention = ReadRetention(runtime, options);
  return read;
}

// bindings/async's callbacks, each calling the app's JS function on the JS
// thread (async delivers them there) while the client's callbacks live.
async::Callbacks ForwardTo(const std::shared_ptr<JsCallbacks>& callbacks, jsi::Runtime& runtime) {
  std::weak_ptr<JsCallbacks> weak = callbacks;
  jsi::Runtime* rt = &runtime;
  async::Callbacks forward;
  forward.on_event = [weak, rt](const std::string& event_json) {
    if (auto live = weak.lock()) live->OnEvent(*rt, event_json);
  };
  if (callbacks->has_token_provider()) {
    forward.get_token = [weak, rt](bool refresh, async::TokenReply reply) {
      if (auto live = weak.lock()) return live->GetToken(*rt, refresh, std::move(reply));
      reply(async::TokenAnswer{async::TokenAnswer::Kind::kNone, {}});
    };
  }
  if (callbacks->has_conflict_resolver()) {
    forward.resolve_conflict = [weak, rt](const std::string& input_json) -> std::string {
      if (auto live = weak.lock()) return live->ResolveConflict(*rt, input_json);
      return R"({"error":"the client is closed"})";
    };
  }
  if (callbacks->has_hook()) {
    forward.hook = [weak, rt](int point, const std::string& input_json) -> std::string {
      if (auto live = weak.lock()) return live->Hook(*rt, point, input_json);
      return R"({"error":"the client is closed"})";
    };
  }
  if (callbacks->has_transport()) {
    forward.send_request = [weak, rt](async::HttpRequest request) {
      if (auto live = weak.lock()) live->SendRequest(*rt, request);
    };
    forward.cancel_request = [weak, rt](std::uint64_t id) {
      if (auto live = weak.lock()) live->CancelRequest(*rt, id);
    };
  }
  if (callbacks->has_log()) {
    forward.log = [weak, rt](int level, const std::string& message) {
      if (auto live = weak.lock()) live->Log(*rt, level, message);
    };
  }
  return forward;
}

}  // namespace

BindingHostObject::BindingHostObject(JsThread js_thread)
    : state_(std::make_shared<BindingState>(std::move(js_thread))) {}

std::vector<jsi::PropNameID> BindingHostObject::getPropertyNames(jsi::Runtime& runtime) {
  return jsi::PropNameID::names(runtime, "version", "open", "deleteLocalData",
                                "cleartextEndpointWarning");
}

jsi::Value BindingHostObject::get(jsi::Runtime& runtime, const jsi::PropNameID& name) {
  const std::string property = name.utf8(runtime);
  if (property == "version") return MakeString(runtime, ferry_version());
  // The functions hold the state, not `this`: JavaScript may keep a method
  // after the binding object itself is collected.
  if (property == "open") {
    return HostFunction(runtime, "open", 2,
                        [state = state_](const Arguments& a) { return Open(state, a); });
  }
  if (property == "deleteLocalData") {
    return HostFunction(runtime, "deleteLocalData", 1,
                        [state = state_](const Arguments& a) { return DeleteLocalData(state, a); });
  }
  if (property == "cleartextEndpointWarning") {
    return HostFunction(runtime, "cleartextEndpointWarning", 1, [](const Arguments& a) {
      const async::Result warning =
          async::CleartextEndpointWarning(RequireString(a, 0, "endpoint"));
      if (!warning.ok()) throw TypeError(a.runtime, warning.message);  // not UTF-8
      return jsi::Value(MakeString(a.runtime, warning.text));
    });
  }
  return jsi::Value::undefined();
}

jsi::Value BindingHostObject::Open(const std::shared_ptr<BindingState>& state,
                                   const Arguments& arguments) {
  jsi::Runtime& runtime = arguments.runtime;
  async::OpenOptions options = ReadOpenOptions(runtime, RequireObject(arguments, 0, "options"));
  auto callbacks = std::make_shared<JsCallbacks>(runtime, RequireObject(arguments, 1, "callbacks"));
  if (options.host_transport && !callbacks->has_transport()) {
    throw TypeError(runtime, "callbacks.sendRequest must be a function with hostTransport");
  }
  auto client = std::make_shared<async::AsyncClient>(state->js_thread.Deliverer(),
                                                     ForwardTo(callbacks, runtime));
  const std::uint64_t key = state->next_client_key++;
  state->clients.emplace(key, OpenClient{client, callbacks});

  PendingPromises::Id id = 0;
  jsi::Value promise = state->promises.Create(runtime, &id);
  std::weak_ptr<BindingState> weak_state = state;
  auto settle = SettlePromise(
      state, runtime, id, [weak_state, key](jsi::Runtime& rt, const async::Result& result) {
        auto host = std::make_shared<ClientHostObject>(weak_state.lock(), key, result.text);
        return jsi::Value(jsi::Object::createFromHostObject(rt, std::move(host)));
      });
  client->Open(std::move(options),
               [weak_state, key, settle = std::move(settle)](async::Result result) {
                 // A client that did not open is let go, in a later turn: this
                 // completion may belong to it.
                 if (auto live = weak_state.lock(); live && !result.ok()) {
                   live->js_thread.Post([weak_state, key](jsi::Runtime&) {
                     if (auto still = weak_state.lock()) still->clients.erase(key);
                   });
                 }
                 settle(std::move(result));
               });
  return promise;
}

jsi::Value BindingHostObject::DeleteLocalData(const std::shared_ptr<BindingState>& state,
                                              const Arguments& arguments) {
  std::string path = RequireString(arguments, 0, "path");
  PendingPromises::Id id = 0;
  jsi::Value promise = state->promises.Create(arguments.runtime, &id);
  async::DeleteLocalData(
      std::move(path), state->js_thread.Deliverer(),
      SettlePromise(state, arguments.runtime, id,
                    [](jsi::Runtime&, const async::Result&) { return jsi::Value::undefined(); }));
  return promise;
}

}  // namespace ferry::react_native
