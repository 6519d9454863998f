// Builds PushResult values for tests. Built field by field: brace-initializing
// PushResult with {} for its document trips GCC 12's -Wmaybe-uninitialized
// inside nlohmann::json.
#pragma once

#include <optional>
#include <string>

#include "ferry/engine.h"  // HttpRequest, HttpResponse
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

// A fault for InlineDriver: the server refuses every mutation of every push,
// so each write is dead-lettered at once. Other requests pass.
inline std::optional<HttpResponse> RejectEveryPush(const HttpRequest& request) {
  if (request.method != "POST") return std::nullopt;
  auto sent = DecodePushRequest(request.body, {});
  PushResponse response;
  for (const Mutation& m : sent->mutations)
    response.results.push_back(MakeResult(m.seq, PushResultStatus::kRejected, 0, 0, "no"));
  return HttpResponse{200, EncodePushResponse(response), "", ""};
}

}  // namespace ferry::testing
