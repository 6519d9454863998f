#include "ferry/request_headers.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <string_view>

#include "ascii_lowercase.h"

namespace ferry {
namespace {

// Headers Ferry writes itself (the protocol's, the body's framing) or that
// the HTTP stack computes (Host, framing, connection handling); a second
// copy would contradict them, and browsers refuse several of them anyway.
constexpr std::array<std::string_view, 14> kOwnedByFerry = {"accept",
                                                            "accept-encoding",
                                                            "connection",
                                                            "content-encoding",
                                                            "content-length",
                                                            "content-type",
                                                            "cookie",
                                                            "expect",
                                                            "ferry-protocol",
                                                            "host",
                                                            "keep-alive",
                                                            "transfer-encoding",
                                                            "te",
                                                            "upgrade"};

bool IsTokenCharacter(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return IsTokenCharacter(static_cast<unsigned char>(c));
  });
}

// Tab is allowed inside a field value (RFC 9110 5.5); every other control
// character is refused by HTTP stacks, CR, LF and NUL would end the header.
bool IsFieldValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7F;
  });
}

Status Refuse(std::string message) {
  return Status(ErrorCode::kInvalidArgument, "headers: " + std::move(message));
}

}  // namespace

Status CheckCustomHeaders(const RequestHeaders& headers, bool has_token_provider) {
  std::set<std::string> seen;
  for (const auto& [name, value] : headers) {
    // Only the name is ever quoted: the value may be a secret.
    if (!IsToken(name)) {
      return Refuse("a header name must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)");
    }
    const std::string lower = AsciiLowercase(name);
    if (std::find(kOwnedByFerry.begin(), kOwnedByFerry.end(), lower) != kOwnedByFerry.end()) {
      return Refuse(name + " is set by Ferry or the HTTP stack and cannot be replaced");
    }
    if (lower == "authorization" && has_token_provider) {
      return Refuse(
          "Authorization carries the token provider's bearer token; without a token provider an "
          "Authorization header of your own is allowed");
    }
    if (!IsFieldValue(value)) {
      return Refuse("the value of " + name +
                    " holds a control character (CR, LF, NUL or another), which cannot go into "
                    "an HTTP header");
    }
    if (!seen.insert(lower).second) return Refuse(name + " is given twice");
  }
  return Status::Ok();
}

}  // namespace ferry
