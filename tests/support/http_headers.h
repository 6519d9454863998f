// Header fields of the tests' HTTP messages (support/http_client.h,
// support/http_server.h). Test-only.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace ferry::testing {

// Field names compare without case (RFC 9110, 5.1), so a lookup finds the
// field however the other side spelled it.
struct HeaderNameLess {
  bool operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](unsigned char x, unsigned char y) { return std::tolower(x) < std::tolower(y); });
  }
};

// A multimap: a field may repeat (a test asserts that Vary does not).
using HttpHeaders = std::multimap<std::string, std::string, HeaderNameLess>;

// The value of the first field named `name`, "" when there is none.
inline std::string HeaderValue(const HttpHeaders& headers, const std::string& name) {
  const auto found = headers.find(name);
  return found == headers.end() ? std::string() : found->second;
}

}  // namespace ferry::testing
