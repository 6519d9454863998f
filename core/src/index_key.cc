// Order-preserving value encoding for index entries (index_key.h).
#include "index_key.h"

#include <cstdint>
#include <cstring>

namespace ferry::index_key {
namespace {

// The first byte of each type's encoding, in the order query.h sorts types.
constexpr char kMissing = 0x01;
constexpr char kNull = 0x02;
constexpr char kFalse = 0x03;
constexpr char kTrue = 0x04;
constexpr char kNumber = 0x05;
constexpr char kString = 0x06;
constexpr char kArray = 0x07;
constexpr char kObject = 0x08;

void AppendNumber(std::string& out, double number) {
  if (number == 0) number = 0;  // -0 == 0, so both encode alike
  uint64_t bits = 0;            // std::bit_cast, which Emscripten 3.1.6's libc++ lacks
  std::memcpy(&bits, &number, sizeof bits);
  // Negative numbers order backwards by their bits: flip them all; flip
  // only the sign of the others so they follow every negative one.
  bits = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>(bits >> shift);
}

void AppendString(std::string& out, std::string_view text) {
  AppendStringPrefix(out, text);
  out += '\0';
  out += '\x01';
}

}  // namespace

void AppendStringPrefix(std::string& out, std::string_view prefix) {
  for (const char c : prefix) {
    out += c;
    if (c == '\0') out += '\xff';
  }
}

void AppendValue(std::string& out, const Json* value) {
  if (value == nullptr) {
    out += kMissing;
  } else if (value->is_null()) {
    out += kNull;
  } else if (value->is_boolean()) {
    out += value->get<bool>() ? kTrue : kFalse;
  } else if (value->is_number()) {
    out += kNumber;
    AppendNumber(out, value->get<double>());
  } else if (value->is_string()) {
    out += kString;
    AppendString(out, value->get_ref<const std::string&>());
  } else if (value->is_array()) {
    out += kArray;
    for (const Json& element : *value)
      AppendValue(out, &element);
    out += '\0';
  } else {
    // An object's members are in key order (nlohmann::json keeps them in a
    // std::map); 00 00 ends it before any member, whose name starts with a
    // byte above 00 or with 00 FF or 00 01.
    out += kObject;
    for (auto member = value->begin(); member != value->end(); ++member) {
      AppendString(out, member.key());
      AppendValue(out, &*member);
    }
    out += '\0';
    out += '\0';
  }
}

char TypeBegin(const Json& value) {
  if (value.is_boolean()) return kFalse;
  if (value.is_number()) return kNumber;
  if (value.is_string()) return kString;
  if (value.is_array()) return kArray;
  if (value.is_object()) return kObject;
  return kNull;
}

char TypeEnd(const Json& value) {
  // The tags are consecutive; booleans span two (false, true).
  return static_cast<char>(TypeBegin(value) + (value.is_boolean() ? 2 : 1));
}

}  // namespace ferry::index_key
