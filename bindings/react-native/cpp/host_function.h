// Host functions whose failures reach JavaScript as exceptions it can catch.
// JS thread only.
#pragma once

#include <jsi/jsi.h>

#include <functional>

#include "js_values.h"

namespace ferry::react_native {

namespace jsi = facebook::jsi;

using HostBody = std::function<jsi::Value(const Arguments&)>;

// A JS function named `name` running `body`. A jsi::JSError (TypeError
// included) is thrown on as it is; any other C++ exception becomes a JS Error
// with its message, so none escapes into the engine unhandled.
[[nodiscard]] jsi::Function HostFunction(jsi::Runtime& runtime, const char* name,
                                         unsigned int parameter_count, HostBody body);

}  // namespace ferry::react_native
