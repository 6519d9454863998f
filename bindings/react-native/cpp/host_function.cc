#include "host_function.h"

#include <exception>
#include <string>
#include <utility>

namespace ferry::react_native {

jsi::Function HostFunction(jsi::Runtime& runtime, const char* name, unsigned int parameter_count,
                           HostBody body) {
  return jsi::Function::createFromHostFunction(
      runtime, jsi::PropNameID::forAscii(runtime, name), parameter_count,
      [body = std::move(body), name](jsi::Runtime& rt, const jsi::Value&, const jsi::Value* values,
                                     std::size_t count) -> jsi::Value {
        try {
          return body(Arguments{rt, values, count});
        } catch (const jsi::JSError&) {
          throw;
        } catch (const std::exception& error) {
          throw jsi::JSError(rt, std::string(name) + ": " + error.what());
        }
      });
}

}  // namespace ferry::react_native
