// What one native client is on the Node side: its AsyncClient, its queue to
// the JS thread, the app's JavaScript callbacks, and the promises of its
// calls. Shared by the NativeClient object and the completions in flight,
// so it lives until both are gone; it is always destroyed on the JS thread
// (completions are moved there, never copied: async_client.h).
//
// Threading: the JS thread, all of it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <napi.h>

#include "ferry/async_client.h"
#include "js_queue.h"

namespace ferry::node {

// The app's callbacks (NativeCallbacks in web/src/native_binding.ts).
struct JsFunctions {
  Napi::FunctionReference on_event;
  Napi::FunctionReference get_token;
  Napi::FunctionReference resolve_conflict;
  Napi::FunctionReference hook;
  Napi::FunctionReference send_request;
  Napi::FunctionReference cancel_request;
  Napi::FunctionReference log;
};

class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  // How a call's result becomes the value its promise resolves with.
  using ToValue = std::function<Napi::Value(Napi::Env, const async::Result&)>;

  ClientCore(Napi::Env env, JsFunctions functions);
  // Without a close: closes the client here (see Shutdown).
  ~ClientCore();
  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  // Creates the AsyncClient; call once, right after construction.
  void Start();

  // Starts a call: `start` hands the completion to the AsyncClient. The
  // promise settles with `to_value(result)` or an Error with `code`. A call
  // after close rejects at once with code "invalid_handle".
  Napi::Promise Call(const std::function<void(async::Completion)>& start, ToValue to_value);
  // close(): the last call; afterwards the client and its queue are let go.
  Napi::Promise Close();

  // Closes the client now, on this thread, delivering nothing more (the
  // environment is being torn down, or the client was dropped). Idempotent.
  void Shutdown();

  async::AsyncClient& client() { return *client_; }
  bool closed() const { return close_requested_; }
  JsQueue& queue() { return queue_; }
  Napi::Env env() const { return env_; }
  const JsFunctions& js() const { return js_; }

  std::string client_id;

 private:
  // The process is ending with the client open: its store is closed
  // cleanly (pending writes are durable already).
  static void OnEnvironmentTeardown(void* core);
  async::Completion Settle(Napi::Promise::Deferred deferred, ToValue to_value);
  void Finish();

  Napi::Env env_;
  JsFunctions js_;
  JsQueue queue_;
  std::unique_ptr<async::AsyncClient> client_;
  bool close_requested_ = false;
};

// Rejects with an Error carrying `code` (the C API's error name).
Napi::Error ErrorFor(Napi::Env env, const async::Result& result);

}  // namespace ferry::node
