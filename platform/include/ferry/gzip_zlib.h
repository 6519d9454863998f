// gzip (RFC 1952) through zlib, for HTTP bodies: ferry-server's responses and
// the native client's push requests. Stateless, so safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry {

// Level 1 by default: syncs over loopback and LANs are CPU-bound, and level 1
// already removes most of the redundancy in JSON batches (docs/BENCHMARKS.md).
// nullopt only if zlib fails (out of memory).
[[nodiscard]] std::optional<std::string> GzipZlib(std::string_view input, int level = 1);

}  // namespace ferry
