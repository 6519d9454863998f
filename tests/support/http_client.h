// HttpClient: a small blocking HTTP/1.1 client with which tests talk to
// ferry-server (and to one another's test servers) the way any client would.
// Test-only.
//
// Built on libcurl rather than Boost.Beast: Ferry's native transport already
// links it, and it brings everything the tests ask of a client without code of
// ours to get wrong: TLS verified against a test CA (host name included),
// chunked and streamed answers, gzip-decoded answers, kept-alive connections
// and connect timeouts. Beast would need all of that written here.
//
// Threading: one thread at a time per HttpClient; separate clients may run on
// separate threads.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "support/http_headers.h"

namespace ferry::testing {

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  // Decoded from gzip when the client decompresses; empty after a HEAD or a
  // streamed GET (whose body went to its callback).
  std::string body;

  std::string header(const std::string& name) const { return HeaderValue(headers, name); }
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
  std::size_t header_count(const std::string& name) const { return headers.count(name); }
};

// No value: no answer came (connection refused, TLS refused, a timeout, or an
// answer cut short).
using HttpResult = std::optional<HttpResponse>;

class HttpClient {
 public:
  // Receives a streamed body as it arrives; returning false ends the stream.
  using DataReceiver = std::function<bool(std::string_view data)>;

  HttpClient(std::string host, int port) : host_(std::move(host)), port_(port) {
    // curl_global_init must run once before any other thread uses curl.
    static std::once_flag global_init;
    std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    easy_ = curl_easy_init();
  }
  ~HttpClient() { curl_easy_cleanup(easy_); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // From now on https, the server's certificate verified against the CA in
  // the PEM file `ca_file` (and its name against the host).
  void set_tls_ca(std::string ca_file) { tls_ca_ = std::move(ca_file); }
  // Off by default: each request sends "Connection: close" and gets a
  // connection of its own.
  void set_keep_alive(bool keep_alive) { keep_alive_ = keep_alive; }
  // On by default: a gzip answer to a request that sent Accept-Encoding
  // arrives decoded (its Content-Encoding header stays as sent).
  void set_decompress(bool decompress) { decompress_ = decompress; }
  void set_connect_timeout(std::chrono::milliseconds timeout) { connect_timeout_ = timeout; }
  // The longest wait for the next byte; past it the request ends without an
  // answer (a streamed GET returns the head it got).
  void set_read_timeout(std::chrono::milliseconds timeout) { read_timeout_ = timeout; }

  // `target` goes on the wire exactly as written: no encoding, no removal of
  // dot segments (tests send paths a browser would clean up).
  HttpResult Get(const std::string& target, const HttpHeaders& headers = {}) {
    return Perform(Method::kGet, target, headers, nullptr, nullptr);
  }
  HttpResult Head(const std::string& target, const HttpHeaders& headers = {}) {
    return Perform(Method::kHead, target, headers, nullptr, nullptr);
  }
  HttpResult Options(const std::string& target, const HttpHeaders& headers = {}) {
    return Perform(Method::kOptions, target, headers, nullptr, nullptr);
  }
  HttpResult Post(const std::string& target, const HttpHeaders& headers, const std::string& body,
                  const std::string& content_type) {
    HttpHeaders with_type = headers;
    with_type.emplace("Content-Type", content_type);
    return Perform(Method::kPost, target, with_type, &body, nullptr);
  }
  HttpResult Post(const std::string& target, const std::string& body,
                  const std::string& content_type) {
    return Post(target, {}, body, content_type);
  }
  // A GET whose body goes to `receive` as it arrives (a live stream). The
  // answer's status and headers, with an empty body, when a head arrived,
  // whether the stream ended by the server, by `receive` or by the read
  // timeout.
  HttpResult GetStream(const std::string& target, const HttpHeaders& headers,
                       const DataReceiver& receive) {
    return Perform(Method::kGet, target, headers, nullptr, &receive);
  }

 private:
  enum class Method { kGet, kHead, kOptions, kPost };
  using Clock = std::chrono::steady_clock;

  // What one request collects from curl's callbacks.
  struct Exchange {
    HttpResponse response;
    const DataReceiver* receive = nullptr;
    std::chrono::milliseconds read_timeout{0};
    Clock::time_point last_progress = Clock::now();
    curl_off_t bytes_moved = 0;
  };

  HttpResult Perform(Method method, const std::string& target, const HttpHeaders& headers,
                     const std::string* body, const DataReceiver* receive) {
    // A reset keeps the connection cache, so a kept-alive connection survives
    // from one request to the next.
    curl_easy_reset(easy_);
    const std::string url =
        (tls_ca_.empty() ? "http://" : "https://") + host_ + ":" + std::to_string(port_) + target;
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);  // other threads are running
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
    curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, keep_alive_ ? 0L : 1L);
    if (!tls_ca_.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, tls_ca_.c_str());
    switch (method) {
      case Method::kGet:
        curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
        break;
      case Method::kHead:
        curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
        break;
      case Method::kOptions:
        curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, "OPTIONS");
        break;
      case Method::kPost:
        curl_easy_setopt(easy_, CURLOPT_POST, 1L);
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
        break;
    }
    // Decoding is curl's once it is given an Accept-Encoding; the test's own
    // field is the one sent. A request without one gets no compressed answer.
    if (decompress_ && headers.count("Accept-Encoding") > 0)
      curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");

    curl_slist* fields = nullptr;
    for (const auto& [name, value] : headers) {
      // "Name:" would tell curl to drop the field; "Name;" sends it empty.
      const std::string line = value.empty() ? name + ";" : name + ": " + value;
      fields = curl_slist_append(fields, line.c_str());
    }
    // The body goes at once, as other clients send it, not after a
    // "100 Continue" that curl would wait for.
    fields = curl_slist_append(fields, "Expect:");
    if (!keep_alive_ && headers.count("Connection") == 0)
      fields = curl_slist_append(fields, "Connection: close");
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, fields);

    Exchange exchange;
    exchange.receive = receive;
    exchange.read_timeout = read_timeout_;
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, &exchange);
    curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
    const CURLcode result = curl_easy_perform(easy_);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(fields);
    if (result == CURLE_OK || (receive != nullptr && exchange.response.status != 0))
      return std::move(exchange.response);
    return std::nullopt;
  }

  static std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    std::string_view line(data, size * count);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      // A status line starts the head afresh (after a "100 Continue", say).
      const std::size_t space = line.find(' ');
      exchange.response = HttpResponse();
      if (space != std::string_view::npos)
        exchange.response.status = std::atoi(std::string(line.substr(space + 1, 3)).c_str());
      return size * count;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size * count;  // the blank line ending the head
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    exchange.response.headers.emplace(std::string(line.substr(0, colon)), std::string(value));
    return size * count;
  }

  static std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    const std::string_view chunk(data, size * count);
    exchange.last_progress = Clock::now();
    if (exchange.receive == nullptr) {
      exchange.response.body.append(chunk);
    } else if (!(*exchange.receive)(chunk)) {
      return 0;  // anything but the size given ends the transfer
    }
    return chunk.size();
  }

  // Called by curl now and then, data or not: ends a transfer that has not
  // moved a byte for the read timeout.
  static int OnProgress(void* user, curl_off_t download_total, curl_off_t downloaded,
                        curl_off_t upload_total, curl_off_t uploaded) {
    auto& exchange = *static_cast<Exchange*>(user);
    (void)download_total;
    (void)upload_total;
    const auto now = Clock::now();
    if (downloaded + uploaded != exchange.bytes_moved) {
      exchange.bytes_moved = downloaded + uploaded;
      exchange.last_progress = now;
    }
    return now - exchange.last_progress > exchange.read_timeout ? 1 : 0;
  }

  std::string host_;
  int port_;
  CURL* easy_ = nullptr;
  std::string tls_ca_;
  bool keep_alive_ = false;
  bool decompress_ = true;
  // Loopback connects or is refused at once; 5 s without a byte is what the
  // tests were written against (cpp-httplib's default).
  std::chrono::milliseconds connect_timeout_{10'000};
  std::chrono::milliseconds read_timeout_{5'000};
};

}  // namespace ferry::testing
