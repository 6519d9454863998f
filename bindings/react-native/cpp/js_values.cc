#include "js_values.h"

#include <cmath>
#include <cstring>

#include "js_errors.h"

namespace ferry::react_native {
namespace {

std::string Describe(jsi::Runtime& runtime, const jsi::Value& value) {
  if (value.isUndefined()) return "undefined";
  if (value.isNull()) return "null";
  if (value.isBool()) return "a boolean";
  if (value.isNumber()) return "a number";
  if (value.isString()) return "a string";
  if (value.isObject() && value.getObject(runtime).isFunction(runtime)) return "a function";
  if (value.isObject()) return "an object";
  return "a symbol or bigint";
}

[[noreturn]] void Refuse(jsi::Runtime& runtime, std::string_view name, std::string_view expected,
                         const jsi::Value& value) {
  throw TypeError(runtime, std::string(name) + " must be " + std::string(expected) + ", got " +
                               Describe(runtime, value));
}

std::string StringOf(jsi::Runtime& runtime, const jsi::Value& value, std::string_view name) {
  if (!value.isString()) Refuse(runtime, name, "a string", value);
  return value.getString(runtime).utf8(runtime);
}

bool BooleanOf(jsi::Runtime& runtime, const jsi::Value& value, std::string_view name) {
  if (!value.isBool()) Refuse(runtime, name, "a boolean", value);
  return value.getBool();
}

std::int64_t IntegerOf(jsi::Runtime& runtime, const jsi::Value& value, std::string_view name,
                       std::int64_t minimum, std::int64_t maximum) {
  const std::string range =
      "a whole number from " + std::to_string(minimum) + " to " + std::to_string(maximum);
  if (!value.isNumber()) Refuse(runtime, name, range, value);
  const double number = value.getNumber();
  // Compared as doubles first: casting a NaN or an out-of-range double to an
  // integer is undefined behaviour.
  if (!std::isfinite(number) || std::trunc(number) != number ||
      number < static_cast<double>(minimum) || number > static_cast<double>(maximum)) {
    throw TypeError(runtime,
                    std::string(name) + " must be " + range + ", got " + std::to_string(number));
  }
  return static_cast<std::int64_t>(number);
}

// An array of strings; with `null_allowed`, null is nullopt.
std::optional<std::vector<std::string>> StringsOf(jsi::Runtime& runtime, const jsi::Value& value,
                                                  std::string_view name, bool null_allowed) {
  if (null_allowed && value.isNull()) return std::nullopt;
  if (!value.isObject() || !value.getObject(runtime).isArray(runtime)) {
    Refuse(runtime, name, "an array of strings", value);
  }
  const jsi::Array array = value.getObject(runtime).getArray(runtime);
  std::vector<std::string> strings;
  for (std::size_t index = 0; index < array.size(runtime); ++index)
    strings.push_back(StringOf(runtime, array.getValueAtIndex(runtime, index), name));
  return strings;
}

}  // namespace

const jsi::Value& Arguments::at(std::size_t index) const {
  static const jsi::Value undefined;
  return index < count ? values[index] : undefined;
}

std::string RequireString(const Arguments& arguments, std::size_t index, std::string_view name) {
  return StringOf(arguments.runtime, arguments.at(index), name);
}

bool RequireBoolean(const Arguments& arguments, std::size_t index, std::string_view name) {
  return BooleanOf(arguments.runtime, arguments.at(index), name);
}

std::int64_t RequireInteger(const Arguments& arguments, std::size_t index, std::string_view name,
                            std::int64_t minimum, std::int64_t maximum) {
  return IntegerOf(arguments.runtime, arguments.at(index), name, minimum, maximum);
}

std::string RequireBytes(const Arguments& arguments, std::size_t index, std::string_view name) {
  jsi::Runtime& runtime = arguments.runtime;
  const jsi::Value& value = arguments.at(index);
  if (!value.isObject()) Refuse(runtime, name, "a Uint8Array", value);
  jsi::Object object = value.getObject(runtime);
  if (object.isArrayBuffer(runtime)) {
    jsi::ArrayBuffer buffer = object.getArrayBuffer(runtime);
    return std::string(reinterpret_cast<const char*>(buffer.data(runtime)), buffer.size(runtime));
  }
  // A view (Uint8Array, DataView...): its window on its buffer.
  jsi::Value buffer_value = object.getProperty(runtime, "buffer");
  jsi::Value offset = object.getProperty(runtime, "byteOffset");
  jsi::Value length = object.getProperty(runtime, "byteLength");
  if (!buffer_value.isObject() || !buffer_value.getObject(runtime).isArrayBuffer(runtime) ||
      !offset.isNumber() || !length.isNumber()) {
    Refuse(runtime, name, "a Uint8Array", value);
  }
  jsi::ArrayBuffer buffer = buffer_value.getObject(runtime).getArrayBuffer(runtime);
  const double start = offset.getNumber();
  const double size = length.getNumber();
  const double capacity = static_cast<double>(buffer.size(runtime));
  if (!(start >= 0 && size >= 0 && start + size <= capacity)) {
    Refuse(runtime, name, "a Uint8Array within its buffer", value);
  }
  return std::string(
      reinterpret_cast<const char*>(buffer.data(runtime)) + static_cast<std::size_t>(start),
      static_cast<std::size_t>(size));
}

jsi::Object RequireObject(const Arguments& arguments, std::size_t index, std::string_view name) {
  const jsi::Value& value = arguments.at(index);
  if (!value.isObject()) Refuse(arguments.runtime, name, "an object", value);
  return value.getObject(arguments.runtime);
}

std::string RequireStringMember(jsi::Runtime& runtime, const jsi::Object& object,
                                const char* name) {
  return StringOf(runtime, object.getProperty(runtime, name), name);
}

bool RequireBooleanMember(jsi::Runtime& runtime, const jsi::Object& object, const char* name) {
  return BooleanOf(runtime, object.getProperty(runtime, name), name);
}

std::int64_t RequireIntegerMember(jsi::Runtime& runtime, const jsi::Object& object,
                                  const char* name, std::int64_t minimum, std::int64_t maximum) {
  return IntegerOf(runtime, object.getProperty(runtime, name), name, minimum, maximum);
}

std::optional<std::vector<std::string>> RequireStringsMember(jsi::Runtime& runtime,
                                                             const jsi::Object& object,
                                                             const char* name, bool null_allowed) {
  return StringsOf(runtime, object.getProperty(runtime, name), name, null_allowed);
}

std::optional<std::vector<std::string>> RequireStrings(const Arguments& arguments,
                                                       std::size_t index, std::string_view name,
                                                       bool null_allowed) {
  return StringsOf(arguments.runtime, arguments.at(index), name, null_allowed);
}

std::optional<jsi::Function> OptionalFunctionMember(jsi::Runtime& runtime,
                                                    const jsi::Object& object, const char* name) {
  jsi::Value value = object.getProperty(runtime, name);
  if (value.isUndefined()) return std::nullopt;
  if (!value.isObject() || !value.getObject(runtime).isFunction(runtime)) {
    Refuse(runtime, name, "a function or undefined", value);
  }
  return value.getObject(runtime).getFunction(runtime);
}

jsi::String MakeString(jsi::Runtime& runtime, std::string_view text) {
  return jsi::String::createFromUtf8(runtime, reinterpret_cast<const std::uint8_t*>(text.data()),
                                     text.size());
}

jsi::Value MakeBytes(jsi::Runtime& runtime, std::string_view bytes) {
  // Through the JS constructors: a buffer the engine owns, whatever the
  // engine (jsi::MutableBuffer-backed ArrayBuffers are not in every one).
  jsi::Function array_buffer_class = runtime.global().getPropertyAsFunction(runtime, "ArrayBuffer");
  jsi::Object buffer_object =
      array_buffer_class.callAsConstructor(runtime, static_cast<double>(bytes.size()))
          .getObject(runtime);
  jsi::ArrayBuffer buffer = buffer_object.getArrayBuffer(runtime);
  if (!bytes.empty()) std::memcpy(buffer.data(runtime), bytes.data(), bytes.size());
  jsi::Function uint8_array_class = runtime.global().getPropertyAsFunction(runtime, "Uint8Array");
  return uint8_array_class.callAsConstructor(runtime, buffer_object);
}

}  // namespace ferry::react_native
