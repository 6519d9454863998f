// How the webhook worker sends one request to the app's backend: an
// interface so the worker is independent of the HTTP client
// (webhook_sender_curl.cc is the one there is).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ferry/status.h"

namespace ferry::server {

class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  // POSTs `body` (JSON) with the extra `headers` ("Name: value") and returns
  // the HTTP status; an error when no answer came (connection refused,
  // timeout, TLS failure, or `cancel` set, which ends a transfer within
  // about a second). Blocks: the webhook worker's thread only.
  [[nodiscard]] virtual Result<int> Post(const std::string& body,
                                         const std::vector<std::string>& headers,
                                         const std::atomic<bool>& cancel) = 0;
};

// Where deliveries go, and how the receiver and we know each other.
struct WebhookTarget {
  std::string url;  // http:// or https://
  // Sent as "Authorization: Bearer ..." so the receiver knows the request
  // is ours; empty: none.
  std::string bearer_token;
  std::string ca_file;  // PEM CAs the receiver is verified with; empty: the system's store
};

// libcurl: certificates and host names are always verified (against
// `ca_file` or the system's CA store). kInvalidArgument for a scheme other
// than http or https. Call from the main thread, before any other thread
// uses libcurl (it initialises libcurl once).
[[nodiscard]] Result<std::unique_ptr<WebhookSender>> NewCurlWebhookSender(WebhookTarget target);

}  // namespace ferry::server
