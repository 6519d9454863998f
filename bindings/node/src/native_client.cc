// See native_client.h.
#include "native_client.h"

#include <string>
#include <utility>

#include "arguments.h"

namespace ferry::node {
namespace {

Napi::Value Nothing(Napi::Env env, const async::Result&) {
  return env.Undefined();
}

Napi::Value Text(Napi::Env env, const async::Result& result) {
  return Napi::String::New(env, result.text);
}

// get: the document's JSON, or undefined when it does not exist.
Napi::Value OptionalText(Napi::Env env, const async::Result& result) {
  return result.has_text ? Napi::String::New(env, result.text) : env.Undefined();
}

Napi::Value Number(Napi::Env env, const async::Result& result) {
  return Napi::Number::New(env, static_cast<double>(result.number));
}

constexpr uint64_t kMaxInterval = uint64_t{1} << 40;  // far beyond any useful interval

}  // namespace

Napi::Function NativeClient::DefineClass(Napi::Env env) {
  return ObjectWrap<NativeClient>::DefineClass(
      env, "NativeClient",
      {
          InstanceAccessor<&NativeClient::ClientId>("clientId"),
          InstanceMethod<&NativeClient::Write>("write"),
          InstanceMethod<&NativeClient::Get>("get"),
          InstanceMethod<&NativeClient::Scan>("scan"),
          InstanceMethod<&NativeClient::Query>("query"),
          InstanceMethod<&NativeClient::Count>("count"),
          InstanceMethod<&NativeClient::Explain>("explain"),
          InstanceMethod<&NativeClient::SubscribeQuery>("subscribeQuery"),
          InstanceMethod<&NativeClient::UnsubscribeQuery>("unsubscribeQuery"),
          InstanceMethod<&NativeClient::SyncNow>("syncNow"),
          InstanceMethod<&NativeClient::Resync>("resync"),
          InstanceMethod<&NativeClient::StartBackgroundSync>("startBackgroundSync"),
          InstanceMethod<&NativeClient::StopBackgroundSync>("stopBackgroundSync"),
          InstanceMethod<&NativeClient::SetOnline>("setOnline"),
          InstanceMethod<&NativeClient::NetworkChanged>("networkChanged"),
          InstanceMethod<&NativeClient::SetMetered>("setMetered"),
          InstanceMethod<&NativeClient::Cancel>("cancel"),
          InstanceMethod<&NativeClient::Report>("report"),
          InstanceMethod<&NativeClient::RetryFailedMutation>("retryFailedMutation"),
          InstanceMethod<&NativeClient::DiscardFailedMutation>("discardFailedMutation"),
          InstanceMethod<&NativeClient::PendingMutations>("pendingMutations"),
          InstanceMethod<&NativeClient::ClearHistory>("clearHistory"),
          InstanceMethod<&NativeClient::ConflictLog>("conflictLog"),
          InstanceMethod<&NativeClient::ClearConflictLog>("clearConflictLog"),
          InstanceMethod<&NativeClient::Conflicts>("conflicts"),
          InstanceMethod<&NativeClient::ResolveConflict>("resolveConflict"),
          InstanceMethod<&NativeClient::Evict>("evict"),
          InstanceMethod<&NativeClient::CompleteRequest>("completeRequest"),
          InstanceMethod<&NativeClient::RequestData>("requestData"),
          InstanceMethod<&NativeClient::Close>("close"),
          InstanceMethod<&NativeClient::SetKeepAlive>("setKeepAlive"),
      });
}

Napi::Object NativeClient::Wrap(Napi::Env env, const Napi::FunctionReference& constructor,
                                std::shared_ptr<ClientCore> core) {
  // The core travels in an External: the constructor is not for JavaScript.
  auto* holder = new std::shared_ptr<ClientCore>(std::move(core));
  auto external = Napi::External<std::shared_ptr<ClientCore>>::New(
      env, holder, [](Napi::Env, std::shared_ptr<ClientCore>* held) { delete held; });
  return constructor.New({external});
}

NativeClient::NativeClient(const Napi::CallbackInfo& info) : ObjectWrap<NativeClient>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "NativeClient is made by open(), not by new");
  core_ = *info[0].As<Napi::External<std::shared_ptr<ClientCore>>>().Data();
}

Napi::Value NativeClient::ClientId(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), core_->client_id);
}

