#include "js_thread.h"

#include <utility>

namespace ferry::react_native {

void JsThread::Post(std::function<void(jsi::Runtime&)> work) const {
  invoker_->invokeAsync([work = std::move(work)](jsi::Runtime& runtime) { work(runtime); });
}

std::function<void(std::function<void()>)> JsThread::Deliverer() const {
  return [invoker = invoker_](std::function<void()> work) {
    invoker->invokeAsync([work = std::move(work)](jsi::Runtime&) { work(); });
  };
}

}  // namespace ferry::react_native
