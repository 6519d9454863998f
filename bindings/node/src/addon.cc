// ferry.node: the module's exports, NativeBinding in web/src/native_binding.ts:
// version, open(options, callbacks) and deleteLocalData(path).
//
// Threading: the JS thread. No C++ exception leaves a function called from
// JavaScript (node-addon-api turns each into a JavaScript exception:
// NODE_ADDON_API_CPP_EXCEPTIONS_ALL), and nothing here blocks on the disk
// or the engine: every C call runs on a client's worker (bindings/async).
#include <memory>
#include <string>
#include <utility>

#include <napi.h>

#include "arguments.h"
#include "client_core.h"
#include "ferry/async_client.h"
#include "native_client.h"

namespace ferry::node {
namespace {

// Per environment (the main thread's, each worker's).
struct AddonData {
  Napi::FunctionReference client_class;
};

// options.retention: [{collection, maxAgeMs, maxCount}] (0: a bound left out).
std::vector<async::OpenOptions::Retention> ReadRetention(const Napi::Value& value) {
  if (!value.IsArray()) RequireObject(value, "options.retention");  // throws, naming it
  const auto rules = value.As<Napi::Array>();
  std::vector<async::OpenOptions::Retention> read;
  for (uint32_t index = 0; index < rules.Length(); ++index) {
    const std::string name = "options.retention[" + std::to_string(index) + "]";
    const Napi::Object rule = RequireObject(rules.Get(index), name);
    read.push_back({RequireString(rule.Get("collection"), name + ".collection"),
                    static_cast<int64_t>(RequireCount(rule.Get("maxAgeMs"), name + ".maxAgeMs")),
                    RequireCount(rule.Get("maxCount"), name + ".maxCount")});
  }
  return read;
}

async::OpenOptions ReadOpenOptions(const Napi::Value& value) {
  const Napi::Object object = RequireObject(value, "options");
  const auto field = [&](const char* name) { return object.Get(name); };
  const auto named = [](const char* name) { return std::string("options.") + name; };
  async::OpenOptions options;
  options.path = RequireString(field("path"), named("path"));
  options.endpoint = RequireString(field("endpoint"), named("endpoint"));
  options.sync_on_local_write =
      RequireBoolean(field("syncOnLocalWrite"), named("syncOnLocalWrite"));
  options.request_timeout_ms =
      static_cast<int64_t>(RequireCount(field("requestTimeoutMs"), named("requestTimeoutMs")));
  options.interval_ms =
      static_cast<int64_t>(RequireCount(field("intervalMs"), named("intervalMs")));
  options.live_updates = RequireBoolean(field("liveUpdates"), named("liveUpdates"));
  options.gzip_above_bytes = RequireCount(field("gzipAboveBytes"), named("gzipAboveBytes"));
  options.conflicts_json = RequireString(field("conflictsJson"), named("conflictsJson"));
  options.host_transport = RequireBoolean(field("hostTransport"), named("hostTransport"));
  options.store_lock_timeout_ms =
      static_cast<int64_t>(RequireCount(field("storeLockTimeoutMs"), named("storeLockTimeoutMs")));
  options.max_attempts =
      static_cast<uint32_t>(RequireCount(field("maxAttempts"), named("maxAttempts"), UINT32_MAX));
  options.dead_letter_max_age_ms =
      static_cast<int64_t>(RequireCount(field("deadLetterMaxAgeMs"), named("deadLetterMaxAgeMs")));
  // 0: the default. At most 2^32 - 1, which every target's size_t holds.
  const auto count = [&](const char* name) {
    return RequireCount(field(name), named(name), UINT32_MAX);
  };
  options.backoff_base_ms = static_cast<int64_t>(count("backoffBaseMs"));
  options.backoff_max_ms = static_cast<int64_t>(count("backoffMaxMs"));
  options.push_batch_size = static_cast<std::size_t>(count("pushBatchSize"));
  options.push_batch_bytes = static_cast<std::size_t>(count("pushBatchBytes"));
  options.pull_page_size = static_cast<std::size_t>(count("pullPageSize"));
  options.history_limit = static_cast<std::size_t>(count("historyLimit"));
  // null or absent: the default; 0 records none.
  if (const Napi::Value limit = field("conflictLogLimit"); !limit.IsNull() && !limit.IsUndefined())
    options.conflict_log_limit = static_cast<std::size_t>(count("conflictLogLimit"));
  options.hook_points = static_cast<unsigned>(count("hookPoints"));
  options.upload_only = RequireStrings(field("uploadOnly"), named("uploadOnly"));
  options.deferrable = RequireStrings(field("deferrable"), named("deferrable"));
  options.indexes_json = RequireString(field("indexesJson"), named("indexesJson"));
  // null: every collection.
  if (!field("pullCollections").IsNull())
    options.pull_collections = RequireStrings(field("pullCollections"), named("pullCollections"));
  options.retention = ReadRetention(field("retention"));
  const Napi::Object headers = RequireObject(field("headers"), named("headers"));
  const Napi::Array names = headers.GetPropertyNames();
  for (uint32_t index = 0; index < names.Length(); ++index) {
    const std::string name = RequireString(names.Get(index), named("headers"));
    options.headers.emplace_back(name,
                                 RequireString(headers.Get(name), named("headers") + "." + name));
  }
  return options;
}

JsFunctions ReadCallbacks(const Napi::Value& value, bool host_transport) {
  const Napi::Object object = RequireObject(value, "callbacks");
  JsFunctions functions;
  functions.on_event = OptionalFunction(object, "onEvent", "callbacks");
  if (functions.on_event.IsEmpty())
    throw Napi::TypeError::New(value.Env(), "callbacks.onEvent must be a function");
  functions.get_token = OptionalFunction(object, "getToken", "callbacks");
  functions.resolve_conflict = OptionalFunction(object, "resolveConflict", "callbacks");
  functions.hook = OptionalFunction(object, "hook", "callbacks");
  functions.send_request = OptionalFunction(object, "sendRequest", "callbacks");
  functions.cancel_request = OptionalFunction(object, "cancelRequest", "callbacks");
  functions.log = OptionalFunction(object, "log", "callbacks");
  if (host_transport && functions.send_request.IsEmpty()) {
    throw Napi::TypeError::New(value.Env(),
                               "callbacks.sendRequest must be a function with hostTransport");
  }
  return functions;
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  async::OpenOptions options = ReadOpenOptions(info[0]);
  auto core =
      std::make_shared<ClientCore>(info.Env(), ReadCallbacks(info[1], options.host_transport));
  core->Start();
  return core->Call(
      [&](async::Completion done) { core->client().Open(std::move(options), std::move(done)); },
      [core](Napi::Env env, const async::Result& result) -> Napi::Value {
        core->client_id = result.text;
        return NativeClient::Wrap(env, env.GetInstanceData<AddonData>()->client_class, core);
      });
}

Napi::Value DeleteLocalData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = RequireString(info[0], "path");
  auto deferred = Napi::Promise::Deferred::New(env);
  // A queue of its own, referenced until the deletion is done.
  auto queue = std::make_shared<JsQueue>(env);
  queue->CallStarted();
  async::DeleteLocalData(std::move(path), queue->deliver(),
                         [queue, deferred, env](const async::Result& result) {
                           if (result.ok()) {
                             deferred.Resolve(env.Undefined());
                           } else {
                             deferred.Reject(ErrorFor(env, result).Value());
                           }
                           queue->CallEnded();
                           queue->Release();
                         });
  return deferred.Promise();
}

// The EngineHost's warning for a plain http:// endpoint, for the package to
// print ("" when there is none).
Napi::Value CleartextEndpointWarning(const Napi::CallbackInfo& info) {
  const async::Result warning = async::CleartextEndpointWarning(RequireString(info[0], "endpoint"));
  if (!warning.ok()) throw ErrorFor(info.Env(), warning);
  return Napi::String::New(info.Env(), warning.text);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->client_class = Napi::Persistent(NativeClient::DefineClass(env));
  env.SetInstanceData(data);
  exports.Set("version", Napi::String::New(env, ferry_version()));
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("deleteLocalData", Napi::Function::New(env, DeleteLocalData, "deleteLocalData"));
  exports.Set("cleartextEndpointWarning",
              Napi::Function::New(env, CleartextEndpointWarning, "cleartextEndpointWarning"));
  return exports;
}

}  // namespace
}  // namespace ferry::node

// NODE_API_MODULE names its function by pasting: it needs a plain name.
Napi::Object InitFerryAddon(Napi::Env env, Napi::Object exports) {
  return ferry::node::Init(env, exports);
}
NODE_API_MODULE(ferry, InitFerryAddon)
