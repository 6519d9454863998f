// JSON values and the few JSON operations the core needs.
//
// Documents are JSON values (nlohmann::json, for its value semantics and
// ergonomic API). docs/BENCHMARKS.md measures it against RapidJSON: RapidJSON
// parses 3.5-5x faster and is smaller in wasm, so the wire codec's hot paths
// are the place to switch first. Every parse of untrusted text goes through
// ParseJson, which bounds size and nesting depth before the parser sees the
// bytes, and never throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ferry/status.h"

namespace ferry {

using Json = nlohmann::json;

struct JsonLimits {
  std::size_t max_bytes = 64u << 20;
  // Deep nesting is refused before parsing: recursive algorithms over the
  // value (merge patch, comparison) would otherwise risk the stack.
  int max_depth = 64;
};

// Parses untrusted text. Never throws; malformed, too large or too deep input
// is a kProtocol / kTooLarge error naming what was wrong.
[[nodiscard]] Result<Json> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Serializes without throwing: invalid UTF-8 in strings is replaced (U+FFFD)
// rather than aborting, so a bad string from a binding cannot crash a write.
std::string DumpJson(const Json& value);

// Appends `text` as a JSON string literal (quotes, escapes). `text` must be
// valid UTF-8 (IsValidUtf8); this is the fast path for building records and
// bodies around already-serialized values without a Json object.
void AppendJsonString(std::string& out, std::string_view text);
bool IsValidUtf8(std::string_view text);

// Nesting depth of a value (a scalar is 0, [] and {} are 1).
int JsonDepth(const Json& value);

// RFC 7396 JSON Merge Patch: returns target with patch applied. A non-object
// patch replaces the target; null members delete.
Json ApplyMergePatch(Json target, const Json& patch);

// A single merge patch equivalent to applying `first` then `second`, when one
// exists. It does not exist when `second` sets an object under a member that
// `first` set to a non-object: applied in sequence that replaces the member
// wholesale, which a single merge patch cannot say. Returns std::nullopt then.
std::optional<Json> ComposeMergePatches(const Json& first, const Json& second);

}  // namespace ferry