Napi::Value NativeClient::Void(
    const std::function<void(async::AsyncClient&, async::Completion)>& start) {
  return core_->Call(
      [this, &start](async::Completion done) { start(core_->client(), std::move(done)); }, Nothing);
}

Napi::Value NativeClient::Write(const Napi::CallbackInfo& info) {
  std::string writes = RequireString(info[0], "writesJson");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.Write(std::move(writes), std::move(done));
  });
}

Napi::Value NativeClient::Get(const Napi::CallbackInfo& info) {
  std::string collection = RequireString(info[0], "collection");
  std::string key = RequireString(info[1], "key");
  return core_->Call(
      [&](async::Completion done) {
        core_->client().Get(std::move(collection), std::move(key), std::move(done));
      },
      OptionalText);
}

Napi::Value NativeClient::Scan(const Napi::CallbackInfo& info) {
  std::string collection = RequireString(info[0], "collection");
  std::string prefix = RequireString(info[1], "keyPrefix");
  const uint64_t limit = RequireCount(info[2], "limit");
  return core_->Call(
      [&](async::Completion done) {
        core_->client().Scan(std::move(collection), std::move(prefix), limit, std::move(done));
      },
      Text);
}

Napi::Value NativeClient::Query(const Napi::CallbackInfo& info) {
  std::string query = RequireString(info[0], "queryJson");
  return core_->Call(
      [&](async::Completion done) { core_->client().Query(std::move(query), std::move(done)); },
      Text);
}

Napi::Value NativeClient::Count(const Napi::CallbackInfo& info) {
  std::string query = RequireString(info[0], "queryJson");
  return core_->Call(
      [&](async::Completion done) { core_->client().Count(std::move(query), std::move(done)); },
      Number);
}

Napi::Value NativeClient::Explain(const Napi::CallbackInfo& info) {
  std::string query = RequireString(info[0], "queryJson");
  return core_->Call(
      [&](async::Completion done) { core_->client().Explain(std::move(query), std::move(done)); },
      Text);
}

Napi::Value NativeClient::SubscribeQuery(const Napi::CallbackInfo& info) {
  const uint64_t id = RequireCount(info[0], "queryId");
  std::string query = RequireString(info[1], "queryJson");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.SubscribeQuery(id, std::move(query), std::move(done));
  });
}

Napi::Value NativeClient::UnsubscribeQuery(const Napi::CallbackInfo& info) {
  const uint64_t id = RequireCount(info[0], "queryId");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.UnsubscribeQuery(id, std::move(done));
  });
}

Napi::Value NativeClient::SyncNow(const Napi::CallbackInfo& info) {
  // A ferry_sync_direction; the C API refuses another value.
  const auto direction = static_cast<int>(RequireCount(info[0], "direction", FERRY_SYNC_PULL));
  return core_->Call(
      [&](async::Completion done) { core_->client().SyncNow(direction, std::move(done)); }, Text);
}

Napi::Value NativeClient::Resync(const Napi::CallbackInfo&) {
  return core_->Call([&](async::Completion done) { core_->client().Resync(std::move(done)); },
                     Text);
}

Napi::Value NativeClient::StartBackgroundSync(const Napi::CallbackInfo& info) {
  const uint64_t interval = RequireCount(info[0], "intervalMs", kMaxInterval);
  if (interval == 0) throw Napi::TypeError::New(info.Env(), "intervalMs must be positive");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.StartBackgroundSync(static_cast<int64_t>(interval), std::move(done));
  });
}

Napi::Value NativeClient::StopBackgroundSync(const Napi::CallbackInfo&) {
  return Void([](async::AsyncClient& client, async::Completion done) {
    client.StopBackgroundSync(std::move(done));
  });
}

Napi::Value NativeClient::SetOnline(const Napi::CallbackInfo& info) {
  const bool online = RequireBoolean(info[0], "online");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.SetOnline(online, std::move(done));
  });
}

Napi::Value NativeClient::SetMetered(const Napi::CallbackInfo& info) {
  const bool metered = RequireBoolean(info[0], "metered");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.SetMetered(metered, std::move(done));
  });
}

Napi::Value NativeClient::NetworkChanged(const Napi::CallbackInfo&) {
  return Void([](async::AsyncClient& client, async::Completion done) {
    client.NetworkChanged(std::move(done));
  });
}

Napi::Value NativeClient::Cancel(const Napi::CallbackInfo&) {
  return Void(
      [](async::AsyncClient& client, async::Completion done) { client.Cancel(std::move(done)); });
}

