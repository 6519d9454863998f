// Custom request headers: what an app adds to every request Ferry sends (an
// API key beside or instead of the bearer token). The rule for which headers
// an app may set is written here once; every runtime checks its options with
// it at open, and EngineHost adds the headers to each request it builds.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ferry/status.h"

namespace ferry {

// (name, value) pairs, sent in this order.
using RequestHeaders = std::vector<std::pair<std::string, std::string>>;

// Ok, or kInvalidArgument naming the header (never its value, which may be a
// secret) when:
// - a name is not an HTTP token (RFC 9110: letters, digits and !#$%&'*+-.^_`|~);
// - a value holds CR, LF or NUL (it would end the header and let the value
//   add headers of its own) or another control character but tab;
// - a name is one Ferry sets or the HTTP stack owns (Accept, Ferry-Protocol,
//   Content-Type, Content-Encoding, Content-Length, Host, ...), in any case;
// - a name appears twice;
// - it is Authorization while a token provider is given (that header carries
//   the token). Without one, an Authorization of the app's own is allowed:
//   that is the "instead of the bearer token" scheme.
[[nodiscard]] Status CheckCustomHeaders(const RequestHeaders& headers, bool has_token_provider);

}  // namespace ferry
