// How the webhook worker sends one request to the app's backend: an
// interface so the worker is independent of the HTTP client
// (webhook_sender_beast.cc is the one there is).
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
  // the HTTP status; an error when no answer came (connection refused, a
  // timeout: 10 s to connect, 30 s in all; a TLS failure; or `cancel` set,
  // which ends a transfer within about a second). Blocks: the webhook
  // worker's thread only.
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

// Boost.Beast over Asio and OpenSSL, one connection kept alive between
// requests (a kept connection the receiver closed is replaced without a
// failure); redirects are not followed (a 3xx is just the status).
// Certificates and host names are always verified (against `ca_file` or the
// system's CA store); no setting turns that off. Environment proxies are not
// used. kInvalidArgument for a scheme other than http or https, a URL
// without a host, with a bad port or with a user name, or a `ca_file` that
// cannot be loaded; no message quotes the URL (it may hold a secret).
[[nodiscard]] Result<std::unique_ptr<WebhookSender>> NewWebhookSender(WebhookTarget target);

}  // namespace ferry::server
