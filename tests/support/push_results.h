// Builds PushResult values for tests. Built field by field: brace-initializing
// PushResult with {} for its document trips GCC 12's -Wmaybe-uninitialized
// inside nlohmann::json.
#pragma once

#include <string>

#include "ferry/protocol.h"

namespace ferry::testing {

inline PushResult MakeResult(uint64_t seq, PushResultStatus status, Version previous = 0,
                             Version version = 0, std::string error = "") {
  PushResult result;
  result.seq = seq;
  result.status = status;
  result.previous_version = previous;
  result.version = version;
  result.error = std::move(error);
  return result;
}

}  // namespace ferry::testing
