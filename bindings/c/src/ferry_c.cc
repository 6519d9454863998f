// The C API (ferry.h) over ferry::Client.
//
// Obligations this file keeps for C callers:
// - No C++ exception crosses the boundary: every entry point catches and
//   reports FERRY_INTERNAL (or FERRY_TOO_LARGE for bad_alloc).
// - Handles are ids into a registry, so a closed or made-up handle is an
//   error code. A call holds the client alive (in_flight) until it returns;
//   close unregisters first, then waits for those calls.
// - Callbacks are marked on their thread (t_callback_client), so close and
//   the blocking sync can refuse to wait for the thread they run on.
#include "ferry/ferry.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ferry/client.h"
#include "ferry/engine_host.h"
#include "ferry/hook_forms.h"
#include "ferry/json_forms.h"
#include "ferry/transport_host.h"

// The answer a C conflict resolver sets (ferry_conflict_answer_set): the
// resolved document (nullopt: deleted) or why there is none.
struct ferry_conflict_answer {
  ferry::Result<std::optional<ferry::Json>> resolution =
      ferry::Status(ferry::ErrorCode::kInvalidArgument, "the resolver set no answer");
};

// The answer a C hook sets (ferry_hook_answer_set), as JSON text; empty:
// none, which keeps.
struct ferry_hook_answer {
  std::string text;
};

namespace ferry::c_api {
namespace {

static_assert(static_cast<int>(ErrorCode::kInvalidArgument) == FERRY_INVALID_ARGUMENT);
static_assert(static_cast<int>(ErrorCode::kIo) == FERRY_IO);
static_assert(static_cast<int>(ErrorCode::kInternal) == FERRY_INTERNAL);
static_assert(static_cast<int>(ErrorCode::kBusy) == FERRY_BUSY);

// A failure as the C API reports it: Status's codes plus the C-only ones.
struct Failure {
  ferry_result code = FERRY_OK;
  std::string message;

  Failure() = default;
  Failure(ferry_result c, std::string m) : code(c), message(std::move(m)) {}
  Failure(const Status& status)  // NOLINT: implicit by design
      : code(static_cast<ferry_result>(status.code())), message(status.message()) {}
  bool ok() const { return code == FERRY_OK; }
};

Failure InvalidArgument(std::string message) {
  return {FERRY_INVALID_ARGUMENT, std::move(message)};
}

char* CopyText(std::string_view text) {
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  if (!text.empty()) std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

void ResetError(ferry_error* error) {
  if (error == nullptr) return;
  std::free(error->message);
  *error = ferry_error{FERRY_OK, nullptr, 0};
}

ferry_result Report(const Failure& failure, ferry_error* error) {
  ResetError(error);
  if (error != nullptr && !failure.ok()) {
    error->code = failure.code;
    // A message that cannot be copied still leaves the code.
    error->message = static_cast<char*>(std::malloc(failure.message.size() + 1));
    if (error->message != nullptr) {
      std::memcpy(error->message, failure.message.c_str(), failure.message.size() + 1);
      error->message_size = failure.message.size();
    }
  }
  return failure.code;
}

// Runs `body` (returning Failure) with every exception turned into a code.
template <typename Body>
ferry_result Guarded(ferry_error* error, Body&& body) {
  try {
    return Report(body(), error);
  } catch (const std::bad_alloc&) {
    return Report(Failure(FERRY_TOO_LARGE, "out of memory"), error);
  } catch (const std::exception& e) {
    return Report(Failure(FERRY_INTERNAL, e.what()), error);
  } catch (...) {
    return Report(Failure(FERRY_INTERNAL, "an unknown exception"), error);
  }
}

void Fill(ferry_buffer* buffer, std::string_view text) {
  buffer->data = CopyText(text);
  buffer->size = text.size();
}

// Checks a caller's slice: readable, valid UTF-8.
Failure Text(ferry_slice slice, const char* what, std::string& out) {
  if (slice.data == nullptr && slice.size > 0)
    return InvalidArgument(std::string(what) + ": NULL data with a non-zero size");
  std::string_view text(slice.data == nullptr ? "" : slice.data, slice.size);
  if (!IsValidUtf8(text)) return InvalidArgument(std::string(what) + " is not valid UTF-8");
  out.assign(text);
  return {};
}

Failure JsonText(ferry_slice slice, const char* what, Json& out) {
  std::string text;
  if (Failure checked = Text(slice, what, text); !checked.ok()) return checked;
  auto parsed = ParseJson(text);
  if (!parsed.ok()) {
    return {
        parsed.status().code() == ErrorCode::kTooLarge ? FERRY_TOO_LARGE : FERRY_INVALID_ARGUMENT,
        std::string(what) + " is not valid JSON: " + parsed.status().message()};
  }
  out = std::move(*parsed);
  return {};
}

Failure DocumentArguments(ferry_slice collection, ferry_slice key, std::string& collection_text,
                          std::string& key_text) {
  if (Failure f = Text(collection, "collection", collection_text); !f.ok()) return f;
  return Text(key, "key", key_text);
}

// Put, patch (with their JSON argument) and remove.
Failure WriteDocument(Client& client, MutationOp op, ferry_slice collection, ferry_slice key,
                      ferry_slice json, const char* json_name) {
  std::string collection_text, key_text;
  if (Failure f = DocumentArguments(collection, key, collection_text, key_text); !f.ok()) return f;
  if (op == MutationOp::kDelete)
    return client.Remove(std::move(collection_text), std::move(key_text));
  Json value;
  if (Failure f = JsonText(json, json_name, value); !f.ok()) return f;
  if (op == MutationOp::kPatch)
    return client.Patch(std::move(collection_text), std::move(key_text), std::move(value));
  return client.Put(std::move(collection_text), std::move(key_text), std::move(value));
}

// ------------------------------------------------------------ registry

// The client whose callback runs on this thread (0: none).
thread_local uint64_t t_callback_client = 0;
// The client whose conflict resolver runs on this thread (0: none). The
// resolver runs with the engine locked, so any call on that client from it
// would wait for itself.
thread_local uint64_t t_resolving_client = 0;

class CallbackScope {
 public:
  explicit CallbackScope(uint64_t client) : previous_(t_callback_client) {
    t_callback_client = client;
  }
  ~CallbackScope() { t_callback_client = previous_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  uint64_t previous_;
};

// A C listener. `mutex` is held while the callback runs, so removing it
// waits for a running call (recursive: a callback may remove itself).
struct Listener {
  std::recursive_mutex mutex;
  bool active = true;
  ferry_event_callback callback = nullptr;
  void* user_data = nullptr;
};

struct ClientHandle {
  uint64_t id = 0;
  std::unique_ptr<Client> client;
  std::shared_ptr<HostTransport> host_transport;  // null: libcurl

  std::mutex mutex;
  std::condition_variable idle;
  // False while ferry_client_open runs: the handle is registered before the
  // client exists, so a host transport can be answered during the open.
  bool open = false;
  int in_flight = 0;  // calls (and async syncs) using `client`
  std::map<Client::ListenerId, std::shared_ptr<Listener>> listeners;
};

struct Registry {
  std::mutex mutex;
  std::unordered_map<uint64_t, std::shared_ptr<ClientHandle>> clients;
  uint64_t next_id = 1;
};

Registry& TheRegistry() {
  // Never destroyed: a client closed during static destruction still finds it.
  static Registry* registry = new Registry();
  return *registry;
}

// A handle is the id itself, dressed as a pointer: it is never dereferenced,
// only looked up, so a stale or forged one cannot reach freed memory.
ferry_client* ToC(uint64_t id) {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): an opaque id, never dereferenced
  return reinterpret_cast<ferry_client*>(static_cast<uintptr_t>(id));
}

uint64_t FromC(ferry_client* client) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(client));
}

// What a call needs: the open client, or only its host transport (answers
// may come while ferry_client_open still runs).
enum class Needs { kClient, kHostTransport };

// A call on a live client: holds it (in_flight) for the call's duration.
class Call {
 public:
  explicit Call(ferry_client* client, Needs needs = Needs::kClient) {
    if (client == nullptr) return;
    Registry& registry = TheRegistry();
    std::lock_guard lock(registry.mutex);
    auto it = registry.clients.find(FromC(client));
    if (it == registry.clients.end()) return;
    std::lock_guard handle_lock(it->second->mutex);
    if (needs == Needs::kClient && !it->second->open) return;
    handle_ = it->second;
    ++handle_->in_flight;
  }
  ~Call() { Release(); }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  Call(Call&& other) noexcept : handle_(std::move(other.handle_)) {}

