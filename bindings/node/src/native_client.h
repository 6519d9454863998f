// The NativeClient JavaScript object (web/src/native_binding.ts): checks
// each call's arguments (TypeError) and hands it to the client's core, which
// returns its promise.
//
// Threading: the JS thread.
#pragma once

#include <memory>

#include <napi.h>

#include "client_core.h"

namespace ferry::node {

class NativeClient : public Napi::ObjectWrap<NativeClient> {
 public:
  // Defines the class; keep the returned constructor for Wrap.
  static Napi::Function DefineClass(Napi::Env env);
  // A new NativeClient over an opened core.
  static Napi::Object Wrap(Napi::Env env, const Napi::FunctionReference& constructor,
                           std::shared_ptr<ClientCore> core);

  explicit NativeClient(const Napi::CallbackInfo& info);

 private:
  Napi::Value ClientId(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value Scan(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value Explain(const Napi::CallbackInfo& info);
  Napi::Value SubscribeQuery(const Napi::CallbackInfo& info);
  Napi::Value UnsubscribeQuery(const Napi::CallbackInfo& info);
  Napi::Value SyncNow(const Napi::CallbackInfo& info);
  Napi::Value Resync(const Napi::CallbackInfo& info);
  Napi::Value StartBackgroundSync(const Napi::CallbackInfo& info);
  Napi::Value StopBackgroundSync(const Napi::CallbackInfo& info);
  Napi::Value SetOnline(const Napi::CallbackInfo& info);
  Napi::Value NetworkChanged(const Napi::CallbackInfo& info);
  Napi::Value SetMetered(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Report(const Napi::CallbackInfo& info);
  Napi::Value RetryFailedMutation(const Napi::CallbackInfo& info);
  Napi::Value DiscardFailedMutation(const Napi::CallbackInfo& info);
  Napi::Value PendingMutations(const Napi::CallbackInfo& info);
  Napi::Value ClearHistory(const Napi::CallbackInfo& info);
  Napi::Value ConflictLog(const Napi::CallbackInfo& info);
  Napi::Value ClearConflictLog(const Napi::CallbackInfo& info);
  Napi::Value Conflicts(const Napi::CallbackInfo& info);
  Napi::Value ResolveConflict(const Napi::CallbackInfo& info);
  Napi::Value Evict(const Napi::CallbackInfo& info);
  Napi::Value CompleteRequest(const Napi::CallbackInfo& info);
  Napi::Value RequestData(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetKeepAlive(const Napi::CallbackInfo& info);

  // A call whose promise resolves with undefined.
  Napi::Value Void(const std::function<void(async::AsyncClient&, async::Completion)>& start);

  std::shared_ptr<ClientCore> core_;
};

}  // namespace ferry::node
