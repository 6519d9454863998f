#include "ferry/engine_host.h"

#include <algorithm>
#include <cctype>

#include "ascii_lowercase.h"

namespace ferry {
namespace {

constexpr std::string_view kContentEncoding = "Content-Encoding";

// A header value ends at CR or LF, so a token holding one would let whoever
// supplies it add headers (or a whole request) of its own; the other control
// characters are refused by HTTP stacks anyway (fetch throws, servers answer
// 400), which would look like a network fault retried forever.
bool HoldsControlCharacter(std::string_view token) {
  return std::any_of(token.begin(), token.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
  });
}

// The host of an http:// URL (lowercase, IPv6 in brackets); nullopt for any
// other scheme.
std::optional<std::string> CleartextHost(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || AsciiLowercase(url.substr(0, kScheme.size())) != kScheme) {
    return std::nullopt;
  }
  std::string_view authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // user:password@
  }
  const std::size_t host_end =
      authority.starts_with('[') ? authority.find(']') + 1 : authority.find(':');
  return AsciiLowercase(authority.substr(0, host_end));
}

// Loopback traffic never leaves the machine, so plain HTTP there (a
// development server) puts no token or data on a network.
bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host.ends_with(".localhost") || host == "[::1]") return true;
  return host.starts_with("127.") &&
         std::all_of(host.begin(), host.end(), [](char c) { return c == '.' || std::isdigit(c); });
}

}  // namespace

std::optional<std::string> CleartextEndpointWarning(std::string_view endpoint) {
  const std::optional<std::string> host = CleartextHost(endpoint);
  if (!host || IsLoopbackHost(*host)) return std::nullopt;
  // The host only: a URL may carry a user and password.
  return "the endpoint is plain http:// to " + *host +
         ", which is not loopback: tokens and data cross the network unencrypted; use https://";
}

namespace {

const SyncRunRecord* FinishedRun(const Event& event) {
  if (auto* completed = std::get_if<SyncCompletedEvent>(&event)) return &completed->run;
  if (auto* failed = std::get_if<SyncFailedEvent>(&event)) return &failed->run;
  return nullptr;
}

}  // namespace

void OutgoingRequest::SendUncompressed() {
  gzip_body = false;
  std::erase_if(headers, [](const auto& header) { return header.first == kContentEncoding; });
}

EngineHost::EngineHost(std::unique_ptr<SyncEngine> engine, HostOptions options, Instant now)
    : engine_(std::move(engine)), options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/')
    options_.endpoint.pop_back();
  // Once per host, so once per client.
  if (auto warning = CleartextEndpointWarning(options_.endpoint))
    Log(LogLevel::kWarning, std::move(*warning));
  // An app that syncs on its own catches up on what changed while it was
  // closed; one that only syncs by hand is left alone until asked.
  if (engine_->options().sync_on_local_write || engine_->options().interval_ms)
    (void)engine_->HandleTrigger(TriggerReason::kAppStart, now);
}

RunTicket EngineHost::RequestSync(TriggerReason reason, Instant now, SyncCallback done,
                                  SyncDirection direction) {
  const RunTicket ticket = engine_->HandleTrigger(reason, now, direction);
  if (done) waiters_.push_back({ticket, reason, std::move(done), direction});
  return ticket;
}

RunTicket EngineHost::RequestResync(Instant now, SyncCallback done) {
  const RunTicket ticket = engine_->HandleResync(now);
  if (done) waiters_.push_back({ticket, TriggerReason::kManual, std::move(done)});
  return ticket;
}

ListenerId EngineHost::AddListener(EventListener listener) {
  const ListenerId id = next_listener_++;
  listeners_[id] = std::move(listener);
  return id;
}

void EngineHost::RemoveListener(ListenerId id) {
  listeners_.erase(id);
}

void EngineHost::HandleToken(RequestId id, const std::string& token, Instant now) {
  auto found = awaiting_token_.find(id);
  if (found == awaiting_token_.end()) return;
  if (HoldsControlCharacter(token)) {
    // Named without the token: the message reaches logs and the run's error.
    return RefuseTokenStep(
        id,
        "the token provider returned a token holding a control character "
        "(CR, LF or another), which cannot go into an HTTP header; it was not sent",
        now);
  }
  auto [request, stream] = std::move(found->second);
  awaiting_token_.erase(found);
  ready_.push_back(StartTransfer{Build(request, stream, token)});
}

void EngineHost::HandleTokenFailure(RequestId id, const std::string& error, Instant now) {
  if (awaiting_token_.count(id) == 0) return;
  RefuseTokenStep(id, "the token provider failed: " + error, now);
}

void EngineHost::RefuseTokenStep(RequestId id, const std::string& message, Instant now) {
  awaiting_token_.erase(id);
  Log(LogLevel::kError, message);
  const Json body = {{"error", {{"code", "unauthenticated"}, {"message", message}}}};
  HandleTransferDone(id, {401, DumpJson(body), "", ""}, now);
}

void EngineHost::HandleStreamData(RequestId id, std::string_view bytes, Instant now) {
  engine_->HandleStreamData(id, bytes, now);
}

void EngineHost::HandleTransferDone(RequestId id, const HttpResponse& response, Instant now) {
  if (auto stream = std::find(streams_.begin(), streams_.end(), id); stream != streams_.end()) {
    streams_.erase(stream);
    Log(LogLevel::kInfo, "live updates stream closed (" +
                             (response.status ? "HTTP " + std::to_string(response.status)
                                              : response.transport_error) +
                             "); reconnecting later");
    engine_->HandleStreamEnd(id, response, now);
    return;
  }
  if (response.status == 0) Log(LogLevel::kWarning, "request failed: " + response.transport_error);
  engine_->HandleResponse(id, response, now);
}

