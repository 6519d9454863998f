// The outbound webhook's request body (docs/SERVER.md, "Outbound webhook"):
//   {"user":"alice","epoch":"k3x...","changes":[
//     {"collection":"readings","key":"r1","version":7,"deleted":false,
//      "value":{...},"hlc":"...","clientId":"device-1",
//      "idempotencyKey":"k3x...:alice:7"}, ...]}
// Changes are in version order, each document at its latest version.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "webhook_log.h"

namespace ferry::server {

// Names one version of one user's log in one database, stable across
// retries and restarts: "<epoch>:<user>:<version>" (the epoch holds no ':'
// and the version is the last field, so the user may hold anything).
[[nodiscard]] std::string WebhookIdempotencyKey(std::string_view epoch, std::string_view user,
                                                Version version);

// The body for `changes` (at least one) of `user`. Values are copied as the
// stored JSON text, never parsed.
[[nodiscard]] std::string WebhookBody(std::string_view epoch, std::string_view user,
                                      const std::vector<PendingChange>& changes);

}  // namespace ferry::server
