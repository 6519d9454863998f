#include "ferry/json.h"

#include <vector>

namespace ferry {
namespace {

// Depth of the deepest container in raw JSON text, counted without parsing so
// that hostile input is refused in O(n) with O(1) memory. Brackets inside
// strings do not count.
int ScanDepth(std::string_view text, int stop_above) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        if (deepest > stop_above) return deepest;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

}  // namespace

Result<Json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status(ErrorCode::kTooLarge, "JSON text of " + std::to_string(text.size()) +
                                            " bytes exceeds the limit of " +
                                            std::to_string(limits.max_bytes));
  }
  if (ScanDepth(text, limits.max_depth) > limits.max_depth) {
    return Status(ErrorCode::kTooLarge,
                  "JSON nesting deeper than " + std::to_string(limits.max_depth));
  }
  // Json::parse would link two copies of nlohmann's parser, one for the
  // callback it is given as null: 9 KB of wasm code. Its DOM builder, called
  // directly, is the one copy.
  Json value;
  nlohmann::detail::json_sax_dom_parser<Json> builder(value, /*allow_exceptions_=*/false);
  const bool parsed = Json::sax_parse(text.data(), text.data() + text.size(), &builder,
                                      Json::input_format_t::json, /*strict=*/true);
  if (!parsed || builder.is_errored()) return Status(ErrorCode::kProtocol, "malformed JSON");
  return value;
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

int JsonDepth(const Json& value) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : value) {
    const int d = JsonDepth(child);
    if (d > deepest) deepest = d;
  }
  return deepest + 1;
}

Json ApplyMergePatch(Json target, const Json& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = Json::object();
  for (const auto& [name, member] : patch.items()) {
    if (member.is_null()) {
      target.erase(name);
    } else {
      auto found = target.find(name);
      Json current = found == target.end() ? Json() : std::move(*found);
      target[name] = ApplyMergePatch(std::move(current), member);
    }
  }
  return target;
}

std::optional<Json> ComposeMergePatches(const Json& first, const Json& second) {
  // A non-object second patch replaces the target whatever came before.
  if (!second.is_object()) return second;
  // A non-object first patch replaced the target; second then builds an
  // object from scratch, which an object patch (a merge) cannot express.
  if (!first.is_object()) return std::nullopt;
  Json combined = first;
  for (const auto& [name, member] : second.items()) {
    auto earlier = first.find(name);
    if (member.is_null() || !member.is_object() || earlier == first.end()) {
      combined[name] = member;
      continue;
    }
    if (earlier->is_null()) {
      // first deleted the member, second builds a fresh object there: only a
      // replacement says that, and a merge patch cannot replace an object.
      return std::nullopt;
    }
    if (!earlier->is_object()) return std::nullopt;
    auto nested = ComposeMergePatches(*earlier, member);
    if (!nested) return std::nullopt;
    combined[name] = std::move(*nested);
  }
  return combined;
}

}  // namespace ferry
