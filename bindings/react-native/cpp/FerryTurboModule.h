// The TurboModule "Ferry": React Native's way in to the JSI binding.
//
// A pure C++ TurboModule (New Architecture): React Native constructs it with
// the runtime's CallInvoker, which is exactly what the binding needs to bring
// results back to the JS thread. Its one method, createBinding(), is
// synchronous and returns the NativeBinding host object (PLAN-14 §2,
// web/src/native_binding.ts) for this runtime. Returning it, rather than
// installing a global such as `global.__ferry`, keeps Ferry out of the global
// namespace and ties the binding to the runtime that asked for it (a reload
// makes a new runtime, a new module and a new binding).
//
// The class lives in facebook::react and is named like its header because
// React Native's C++ autolinking (react-native.config.js:
// cxxModuleHeaderName) generates `#include <FerryTurboModule.h>` and
// `std::make_shared<FerryTurboModule>(jsInvoker)` inside that namespace.
//
// JS thread only, like every TurboModule. JSI_EXPORT: the library hides
// everything else.
#pragma once

#include <ReactCommon/TurboModule.h>

#include <memory>
#include <string>

namespace facebook::react {

class JSI_EXPORT FerryTurboModule : public TurboModule {
 public:
  static constexpr const char* kModuleName = "Ferry";

  explicit FerryTurboModule(std::shared_ptr<CallInvoker> js_invoker);

 private:
  // A new binding each call (the TS layer asks once and keeps it). The
  // module holds no JSI value: it may outlive its runtime.
  static jsi::Value CreateBinding(jsi::Runtime& runtime, TurboModule& module,
                                  const jsi::Value* arguments, size_t count);
};

}  // namespace facebook::react