std::vector<HostTask> EngineHost::TakeTasks() {
  std::vector<HostTask> tasks = std::move(ready_);
  ready_.clear();
  while (auto action = engine_->PollAction())
    Translate(std::move(*action), tasks);
  if (!log_lines_.empty()) {
    Delivery lines;
    lines.log_lines = std::move(log_lines_);
    log_lines_.clear();
    lines.log = options_.log;
    tasks.insert(tasks.begin(), std::move(lines));
  }
  return tasks;
}

std::vector<HostTask> EngineHost::Close(Instant now) {
  engine_->Cancel(now);
  std::vector<HostTask> tasks = TakeTasks();  // tells the waiters of the running run
  Delivery closing;
  for (Waiter& waiter : waiters_) {
    SyncRunRecord never_started;
    never_started.run_id = waiter.ticket;
    never_started.reason = waiter.reason;
    never_started.direction = waiter.direction;
    never_started.started_at = never_started.finished_at = now.wall;
    never_started.outcome = RunOutcome::kCancelled;
    never_started.error = "the client was closed before this sync started";
    closing.waiters.emplace_back(std::move(waiter.done), std::move(never_started));
  }
  waiters_.clear();
  closing.log = options_.log;
  tasks.push_back(std::move(closing));
  return tasks;
}

void EngineHost::Translate(Action action, std::vector<HostTask>& tasks) {
  if (auto* send = std::get_if<SendRequest>(&action)) {
    Queue(std::move(send->request), /*stream=*/false, tasks);
  } else if (auto* open = std::get_if<OpenStream>(&action)) {
    streams_.push_back(open->request.id);
    Queue(std::move(open->request), /*stream=*/true, tasks);
  } else if (auto* cancel = std::get_if<CancelRequest>(&action)) {
    awaiting_token_.erase(cancel->id);
    tasks.push_back(AbortTransfer{cancel->id});
  } else if (auto* close = std::get_if<CloseStream>(&action)) {
    awaiting_token_.erase(close->id);
    std::erase(streams_, close->id);
    tasks.push_back(AbortTransfer{close->id});
  } else {
    tasks.push_back(MakeDelivery(std::get<Event>(std::move(action))));
  }
}

void EngineHost::Queue(HttpRequest request, bool stream, std::vector<HostTask>& tasks) {
  Log(LogLevel::kDebug, request.method + " " + request.target);
  if (!options_.has_token_provider) {
    tasks.push_back(StartTransfer{Build(request, stream, "")});
    return;
  }
  const RequestId id = request.id;
  const bool refresh = request.refresh_credentials;
  awaiting_token_.emplace(id, std::make_pair(std::move(request), stream));
  tasks.push_back(NeedToken{id, refresh});
}

OutgoingRequest EngineHost::Build(const HttpRequest& request, bool stream,
                                  const std::string& token) const {
  OutgoingRequest out;
  out.id = request.id;
  out.method = request.method;
  out.url = options_.endpoint + request.target;
  out.timeout_ms = request.timeout_ms;
  out.stream = stream;
  out.headers = {{"Accept", stream ? "text/event-stream" : "application/json"},
                 {"Ferry-Protocol", "1"}};
  if (!request.body.empty()) out.headers.emplace_back("Content-Type", "application/json");
  if (options_.can_gzip && options_.gzip_above_bytes > 0 &&
      request.body.size() > options_.gzip_above_bytes) {
    out.gzip_body = true;
    out.headers.emplace_back(kContentEncoding, "gzip");
  }
  if (!token.empty()) out.headers.emplace_back("Authorization", "Bearer " + token);
  // CheckCustomHeaders kept out every header written above.
  out.headers.insert(out.headers.end(), options_.headers.begin(), options_.headers.end());
  out.body = request.body;
  return out;
}

Delivery EngineHost::MakeDelivery(Event event) {
  Delivery delivery;
  if (const SyncRunRecord* run = FinishedRun(event)) {
    LogRunEnd(*run);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (run->run_id >= it->ticket) {
        delivery.waiters.emplace_back(std::move(it->done), *run);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& [id, listener] : listeners_)
    delivery.listeners.push_back(listener);
  delivery.event = std::move(event);
  delivery.log = options_.log;
  return delivery;
}

void EngineHost::Log(LogLevel level, std::string message) {
  if (options_.log) log_lines_.emplace_back(level, std::move(message));
}

void EngineHost::LogRunEnd(const SyncRunRecord& run) {
  Log(run.outcome == RunOutcome::kCompleted ? LogLevel::kInfo : LogLevel::kWarning,
      "sync run " + std::to_string(run.run_id) + " " + std::string(RunOutcomeName(run.outcome)) +
          ": pushed " + std::to_string(run.pushed) + ", pulled " + std::to_string(run.pulled) +
          (run.error.empty() ? "" : ", error: " + run.error));
}

void EngineHost::Deliver(const Delivery& delivery) {
  if (delivery.log) {
    for (const auto& [level, line] : delivery.log_lines)
      delivery.log(level, line);
  }
  const auto guarded = [&delivery](const char* what, const auto& call) {
    try {
      call();
    } catch (...) {
      if (delivery.log)
        delivery.log(LogLevel::kError, std::string(what) + " threw; the exception was dropped");
    }
  };
  // Not a structured binding: clang 14 (the wasm and sanitizer builds)
  // cannot capture one in a lambda.
  for (const auto& waiter : delivery.waiters)
    guarded("a sync completion callback", [&] { waiter.first(waiter.second); });
  if (!delivery.event) return;
  for (const EventListener& listener : delivery.listeners)
    guarded("an event listener", [&] { listener(*delivery.event); });
}

}  // namespace ferry
