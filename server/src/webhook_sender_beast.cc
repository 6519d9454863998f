// WebhookSender over Boost.Beast (HTTP/1.1), Asio and OpenSSL: the libraries
// ferry-server already serves with, so it links no second HTTP stack. It runs
// on the webhook worker's own thread (blocking there is the point: the I/O
// threads never see it): each step of a Post drives a private io_context in
// short slices until the step completes, so `cancel` and the deadlines are
// looked at between slices. One connection carries every request while the
// receiver keeps it open.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>

#include "webhook_sender.h"

namespace ferry::server {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace http = boost::beast::http;
using boost::system::error_code;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;

// Resolving the host and the TCP and TLS handshakes, together.
constexpr std::chrono::seconds kConnectTimeout{10};
// The whole Post, a second connection included.
constexpr std::chrono::seconds kTotalTimeout{30};
// How long the I/O runs before `cancel` is looked at again.
constexpr std::chrono::milliseconds kCancelPoll{100};
// The answer's body is read (so the connection can carry the next request)
// and discarded. A longer one is not read: its status still counts, as with
// any answer, and the connection, holding the rest, is closed.
constexpr std::uint64_t kBodyLimit = std::uint64_t{1024} * 1024;
// Beast's default (8 KiB) is short for receivers behind proxies that add
// headers of their own.
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

// The parts of --webhook-url a request needs.
struct WebhookUrl {
  bool tls = false;
  std::string host;         // resolved and verified; an IPv6 literal without brackets
  std::string port;         // the scheme's when the URL names none
  std::string host_header;  // as in the URL (brackets, port)
  std::string target;       // path and query, at least "/"
};

// The messages never quote the URL: it may hold a secret.
Status InvalidUrl(std::string_view why) {
  return Status(ErrorCode::kInvalidArgument, "--webhook-url " + std::string(why));
}

bool IsAddress(const std::string& host) {
  error_code error;
  (void)net::ip::make_address(host, error);
  return !error;
}

Status SplitAuthority(std::string_view authority, WebhookUrl& url) {
  if (authority.find('@') != std::string_view::npos) {
    return InvalidUrl("must not hold a user name or password (see --webhook-token-file)");
  }
  url.host_header = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // an IPv6 literal
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidUrl("has an unclosed [");
    url.host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return InvalidUrl("has text after ]");
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return InvalidUrl("has no host");
  if (port.empty()) port = url.tls ? "443" : "80";
  const bool digits =
      port.size() <= 5 && std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
    return InvalidUrl("has an invalid port");
  }
  url.port = port;
  return Status::Ok();
}

Result<WebhookUrl> ParseWebhookUrl(std::string_view text) {
  WebhookUrl url;
  if (text.starts_with("https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    text.remove_prefix(7);
  } else {
    return InvalidUrl("must be an http:// or https:// URL");
  }
  text = text.substr(0, text.find('#'));  // a fragment is never sent
  const std::size_t path = text.find_first_of("/?");
  FERRY_RETURN_IF_ERROR(SplitAuthority(text.substr(0, path), url));
  url.target = path == std::string_view::npos ? "/" : std::string(text.substr(path));
  if (url.target.starts_with('?')) url.target.insert(0, "/");
  return url;
}

// Peers are always verified; there is deliberately no way to turn it off.
Result<ssl::context> MakeTlsContext(const WebhookUrl& url, const std::string& ca_file) {
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1);
  context.set_verify_mode(ssl::verify_peer);
  if (!url.tls) return context;
  if (!ca_file.empty() && !std::ifstream(ca_file)) {
    return Status(ErrorCode::kInvalidArgument, "cannot read " + ca_file);
  }
  error_code error;
  if (ca_file.empty()) {
    context.set_default_verify_paths(error);
  } else {
    context.load_verify_file(ca_file, error);
  }
  if (error) {
    return Status(
        ErrorCode::kInvalidArgument,
        "--webhook-ca-file: no PEM certificates could be loaded (" + error.message() + ")");
  }
  return context;
}

