#include "binding_state.h"

#include <utility>

#include "js_errors.h"

namespace ferry::react_native {

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
                              CodedError(*runtime, result.code_name(), result.message));
      }
    });
  };
}

}  // namespace ferry::react_native
