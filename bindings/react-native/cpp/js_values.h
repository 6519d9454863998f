// Reading JavaScript arguments and making JavaScript values, for the host
// objects. JS thread only.
//
// Every Require* throws TypeError (js_errors.h) naming the argument when it is
// missing or of the wrong type, so that no wrong input reaches the C API, and
// none aborts: the JSI accessors (asString, asObject...) would throw a plain
// JSIException instead.
#pragma once

#include <jsi/jsi.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::react_native {

namespace jsi = facebook::jsi;

// The arguments of one host-function call.
struct Arguments {
  jsi::Runtime& runtime;
  const jsi::Value* values;
  std::size_t count;

  [[nodiscard]] const jsi::Value& at(std::size_t index) const;
};

[[nodiscard]] std::string RequireString(const Arguments& arguments, std::size_t index,
                                        std::string_view name);
[[nodiscard]] bool RequireBoolean(const Arguments& arguments, std::size_t index,
                                  std::string_view name);
// A finite number that is a whole number in [minimum, maximum].
[[nodiscard]] std::int64_t RequireInteger(const Arguments& arguments, std::size_t index,
                                          std::string_view name, std::int64_t minimum,
                                          std::int64_t maximum);
// The bytes of a Uint8Array (any ArrayBufferView or ArrayBuffer is taken).
[[nodiscard]] std::string RequireBytes(const Arguments& arguments, std::size_t index,
                                       std::string_view name);
[[nodiscard]] jsi::Object RequireObject(const Arguments& arguments, std::size_t index,
                                        std::string_view name);

// Members of an options object, under the same rules.
[[nodiscard]] std::string RequireStringMember(jsi::Runtime& runtime, const jsi::Object& object,
                                              const char* name);
[[nodiscard]] bool RequireBooleanMember(jsi::Runtime& runtime, const jsi::Object& object,
                                        const char* name);
[[nodiscard]] std::int64_t RequireIntegerMember(jsi::Runtime& runtime, const jsi::Object& object,
                                                const char* name, std::int64_t minimum,
                                                std::int64_t maximum);
// An argument that is an array of strings; with `null_allowed`, null is nullopt.
[[nodiscard]] std::optional<std::vector<std::string>> RequireStrings(const Arguments& arguments,
                                                                     std::size_t index,
                                                                     std::string_view name,
                                                                     bool null_allowed);
// A member that is an array of strings; with `null_allowed`, null is nullopt.
[[nodiscard]] std::optional<std::vector<std::string>> RequireStringsMember(
    jsi::Runtime& runtime, const jsi::Object& object, const char* name, bool null_allowed);
// A member that is a function, or nothing when it is undefined.
[[nodiscard]] std::optional<jsi::Function> OptionalFunctionMember(jsi::Runtime& runtime,
                                                                  const jsi::Object& object,
                                                                  const char* name);

[[nodiscard]] jsi::String MakeString(jsi::Runtime& runtime, std::string_view text);
// A new Uint8Array holding a copy of `bytes`.
[[nodiscard]] jsi::Value MakeBytes(jsi::Runtime& runtime, std::string_view bytes);

}  // namespace ferry::react_native
