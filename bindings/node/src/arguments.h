// Checks JavaScript arguments before anything reaches the native client: a
// wrong type is a TypeError naming the argument, never an abort.
//
// Threading: the JS thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <napi.h>

namespace ferry::node {

std::string RequireString(const Napi::Value& value, const std::string& name);
bool RequireBoolean(const Napi::Value& value, const std::string& name);
// A finite number >= 0 that is a whole number no larger than `max`.
uint64_t RequireCount(const Napi::Value& value, const std::string& name,
                      uint64_t max = (uint64_t{1} << 53) - 1);
// An HTTP status (0: no answer) for a host-transport answer.
int RequireStatus(const Napi::Value& value, const std::string& name);
// The bytes of a Uint8Array (a Buffer is one).
std::string RequireBytes(const Napi::Value& value, const std::string& name);
Napi::Object RequireObject(const Napi::Value& value, const std::string& name);
// An array of strings.
std::vector<std::string> RequireStrings(const Napi::Value& value, const std::string& name);
// A function, or an empty reference when the value is undefined.
Napi::FunctionReference OptionalFunction(const Napi::Object& object, const char* field,
                                         const std::string& object_name);

}  // namespace ferry::node
