// The byte encoding of index entries (query_index.h): JSON values encoded
// so that comparing the bytes orders them as query.h sorts them. Internal
// to the core.
//
//   missing 01 | null 02 | false 03 | true 04
//   number  05 + the IEEE double's 8 bytes, big-endian, sign-flipped so that
//           byte order is numeric order (-0 as 0)
//   string  06 + the bytes, 00 as 00 FF, then 00 01
//   array   07 + each element, then 00
//   object  08 + each member in key order (its name as a string's bytes,
//           then its value), then 00 00
//
// Every encoding ends itself, so values concatenate into a composite key.
#pragma once

#include <string>
#include <string_view>

#include "ferry/json.h"

namespace ferry::index_key {

// `value` (nullptr: missing) appended to `out`.
void AppendValue(std::string& out, const Json* value);
// The bytes of a string's encoding without its terminator: every string
// starting with `prefix` encodes to a key starting with these.
void AppendStringPrefix(std::string& out, std::string_view prefix);
// The first byte of `value`'s type, and the first byte after that type's
// values, for a range bounded on one side only (a range test compares a
// value with bounds of its own type).
char TypeBegin(const Json& value);
char TypeEnd(const Json& value);

}  // namespace ferry::index_key