  explicit operator bool() const { return handle_ != nullptr; }
  ClientHandle& handle() { return *handle_; }
  Client& client() { return *handle_->client; }

  void Release() {
    if (!handle_) return;
    {
      std::lock_guard lock(handle_->mutex);
      --handle_->in_flight;
    }
    handle_->idle.notify_all();
    handle_.reset();
  }

 private:
  std::shared_ptr<ClientHandle> handle_;
};

Failure InvalidHandle() {
  return {FERRY_INVALID_HANDLE, "not an open ferry_client (NULL, closed or unknown)"};
}

// Runs `body(Call&)` on a live client, guarded.
Failure CalledFromResolver() {
  return {FERRY_WRONG_THREAD,
          "the conflict resolver must not call its client: it runs inside the sync, with the "
          "client's engine locked"};
}

template <typename Body>
ferry_result WithClient(ferry_client* client, ferry_error* error, Body&& body,
                        Needs needs = Needs::kClient) {
  return Guarded(error, [&]() -> Failure {
    if (client != nullptr && FromC(client) == t_resolving_client) return CalledFromResolver();
    Call call(client, needs);
    if (!call) return InvalidHandle();
    return body(call);
  });
}

template <typename Body>
ferry_result JsonReport(ferry_client* client, ferry_buffer* out, const char* what,
                        ferry_error* error, Body&& body) {
  if (out != nullptr) *out = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (out == nullptr) return InvalidArgument(std::string(what) + ": the out buffer is NULL");
    Result<Json> json = body(call.client());
    if (!json.ok()) return json.status();
    Fill(out, DumpJson(*json));
    return {};
  });
}

// ------------------------------------------------------------- options

ferry_client_options DefaultOptions() {
  ferry_client_options options;
  std::memset(&options, 0, sizeof options);
  const ClientOptions defaults;
  options.struct_size = sizeof options;
  options.sync_on_local_write = defaults.engine.sync_on_local_write;
  options.local_write_debounce_ms = defaults.engine.local_write_debounce_ms;
  options.request_timeout_ms = defaults.engine.request_timeout_ms;
  options.push_batch_size = defaults.engine.batch.max_count;
  options.pull_page_size = defaults.engine.pull_page_size;
  options.live_updates = defaults.engine.live_updates;
  options.gzip_above_bytes = defaults.gzip_above_bytes;
  options.backoff_base_ms = defaults.engine.backoff_base_ms;
  options.backoff_max_ms = defaults.engine.backoff_max_ms;
  options.push_batch_bytes = defaults.engine.batch.max_bytes;
  options.history_limit = defaults.engine.history_limit;
  options.conflict_log_limit = defaults.engine.conflict_log_limit;
  return options;
}

// The layouts this library knows: the first one (up to transport_user_data),
// the second, which appends the conflict resolver, the third, which appends
// the store lock timeout, and today's, which appends the custom headers,
// backoff bounds, push batch bytes, history limit and the rest of issue 17's
// options. A caller built against an older one passes its size; the fields
// it lacks keep their defaults.
constexpr std::size_t kOptionsSizeV1 = offsetof(ferry_client_options, conflict_resolver);
constexpr std::size_t kOptionsSizeV2 = offsetof(ferry_client_options, store_lock_timeout_ms);
constexpr std::size_t kOptionsSizeV3 = offsetof(ferry_client_options, headers);
constexpr std::size_t kOptionsSizeV4 = sizeof(ferry_client_options);
static_assert(kOptionsSizeV1 == offsetof(ferry_client_options, transport_user_data) + sizeof(void*),
              "fields are appended after transport_user_data without padding");
static_assert(kOptionsSizeV2 == offsetof(ferry_client_options, conflict_user_data) + sizeof(void*),
              "fields are appended after conflict_user_data without padding");
static_assert(kOptionsSizeV3 ==
                  offsetof(ferry_client_options, store_lock_timeout_ms) + sizeof(int64_t),
              "fields are appended after store_lock_timeout_ms without padding");

Failure CheckOptionsSize(std::size_t struct_size) {
  if (struct_size != kOptionsSizeV1 && struct_size != kOptionsSizeV2 &&
      struct_size != kOptionsSizeV3 && struct_size != kOptionsSizeV4) {
    return InvalidArgument("ferry_client_options.struct_size is " + std::to_string(struct_size) +
                           "; this libferry knows " + std::to_string(kOptionsSizeV1) + ", " +
                           std::to_string(kOptionsSizeV2) + ", " + std::to_string(kOptionsSizeV3) +
                           " and " + std::to_string(kOptionsSizeV4) +
                           " (set it with ferry_client_options_init(&options, sizeof options))");
  }
  return {};
}

void LogTo(uint64_t id, ferry_log_callback log, void* user_data, LogLevel level,
           const std::string& message) {
  CallbackScope scope(id);
  log(user_data, static_cast<ferry_log_level>(level), message.c_str(), message.size());
}

// Why the token provider failed: the NUL-terminated text it left in the
// buffer (cut at the buffer's end). Thrown as an exception, which the
// client's token step reports as a token failure with this message.
std::string TokenFailure(const std::string& buffer) {
  std::string message = buffer.substr(0, buffer.find('\0'));
  if (message.empty() || !IsValidUtf8(message)) return "the token provider failed";
  return message;
}