Napi::Value NativeClient::Report(const Napi::CallbackInfo& info) {
  const uint64_t limit = RequireCount(info[0], "historyLimit");
  return core_->Call(
      [&](async::Completion done) { core_->client().Report(limit, std::move(done)); }, Text);
}

Napi::Value NativeClient::RetryFailedMutation(const Napi::CallbackInfo& info) {
  const uint64_t seq = RequireCount(info[0], "seq");
  return core_->Call(
      [&](async::Completion done) { core_->client().RetryFailedMutation(seq, std::move(done)); },
      Number);
}

Napi::Value NativeClient::DiscardFailedMutation(const Napi::CallbackInfo& info) {
  const uint64_t seq = RequireCount(info[0], "seq");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.DiscardFailedMutation(seq, std::move(done));
  });
}

Napi::Value NativeClient::PendingMutations(const Napi::CallbackInfo& info) {
  const uint64_t after_seq = RequireCount(info[0], "afterSeq");
  const uint64_t limit = RequireCount(info[1], "limit");
  return core_->Call(
      [&](async::Completion done) {
        core_->client().PendingMutations(after_seq, limit, std::move(done));
      },
      Text);
}

Napi::Value NativeClient::ClearHistory(const Napi::CallbackInfo& info) {
  const bool keep_latest = RequireBoolean(info[0], "keepLatest");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.ClearHistory(keep_latest, std::move(done));
  });
}

Napi::Value NativeClient::ConflictLog(const Napi::CallbackInfo& info) {
  const uint64_t after_id = RequireCount(info[0], "afterId");
  const uint64_t limit = RequireCount(info[1], "limit");
  return core_->Call(
      [&](async::Completion done) {
        core_->client().ConflictLog(after_id, limit, std::move(done));
      },
      Text);
}

Napi::Value NativeClient::ClearConflictLog(const Napi::CallbackInfo&) {
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.ClearConflictLog(std::move(done));
  });
}

Napi::Value NativeClient::Conflicts(const Napi::CallbackInfo&) {
  return core_->Call([&](async::Completion done) { core_->client().Conflicts(std::move(done)); },
                     Text);
}

Napi::Value NativeClient::ResolveConflict(const Napi::CallbackInfo& info) {
  std::string collection = RequireString(info[0], "collection");
  std::string key = RequireString(info[1], "key");
  std::string value_json = RequireString(info[2], "valueJson");
  return Void([&](async::AsyncClient& client, async::Completion done) {
    client.ResolveConflict(std::move(collection), std::move(key), std::move(value_json),
                           std::move(done));
  });
}

Napi::Value NativeClient::Evict(const Napi::CallbackInfo& info) {
  std::string collection = RequireString(info[0], "collection");
  std::optional<std::vector<std::string>> keys;
  if (!info[1].IsNull()) keys = RequireStrings(info[1], "keys");
  return core_->Call(
      [&](async::Completion done) {
        core_->client().Evict(std::move(collection), std::move(keys), std::move(done));
      },
      Number);
}

Napi::Value NativeClient::CompleteRequest(const Napi::CallbackInfo& info) {
  const uint64_t id = RequireCount(info[0], "id");
  const int status = RequireStatus(info[1], "status");
  const std::string body = RequireBytes(info[2], "body");
  const std::string retry_after = RequireString(info[3], "retryAfter");
  const std::string transport_error = RequireString(info[4], "transportError");
  if (!core_->closed())
    core_->client().CompleteRequest(id, status, body, retry_after, transport_error);
  return info.Env().Undefined();
}

Napi::Value NativeClient::RequestData(const Napi::CallbackInfo& info) {
  const uint64_t id = RequireCount(info[0], "id");
  const std::string chunk = RequireBytes(info[1], "chunk");
  if (!core_->closed()) core_->client().RequestData(id, chunk);
  return info.Env().Undefined();
}

Napi::Value NativeClient::Close(const Napi::CallbackInfo&) {
  return core_->Close();
}

Napi::Value NativeClient::SetKeepAlive(const Napi::CallbackInfo& info) {
  const bool keep_alive = RequireBoolean(info[0], "keepAlive");
  if (!core_->closed()) core_->queue().SetKeepAlive(keep_alive);
  return info.Env().Undefined();
}

}  // namespace ferry::node
