// The ordered queue from any thread to the JavaScript thread for one native
// client (a Node thread-safe function whose items are closures), and whether
// that client keeps the process running.
//
// Node ends a process whose event loop has nothing referenced left. An open
// client must not hold it for nothing (a script that writes and never
// closes ends once its writes are delivered, as with the wasm build), so the
// thread-safe function is referenced only while a call is in flight (its
// promise must settle) or while the TS layer says the client has work
// (writes pending, an interval sync: SetKeepAlive).
//
// Threading: deliver()'s function from any thread; everything else on the
// JS thread. Nothing may be delivered after Release().
#pragma once

#include <functional>

#include <napi.h>

#include "ferry/async_client.h"

namespace ferry::node {

class JsQueue {
 public:
  explicit JsQueue(Napi::Env env);
  JsQueue(const JsQueue&) = delete;
  JsQueue& operator=(const JsQueue&) = delete;

  // The Deliver for bindings/async: runs each closure on the JS thread, in
  // order, inside a handle scope; a JavaScript exception it throws is
  // reported as uncaught, as from any callback.
  async::Deliver deliver() const;

  void CallStarted();
  void CallEnded();
  void SetKeepAlive(bool keep_alive);
  // No item may be queued after this; the queue ends once drained. Idempotent.
  void Release();

 private:
  using Item = std::function<void()>;
  static void Run(Napi::Env env, Napi::Function, void*, Item* item);
  void UpdateReference();

  Napi::Env env_;
  Napi::TypedThreadSafeFunction<void, Item, Run> function_;
  int calls_in_flight_ = 0;
  bool keep_alive_ = false;
  bool referenced_ = true;  // a new thread-safe function is referenced
  bool released_ = false;
};

}  // namespace ferry::node