// Asks the C token provider; a token that does not fit twice, is absurdly
// long, or is not UTF-8 is not sent. A control character (CR, LF, NUL, ...)
// is left to EngineHost, which refuses such a token for every runtime with
// an auth error that says why.
std::string AskToken(uint64_t id, ferry_token_callback provider, void* user_data, bool refresh,
                     const std::function<void(const std::string&)>& log) {
  CallbackScope scope(id);
  std::string token(256, '\0');
  std::size_t size = provider(user_data, refresh, token.data(), token.size());
  if (size == FERRY_TOKEN_FAILED) throw std::runtime_error(TokenFailure(token));
  constexpr std::size_t kMaxTokenBytes = std::size_t{64} * 1024;  // far above any real bearer token
  if (size > kMaxTokenBytes) {
    log("the token provider returned a token over 64 KiB; sending no token");
    return {};
  }
  if (size > token.size()) {
    token.assign(size, '\0');
    size = provider(user_data, refresh, token.data(), token.size());
    if (size == FERRY_TOKEN_FAILED) throw std::runtime_error(TokenFailure(token));
    if (size > token.size()) {
      log("the token provider asked for more room twice; sending no token");
      return {};
    }
  }
  token.resize(size);
  if (!IsValidUtf8(token)) {
    log("the token provider returned a token that is not UTF-8; sending no token");
    return {};
  }
  return token;
}

// {"error": message}: a valid answer, by which the resolver declines.
bool DeclinesToResolve(std::string_view answer_json) {
  auto parsed = ParseJson(answer_json);
  return parsed.ok() && parsed->is_object() && parsed->contains("error");
}

bool UsesCustomStrategy(const ConflictPolicy& policy) {
  if (policy.default_strategy == ConflictStrategy::kCustom) return true;
  for (const auto& [name, strategy] : policy.collections) {
    if (strategy == ConflictStrategy::kCustom) return true;
  }
  return false;
}

// Runs the C resolver on the owner thread (inside the engine's lock) and
// reads the answer it set; calls on this client from inside it are refused.
Result<std::optional<Json>> AskResolver(uint64_t id, ferry_conflict_resolver_callback resolver,
                                        void* user_data, const ConflictInput& input) {
  const std::string input_json = DumpJson(ConflictInputToJson(input));
  ferry_conflict_answer answer;
  {
    CallbackScope scope(id);
    const uint64_t previous = t_resolving_client;
    t_resolving_client = id;
    resolver(user_data, input_json.c_str(), input_json.size(), &answer);
    t_resolving_client = previous;
  }
  return std::move(answer.resolution);
}

// Runs the C hook on the owner thread (inside the engine's lock), as the
// resolver runs, and returns the answer it set.
std::string AskHook(uint64_t id, ferry_hook_callback hook, void* user_data, HookPoint point,
                    const std::string& input_json) {
  ferry_hook_answer answer;
  CallbackScope scope(id);
  const uint64_t previous = t_resolving_client;
  t_resolving_client = id;
  hook(user_data, static_cast<ferry_hook_point>(point), input_json.c_str(), input_json.size(),
       &answer);
  t_resolving_client = previous;
  return std::move(answer.text);
}

void SendToHost(uint64_t id, ferry_send_request_callback send, void* user_data,
                const TransportRequest& request) {
  std::vector<ferry_http_header> headers;
  headers.reserve(request.headers.size());
  for (const std::string& header : request.headers) {
    const std::size_t colon = header.find(':');
    std::size_t value = colon == std::string::npos ? header.size() : colon + 1;
    while (value < header.size() && header[value] == ' ')
      ++value;
    headers.push_back({{header.data(), colon == std::string::npos ? header.size() : colon},
                       {header.data() + value, header.size() - value}});
  }
  ferry_http_request out;
  std::memset(&out, 0, sizeof out);
  out.id = request.id;
  out.method = {request.method.data(), request.method.size()};
  out.url = {request.url.data(), request.url.size()};
  out.headers = headers.data();
  out.header_count = headers.size();
  out.body = {request.body.data(), request.body.size()};
  out.timeout_ms = request.timeout_ms;
  out.stream = static_cast<bool>(request.on_chunk);
  CallbackScope scope(id);
  send(user_data, ToC(id), &out);
}

// `count` names (collections, keys) at `names` (NULL only with a count of
// 0); `what` names them in errors.
Failure CopyNames(const ferry_slice* names, std::size_t count, const char* what,
                  std::vector<std::string>& out) {
  if (count > 0 && names == nullptr)
    return InvalidArgument(std::string(what) + " is NULL with a count above 0");
  for (std::size_t i = 0; i < count; ++i) {
    std::string name;
    if (Failure f = Text(names[i], what, name); !f.ok()) return f;
    out.push_back(std::move(name));
  }
  return {};
}

Failure CopyScope(const ferry_client_options& c, EngineOptions& engine) {
  if (Failure f =
          CopyNames(c.upload_only, c.upload_only_count, "options.upload_only", engine.upload_only);
      !f.ok())
    return f;
  if (Failure f =
          CopyNames(c.deferrable, c.deferrable_count, "options.deferrable", engine.deferrable);
      !f.ok())
    return f;
  if (c.indexes_json.size > 0) {
    std::string text;
    if (Failure f = Text(c.indexes_json, "options.indexes_json", text); !f.ok()) return f;
    auto indexes = IndexesFromText(text);
    if (!indexes.ok()) return indexes.status();
    engine.indexes = std::move(*indexes);
  }
  if (!c.has_pull_scope) return {};
  engine.pull_collections.emplace();
  return CopyNames(c.pull_collections, c.pull_collections_count, "options.pull_collections",
                   *engine.pull_collections);
}

Failure CopyRetention(const ferry_client_options& c, EngineOptions& engine) {
  if (c.retention_count > 0 && c.retention == nullptr)
    return InvalidArgument("options.retention is NULL with a retention_count above 0");
  for (std::size_t i = 0; i < c.retention_count; ++i) {
    const ferry_retention_rule& rule = c.retention[i];
    std::string collection;
    if (Failure f = Text(rule.collection, "options.retention[].collection", collection); !f.ok())
      return f;
    if (rule.max_age_ms < 0) return InvalidArgument("options.retention[].max_age_ms must be >= 0");
    engine.retention[collection] = {rule.max_age_ms, static_cast<std::size_t>(rule.max_count)};
  }
  return {};
}

// The custom headers as UTF-8 text; which ones are allowed is the shared
// host's rule (CheckCustomHeaders, run by Client::Open).
Failure CopyHeaders(const ferry_client_options& c, RequestHeaders& headers) {
  if (c.header_count > 0 && c.headers == nullptr)
    return InvalidArgument("options.headers is NULL with a header_count above 0");
  for (std::size_t i = 0; i < c.header_count; ++i) {
    std::string name;
    std::string value;
    if (Failure f = Text(c.headers[i].name, "options.headers[].name", name); !f.ok()) return f;
    if (Failure f = Text(c.headers[i].value, "options.headers[].value", value); !f.ok()) return f;
    headers.emplace_back(std::move(name), std::move(value));
  }
  return {};
}

