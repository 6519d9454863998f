// Request bodies sent with `Content-Encoding: gzip`, inflated with a bound:
// a few KB on the wire can inflate to gigabytes (a gzip bomb), so inflating
// stops at the body limit instead of after it. Stateless: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ferry/status.h"

namespace ferry::server {

// The inflated body: kTooLarge once it would pass `max_bytes`,
// kInvalidArgument when `compressed` is not one whole gzip stream.
[[nodiscard]] Result<std::string> InflateGzipBody(std::string_view compressed,
                                                  std::size_t max_bytes);

}  // namespace ferry::server
