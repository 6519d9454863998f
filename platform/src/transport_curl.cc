#include "ferry/transport_curl.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace ferry {
namespace {

std::once_flag global_init;

CURLM* Multi(void* handle) {
  return static_cast<CURLM*>(handle);
}

}  // namespace

struct CurlTransport::Transfer {
  RequestId id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;  // must outlive the transfer (CURLOPT_POSTFIELDS does not copy)
  std::string received;
  std::function<void(std::string_view)> on_chunk;
  bool chunk_delivered = false;  // since the last Wait() looked
  std::string retry_after;
  std::size_t max_bytes = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
  }

  static size_t OnBody(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    const size_t bytes = size * count;
    if (transfer->on_chunk) {
      transfer->on_chunk(std::string_view(data, bytes));
      transfer->chunk_delivered = true;
      return bytes;
    }
    if (transfer->received.size() + bytes > transfer->max_bytes) {
      transfer->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    transfer->received.append(data, bytes);
    return bytes;
  }

  static size_t OnHeader(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    const size_t bytes = size * count;
    std::string_view line(data, bytes);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
      std::string name(line.substr(0, kName.size()));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (name == kName) {
        std::string_view value = line.substr(kName.size());
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
          value.remove_suffix(1);
        transfer->retry_after = std::string(value);
      }
    }
    return bytes;
  }
};

Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(Options options) {
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return Status(ErrorCode::kInternal, "curl_multi_init failed");
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options), multi));
}

CurlTransport::CurlTransport(Options options, void* multi)
    : options_(std::move(options)), multi_(multi) {}

CurlTransport::~CurlTransport() {
  for (auto& [id, transfer] : transfers_)
    curl_multi_remove_handle(Multi(multi_), transfer->easy);
  transfers_.clear();
  curl_multi_cleanup(Multi(multi_));
}

void CurlTransport::Start(TransportRequest request) {
  auto transfer = std::make_unique<Transfer>();
  transfer->id = request.id;
  transfer->body = std::move(request.body);
  transfer->on_chunk = std::move(request.on_chunk);
  transfer->max_bytes = options_.max_response_bytes;
  CURL* easy = transfer->easy = curl_easy_init();
  if (easy == nullptr) {
    failed_to_start_.push_back({request.id, {0, "", "", "curl_easy_init failed"}});
    return;
  }
  for (const std::string& header : request.headers) {
    transfer->headers = curl_slist_append(transfer->headers, header.c_str());
  }
  // An empty Expect header stops curl from waiting for "100 Continue" on
  // larger POST bodies, which costs a round trip per push.
  transfer->headers = curl_slist_append(transfer->headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer->body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(transfer->body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  // gzip only: cheap for the server to produce (Brotli at high quality is
  // not) and decodable everywhere.
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_bundle_path.empty())
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
  const long verify = options_.dangerously_disable_tls_verification ? 0L : 1L;
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, verify);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, verify * 2);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  if (curl_multi_add_handle(Multi(multi_), easy) != CURLM_OK) {
    failed_to_start_.push_back({request.id, {0, "", "", "curl_multi_add_handle failed"}});
    return;
  }
  transfers_[request.id] = std::move(transfer);
  // On the wire now, not at the next Wait: the caller's next work may be
  // long (the engine commits a push answer while the server works on the
  // push sent after it). Finished transfers wait in curl's queue for Wait.
  int running = 0;
  curl_multi_perform(Multi(multi_), &running);
}

void CurlTransport::Cancel(RequestId id) {
  auto found = transfers_.find(id);
  if (found == transfers_.end()) return;
  curl_multi_remove_handle(Multi(multi_), found->second->easy);
  transfers_.erase(found);
}

void CurlTransport::Finish(Transfer& transfer, std::vector<TransportCompletion>& done,
                           HttpResponse response) {
  done.push_back({transfer.id, std::move(response)});
  curl_multi_remove_handle(Multi(multi_), transfer.easy);
  transfers_.erase(transfer.id);
}

std::vector<TransportCompletion> CurlTransport::Wait(TimeMs timeout_ms) {
  std::vector<TransportCompletion> done = std::move(failed_to_start_);
  failed_to_start_.clear();
  int running = 0;
  curl_multi_perform(Multi(multi_), &running);
  CollectFinished(done);
  // A transfer that finished in that perform, or a stream chunk handed over
  // just now, is news for the caller: return rather than sleep on sockets
  // that may stay quiet (measured: a loopback answer could otherwise wait
  // out the whole timeout).
  bool streamed = false;
  for (auto& [id, transfer] : transfers_)
    streamed |= std::exchange(transfer->chunk_delivered, false);
  if (done.empty() && !streamed) {
    const int wait = static_cast<int>(std::clamp<TimeMs>(timeout_ms, 0, 60'000));
    curl_multi_poll(Multi(multi_), nullptr, 0, wait, nullptr);
    curl_multi_perform(Multi(multi_), &running);
    CollectFinished(done);
  }
  return done;
}

void CurlTransport::CollectFinished(std::vector<TransportCompletion>& done) {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(Multi(multi_), &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
    HttpResponse response;
    const CURLcode result = message->data.result;
    response.server_reached = result == CURLE_PEER_FAILED_VERIFICATION ||
                              result == CURLE_SSL_CACERT_BADFILE || result == CURLE_SSL_CERTPROBLEM;
    if (message->data.result == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
      response.body = std::move(transfer->received);
      response.retry_after = std::move(transfer->retry_after);
    } else {
      response.transport_error =
          transfer->too_large
              ? "response larger than " + std::to_string(transfer->max_bytes) + " bytes"
              : std::string(curl_easy_strerror(message->data.result)) +
                    (transfer->error[0] ? std::string(" (") + transfer->error + ")" : "");
    }
    Finish(*transfer, done, std::move(response));
  }
}

void CurlTransport::Wakeup() {
  curl_multi_wakeup(Multi(multi_));
}

}  // namespace ferry