// Boost's check leaves the verification error unset when only the host name
// is wrong; setting it makes the failure say so.
bool VerifyHostName(const ssl::host_name_verification& check, bool preverified,
                    ssl::verify_context& context) {
  if (check(preverified, context)) return true;
  if (preverified) X509_STORE_CTX_set_error(context.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
  return false;
}

class BeastWebhookSender final : public WebhookSender {
 public:
  BeastWebhookSender(WebhookUrl url, std::string bearer_token, ssl::context tls)
      : url_(std::move(url)), bearer_token_(std::move(bearer_token)), tls_(std::move(tls)) {}
  ~BeastWebhookSender() override { Disconnect(); }
  BeastWebhookSender(const BeastWebhookSender&) = delete;
  BeastWebhookSender& operator=(const BeastWebhookSender&) = delete;

  Result<int> Post(const std::string& body, const std::vector<std::string>& headers,
                   const std::atomic<bool>& cancel) override {
    const Request request = MakeRequest(body, headers);
    const Clock::time_point deadline = Clock::now() + kTotalTimeout;
    const bool reused = stream_.has_value();
    if (!reused) FERRY_RETURN_IF_ERROR(Connect(deadline, cancel));
    bool answer_began = false;
    Result<int> status = Exchange(request, deadline, cancel, answer_began);
    // A kept connection the receiver closed while it was idle fails before
    // any byte of an answer: that is no failed delivery, so the request
    // goes once more, on a new connection. (Had the receiver taken it in
    // after all, it gets it twice, which at least once allows.)
    if (!status.ok() && reused && !answer_began && !cancel.load() && Clock::now() < deadline) {
      FERRY_RETURN_IF_ERROR(Connect(deadline, cancel));
      status = Exchange(request, deadline, cancel, answer_began);
    }
    return status;
  }

 private:
  Request MakeRequest(const std::string& body, const std::vector<std::string>& headers) const {
    Request request(http::verb::post, url_.target, 11);
    request.set(http::field::host, url_.host_header);
    request.set(http::field::content_type, "application/json");
    if (!bearer_token_.empty()) request.set(http::field::authorization, "Bearer " + bearer_token_);
    for (const std::string_view header : headers) {
      const std::size_t colon = header.find(':');
      if (colon == std::string_view::npos) continue;  // not "Name: value"
      std::string_view value = header.substr(colon + 1);
      while (value.starts_with(' '))
        value.remove_prefix(1);
      // Boost 1.74's Beast takes Boost's string_view, not std's.
      request.insert(boost::beast::string_view(header.data(), colon),
                     boost::beast::string_view(value.data(), value.size()));
    }
    // No Expect: 100-continue (a round trip for nothing); Content-Length,
    // and keep-alive as HTTP/1.1's default.
    request.body() = body;
    request.prepare_payload();
    return request;
  }

  Status Connect(Clock::time_point deadline, const std::atomic<bool>& cancel) {
    Disconnect();
    deadline = std::min(deadline, Clock::now() + kConnectTimeout);
    tcp::resolver::results_type endpoints;
    error_code error;
    FERRY_RETURN_IF_ERROR(Run(
        [&](auto done) {
          resolver_.async_resolve(url_.host, url_.port,
                                  [&endpoints, done](error_code result, auto found) mutable {
                                    endpoints = std::move(found);
                                    done(result);
                                  });
        },
        error, deadline, cancel, "connecting timed out"));
    if (error) return Failed("could not resolve the host: ", error);
    stream_.emplace(io_, tls_);
    FERRY_RETURN_IF_ERROR(Run(
        [&](auto done) { net::async_connect(stream_->next_layer(), endpoints, std::move(done)); },
        error, deadline, cancel, "connecting timed out"));
    if (error) return Failed("could not connect: ", error);
    return url_.tls ? Handshake(deadline, cancel) : Status::Ok();
  }

  Status Handshake(Clock::time_point deadline, const std::atomic<bool>& cancel) {
    // SNI names the host, never an address (RFC 6066); the certificate must
    // name the one or the other.
    if (!IsAddress(url_.host) &&
        SSL_set_tlsext_host_name(stream_->native_handle(), url_.host.c_str()) != 1) {
      return Failed("TLS setup failed: ", error_code(net::error::invalid_argument));
    }
    stream_->set_verify_callback([check = ssl::host_name_verification(url_.host)](
                                     bool preverified, ssl::verify_context& context) {
      return VerifyHostName(check, preverified, context);
    });
    error_code error;
    FERRY_RETURN_IF_ERROR(
        Run([&](auto done) { stream_->async_handshake(ssl::stream_base::client, std::move(done)); },
            error, deadline, cancel, "connecting timed out"));
    if (!error) return Status::Ok();
    std::string why = "TLS handshake failed: " + error.message();
    const long verdict = SSL_get_verify_result(stream_->native_handle());
    if (verdict != X509_V_OK)
      why += std::string(" (") + X509_verify_cert_error_string(verdict) + ")";
    Disconnect();
    return Status(ErrorCode::kIo, why);
  }

  Result<int> Exchange(const Request& request, Clock::time_point deadline,
                       const std::atomic<bool>& cancel, bool& answer_began) {
    if (url_.tls) return Exchange(*stream_, request, deadline, cancel, answer_began);
    return Exchange(stream_->next_layer(), request, deadline, cancel, answer_began);
  }

  template <class Stream>
  Result<int> Exchange(Stream& stream, const Request& request, Clock::time_point deadline,
                       const std::atomic<bool>& cancel, bool& answer_began) {
    error_code error;
    FERRY_RETURN_IF_ERROR(
        Run([&](auto done) { http::async_write(stream, request, std::move(done)); }, error,
            deadline, cancel, "the request timed out"));
    if (error) return Failed("sending the request failed: ", error);
    // 1xx answers are interim (RFC 9110, 15.2): the final one follows.
    while (true) {
      http::response_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      // The length is checked once known. (Not boost::none: Beast 1.74
      // compares a Content-Length with it as if it were 0.)
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      const Status waited =
          Run([&](auto done) { http::async_read_header(stream, buffer_, parser, std::move(done)); },
              error, deadline, cancel, "the request timed out");
      answer_began = answer_began || parser.got_some();
      FERRY_RETURN_IF_ERROR(waited);
      if (error) return Failed("no answer: ", error);
      if (parser.get().result_int() / 100 != 1) return ReadBody(stream, parser, deadline, cancel);
    }
  }

  template <class Stream>
  Result<int> ReadBody(Stream& stream, http::response_parser<http::string_body>& parser,
                       Clock::time_point deadline, const std::atomic<bool>& cancel) {
    const int status = parser.get().result_int();
    if (parser.content_length().value_or(0) > kBodyLimit) {
      Disconnect();
      return status;
    }
    parser.body_limit(kBodyLimit);
    error_code error;
    FERRY_RETURN_IF_ERROR(
        Run([&](auto done) { http::async_read(stream, buffer_, parser, std::move(done)); }, error,
            deadline, cancel, "the request timed out"));
    if (error && error != http::error::body_limit) {
      return Failed("reading the answer failed: ", error);
    }
    if (error || !parser.keep_alive()) Disconnect();
    return status;
  }

  // Starts an operation on io_ by calling `start` with its completion
  // handler, and runs io_ until the operation completes (its error in
  // `error`). Past `deadline`, or once `cancel` is set, the connection is
  // closed, which ends the operation, and the failure says which.
  // (A name lookup cannot be interrupted: one that hangs ends at the
  // resolver's own timeout.)
  template <class Start>
  Status Run(const Start& start, error_code& error, Clock::time_point deadline,
             const std::atomic<bool>& cancel, std::string_view timed_out) {
    bool done = false;
    start([&error, &done](error_code result, auto&&...) {
      error = result;
      done = true;
    });
    io_.restart();
    while (!done) {
      const Clock::time_point now = Clock::now();
      if (cancel.load() || now >= deadline) {
        Disconnect();
        return Status(ErrorCode::kIo, cancel.load() ? "cancelled" : std::string(timed_out));
      }
      io_.run_for(std::min<Clock::duration>(kCancelPoll, deadline - now));
    }
    return Status::Ok();
  }

  // The error's message names the cause; never the URL.
  Status Failed(std::string_view what, error_code error) {
    Disconnect();
    return Status(ErrorCode::kIo, std::string(what) + error.message());
  }

  // Closes the connection. An operation still pending on it ends
  // (operation_aborted) and its handler runs before the stream goes.
  void Disconnect() {
    resolver_.cancel();
    if (stream_) {
      error_code ignored;
      stream_->next_layer().close(ignored);  // no TLS close_notify: nothing waits for it
    }
    io_.restart();
    io_.run();
    stream_.reset();
    buffer_.clear();
  }

  const WebhookUrl url_;
  const std::string bearer_token_;
  ssl::context tls_;
  net::io_context io_;
  tcp::resolver resolver_{io_};
  // The kept connection, if any; for http:// only its TCP socket is used.
  std::optional<ssl::stream<tcp::socket>> stream_;
  boost::beast::flat_buffer buffer_;  // bytes read past the last answer
};

}  // namespace

Result<std::unique_ptr<WebhookSender>> NewWebhookSender(WebhookTarget target) {
  FERRY_ASSIGN_OR_RETURN(WebhookUrl url, ParseWebhookUrl(target.url));
  FERRY_ASSIGN_OR_RETURN(ssl::context tls, MakeTlsContext(url, target.ca_file));
  return std::unique_ptr<WebhookSender>(std::make_unique<BeastWebhookSender>(
      std::move(url), std::move(target.bearer_token), std::move(tls)));
}

}  // namespace ferry::server
