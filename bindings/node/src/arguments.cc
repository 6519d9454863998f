// See arguments.h.
#include "arguments.h"

#include <cmath>

namespace ferry::node {
namespace {

[[noreturn]] void Wrong(const Napi::Value& value, const std::string& name,
                        const std::string& expected) {
  std::string got = value.IsNull() ? "null" : value.IsUndefined() ? "undefined" : "another type";
  if (value.IsString()) got = "a string";
  if (value.IsNumber()) got = "number " + value.ToString().Utf8Value();
  if (value.IsBoolean()) got = "a boolean";
  if (value.IsObject() && !value.IsNull()) got = value.IsArray() ? "an array" : "an object";
  throw Napi::TypeError::New(value.Env(), name + " must be " + expected + ", got " + got);
}

}  // namespace

std::string RequireString(const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) Wrong(value, name, "a string");
  return value.As<Napi::String>().Utf8Value();
}

bool RequireBoolean(const Napi::Value& value, const std::string& name) {
  if (!value.IsBoolean()) Wrong(value, name, "a boolean");
  return value.As<Napi::Boolean>().Value();
}

uint64_t RequireCount(const Napi::Value& value, const std::string& name, uint64_t max) {
  if (!value.IsNumber()) Wrong(value, name, "a non-negative whole number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || number < 0 || std::floor(number) != number ||
      number > static_cast<double>(max)) {
    Wrong(value, name, "a non-negative whole number up to " + std::to_string(max));
  }
  return static_cast<uint64_t>(number);
}

int RequireStatus(const Napi::Value& value, const std::string& name) {
  return static_cast<int>(RequireCount(value, name, 999));
}

std::string RequireBytes(const Napi::Value& value, const std::string& name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    Wrong(value, name, "a Uint8Array");
  auto bytes = value.As<Napi::Uint8Array>();
  return std::string(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
}

Napi::Object RequireObject(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) Wrong(value, name, "an object");
  return value.As<Napi::Object>();
}

std::vector<std::string> RequireStrings(const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) Wrong(value, name, "an array of strings");
  const auto array = value.As<Napi::Array>();
  std::vector<std::string> strings;
  strings.reserve(array.Length());
  for (uint32_t index = 0; index < array.Length(); ++index)
    strings.push_back(RequireString(array.Get(index), name + "[" + std::to_string(index) + "]"));
  return strings;
}

Napi::FunctionReference OptionalFunction(const Napi::Object& object, const char* field,
                                         const std::string& object_name) {
  Napi::Value value = object.Get(field);
  if (value.IsUndefined()) return {};
  if (!value.IsFunction()) Wrong(value, object_name + "." + field, "a function");
  return Napi::Persistent(value.As<Napi::Function>());
}

}  // namespace ferry::node