// ClientOptions from the C options; `id` is the handle-to-be, for callbacks.
Failure ToClientOptions(const ferry_client_options& c, uint64_t id, ClientOptions& options,
                        std::shared_ptr<HostTransport>& host_transport) {
  if (Failure f = Text(c.path, "options.path", options.path); !f.ok()) return f;
  if (Failure f = Text(c.endpoint, "options.endpoint", options.endpoint); !f.ok()) return f;
  if (options.path.find('\0') != std::string::npos ||
      options.endpoint.find('\0') != std::string::npos)
    return InvalidArgument("options.path and options.endpoint must not contain NUL bytes");
  if (c.local_write_debounce_ms < 0 || c.request_timeout_ms <= 0 || c.interval_ms < 0 ||
      c.store_lock_timeout_ms < 0 || c.push_batch_size == 0 || c.pull_page_size == 0 ||
      c.push_batch_bytes == 0 || c.history_limit == 0 || c.backoff_base_ms <= 0 ||
      c.backoff_max_ms < c.backoff_base_ms || c.dead_letter_max_age_ms < 0) {
    return InvalidArgument(
        "options: local_write_debounce_ms, interval_ms and store_lock_timeout_ms must be >= 0; "
        "request_timeout_ms, push_batch_size, push_batch_bytes, pull_page_size, history_limit "
        "and backoff_base_ms > 0; backoff_max_ms >= backoff_base_ms; dead_letter_max_age_ms >= 0");
  }
  options.engine.sync_on_local_write = c.sync_on_local_write;
  options.engine.local_write_debounce_ms = c.local_write_debounce_ms;
  options.engine.request_timeout_ms = c.request_timeout_ms;
  if (c.interval_ms > 0) options.engine.interval_ms = c.interval_ms;
  options.engine.random_seed = c.random_seed;
  options.engine.batch.max_count = c.push_batch_size;
  options.engine.batch.max_bytes = c.push_batch_bytes;
  options.engine.pull_page_size = c.pull_page_size;
  options.engine.backoff_base_ms = c.backoff_base_ms;
  options.engine.backoff_max_ms = c.backoff_max_ms;
  options.engine.history_limit = c.history_limit;
  options.engine.conflict_log_limit = c.conflict_log_limit;
  if (c.max_attempts > 0) options.engine.max_attempts = c.max_attempts;
  if (c.dead_letter_max_age_ms > 0)
    options.engine.dead_letter_max_age_ms = c.dead_letter_max_age_ms;
  if (Failure f = CopyHeaders(c, options.headers); !f.ok()) return f;
  if (Failure f = CopyScope(c, options.engine); !f.ok()) return f;
  if (Failure f = CopyRetention(c, options.engine); !f.ok()) return f;
  options.engine.live_updates = c.live_updates;
  options.gzip_above_bytes = c.gzip_above_bytes;
  options.store.durability =
      c.durable_full ? SqliteStore::Durability::kFull : SqliteStore::Durability::kNormal;
  options.store.lock_timeout_ms = c.store_lock_timeout_ms;
  if (c.conflicts_json.size > 0) {
    Json conflicts;
    if (Failure f = JsonText(c.conflicts_json, "options.conflicts_json", conflicts); !f.ok())
      return f;
    if (Failure f = ConflictStrategiesFromJson(conflicts, options.engine.conflicts); !f.ok())
      return f;
    if (UsesCustomStrategy(options.engine.conflicts) && c.conflict_resolver == nullptr) {
      return InvalidArgument(
          "options.conflicts_json names the strategy custom; set options.conflict_resolver");
    }
  }
  if (c.conflict_resolver != nullptr) {
    options.engine.conflicts.custom = [id, resolver = c.conflict_resolver,
                                       user_data = c.conflict_user_data](const ConflictInput& in) {
      return AskResolver(id, resolver, user_data, in);
    };
  }
  if (c.hook != nullptr && c.hook_points != 0) {
    InstallHooks(options.engine, c.hook_points,
                 [id, hook = c.hook, user_data = c.hook_user_data](HookPoint point,
                                                                   const std::string& input) {
                   return AskHook(id, hook, user_data, point, input);
                 });
  }
  if (Failure f =
          Text(c.ca_bundle_path, "options.ca_bundle_path", options.transport.ca_bundle_path);
      !f.ok())
    return f;
  options.transport.dangerously_disable_tls_verification = c.dangerously_disable_tls_verification;

  std::function<void(const std::string&)> log_error = [](const std::string&) {};
  if (c.log != nullptr) {
    options.log = [id, log = c.log, user_data = c.log_user_data](LogLevel level,
                                                                 const std::string& message) {
      LogTo(id, log, user_data, level, message);
    };
    log_error = [id, log = c.log, user_data = c.log_user_data](const std::string& message) {
      LogTo(id, log, user_data, LogLevel::kError, message);
    };
  }
  if (c.token_provider != nullptr) {
    options.token_provider = [id, provider = c.token_provider, user_data = c.token_user_data,
                              log_error](bool refresh) {
      return AskToken(id, provider, user_data, refresh, log_error);
    };
  }
  if (c.send_request != nullptr) {
    HostTransport::Callbacks callbacks;
    callbacks.send = [id, send = c.send_request,
                      user_data = c.transport_user_data](const TransportRequest& request) {
      SendToHost(id, send, user_data, request);
    };
    if (c.cancel_request != nullptr) {
      callbacks.cancel = [id, cancel = c.cancel_request,
                          user_data = c.transport_user_data](RequestId request) {
        CallbackScope scope(id);
        cancel(user_data, ToC(id), request);
      };
    }
    host_transport = std::make_shared<HostTransport>(std::move(callbacks));
    options.custom_transport = host_transport;
  } else if (c.cancel_request != nullptr) {
    return InvalidArgument("options.cancel_request is set without options.send_request");
  }
  return {};
}

Failure AddListener(Call& call, ferry_event_callback callback, void* user_data,
                    ferry_listener_id* listener_id, bool documents_only) {
  if (callback == nullptr) return InvalidArgument("the callback is NULL");
  if (listener_id == nullptr) return InvalidArgument("the listener id out-parameter is NULL");
  auto listener = std::make_shared<Listener>();
  listener->callback = callback;
  listener->user_data = user_data;
  const uint64_t id = call.handle().id;
  auto deliver = [listener, id](const Event& event) {
    std::lock_guard lock(listener->mutex);
    if (!listener->active) return;
    const std::string json = DumpJson(EventToJson(event));
    CallbackScope scope(id);
    listener->callback(listener->user_data, json.c_str(), json.size());
  };
  // Not under the handle's lock: the client takes its own lock, and a
  // callback holding that one may take the handle's (remove_listener).
  Client::ListenerId registered = 0;
  if (documents_only) {
    registered = call.client().Subscribe(
        [deliver](const DocumentsChangedEvent& changed) { deliver(Event(changed)); });
  } else {
    registered = call.client().AddEventListener(deliver);
  }
  {
    std::lock_guard lock(call.handle().mutex);
    call.handle().listeners[registered] = listener;
  }
  *listener_id = registered;
  return {};
}

