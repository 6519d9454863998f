// EngineHost: the one layer between the sans-IO engine and a runtime. Every
// host (the native owner thread, the browser event loop, and the bindings
// over them) gets the same behaviour from it:
// - endpoint normalisation and request URLs, and a warning for a plain
//   http:// endpoint to a host that is not loopback;
// - the request headers: Accept, Ferry-Protocol, Content-Type, Authorization
//   from the host's token, gzip above the threshold (Accept-Encoding is
//   the HTTP stack's own: libcurl and browsers ask for gzip and decode it),
//   and the app's custom headers;
// - the token step: a request waits for its token, which the runtime fetches
//   however it can (a native callback, a JavaScript promise);
// - the app-start trigger;
// - run waiters: SyncNow's "tell me when a run covering this has ended";
// - listeners, and delivery of every event to them and to the log.
//
// Use: feed inputs (the engine's Handle* through `engine()`, or the wrappers
// below), then TakeTasks() and carry each task out:
//   NeedToken      -> fetch the token, then HandleToken(id, token) (or
//                     HandleTokenFailure if there is none to be had)
//   StartTransfer  -> start the HTTP request; its answer goes to
//                     HandleTransferDone (and, for a stream, each chunk to
//                     HandleStreamData before that)
//   AbortTransfer  -> abort it; nothing more is reported for it
//   Delivery       -> Deliver(): waiters and listeners, outside any lock
// then wait until PollTimeout() and call HandleTimeout.
//
// Threading: not thread-safe, like the engine: the runtime serializes every
// call except Deliver(), which touches nothing of the host and is meant to
// run after the runtime released its lock, so that listeners may call back.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ferry/engine.h"
#include "ferry/request_headers.h"

namespace ferry {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
using LogFunction = std::function<void(LogLevel, const std::string&)>;

// The warning an EngineHost logs once for `endpoint` (LogLevel::kWarning),
// or nullopt: an http:// endpoint to a host that is not loopback sends the
// token and the data in clear text (loopback never leaves the machine). It
// names the host only, never a user or password in the URL. Hosts that show
// it on their own (the web package prints it at open) ask here, so the rule
// is written once.
[[nodiscard]] std::optional<std::string> CleartextEndpointWarning(std::string_view endpoint);

struct HostOptions {
  std::string endpoint;  // ferry-server base URL; trailing slashes are dropped
  // Whether the runtime has a token source: without one no NeedToken task is
  // made and requests go out without Authorization.
  bool has_token_provider = false;
  // Request bodies larger than this are sent gzip-compressed; 0 turns it off.
  std::size_t gzip_above_bytes = 1024;
  // The runtime can gzip at all (zlib natively; CompressionStream on the web).
  bool can_gzip = true;
  // The app's own headers (an API key, say), sent with every request, the
  // live stream included, after Ferry's. Check them with
  // CheckCustomHeaders at open; their values are never logged.
  RequestHeaders headers;
  LogFunction log;  // may be empty; never given a token
};

struct OutgoingRequest {
  RequestId id = 0;
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // complete, in order
  std::string body;
  // The runtime compresses `body` with gzip before sending: the headers
  // already say Content-Encoding: gzip. A runtime whose compressor fails
  // calls SendUncompressed() and sends the body as it is.
  bool gzip_body = false;
  TimeMs timeout_ms = 0;  // 0: none (the live stream)
  bool stream = false;    // the live stream: hand chunks to HandleStreamData

  void SendUncompressed();
};

using EventListener = std::function<void(const Event&)>;
using ListenerId = uint64_t;
using SyncCallback = std::function<void(const Result<SyncRunRecord>&)>;

struct NeedToken {
  RequestId id;
  bool refresh;  // the server refused the last token: fetch a fresh one
};
struct StartTransfer {
  OutgoingRequest request;
};
struct AbortTransfer {
  RequestId id;
};
// One event with everyone to tell: waiters whose run ended (with the result),
// then a snapshot of the listeners (so listeners may add or remove some).
struct Delivery {
  std::vector<std::pair<LogLevel, std::string>> log_lines;  // first, to `log`
  std::optional<Event> event;
  std::vector<std::pair<SyncCallback, Result<SyncRunRecord>>> waiters;
  std::vector<EventListener> listeners;
  LogFunction log;
};
using HostTask = std::variant<NeedToken, StartTransfer, AbortTransfer, Delivery>;

// For std::visit over a HostTask with one lambda per task type. The
// deduction guide is for clang 14 (wasm and sanitizer builds).
template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

class EngineHost {
 public:
  // Takes over an opened engine; queues the app-start trigger when the
  // engine syncs on its own (writes or an interval).
  EngineHost(std::unique_ptr<SyncEngine> engine, HostOptions options, Instant now);

