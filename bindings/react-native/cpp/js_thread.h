// The JS thread of one React Native runtime, reached through its CallInvoker.
//
// Any thread may Post; the work runs later on the JS thread, in the order it
// was posted (the runtime scheduler keeps FIFO order within a priority). After
// the runtime is torn down, posted work is dropped without running, so work
// must hold no JSI value (see PendingPromises) and reach state it needs
// through a weak_ptr locked inside the work.
#pragma once

#include <ReactCommon/CallInvoker.h>
#include <jsi/jsi.h>

#include <functional>
#include <memory>

namespace ferry::react_native {

namespace jsi = facebook::jsi;

class JsThread {
 public:
  explicit JsThread(std::shared_ptr<facebook::react::CallInvoker> invoker)
      : invoker_(std::move(invoker)) {}

  // Any thread.
  void Post(std::function<void(jsi::Runtime&)> work) const;
  // Any thread: the form bindings/async takes (ferry::async::Deliver).
  [[nodiscard]] std::function<void(std::function<void()>)> Deliverer() const;

 private:
  std::shared_ptr<facebook::react::CallInvoker> invoker_;
};

}  // namespace ferry::react_native
