// NewCurlWebhookSender in a build without libcurl (libcurl4-openssl-dev missing).
#include "webhook_sender.h"

namespace ferry::server {

Result<std::unique_ptr<WebhookSender>> NewCurlWebhookSender(WebhookTarget) {
  return Status(ErrorCode::kInvalidArgument,
                "--webhook-url: this ferry-server was built without libcurl");
}

}  // namespace ferry::server
