// See client_core.h.
#include "client_core.h"

#include <utility>

#include "js_callbacks.h"

namespace ferry::node {

Napi::Error ErrorFor(Napi::Env env, const async::Result& result) {
  Napi::Error error = Napi::Error::New(env, result.message);
  error.Set("code", Napi::String::New(env, result.code_name()));
  return error;
}

ClientCore::ClientCore(Napi::Env env, JsFunctions functions)
    : env_(env), js_(std::move(functions)), queue_(env) {
  // Registered after the queue's thread-safe function, so it runs before
  // Node's own hook closes that (hooks run in reverse order).
  napi_add_env_cleanup_hook(env_, OnEnvironmentTeardown, this);
}

ClientCore::~ClientCore() {
  napi_remove_env_cleanup_hook(env_, OnEnvironmentTeardown, this);
  Shutdown();
}

void ClientCore::OnEnvironmentTeardown(void* core) {
  static_cast<ClientCore*>(core)->Shutdown();
}

void ClientCore::Start() {
  client_ = std::make_unique<async::AsyncClient>(queue_.deliver(), MakeCallbacks(*this));
}

Napi::Promise ClientCore::Call(const std::function<void(async::Completion)>& start,
                               ToValue to_value) {
  auto deferred = Napi::Promise::Deferred::New(env_);
  if (close_requested_ || !client_) {
    async::Result closed;
    closed.code = FERRY_INVALID_HANDLE;
    closed.message = "the client is closed";
    deferred.Reject(ErrorFor(env_, closed).Value());
    return deferred.Promise();
  }
  queue_.CallStarted();
  start(Settle(deferred, std::move(to_value)));
  return deferred.Promise();
}

async::Completion ClientCore::Settle(Napi::Promise::Deferred deferred, ToValue to_value) {
  return [self = shared_from_this(), deferred,
          to_value = std::move(to_value)](const async::Result& result) {
    self->queue_.CallEnded();
    if (result.ok()) {
      deferred.Resolve(to_value(self->env_, result));
    } else {
      deferred.Reject(ErrorFor(self->env_, result).Value());
    }
  };
}

Napi::Promise ClientCore::Close() {
  Napi::Promise promise = Call(
      [this](async::Completion done) {
        client_->Close(
            [self = shared_from_this(), done = std::move(done)](async::Result result) mutable {
              done(std::move(result));
              self->Finish();
            });
      },
      [](Napi::Env env, const async::Result&) { return env.Undefined(); });
  close_requested_ = true;
  return promise;
}

void ClientCore::Finish() {
  client_.reset();  // the close has run: this only stops the idle worker
  queue_.Release();
}

void ClientCore::Shutdown() {
  close_requested_ = true;
  client_.reset();  // closes the client if it is open, delivering nothing more
  queue_.Release();
}

}  // namespace ferry::node