Failure SyncRunJson(Result<SyncRunRecord>& run, std::string& json) {
  if (!run.ok()) return run.status();
  json = DumpJson(SyncRunToJson(*run));
  return {};
}

// The query of ferry_client_query, _count and _explain, from its JSON text.
Failure ReadQuery(ferry_slice query_json, Query& query) {
  std::string text;
  if (Failure f = Text(query_json, "query_json", text); !f.ok()) return f;
  auto parsed = QueryFromText(text);
  if (!parsed.ok()) return parsed.status();
  query = std::move(*parsed);
  return {};
}

}  // namespace
}  // namespace ferry::c_api

using namespace ferry;         // NOLINT: this file implements the C surface of ferry
using namespace ferry::c_api;  // NOLINT

extern "C" {

const char* ferry_version(void) {
  return FERRY_VERSION_STRING;
}

uint32_t ferry_version_number(void) {
  return FERRY_VERSION_NUMBER;
}

const char* ferry_result_name(ferry_result result) {
  switch (result) {
    case FERRY_INVALID_HANDLE:
      return "invalid_handle";
    case FERRY_WRONG_THREAD:
      return "wrong_thread";
    default:
      if (result >= FERRY_OK && result <= FERRY_BUSY) {
        // Literals: the view is NUL-terminated.
        return ErrorCodeName(static_cast<ErrorCode>(result)).data();
      }
      return "unknown";
  }
}

void ferry_error_clear(ferry_error* error) {
  ResetError(error);
}

void ferry_buffer_release(ferry_buffer* buffer) {
  if (buffer == nullptr) return;
  std::free(buffer->data);
  *buffer = ferry_buffer{nullptr, 0};
}

ferry_result ferry_client_options_init(ferry_client_options* options, size_t struct_size) {
  if (options == nullptr) return FERRY_INVALID_ARGUMENT;
  if (!CheckOptionsSize(struct_size).ok()) return FERRY_INVALID_ARGUMENT;
  // Only the caller's layout: an older one is shorter than ours.
  const ferry_client_options defaults = DefaultOptions();
  std::memcpy(options, &defaults, struct_size);
  options->struct_size = struct_size;
  return FERRY_OK;
}

ferry_result ferry_client_open(const ferry_client_options* options, ferry_client** client,
                               ferry_error* error) {
  if (client != nullptr) *client = nullptr;
  return Guarded(error, [&]() -> Failure {
    if (options == nullptr) return InvalidArgument("options is NULL");
    if (client == nullptr) return InvalidArgument("the client out-parameter is NULL");
    if (Failure f = CheckOptionsSize(options->struct_size); !f.ok()) return f;
    ferry_client_options c = DefaultOptions();
    std::memcpy(&c, options, options->struct_size);

    auto handle = std::make_shared<ClientHandle>();
    Registry& registry = TheRegistry();
    {
      std::lock_guard lock(registry.mutex);
      handle->id = registry.next_id++;
    }
    ClientOptions client_options;
    if (Failure f = ToClientOptions(c, handle->id, client_options, handle->host_transport); !f.ok())
      return f;
    {
      // Registered (not yet open) first: the host transport may be asked,
      // and answer, before Client::Open returns.
      std::lock_guard lock(registry.mutex);
      registry.clients[handle->id] = handle;
    }
    auto opened = Client::Open(std::move(client_options));
    if (!opened.ok()) {
      {
        std::lock_guard lock(registry.mutex);
        registry.clients.erase(handle->id);
      }
      std::unique_lock lock(handle->mutex);
      handle->idle.wait(lock, [&] { return handle->in_flight == 0; });
      return opened.status();
    }
    {
      std::lock_guard lock(handle->mutex);
      handle->client = std::move(*opened);
      handle->open = true;
    }
    *client = ToC(handle->id);
    return {};
  });
}

ferry_result ferry_client_close(ferry_client* client, ferry_error* error) {
  return Guarded(error, [&]() -> Failure {
    if (client != nullptr && FromC(client) == t_callback_client) {
      return {FERRY_WRONG_THREAD,
              "ferry_client_close from inside one of the client's callbacks; close it from "
              "another thread"};
    }
    std::shared_ptr<ClientHandle> handle;
    {
      Registry& registry = TheRegistry();
      std::lock_guard lock(registry.mutex);
      auto it = client == nullptr ? registry.clients.end() : registry.clients.find(FromC(client));
      if (it == registry.clients.end()) return InvalidHandle();
      {
        std::lock_guard handle_lock(it->second->mutex);
        if (!it->second->open) return InvalidHandle();  // still opening
      }
      handle = std::move(it->second);
      registry.clients.erase(it);
    }
    // No new call can start now. Calls in progress finish; a blocking sync
    // among them ends when its run does, so cancel runs until none is left.
    handle->client->Cancel();
    {
      std::unique_lock lock(handle->mutex);
      while (!handle->idle.wait_for(lock, std::chrono::milliseconds(50),
                                    [&] { return handle->in_flight == 0; })) {
        lock.unlock();
        handle->client->Cancel();
        lock.lock();
      }
    }
    handle->client.reset();  // joins the owner thread: no callback runs after this
    if (handle->host_transport) handle->host_transport->Close();
    return {};
  });
}

ferry_result ferry_client_id(ferry_client* client, ferry_buffer* client_id, ferry_error* error) {
  if (client_id != nullptr) *client_id = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (client_id == nullptr) return InvalidArgument("the client_id out-parameter is NULL");
    Fill(client_id, call.client().client_id());
    return {};
  });
}

ferry_result ferry_client_put(ferry_client* client, ferry_slice collection, ferry_slice key,
                              ferry_slice value_json, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) {
    return WriteDocument(call.client(), MutationOp::kPut, collection, key, value_json,
                         "value_json");
  });
}

ferry_result ferry_client_patch(ferry_client* client, ferry_slice collection, ferry_slice key,
                                ferry_slice merge_patch_json, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) {
    return WriteDocument(call.client(), MutationOp::kPatch, collection, key, merge_patch_json,
                         "merge_patch_json");
  });
}

ferry_result ferry_client_remove(ferry_client* client, ferry_slice collection, ferry_slice key,
                                 ferry_error* error) {
  return WithClient(client, error, [&](Call& call) {
    return WriteDocument(call.client(), MutationOp::kDelete, collection, key, {}, "");
  });
}

ferry_result ferry_client_write(ferry_client* client, ferry_slice writes_json, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    std::string text;
    if (Failure f = Text(writes_json, "writes_json", text); !f.ok()) return f;
    auto parsed = LocalWritesFromText(text);
    if (!parsed.ok()) return parsed.status();
    return call.client().Write(std::move(*parsed));
  });
}

