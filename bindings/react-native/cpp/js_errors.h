// JavaScript errors made from C++: TypeError for arguments of the wrong type,
// and Error objects with a `code` for Ferry's failures (the codes of
// FerryErrorCode in web/src/types.ts, which the TS layer turns into
// FerryError). JS thread only: every function takes the runtime.
#pragma once

#include <jsi/jsi.h>

#include <string>
#include <string_view>

namespace ferry::react_native {

namespace jsi = facebook::jsi;

// A TypeError to throw from a host function: `throw TypeError(runtime, "...")`.
[[nodiscard]] jsi::JSError TypeError(jsi::Runtime& runtime, const std::string& message);

// `new Error(message)` with `error.code = code` (e.g. "busy"), for rejecting a
// promise.
[[nodiscard]] jsi::Value CodedError(jsi::Runtime& runtime, std::string_view code,
                                    const std::string& message);

}  // namespace ferry::react_native
