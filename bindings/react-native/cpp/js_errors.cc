#include "js_errors.h"

namespace ferry::react_native {

jsi::JSError TypeError(jsi::Runtime& runtime, const std::string& message) {
  // jsi::JSError(runtime, message) would make a plain Error; the TS layer and
  // apps tell a wrong argument type from Ferry's failures by the class.
  jsi::Function type_error = runtime.global().getPropertyAsFunction(runtime, "TypeError");
  jsi::Value error =
      type_error.callAsConstructor(runtime, jsi::String::createFromUtf8(runtime, message));
  return jsi::JSError(runtime, std::move(error));
}

jsi::Value CodedError(jsi::Runtime& runtime, std::string_view code, const std::string& message) {
  jsi::Function error_class = runtime.global().getPropertyAsFunction(runtime, "Error");
  jsi::Object error =
      error_class.callAsConstructor(runtime, jsi::String::createFromUtf8(runtime, message))
          .asObject(runtime);
  error.setProperty(runtime, "code",
                    jsi::String::createFromUtf8(
                        runtime, reinterpret_cast<const uint8_t*>(code.data()), code.size()));
  return error;
}

}  // namespace ferry::react_native
