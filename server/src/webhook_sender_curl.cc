// WebhookSender over libcurl's easy interface, on the webhook worker's own
// thread (blocking there is the point: the I/O thread never sees it). One
// handle for every request, so the connection to the backend is kept alive.
#include <curl/curl.h>

#include <mutex>

#include "webhook_sender.h"

namespace ferry::server {
namespace {

constexpr long kConnectTimeoutMs = 10'000;
constexpr long kTotalTimeoutMs = 30'000;

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// The answer's body is not read: the status is the acknowledgement.
size_t DiscardBody(char*, size_t size, size_t count, void*) {
  return size * count;
}

int AbortWhenCancelled(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

class CurlWebhookSender final : public WebhookSender {
 public:
  explicit CurlWebhookSender(WebhookTarget target)
      : target_(std::move(target)), handle_(curl_easy_init()) {}

  Result<int> Post(const std::string& body, const std::vector<std::string>& headers,
                   const std::atomic<bool>& cancel) override {
    if (!handle_) return Status(ErrorCode::kInternal, "libcurl could not make a handle");
    CURL* curl = handle_.get();
    curl_slist* list = nullptr;
    const auto add = [&list](const std::string& header) {
      list = curl_slist_append(list, header.c_str());
    };
    add("Content-Type: application/json");
    add("Expect:");  // no 100-continue round trip
    if (!target_.bearer_token.empty()) add("Authorization: Bearer " + target_.bearer_token);
    for (const std::string& header : headers)
      add(header);
    const std::unique_ptr<curl_slist, HeaderListDeleter> owned(list);
    curl_easy_setopt(curl, CURLOPT_URL, target_.url.c_str());
    if (!target_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, target_.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is not an acknowledgement
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kTotalTimeoutMs);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortWhenCancelled);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &cancel);
    const CURLcode result = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);  // the list goes now
    if (result != CURLE_OK) {
      // curl's message names the cause, never the URL (it may hold a secret).
      return Status(ErrorCode::kIo, curl_easy_strerror(result));
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return static_cast<int>(status);
  }

 private:
  const WebhookTarget target_;
  std::unique_ptr<CURL, CurlDeleter> handle_;
};

}  // namespace

Result<std::unique_ptr<WebhookSender>> NewCurlWebhookSender(WebhookTarget target) {
  if (!target.url.starts_with("http://") && !target.url.starts_with("https://")) {
    return Status(ErrorCode::kInvalidArgument, "--webhook-url must be an http:// or https:// URL");
  }
  static std::once_flag initialised;
  std::call_once(initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::unique_ptr<WebhookSender>(std::make_unique<CurlWebhookSender>(std::move(target)));
}

}  // namespace ferry::server
