#include "FerryTurboModule.h"

#include <utility>

#include "binding_host_object.h"
#include "js_thread.h"

namespace facebook::react {

FerryTurboModule::FerryTurboModule(std::shared_ptr<CallInvoker> js_invoker)
    : TurboModule(kModuleName, std::move(js_invoker)) {
  // What codegen's NativeFerryCxxSpec would register (bindings/react-native/
  // src/NativeFerry.ts), written by hand so this file needs no generated
  // header (and, through react/bridging, no folly) to compile.
  methodMap_["createBinding"] = MethodMetadata{0, &FerryTurboModule::CreateBinding};
}

jsi::Value FerryTurboModule::CreateBinding(jsi::Runtime& runtime, TurboModule& module,
                                           const jsi::Value* /*arguments*/, size_t /*count*/) {
  auto& self = static_cast<FerryTurboModule&>(module);
  auto host = std::make_shared<ferry::react_native::BindingHostObject>(
      ferry::react_native::JsThread(self.jsInvoker_));
  return jsi::Object::createFromHostObject(runtime, std::move(host));
}

}  // namespace facebook::react
