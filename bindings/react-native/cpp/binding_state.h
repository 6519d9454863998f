// What the binding of one JS runtime holds: its JS thread, the promises it
// handed out, and every client from open() until its close() completes.
//
// JS thread only. The binding and each client host object hold it by
// shared_ptr; work that finishes on other threads reaches it through a
// weak_ptr locked on the JS thread (Completion below), so the last owner,
// and with it every JSI value here, always goes on the JS thread.
#pragma once

#include <jsi/jsi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "ferry/async_client.h"
#include "js_callbacks.h"
#include "js_thread.h"
#include "pending_promises.h"

namespace ferry::react_native {

namespace jsi = facebook::jsi;

struct OpenClient {
  std::shared_ptr<async::AsyncClient> client;
  std::shared_ptr<JsCallbacks> callbacks;
};

struct BindingState {
  explicit BindingState(JsThread thread) : js_thread(std::move(thread)) {}

  JsThread js_thread;
  PendingPromises promises;
  // Until close() completes, so that a client the app dropped without
  // closing goes on syncing, as in every other host. Torn down with the
  // runtime: AsyncClient's destructor then closes what is left.
  std::unordered_map<std::uint64_t, OpenClient> clients;
  std::uint64_t next_client_key = 1;
};

// Makes a JS value of a successful result.
using ResultValue = std::function<jsi::Value(jsi::Runtime&, const async::Result&)>;

// A completion for bindings/async that settles promise `id`: resolved with
// `value(result)`, or rejected with an Error whose code is the C API's name
// of the result (ferry_result_name, as the Node addon's: native.ts's
// toFerryError turns it into a FerryError, "invalid_handle" into "the client
// is closed").
// It runs on the JS thread (async delivers it there); if the runtime's
// binding is gone by then, it does nothing.
[[nodiscard]] async::Completion SettlePromise(const std::shared_ptr<BindingState>& state,
                                              jsi::Runtime& runtime, PendingPromises::Id id,
                                              ResultValue value);

}  // namespace ferry::react_native