ferry_result ferry_client_get(ferry_client* client, ferry_slice collection, ferry_slice key,
                              ferry_buffer* value, ferry_error* error) {
  if (value != nullptr) *value = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (value == nullptr) return InvalidArgument("the value out-parameter is NULL");
    std::string collection_text, key_text;
    if (Failure f = DocumentArguments(collection, key, collection_text, key_text); !f.ok())
      return f;
    auto document = call.client().Get(std::move(collection_text), std::move(key_text));
    if (!document.ok()) return document.status();
    if (document->has_value()) Fill(value, DumpJson(**document));
    return {};
  });
}

ferry_result ferry_client_scan(ferry_client* client, ferry_slice collection, ferry_slice key_prefix,
                               size_t limit, ferry_buffer* documents, ferry_error* error) {
  if (documents != nullptr) *documents = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (documents == nullptr) return InvalidArgument("the documents out-parameter is NULL");
    std::string collection_text, prefix_text;
    if (Failure f = Text(collection, "collection", collection_text); !f.ok()) return f;
    if (Failure f = Text(key_prefix, "key_prefix", prefix_text); !f.ok()) return f;
    auto rows = call.client().Scan(std::move(collection_text), std::move(prefix_text), limit);
    if (!rows.ok()) return rows.status();
    Json items = Json::array();
    for (auto& [key, document] : *rows)
      items.push_back({{"key", key}, {"value", std::move(document)}});
    Fill(documents, DumpJson(items));
    return {};
  });
}

ferry_result ferry_client_query(ferry_client* client, ferry_slice query_json, ferry_buffer* page,
                                ferry_error* error) {
  if (page != nullptr) *page = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (page == nullptr) return InvalidArgument("the page out-parameter is NULL");
    Query query;
    if (Failure f = ReadQuery(query_json, query); !f.ok()) return f;
    auto found = call.client().RunQuery(query);
    if (!found.ok()) return found.status();
    Fill(page, DumpJson(QueryPageToJson(*found)));
    return {};
  });
}

ferry_result ferry_client_count(ferry_client* client, ferry_slice query_json, size_t* count,
                                ferry_error* error) {
  if (count != nullptr) *count = 0;
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (count == nullptr) return InvalidArgument("the count out-parameter is NULL");
    Query query;
    if (Failure f = ReadQuery(query_json, query); !f.ok()) return f;
    auto counted = call.client().CountQuery(query);
    if (!counted.ok()) return counted.status();
    *count = *counted;
    return {};
  });
}

ferry_result ferry_client_explain(ferry_client* client, ferry_slice query_json, ferry_buffer* plan,
                                  ferry_error* error) {
  if (plan != nullptr) *plan = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (plan == nullptr) return InvalidArgument("the plan out-parameter is NULL");
    Query query;
    if (Failure f = ReadQuery(query_json, query); !f.ok()) return f;
    auto explained = call.client().ExplainQuery(query);
    if (!explained.ok()) return explained.status();
    Fill(plan, DumpJson(*explained));
    return {};
  });
}

ferry_result ferry_client_subscribe_query(ferry_client* client, ferry_slice query_json,
                                          uint64_t query_id, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    Query query;
    if (Failure f = ReadQuery(query_json, query); !f.ok()) return f;
    return call.client().SubscribeQuery(query_id, query);
  });
}

ferry_result ferry_client_unsubscribe_query(ferry_client* client, uint64_t query_id,
                                            ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    return call.client().UnsubscribeQuery(query_id);
  });
}

ferry_result ferry_client_subscribe(ferry_client* client, ferry_event_callback callback,
                                    void* user_data, ferry_listener_id* listener,
                                    ferry_error* error) {
  return WithClient(client, error, [&](Call& call) {
    return AddListener(call, callback, user_data, listener, /*documents_only=*/true);
  });
}

ferry_result ferry_client_add_event_listener(ferry_client* client, ferry_event_callback callback,
                                             void* user_data, ferry_listener_id* listener,
                                             ferry_error* error) {
  return WithClient(client, error, [&](Call& call) {
    return AddListener(call, callback, user_data, listener, /*documents_only=*/false);
  });
}

ferry_result ferry_client_remove_listener(ferry_client* client, ferry_listener_id listener,
                                          ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    std::shared_ptr<Listener> removed;
    {
      std::lock_guard lock(call.handle().mutex);
      auto it = call.handle().listeners.find(listener);
      if (it == call.handle().listeners.end())
        return {FERRY_NOT_FOUND, "no listener " + std::to_string(listener)};
      removed = std::move(it->second);
      call.handle().listeners.erase(it);
    }
    {
      // Waits for a running call on another thread; from inside the
      // callback itself the recursive lock lets it through.
      std::lock_guard lock(removed->mutex);
      removed->active = false;
    }
    call.client().RemoveListener(listener);
    return {};
  });
}

// Helpers of the exported functions below, with C++ types: C++ linkage
// inside this extern "C" block (clang: -Wreturn-type-c-linkage).
extern "C++" {
namespace {

// Starts a run on a client and waits for it (sync, resync).
using RunStarter = std::function<Result<SyncRunRecord>(Client&)>;

// A blocking run-waiting call; `name` names it in the error from inside a
// callback.
ferry_result WaitForRun(ferry_client* client, const char* name, const RunStarter& start,
                        ferry_buffer* run, ferry_error* error) {
  if (run != nullptr) *run = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (t_callback_client != 0) {
      return {FERRY_WRONG_THREAD,
              std::string(name) + " blocks; from inside a callback use " + name + "_async"};
    }
    auto record = start(call.client());
    std::string json;
    if (Failure f = SyncRunJson(record, json); !f.ok()) return f;
    if (run != nullptr) Fill(run, json);
    return {};
  });
}

// The same without waiting: `start` runs on a worker thread, which hands its
// run to `callback`. `refused` (checked first) fails the call itself.
ferry_result StartRunAsync(ferry_client* client, RunStarter start, ferry_sync_callback callback,
                           void* user_data, ferry_error* error, const Status& refused = {}) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (!refused.ok()) return refused;
    if (callback == nullptr) return InvalidArgument("the callback is NULL");
    // The worker holds its own Call, so close waits for the callback.
    Call worker_call(client);
    if (!worker_call) return InvalidHandle();
    const uint64_t id = call.handle().id;
    std::thread([worker_call = std::move(worker_call), start = std::move(start), callback,
                 user_data, id]() mutable {
      ferry_error outcome = FERRY_ERROR_INIT;
      std::string json;
      ferry_result result = Guarded(&outcome, [&]() -> Failure {
        auto record = start(worker_call.client());
        return SyncRunJson(record, json);
      });
      {
        CallbackScope scope(id);
        callback(user_data, result, result == FERRY_OK ? json.c_str() : nullptr,
                 result == FERRY_OK ? json.size() : 0, &outcome);
      }
      ferry_error_clear(&outcome);
      worker_call.Release();
    }).detach();
    return {};
  });
}

