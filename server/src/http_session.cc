#include "http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "ferry/protocol.h"

namespace ferry::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using beast::error_code;

constexpr std::string_view kHello = "event: hello\ndata: {}\n\n";
constexpr std::string_view kPoke = "event: poke\ndata: {}\n\n";
// Keeps proxies from closing an idle stream (docs/PROTOCOL.md: every 15 s).
constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
constexpr std::chrono::seconds kKeepAliveEvery{15};
// After a refusal the client may still be sending (a body, 200 MiB of
// headers): reading and dropping it for a moment lets the answer arrive
// instead of a reset.
constexpr std::chrono::seconds kLingerFor{2};
constexpr std::size_t kLingerBytes = 16u << 20;
constexpr std::size_t kReadChunk = 4096;

std::string Seconds(std::chrono::milliseconds duration) {
  const auto milliseconds = duration.count();
  if (milliseconds % 1000 == 0) return std::to_string(milliseconds / 1000) + " s";
  return std::to_string(milliseconds) + " ms";
}

// A parse error in what the client sent, as opposed to the connection
// ending (or timing out) in the middle of a request.
bool IsMalformed(error_code error) {
  return error && error.category() == http::make_error_code(http::error::bad_method).category() &&
         error != http::error::end_of_stream && error != http::error::partial_message;
}

// What a session is doing, for its deadline and for shutdown.
enum class Phase {
  kHandshake,  // TLS handshake
  kIdle,       // waiting for the first byte of a request
  kHead,       // reading a request head
  kBody,       // reading a body
  kHandling,   // the request pool has the request
  kWriting,    // writing an answer
  kLive,       // a /v1/live stream
  kClosing,
};

