#include "client_host_object.h"

#include <functional>
#include <string_view>
#include <utility>

#include "host_function.h"

namespace ferry::react_native {

struct ClientState {
  std::shared_ptr<BindingState> binding;
  std::uint64_t key = 0;
  std::string client_id;
  // Kept past close(): a call then fails with FERRY_INVALID_HANDLE.
  std::shared_ptr<async::AsyncClient> client;
};

namespace {

using State = std::shared_ptr<ClientState>;
using Call = std::function<void(async::AsyncClient&, async::Completion)>;

constexpr std::int64_t kMaxInteger = (std::int64_t{1} << 53) - 1;  // Number.MAX_SAFE_INTEGER

jsi::Value Nothing(jsi::Runtime&, const async::Result&) {
  return jsi::Value::undefined();
}
jsi::Value Text(jsi::Runtime& runtime, const async::Result& result) {
  return MakeString(runtime, result.text);
}
jsi::Value TextOrNothing(jsi::Runtime& runtime, const async::Result& result) {
  return result.has_text ? jsi::Value(MakeString(runtime, result.text)) : jsi::Value::undefined();
}
jsi::Value Number(jsi::Runtime&, const async::Result& result) {
  return jsi::Value(static_cast<double>(result.number));
}

// Starts `call` on the client and returns the promise its completion settles.
jsi::Value Promised(const State& state, const Arguments& arguments, ResultValue value,
                    const Call& call) {
  PendingPromises::Id id = 0;
  jsi::Value promise = state->binding->promises.Create(arguments.runtime, &id);
  call(*state->client, SettlePromise(state->binding, arguments.runtime, id, std::move(value)));
  return promise;
}

std::uint64_t RequireSeq(const Arguments& arguments) {
  return static_cast<std::uint64_t>(RequireInteger(arguments, 0, "seq", 1, kMaxInteger));
}

jsi::Value Write(const State& state, const Arguments& arguments) {
  std::string writes = RequireString(arguments, 0, "writesJson");
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.Write(std::move(writes), std::move(done));
  });
}

jsi::Value Get(const State& state, const Arguments& arguments) {
  std::string collection = RequireString(arguments, 0, "collection");
  std::string key = RequireString(arguments, 1, "key");
  return Promised(state, arguments, TextOrNothing, [&](async::AsyncClient& client, auto done) {
    client.Get(std::move(collection), std::move(key), std::move(done));
  });
}

jsi::Value Scan(const State& state, const Arguments& arguments) {
  std::string collection = RequireString(arguments, 0, "collection");
  std::string prefix = RequireString(arguments, 1, "keyPrefix");
  auto limit = static_cast<std::size_t>(RequireInteger(arguments, 2, "limit", 0, kMaxInteger));
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.Scan(std::move(collection), std::move(prefix), limit, std::move(done));
  });
}

jsi::Value Query(const State& state, const Arguments& arguments) {
  std::string query = RequireString(arguments, 0, "queryJson");
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.Query(std::move(query), std::move(done));
  });
}

jsi::Value Count(const State& state, const Arguments& arguments) {
  std::string query = RequireString(arguments, 0, "queryJson");
  return Promised(state, arguments, Number, [&](async::AsyncClient& client, auto done) {
    client.Count(std::move(query), std::move(done));
  });
}

jsi::Value Explain(const State& state, const Arguments& arguments) {
  std::string query = RequireString(arguments, 0, "queryJson");
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.Explain(std::move(query), std::move(done));
  });
}

jsi::Value SubscribeQuery(const State& state, const Arguments& arguments) {
  auto id = static_cast<std::uint64_t>(RequireInteger(arguments, 0, "queryId", 1, kMaxInteger));
  std::string query = RequireString(arguments, 1, "queryJson");
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.SubscribeQuery(id, std::move(query), std::move(done));
  });
}

jsi::Value UnsubscribeQuery(const State& state, const Arguments& arguments) {
  auto id = static_cast<std::uint64_t>(RequireInteger(arguments, 0, "queryId", 1, kMaxInteger));
  return Promised(state, arguments, Nothing, [id](async::AsyncClient& client, auto done) {
    client.UnsubscribeQuery(id, std::move(done));
  });
}

