#include "binding_state.h"

#include <utility>

#include "js_errors.h"

namespace ferry::react_native {

std::string_view JsErrorCode(const async::Result& result) {
  switch (result.code) {
    case FERRY_INVALID_HANDLE:
      return "invalid_argument";
    case FERRY_WRONG_THREAD:
      return "internal";
    default:
      return result.code_name();
  }
}

async::Completion SettlePromise(const std::shared_ptr<BindingState>& state, jsi::Runtime& runtime,
                                PendingPromises::Id id, ResultValue value) {
  // The runtime outlives the binding state: both go when the runtime is torn
  // down, the state first (it is held by host objects of that runtime).
  return [weak_state = std::weak_ptr<BindingState>(state), runtime = &runtime, id,
          value = std::move(value)](async::Result result) {
    std::shared_ptr<BindingState> live = weak_state.lock();
    if (!live) return;
    ReportingExceptions(*runtime, "settling a promise", [&] {
      if (result.ok()) {
        live->promises.Resolve(*runtime, id, value(*runtime, result));
      } else {
        live->promises.Reject(*runtime, id,
                              CodedError(*runtime, JsErrorCode(result), result.message));
      }
    });
  };
}

}  // namespace ferry::react_native