Result<SyncDirection> DirectionArgument(int direction) {
  switch (direction) {
    case FERRY_SYNC_BOTH:
      return SyncDirection::kBoth;
    case FERRY_SYNC_PUSH:
      return SyncDirection::kPush;
    case FERRY_SYNC_PULL:
      return SyncDirection::kPull;
    default:
      return Status(ErrorCode::kInvalidArgument,
                    "direction must be FERRY_SYNC_BOTH, FERRY_SYNC_PUSH or FERRY_SYNC_PULL, not " +
                        std::to_string(direction));
  }
}

RunStarter SyncIn(const Result<SyncDirection>& direction) {
  return [direction](Client& client) -> Result<SyncRunRecord> {
    if (!direction.ok()) return direction.status();
    return client.SyncNow(*direction);
  };
}

Result<SyncRunRecord> ResyncOf(Client& client) {
  return client.Resync();
}

}  // namespace
}  // extern "C++"

ferry_result ferry_client_sync_now(ferry_client* client, ferry_buffer* run, ferry_error* error) {
  return WaitForRun(client, "ferry_client_sync_now", SyncIn(SyncDirection::kBoth), run, error);
}

ferry_result ferry_client_sync_now_async(ferry_client* client, ferry_sync_callback callback,
                                         void* user_data, ferry_error* error) {
  return StartRunAsync(client, SyncIn(SyncDirection::kBoth), callback, user_data, error);
}

ferry_result ferry_client_sync_now_direction(ferry_client* client, int direction, ferry_buffer* run,
                                             ferry_error* error) {
  return WaitForRun(client, "ferry_client_sync_now_direction", SyncIn(DirectionArgument(direction)),
                    run, error);
}

ferry_result ferry_client_sync_now_direction_async(ferry_client* client, int direction,
                                                   ferry_sync_callback callback, void* user_data,
                                                   ferry_error* error) {
  auto parsed = DirectionArgument(direction);
  return StartRunAsync(client, SyncIn(parsed), callback, user_data, error, parsed.status());
}

ferry_result ferry_client_resync(ferry_client* client, ferry_buffer* run, ferry_error* error) {
  return WaitForRun(client, "ferry_client_resync", ResyncOf, run, error);
}

ferry_result ferry_client_resync_async(ferry_client* client, ferry_sync_callback callback,
                                       void* user_data, ferry_error* error) {
  return StartRunAsync(client, ResyncOf, callback, user_data, error);
}

ferry_result ferry_client_start_background_sync(ferry_client* client, int64_t interval_ms,
                                                ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (interval_ms <= 0) return InvalidArgument("interval_ms must be > 0");
    call.client().StartBackgroundSync(interval_ms);
    return {};
  });
}

ferry_result ferry_client_stop_background_sync(ferry_client* client, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    call.client().StopBackgroundSync();
    return {};
  });
}

ferry_result ferry_client_set_online(ferry_client* client, bool online, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    call.client().SetOnline(online);
    return {};
  });
}

ferry_result ferry_client_network_changed(ferry_client* client, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    call.client().NetworkChanged();
    return {};
  });
}

ferry_result ferry_client_set_metered(ferry_client* client, bool metered, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    call.client().SetMetered(metered);
    return {};
  });
}

ferry_result ferry_client_cancel(ferry_client* client, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    call.client().Cancel();
    return {};
  });
}

ferry_result ferry_client_status(ferry_client* client, ferry_buffer* status, ferry_error* error) {
  return JsonReport(client, status, "status", error,
                    [](Client& c) -> Result<Json> { return SyncStatusToJson(c.status()); });
}

ferry_result ferry_client_statistics(ferry_client* client, ferry_buffer* statistics,
                                     ferry_error* error) {
  return JsonReport(client, statistics, "statistics", error,
                    [](Client& c) -> Result<Json> { return SyncStatisticsToJson(c.statistics()); });
}

ferry_result ferry_client_history(ferry_client* client, size_t limit, ferry_buffer* runs,
                                  ferry_error* error) {
  return JsonReport(client, runs, "runs", error, [limit](Client& c) -> Result<Json> {
    FERRY_ASSIGN_OR_RETURN(auto records, c.History(limit == 0 ? 50 : limit));
    Json items = Json::array();
    for (const SyncRunRecord& record : records)
      items.push_back(SyncRunToJson(record));
    return items;
  });
}

ferry_result ferry_client_failed_mutations(ferry_client* client, ferry_buffer* mutations,
                                           ferry_error* error) {
  return JsonReport(client, mutations, "mutations", error, [](Client& c) -> Result<Json> {
    FERRY_ASSIGN_OR_RETURN(auto entries, c.FailedMutations());
    Json items = Json::array();
    for (const OutboxEntry& entry : entries)
      items.push_back(FailedMutationToJson(entry));
    return items;
  });
}

ferry_result ferry_client_pending_mutations(ferry_client* client, uint64_t after_seq, size_t limit,
                                            ferry_buffer* mutations, ferry_error* error) {
  return JsonReport(client, mutations, "mutations", error, [=](Client& c) -> Result<Json> {
    FERRY_ASSIGN_OR_RETURN(auto entries, c.PendingMutations(after_seq, limit));
    Json items = Json::array();
    for (const OutboxEntry& entry : entries)
      items.push_back(PendingMutationToJson(entry));
    return items;
  });
}

ferry_result ferry_client_clear_history(ferry_client* client, bool keep_latest,
                                        ferry_error* error) {
  return WithClient(client, error,
                    [&](Call& call) -> Failure { return call.client().ClearHistory(keep_latest); });
}

ferry_result ferry_client_conflict_log(ferry_client* client, uint64_t after_id, size_t limit,
                                       ferry_buffer* entries, ferry_error* error) {
  if (entries != nullptr) *entries = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (entries == nullptr) return InvalidArgument("entries: the out buffer is NULL");
    auto log = call.client().ConflictLog(after_id, limit);
    if (!log.ok()) return log.status();
    Fill(entries, ConflictLogJson(*log));
    return {};
  });
}

ferry_result ferry_client_clear_conflict_log(ferry_client* client, ferry_error* error) {
  return WithClient(client, error,
                    [&](Call& call) -> Failure { return call.client().ClearConflictLog(); });
}

ferry_result ferry_client_conflicts(ferry_client* client, ferry_buffer* conflicts,
                                    ferry_error* error) {
  if (conflicts != nullptr) *conflicts = ferry_buffer{nullptr, 0};
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (conflicts == nullptr) return InvalidArgument("conflicts: the out buffer is NULL");
    auto open = call.client().Conflicts();
    if (!open.ok()) return open.status();
    Fill(conflicts, OpenConflictsJson(*open));
    return {};
  });
}

ferry_result ferry_client_resolve_conflict(ferry_client* client, ferry_slice collection,
                                           ferry_slice key, ferry_slice value_json,
                                           ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    std::string collection_text, key_text;
    if (Failure f = DocumentArguments(collection, key, collection_text, key_text); !f.ok())
      return f;
    Json value;
    if (Failure f = JsonText(value_json, "value_json", value); !f.ok()) return f;
    return call.client().ResolveConflict(std::move(collection_text), std::move(key_text),
                                         value.is_null() ? std::nullopt : std::optional(value));
  });
}

