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

// libcurl: http:// or https:// `url` (certificates and host names verified
// against the system's CA store), `bearer_token` (may be empty) sent as
// "Authorization: Bearer ..." so the receiver knows the request is ours.
// kInvalidArgument for another scheme. Call from the main thread, before
// any other thread uses libcurl (it initialises libcurl once).
[[nodiscard]] Result<std::unique_ptr<WebhookSender>> NewCurlWebhookSender(std::string url,
                                                                          std::string bearer_token);

}  // namespace ferry::server