  SyncEngine& engine() { return *engine_; }
  const SyncEngine& engine() const { return *engine_; }

  // Starts a sync (or joins the running one); `done` is delivered when a run
  // that covers this request has ended.
  RunTicket RequestSync(TriggerReason reason, Instant now, SyncCallback done,
                        SyncDirection direction = SyncDirection::kBoth);
  // A forced full resync (SyncEngine::HandleResync); `done` as for RequestSync.
  RunTicket RequestResync(Instant now, SyncCallback done);
  ListenerId AddListener(EventListener listener);
  void RemoveListener(ListenerId id);

  // --- Answers from the runtime -------------------------------------------
  // The token for a NeedToken task (empty: none). Unknown ids are ignored
  // (the engine may have given up on the request meanwhile). A token holding
  // a control character (CR, LF, ...) never reaches a header: the request is
  // answered as HandleTokenFailure answers it, with a message that says why.
  void HandleToken(RequestId id, const std::string& token, Instant now);
  // The token source failed (threw, rejected). The request is not sent; the
  // engine sees it refused as a 401 would be: it asks once more for a fresh
  // token, then waits in kAuthError with every write kept. `error` is shown
  // in the run's error, so it must not contain the token.
  void HandleTokenFailure(RequestId id, const std::string& error, Instant now);
  void HandleStreamData(RequestId id, std::string_view bytes, Instant now);
  // The end of any transfer: an answer, a stream's end, or a transport error.
  void HandleTransferDone(RequestId id, const HttpResponse& response, Instant now);

  // Pumps the engine and returns what the runtime must now carry out, in order.
  [[nodiscard]] std::vector<HostTask> TakeTasks();
  // The engine's next deadline (monotonic), if any.
  std::optional<TimeMs> PollTimeout() const { return engine_->PollTimeout(); }

  // The host is closing: the engine is cancelled (writes stay pending) and
  // every waiter hears of a run with outcome kCancelled: the running one, or,
  // for a waiter whose run never started, a record of that run (its ticket
  // as run id, started and finished now, pushing and pulling nothing). A
  // waiter never sees an error for a close: whether its run had started is
  // not something the caller could know or act on.
  [[nodiscard]] std::vector<HostTask> Close(Instant now);

  // Tells waiters and listeners about one Delivery. Catches what they throw
  // (logged, dropped): one bad listener must not stop the others.
  static void Deliver(const Delivery& delivery);

 private:
  void Translate(Action action, std::vector<HostTask>& tasks);
  void Queue(HttpRequest request, bool stream, std::vector<HostTask>& tasks);
  OutgoingRequest Build(const HttpRequest& request, bool stream, const std::string& token) const;
  // The request waiting for a token is not sent; the engine sees a 401 with
  // `message` (which must not contain the token).
  void RefuseTokenStep(RequestId id, const std::string& message, Instant now);
  Delivery MakeDelivery(Event event);
  void LogRunEnd(const SyncRunRecord& run);
  // Log lines wait for the next TakeTasks, so the hook never runs inside a
  // runtime's lock.
  void Log(LogLevel level, std::string message);

  std::unique_ptr<SyncEngine> engine_;
  HostOptions options_;
  std::map<ListenerId, EventListener> listeners_;
  ListenerId next_listener_ = 1;
  struct Waiter {
    RunTicket ticket;
    TriggerReason reason;
    SyncCallback done;
    SyncDirection direction = SyncDirection::kBoth;
  };
  std::vector<Waiter> waiters_;
  // Requests waiting for their token, and open live streams (by id).
  std::map<RequestId, std::pair<HttpRequest, bool>> awaiting_token_;
  std::vector<RequestId> streams_;
  // Built by HandleToken, handed out by the next TakeTasks.
  std::vector<HostTask> ready_;
  std::vector<std::pair<LogLevel, std::string>> log_lines_;
};

}  // namespace ferry
