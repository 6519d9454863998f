// The NativeBinding of PLAN-14 §2 (web/src/native_binding.ts) as a JSI host
// object: `version`, `open(options, callbacks)` and `deleteLocalData(path)`.
// FerryTurboModule::createBinding() hands it to JavaScript.
//
// JS thread only (JSI calls host objects on the runtime's thread). Nothing
// here blocks: open and deleteLocalData run on worker threads
// (bindings/async) and settle their promises through the CallInvoker.
#pragma once

#include <jsi/jsi.h>

#include <memory>
#include <vector>

#include "binding_state.h"
#include "js_thread.h"
#include "js_values.h"

namespace ferry::react_native {

namespace jsi = facebook::jsi;

class BindingHostObject : public jsi::HostObject {
 public:
  explicit BindingHostObject(JsThread js_thread);

  jsi::Value get(jsi::Runtime& runtime, const jsi::PropNameID& name) override;
  std::vector<jsi::PropNameID> getPropertyNames(jsi::Runtime& runtime) override;

 private:
  static jsi::Value Open(const std::shared_ptr<BindingState>& state, const Arguments& arguments);
  static jsi::Value DeleteLocalData(const std::shared_ptr<BindingState>& state,
                                    const Arguments& arguments);

  std::shared_ptr<BindingState> state_;
};

}  // namespace ferry::react_native