jsi::Value SyncNow(const State& state, const Arguments& arguments) {
  // A ferry_sync_direction; the C API refuses another value.
  const auto direction =
      static_cast<int>(RequireInteger(arguments, 0, "direction", FERRY_SYNC_BOTH, FERRY_SYNC_PULL));
  return Promised(state, arguments, Text, [direction](async::AsyncClient& client, auto done) {
    client.SyncNow(direction, std::move(done));
  });
}

jsi::Value Resync(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Text,
                  [](async::AsyncClient& client, auto done) { client.Resync(std::move(done)); });
}

jsi::Value StartBackgroundSync(const State& state, const Arguments& arguments) {
  std::int64_t interval = RequireInteger(arguments, 0, "intervalMs", 1, kMaxInteger);
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.StartBackgroundSync(interval, std::move(done));
  });
}

jsi::Value StopBackgroundSync(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Nothing, [](async::AsyncClient& client, auto done) {
    client.StopBackgroundSync(std::move(done));
  });
}

jsi::Value SetOnline(const State& state, const Arguments& arguments) {
  bool online = RequireBoolean(arguments, 0, "online");
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.SetOnline(online, std::move(done));
  });
}

jsi::Value NetworkChanged(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.NetworkChanged(std::move(done));
  });
}

jsi::Value SetMetered(const State& state, const Arguments& arguments) {
  bool metered = RequireBoolean(arguments, 0, "metered");
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.SetMetered(metered, std::move(done));
  });
}

jsi::Value Cancel(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Nothing,
                  [](async::AsyncClient& client, auto done) { client.Cancel(std::move(done)); });
}

jsi::Value Report(const State& state, const Arguments& arguments) {
  auto limit =
      static_cast<std::size_t>(RequireInteger(arguments, 0, "historyLimit", 0, kMaxInteger));
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.Report(limit, std::move(done));
  });
}

jsi::Value RetryFailedMutation(const State& state, const Arguments& arguments) {
  std::uint64_t seq = RequireSeq(arguments);
  return Promised(state, arguments, Number, [&](async::AsyncClient& client, auto done) {
    client.RetryFailedMutation(seq, std::move(done));
  });
}

jsi::Value DiscardFailedMutation(const State& state, const Arguments& arguments) {
  std::uint64_t seq = RequireSeq(arguments);
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.DiscardFailedMutation(seq, std::move(done));
  });
}

jsi::Value PendingMutations(const State& state, const Arguments& arguments) {
  auto after_seq =
      static_cast<std::uint64_t>(RequireInteger(arguments, 0, "afterSeq", 0, kMaxInteger));
  auto limit = static_cast<std::size_t>(RequireInteger(arguments, 1, "limit", 0, kMaxInteger));
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.PendingMutations(after_seq, limit, std::move(done));
  });
}

jsi::Value ClearHistory(const State& state, const Arguments& arguments) {
  bool keep_latest = RequireBoolean(arguments, 0, "keepLatest");
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.ClearHistory(keep_latest, std::move(done));
  });
}

jsi::Value ConflictLog(const State& state, const Arguments& arguments) {
  auto after_id =
      static_cast<std::uint64_t>(RequireInteger(arguments, 0, "afterId", 0, kMaxInteger));
  auto limit = static_cast<std::size_t>(RequireInteger(arguments, 1, "limit", 0, kMaxInteger));
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.ConflictLog(after_id, limit, std::move(done));
  });
}

jsi::Value ClearConflictLog(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.ClearConflictLog(std::move(done));
  });
}

jsi::Value Conflicts(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Text, [&](async::AsyncClient& client, auto done) {
    client.Conflicts(std::move(done));
  });
}

jsi::Value ResolveConflict(const State& state, const Arguments& arguments) {
  std::string collection = RequireString(arguments, 0, "collection");
  std::string key = RequireString(arguments, 1, "key");
  std::string value_json = RequireString(arguments, 2, "valueJson");
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    client.ResolveConflict(std::move(collection), std::move(key), std::move(value_json),
                           std::move(done));
  });
}

jsi::Value Evict(const State& state, const Arguments& arguments) {
  std::string collection = RequireString(arguments, 0, "collection");
  std::optional<std::vector<std::string>> keys = RequireStrings(arguments, 1, "keys", true);
  return Promised(state, arguments, Number, [&](async::AsyncClient& client, auto done) {
    client.Evict(std::move(collection), std::move(keys), std::move(done));
  });
}