template <class Stream>
class HttpSession final : public HttpSessionBase,
                          public LiveSubscriber,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  HttpSession(Stream stream, SessionContext& context)
      : stream_(std::move(stream)),
        context_(context),
        limits_(context.limits),
        deadline_(stream_.get_executor()),
        keep_alive_timer_(stream_.get_executor()) {}

  ~HttpSession() override {
    if (live_user_) context_.live.Close(*live_user_, this);
    context_.registry.Remove(this);
  }

  void Start() {
    context_.registry.Add(this->shared_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->WaitForRequest();
      }
    });
  }

  void Shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->OnShutdown(); });
  }

  void Poke() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->poke_pending_ = true;
      self->WriteLive();
    });
  }

 private:
  // --- deadlines --------------------------------------------------------
  // Reads are bounded by this timer, not by tcp_stream's own expiry, which
  // closes the socket: a slow head must still get its 408.

  void ArmDeadline(std::chrono::milliseconds after) {
    timed_out_ = false;
    deadline_.expires_after(after);
    deadline_.async_wait(
        [self = this->shared_from_this(), generation = ++generation_](error_code error) {
          if (error || generation != self->generation_) return;
          self->timed_out_ = true;
          beast::get_lowest_layer(self->stream_).socket().cancel();
        });
  }

  void DisarmDeadline() {
    ++generation_;
    deadline_.cancel();
  }

  // --- reading a request ------------------------------------------------

  void Handshake() {
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      ArmDeadline(limits_.head_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code error) {
                                self->DisarmDeadline();
                                if (error) return self->CloseNow();
                                self->WaitForRequest();
                              });
    }
  }

  // Waits for a request's first byte: the head deadline starts there, so a
  // kept-alive connection may idle for --idle-timeout between requests.
  void WaitForRequest() {
    if (stopping_) return CloseNow();
    if (buffer_.size() > 0) return ReadHead();  // pipelined: already here
    phase_ = Phase::kIdle;
    ArmDeadline(requests_ == 0 ? limits_.head_timeout : limits_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](error_code error, std::size_t read) {
                              self->DisarmDeadline();
                              self->buffer_.commit(read);
                              if (read == 0 || (error && self->buffer_.size() == 0))
                                return self->CloseNow();
                              self->ReadHead();
                            });
  }

  void ReadHead() {
    phase_ = Phase::kHead;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
    parser_->body_limit(limits_.body_bytes);
    ArmDeadline(limits_.head_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](error_code error, std::size_t) {
                              self->DisarmDeadline();
                              self->OnHead(error);
                            });
  }

  void OnHead(error_code error) {
    if (timed_out_) {
      return Refuse(408, ErrorCode::kUnavailable,
                    "request head not received within " + Seconds(limits_.head_timeout));
    }
    if (error == http::error::header_limit || error == http::error::buffer_overflow) {
      return Refuse(431, ErrorCode::kTooLarge,
                    "request head larger than " + std::to_string(limits_.header_bytes) + " bytes");
    }
    // The parser compares a Content-Length with the body limit up front.
    if (error == http::error::body_limit) return RefuseTooLarge();
    if (IsMalformed(error)) return Refuse(400, ErrorCode::kInvalidArgument, "malformed request");
    if (error) return CloseNow();
    const HttpRequest& request = parser_->get();
    if (CountFields(request) > limits_.header_count) {
      return Refuse(431, ErrorCode::kTooLarge,
                    "more than " + std::to_string(limits_.header_count) + " header fields");
    }
    ++requests_;
    if (IsLiveRequest(request)) {
      if (std::optional<std::string> user = context_.api.Authenticate(request)) {
        return OpenLive(std::move(*user));
      }  // else the API answers 401 as for any request
    }
    const auto length = parser_->content_length();
    if (length && *length > limits_.body_bytes) return RefuseTooLarge();
    if (!parser_->is_done() && ExpectsContinue(request)) return SendContinue();
    ReadBody();
  }

  static std::size_t CountFields(const HttpRequest& request) {
    return static_cast<std::size_t>(std::distance(request.begin(), request.end()));
  }

  static bool IsLiveRequest(const HttpRequest& request) {
    const beast::string_view target = request.target();
    const std::string_view path(target.data(), target.substr(0, target.find('?')).size());
    return request.method() == http::verb::get && path == kLivePath;
  }

  static bool ExpectsContinue(const HttpRequest& request) {
    return beast::iequals(request[http::field::expect], "100-continue");
  }

  // libcurl waits a second for this before sending a large body.
  void SendContinue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    phase_ = Phase::kWriting;
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this()](error_code error, std::size_t) {
                       beast::get_lowest_layer(self->stream_).expires_never();
                       if (error) return self->CloseNow();
                       self->ReadBody();
                     });
  }

  void ReadBody() {
    if (parser_->is_done()) return Dispatch();
    phase_ = Phase::kBody;
    ArmDeadline(limits_.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code error, std::size_t) {
                       self->DisarmDeadline();
                       self->OnBody(error);
                     });
  }

  void OnBody(error_code error) {
    if (timed_out_) {
      return Refuse(408, ErrorCode::kUnavailable,
                    "request body not received within " + Seconds(limits_.request_timeout));
    }
    if (error == http::error::body_limit) return RefuseTooLarge();
    if (IsMalformed(error)) return Refuse(400, ErrorCode::kInvalidArgument, "malformed request");
    if (error) return CloseNow();
    Dispatch();
  }

  // --- answering --------------------------------------------------------

  void Dispatch() {
    phase_ = Phase::kHandling;
    auto request = std::make_shared<HttpRequest>(parser_->release());
    parser_.reset();
    // An executor that counts as outstanding work keeps the I/O context
    // running (through a shutdown) while the pool has the request.
    auto strand = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    net::post(context_.pool, [self = this->shared_from_this(), request, strand]() mutable {
      HttpResponse response = self->context_.api.Handle(*request);
      net::post(strand, [self, request, response = std::move(response)]() mutable {
        self->Respond(*request, std::move(response));
      });
    });
  }

  void Respond(const HttpRequest& request, HttpResponse response) {
    response.keep_alive(request.keep_alive() && !stopping_);
    if (request.method() == http::verb::head) {
      // The headers a GET would get, the body's length included, and no body.
      if (!response.has_content_length()) response.content_length(response.body().size());
      response.body().clear();
    } else {
      response.prepare_payload();
    }
    if (context_.log) {
      LogRequest(View(request.method_string()), View(request.target()), response.result_int(),
                 response.body().size(), context_.api.LogNote(request));
    }
    Write(std::move(response));
  }

  void Write(HttpResponse response) {
    phase_ = Phase::kWriting;
    response_ = std::make_shared<HttpResponse>(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](error_code error, std::size_t) {
                        beast::get_lowest_layer(self->stream_).expires_never();
                        const bool close = self->response_->need_eof() || self->refused_;
                        self->response_.reset();
                        if (error) return self->CloseNow();
                        // After a refusal part of the request is still unread.
                        if (self->refused_) return self->Linger();
                        if (close) return self->CloseNow();
                        self->WaitForRequest();
                      });
  }

  // An answer made here, not by the API: the connection closes after it,
  // since the rest of the request was never read.
  void Refuse(int status, ErrorCode code, const std::string& message) {
    // Null when the head was never read whole (too slow, too large).
    const HttpRequest* request = parser_ && parser_->is_header_done() ? &parser_->get() : nullptr;
    HttpResponse response = ErrorResponse(status, code, message);
    response.version(request != nullptr ? request->version() : 11);
    if (request != nullptr) context_.api.Decorate(*request, response);
    context_.api.CountRefusal(request, status);
    response.keep_alive(false);
    response.prepare_payload();
    if (context_.log) {
      LogRequest(request != nullptr ? View(request->method_string()) : "-",
                 request != nullptr ? View(request->target()) : "-", status, response.body().size(),
                 " (" + message + ")");
    }
    refused_ = true;
    Write(std::move(response));
  }

  void RefuseTooLarge() {
    Refuse(413, ErrorCode::kTooLarge,
           "request body larger than " + std::to_string(limits_.body_bytes) + " bytes");
  }

  // --- live streams -----------------------------------------------------

  void OpenLive(std::string user) {
    const HttpRequest& request = parser_->get();
    const LiveAdmission admission = context_.live.Open(user, this->shared_from_this());
    if (admission != LiveAdmission::kAdmitted) return RefuseLive(request, admission);
    live_user_ = std::move(user);
    phase_ = Phase::kLive;
    live_header_.emplace(http::status::ok, request.version());
    live_header_->set(http::field::content_type, "text/event-stream");
    live_header_->set(http::field::cache_control, "no-store");
    live_header_->chunked(true);
    context_.api.Decorate(request, *live_header_);
    if (context_.log) {
      LogRequest(View(request.method_string()), View(request.target()), 200, 0,
                 context_.api.LogNote(request));
    }
    live_serializer_.emplace(*live_header_);
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    live_writing_ = true;
    http::async_write_header(stream_, *live_serializer_,
                             [self = this->shared_from_this()](error_code error, std::size_t) {
                               self->live_writing_ = false;
                               beast::get_lowest_layer(self->stream_).expires_never();
                               if (error) return self->CloseNow();
                               self->WatchForDisconnect();
                               self->live_pending_ += kHello;
                               self->WriteLive();
                             });
  }

  void RefuseLive(const HttpRequest& request, LiveAdmission admission) {
    const std::string message =
        admission == LiveAdmission::kUserFull
            ? "this user already has " + std::to_string(limits_.live_per_user) + " live streams"
            : "the server already holds " + std::to_string(limits_.live_total) + " live streams";
    HttpResponse response = ErrorResponse(429, ErrorCode::kUnavailable, message);
    response.version(request.version());
    response.set(http::field::retry_after, std::to_string(limits_.live_retry_after_seconds));
    context_.api.Decorate(request, response);
    context_.api.CountRefusal(&request, 429);
    Respond(request, std::move(response));
  }

  // A stream's client only ever closes it: any read completing means it is
  // gone (or sent what a stream does not take).
  void WatchForDisconnect() {
    stream_.async_read_some(
        net::buffer(discard_),
        [self = this->shared_from_this()](error_code, std::size_t) { self->CloseNow(); });
  }

  // Writes what is pending as one chunk: pokes that arrive during a write
  // coalesce into one.
  void WriteLive() {
    if (phase_ != Phase::kLive || live_writing_) return;
    if (poke_pending_) live_pending_ += kPoke;
    poke_pending_ = false;
    if (live_pending_.empty()) {
      if (stopping_) EndLive();
      return;
    }
    live_chunk_ = std::exchange(live_pending_, std::string());
    live_writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    net::async_write(stream_, http::make_chunk(net::buffer(live_chunk_)),
                     [self = this->shared_from_this()](error_code error, std::size_t) {
                       self->live_writing_ = false;
                       if (error) return self->CloseNow();
                       self->ArmKeepAlive();
                       self->WriteLive();
                     });
  }

  void ArmKeepAlive() {
    keep_alive_timer_.expires_after(kKeepAliveEvery);
    keep_alive_timer_.async_wait([self = this->shared_from_this()](error_code error) {
      if (error || self->phase_ != Phase::kLive) return;  // cancelled: written since
      self->live_pending_ += kKeepAlive;
      self->WriteLive();
    });
  }

  // The last chunk, then the connection closes: on shutdown.
  void EndLive() {
    phase_ = Phase::kClosing;
    keep_alive_timer_.cancel();
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    net::async_write(
        stream_, http::make_chunk_last(),
        [self = this->shared_from_this()](error_code, std::size_t) { self->CloseNow(); });
  }

  // --- closing ----------------------------------------------------------

  void OnShutdown() {
    stopping_ = true;
    if (phase_ == Phase::kIdle || phase_ == Phase::kHandshake || phase_ == Phase::kHead) {
      // No request yet (a head still arriving is none): the read ends, and
      // with it the connection.
      beast::get_lowest_layer(stream_).socket().cancel();
    } else if (phase_ == Phase::kLive) {
      WriteLive();  // ends the stream once nothing is pending
    }
    // Reading a body or answering: the request finishes, and Respond says
    // Connection: close.
  }

  // Stops sending, then reads and drops what the client still sends for a
  // moment, so it reads the answer instead of a connection reset.
  void Linger() {
    if constexpr (kTls) {
      return CloseNow();  // the TCP-level trick would break the TLS record stream
    } else {
      phase_ = Phase::kClosing;
      error_code ignored;
      stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
      ArmDeadline(kLingerFor);
      LingerRead();
    }
  }

  void LingerRead() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = this->shared_from_this()](error_code error, std::size_t read) {
                              self->lingered_ += read;
                              if (error || self->lingered_ > kLingerBytes) return self->CloseNow();
                              self->LingerRead();
                            });
  }

  void CloseNow() {
    if (closed_) return;
    phase_ = Phase::kClosing;
    closed_ = true;
    DisarmDeadline();
    keep_alive_timer_.cancel();
    error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(net::ip::tcp::socket::shutdown_both,
                                                       ignored);
    beast::get_lowest_layer(stream_).close();
    if (live_user_) {
      context_.live.Close(*live_user_, this);
      live_user_.reset();
    }
  }

  static std::string_view View(beast::string_view text) { return {text.data(), text.size()}; }

  Stream stream_;
  SessionContext& context_;
  const HttpLimits& limits_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;  // while it is written
  net::steady_timer deadline_;
  uint64_t generation_ = 0;  // of the armed deadline; an older one is void
  bool timed_out_ = false;
  Phase phase_ = Phase::kIdle;
  bool stopping_ = false;
  bool refused_ = false;
  bool closed_ = false;
  uint64_t requests_ = 0;
  std::size_t lingered_ = 0;
  char discard_[kReadChunk];
  // A live stream: its user (while counted in LiveStreams), header, and the
  // text waiting to go out.
  std::optional<std::string> live_user_;
  std::optional<http::response<http::empty_body>> live_header_;
  std::optional<http::response_serializer<http::empty_body>> live_serializer_;
  net::steady_timer keep_alive_timer_;
  std::string live_pending_;
  std::string live_chunk_;  // being written
  bool live_writing_ = false;
  bool poke_pending_ = false;
};

}  // namespace

void StartHttpSession(net::ip::tcp::socket socket, SessionContext& context) {
  std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), context)
      ->Start();
}

void StartHttpsSession(net::ip::tcp::socket socket, net::ssl::context& tls,
                       SessionContext& context) {
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  std::make_shared<HttpSession<TlsStream>>(TlsStream(beast::tcp_stream(std::move(socket)), tls),
                                           context)
      ->Start();
}

}  // namespace ferry::server