ferry_result ferry_client_evict(ferry_client* client, ferry_slice collection,
                                const ferry_slice* keys, size_t key_count, bool whole_collection,
                                size_t* evicted, ferry_error* error) {
  if (evicted != nullptr) *evicted = 0;
  return WithClient(client, error, [&](Call& call) -> Failure {
    std::string name;
    if (Failure f = Text(collection, "collection", name); !f.ok()) return f;
    std::optional<std::vector<std::string>> named;
    if (!whole_collection) {
      named.emplace();
      if (Failure f = CopyNames(keys, key_count, "keys", *named); !f.ok()) return f;
    }
    auto result = call.client().Evict(name, named);
    if (!result.ok()) return result.status();
    if (evicted != nullptr) *evicted = *result;
    return {};
  });
}

ferry_result ferry_client_report(ferry_client* client, size_t history_limit, ferry_buffer* report,
                                 ferry_error* error) {
  return JsonReport(client, report, "report", error, [history_limit](Client& c) -> Result<Json> {
    FERRY_ASSIGN_OR_RETURN(ClientReport read, c.Report(history_limit == 0 ? 50 : history_limit));
    Json history = Json::array();
    for (const SyncRunRecord& record : read.history)
      history.push_back(SyncRunToJson(record));
    Json failed = Json::array();
    for (const OutboxEntry& entry : read.failed_mutations)
      failed.push_back(FailedMutationToJson(entry));
    return Json{{"status", SyncStatusToJson(read.status)},
                {"statistics", SyncStatisticsToJson(read.statistics)},
                {"history", std::move(history)},
                {"failedMutations", std::move(failed)}};
  });
}

ferry_result ferry_client_flush_events(ferry_client* client, ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    if (!call.client().FlushEvents()) {
      return {FERRY_WRONG_THREAD,
              "ferry_client_flush_events on the owner thread (from a callback) would wait for "
              "itself"};
    }
    return {};
  });
}

ferry_result ferry_conflict_answer_set(ferry_conflict_answer* answer, ferry_slice answer_json,
                                       ferry_error* error) {
  return Guarded(error, [&]() -> Failure {
    if (answer == nullptr) return InvalidArgument("answer is NULL");
    std::string text;
    if (Failure f = Text(answer_json, "answer_json", text); !f.ok()) return f;
    auto resolution = ConflictAnswerFromText(text);
    if (!resolution.ok() && !DeclinesToResolve(text) &&
        !IsDeferredResolution(resolution.status())) {
      return InvalidArgument(resolution.status().message() +
                             R"( (answer {"value": document}, {"deleted": true}, )"
                             R"({"deferred": true} or {"error": message}))");
    }
    answer->resolution = std::move(resolution);
    return {};
  });
}

ferry_result ferry_hook_answer_set(ferry_hook_answer* answer, ferry_slice answer_json,
                                   ferry_error* error) {
  return Guarded(error, [&]() -> Failure {
    if (answer == nullptr) return InvalidArgument("answer is NULL");
    std::string text;
    if (Failure f = Text(answer_json, "answer_json", text); !f.ok()) return f;
    auto decision = HookAnswerFromText(text);
    if (!decision.ok() && decision.status().code() == ErrorCode::kInvalidArgument)
      return InvalidArgument(decision.status().message());
    answer->text = std::move(text);
    return {};
  });
}

ferry_result ferry_client_retry_failed_mutation(ferry_client* client, uint64_t seq,
                                                uint64_t* new_seq, ferry_error* error) {
  if (new_seq != nullptr) *new_seq = 0;
  return WithClient(client, error, [&](Call& call) -> Failure {
    auto retried = call.client().RetryFailedMutation(seq);
    if (!retried.ok()) return retried.status();
    if (new_seq != nullptr) *new_seq = *retried;
    return {};
  });
}

ferry_result ferry_client_discard_failed_mutation(ferry_client* client, uint64_t seq,
                                                  ferry_error* error) {
  return WithClient(client, error, [&](Call& call) -> Failure {
    return call.client().DiscardFailedMutation(seq);
  });
}

ferry_result ferry_client_complete_request(ferry_client* client, uint64_t request_id, int status,
                                           const char* body, size_t body_size,
                                           ferry_slice retry_after, ferry_slice transport_error,
                                           ferry_error* error) {
  return WithClient(
      client, error,
      [&](Call& call) -> Failure {
        if (!call.handle().host_transport)
          return InvalidArgument("this client carries its own requests (no send_request callback)");
        if (body == nullptr && body_size > 0)
          return InvalidArgument("body: NULL data with a non-zero size");
        if (status < 0 || status > 999)
          return InvalidArgument("status must be 0 or an HTTP status");
        HttpResponse response;
        response.status = status;
        if (body_size > 0) response.body.assign(body, body_size);
        if (Failure f = Text(retry_after, "retry_after", response.retry_after); !f.ok()) return f;
        if (Failure f = Text(transport_error, "transport_error", response.transport_error); !f.ok())
          return f;
        if (status == 0 && response.transport_error.empty())
          response.transport_error = "the host transport gave no answer";
        return call.handle().host_transport->Complete(request_id, std::move(response));
      },
      Needs::kHostTransport);
}

ferry_result ferry_client_request_data(ferry_client* client, uint64_t request_id, const char* data,
                                       size_t size, ferry_error* error) {
  return WithClient(
      client, error,
      [&](Call& call) -> Failure {
        if (!call.handle().host_transport)
          return InvalidArgument("this client carries its own requests (no send_request callback)");
        if (data == nullptr && size > 0) return InvalidArgument("data: NULL with a non-zero size");
        return call.handle().host_transport->Data(
            request_id, std::string_view(data == nullptr ? "" : data, size));
      },
      Needs::kHostTransport);
}

ferry_result ferry_delete_local_data(ferry_slice path, ferry_error* error) {
  return Guarded(error, [&]() -> Failure {
    std::string path_text;
    if (Failure f = Text(path, "path", path_text); !f.ok()) return f;
    if (path_text.empty() || path_text.find('\0') != std::string::npos)
      return InvalidArgument("path must be a non-empty file name without NUL bytes");
    return Client::DeleteLocalData(path_text);
  });
}

ferry_result ferry_cleartext_endpoint_warning(ferry_slice endpoint, ferry_buffer* warning,
                                              ferry_error* error) {
  if (warning != nullptr) *warning = ferry_buffer{nullptr, 0};
  return Guarded(error, [&]() -> Failure {
    if (warning == nullptr) return InvalidArgument("the warning out-parameter is NULL");
    std::string endpoint_text;
    if (Failure f = Text(endpoint, "endpoint", endpoint_text); !f.ok()) return f;
    if (auto text = CleartextEndpointWarning(endpoint_text)) Fill(warning, *text);
    return {};
  });
}

}  // extern "C"