jsi::Value Close(const State& state, const Arguments& arguments) {
  return Promised(state, arguments, Nothing, [&](async::AsyncClient& client, auto done) {
    // The client leaves the binding once closed, in a later turn (this
    // completion may be the client's own to destroy).
    client.Close([weak = std::weak_ptr<BindingState>(state->binding), key = state->key,
                  done = std::move(done)](async::Result result) {
      if (auto binding = weak.lock()) {
        binding->js_thread.Post([weak, key](jsi::Runtime&) {
          if (auto still = weak.lock()) still->clients.erase(key);
        });
      }
      done(std::move(result));
    });
  });
}

jsi::Value CompleteRequest(const State& state, const Arguments& arguments) {
  auto id = static_cast<std::uint64_t>(RequireInteger(arguments, 0, "id", 0, kMaxInteger));
  auto status = static_cast<int>(RequireInteger(arguments, 1, "status", 0, 999));
  std::string body = RequireBytes(arguments, 2, "body");
  std::string retry_after = RequireString(arguments, 3, "retryAfter");
  std::string transport_error = RequireString(arguments, 4, "transportError");
  state->client->CompleteRequest(id, status, body, retry_after, transport_error);
  return jsi::Value::undefined();
}

jsi::Value RequestData(const State& state, const Arguments& arguments) {
  auto id = static_cast<std::uint64_t>(RequireInteger(arguments, 0, "id", 0, kMaxInteger));
  state->client->RequestData(id, RequireBytes(arguments, 1, "chunk"));
  return jsi::Value::undefined();
}

struct Method {
  const char* name;
  unsigned int parameter_count;
  jsi::Value (*run)(const State&, const Arguments&);
};

constexpr Method kMethods[] = {
    {"write", 1, Write},
    {"get", 2, Get},
    {"scan", 3, Scan},
    {"syncNow", 1, SyncNow},
    {"resync", 0, Resync},
    {"startBackgroundSync", 1, StartBackgroundSync},
    {"stopBackgroundSync", 0, StopBackgroundSync},
    {"setOnline", 1, SetOnline},
    {"networkChanged", 0, NetworkChanged},
    {"query", 1, Query},
    {"count", 1, Count},
    {"explain", 1, Explain},
    {"subscribeQuery", 2, SubscribeQuery},
    {"unsubscribeQuery", 1, UnsubscribeQuery},
    {"setMetered", 1, SetMetered},
    {"cancel", 0, Cancel},
    {"report", 1, Report},
    {"retryFailedMutation", 1, RetryFailedMutation},
    {"discardFailedMutation", 1, DiscardFailedMutation},
    {"pendingMutations", 2, PendingMutations},
    {"clearHistory", 1, ClearHistory},
    {"conflictLog", 2, ConflictLog},
    {"clearConflictLog", 0, ClearConflictLog},
    {"conflicts", 0, Conflicts},
    {"resolveConflict", 3, ResolveConflict},
    {"evict", 2, Evict},
    {"completeRequest", 5, CompleteRequest},
    {"requestData", 2, RequestData},
    {"close", 0, Close},
};

}  // namespace

ClientHostObject::ClientHostObject(std::shared_ptr<BindingState> state, std::uint64_t key,
                                   std::string client_id)
    : client_(std::make_shared<ClientState>()) {
  client_->client = state->clients.at(key).client;
  client_->binding = std::move(state);
  client_->key = key;
  client_->client_id = std::move(client_id);
}

std::vector<jsi::PropNameID> ClientHostObject::getPropertyNames(jsi::Runtime& runtime) {
  std::vector<jsi::PropNameID> names;
  names.push_back(jsi::PropNameID::forAscii(runtime, "clientId"));
  for (const Method& method : kMethods) {
    names.push_back(jsi::PropNameID::forAscii(runtime, method.name));
  }
  return names;
}

jsi::Value ClientHostObject::get(jsi::Runtime& runtime, const jsi::PropNameID& name) {
  const std::string property = name.utf8(runtime);
  if (property == "clientId") return MakeString(runtime, client_->client_id);
  for (const Method& method : kMethods) {
    if (property != method.name) continue;
    return HostFunction(runtime, method.name, method.parameter_count,
                        [client = client_, run = method.run](const Arguments& arguments) {
                          return run(client, arguments);
                        });
  }
  return jsi::Value::undefined();
}

}  // namespace ferry::react_native
