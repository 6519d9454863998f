// See js_queue.h.
#include "js_queue.h"

#include <memory>
#include <utility>

namespace ferry::node {

JsQueue::JsQueue(Napi::Env env)
    : env_(env),
      function_(Napi::TypedThreadSafeFunction<void, Item, Run>::New(
          env, "ferry-sync", /*maxQueueSize=*/0, /*initialThreadCount=*/1)) {
  UpdateReference();
}

async::Deliver JsQueue::deliver() const {
  return [function = function_](Item work) {
    // Run owns the item from here. The call fails only while Node tears the
    // environment down; the item may hold JavaScript references, which must
    // not be released off the JS thread, so it is left for the process's end.
    (void)function.NonBlockingCall(new Item(std::move(work)));
  };
}

void JsQueue::Run(Napi::Env env, Napi::Function, void*, Item* item) {
  if (env == nullptr) {
    // The environment is going away: nothing runs any more, and the item's
    // JavaScript references go with the environment.
    return;
  }
  std::unique_ptr<Item> owned(item);
  Napi::HandleScope scope(env);
  try {
    (*owned)();
  } catch (const Napi::Error& error) {
    error.ThrowAsJavaScriptException();  // uncaught, like a throw from any callback
  } catch (const std::exception& error) {
    Napi::Error::New(env, error.what()).ThrowAsJavaScriptException();
  }
}

void JsQueue::CallStarted() {
  ++calls_in_flight_;
  UpdateReference();
}

void JsQueue::CallEnded() {
  --calls_in_flight_;
  UpdateReference();
}

void JsQueue::SetKeepAlive(bool keep_alive) {
  keep_alive_ = keep_alive;
  UpdateReference();
}

void JsQueue::Release() {
  if (released_) return;
  released_ = true;
  function_.Release();
}

void JsQueue::UpdateReference() {
  if (released_) return;
  const bool wanted = calls_in_flight_ > 0 || keep_alive_;
  if (wanted == referenced_) return;
  referenced_ = wanted;
  if (wanted) {
    function_.Ref(env_);
  } else {
    function_.Unref(env_);
  }
}

}  // namespace ferry::node
