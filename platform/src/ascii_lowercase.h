// ASCII lowercase for the names HTTP compares without case (header names,
// URL schemes and hosts). Internal to the engine_host library.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace ferry {

inline std::string AsciiLowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

}  // namespace ferry
