// The native runtime behind ferry::Client: one owner thread runs the engine,
// the libcurl multi loop and the timers; public calls are posted to it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "ferry/client.h"

#include "ferry/gzip_zlib.h"

namespace ferry {
namespace {

TimeMs WallClockNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The longest the owner thread sleeps without a deadline; bounds how late a
// wakeup could be if one were ever missed.
constexpr TimeMs kIdleWaitMs = 1000;

}  // namespace

class Client::Runtime {
 public:
  Runtime(ClientOptions options, std::unique_ptr<SqliteStore> store,
          std::shared_ptr<Transport> transport)
      : options_(std::move(options)), store_(std::move(store)), transport_(std::move(transport)) {
    while (!options_.endpoint.empty() && options_.endpoint.back() == '/')
      options_.endpoint.pop_back();
  }

  ~Runtime() {
    stopping_ = true;
    transport_->Wakeup();
    if (thread_.joinable()) thread_.join();
    // Nobody may wait forever on a promise the loop will never keep.
    for (auto& [ticket, promise] : waiters_) {
      promise.set_value(Status(ErrorCode::kCancelled, "client closed"));
    }
  }

  Status Start() {
    engine_options_ = options_.engine;
    if (engine_options_.random_seed == 0) {
      std::random_device device;
      engine_options_.random_seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    }
    auto engine = SyncEngine::Open(*store_, engine_options_, WallClockNow());
    FERRY_RETURN_IF_ERROR(engine.status());
    engine_ = std::move(*engine);
    if (engine_options_.sync_on_local_write || engine_options_.interval_ms) {
      (void)engine_->HandleTrigger(TriggerReason::kAppStart, WallClockNow());
    }
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  // Runs `work` under the engine lock on the calling thread, then wakes the
  // owner thread to carry out whatever the engine now wants (requests,
  // events, a new deadline). Running on the caller instead of posting to the
  // owner keeps a durable write at one SQLite commit plus a lock, without a
  // thread hand-off. The lock is recursive so listeners, which run on the
  // owner thread with the lock held, may call back into the Client.
  template <typename Work>
  auto Call(Work work) -> decltype(work()) {
    std::unique_lock lock(mutex_);
    auto result = work();
    if (std::this_thread::get_id() == thread_.get_id()) {
      DrainActions();
    } else {
      lock.unlock();
      transport_->Wakeup();
    }
    return result;
  }

  SyncEngine& engine() { return *engine_; }

  ListenerId AddListener(std::function<void(const Event&)> listener) {
    return Call([&] {
      const ListenerId id = next_listener_++;
      listeners_[id] = std::move(listener);
      return id;
    });
  }

  void RemoveListener(ListenerId id) {
    Call([&] { return listeners_.erase(id); });
  }

  // Registers a waiter for the run covering a new manual trigger.
  std::future<Result<SyncRunRecord>> RequestSync() {
    return Call([&] {
      const RunTicket ticket = engine_->HandleTrigger(TriggerReason::kManual, WallClockNow());
      waiters_.emplace_back(ticket, std::promise<Result<SyncRunRecord>>());
      return waiters_.back().second.get_future();
    });
  }

  SyncStatus CurrentStatus() {
    return Call([&] {
      SyncStatus status = engine_->status();
      if (!reachable_ && status.state == SyncState::kError) status.state = SyncState::kOffline;
      return status;
    });
  }

  void Log(LogLevel level, const std::string& message) {
    if (options_.log) options_.log(level, message);
  }

 private:
  void Loop() {
    while (!stopping_) {
      TimeMs wait = kIdleWaitMs;
      {
        std::lock_guard lock(mutex_);
        if (auto deadline = engine_->PollTimeout(); deadline && *deadline <= WallClockNow()) {
          engine_->HandleTimeout(WallClockNow());
        }
        DrainActions();
        if (auto deadline = engine_->PollTimeout()) {
          wait = std::clamp<TimeMs>(*deadline - WallClockNow(), 0, kIdleWaitMs);
        }
      }
      {
        std::lock_guard lock(mutex_);
        wait = std::min(wait, TendLiveStream());
      }
      // Waits without the lock: API calls proceed meanwhile and wake us.
      std::vector<TransportCompletion> completions = transport_->Wait(wait);
      std::lock_guard lock(mutex_);
      if (live_poked_.exchange(false)) {
        (void)engine_->HandleTrigger(TriggerReason::kPoke, WallClockNow());
        DrainActions();
      }
      for (TransportCompletion& completion : completions) {
        if (completion.id == live_id_) {
          LiveStreamEnded(completion.response);
          continue;
        }
        reachable_ = completion.response.status != 0 || completion.tls_refused;
        if (!reachable_) {
          Log(LogLevel::kWarning, "request failed: " + completion.response.transport_error);
        }
        engine_->HandleResponse(completion.id, completion.response, WallClockNow());
        DrainActions();
      }
    }
  }

  // --- Live updates (owner thread) ----------------------------------------
  // Opens the stream when it is due; returns how long the loop may sleep
  // before the next attempt.
  TimeMs TendLiveStream() {
    if (!options_.live_updates || live_id_ != 0) return kIdleWaitMs;
    const TimeMs now = WallClockNow();
    if (now < live_retry_at_) return live_retry_at_ - now;
    if (!engine_->online()) return kIdleWaitMs;
    TransportRequest request;
    // Ids far above the engine's, which count up from 1.
    live_id_ = request.id = kLiveRequestBase + ++live_attempts_;
    request.method = "GET";
    request.url = options_.endpoint + "/v1/live";
    request.timeout_ms = 0;
    request.headers = {"Accept: text/event-stream", "Ferry-Protocol: 1"};
    if (std::string token = Token(live_failures_ > 0); !token.empty())
      request.headers.push_back("Authorization: Bearer " + token);
    live_buffer_.clear();
    request.on_chunk = [this](std::string_view chunk) { OnLiveChunk(chunk); };
    transport_->Start(std::move(request));
    return kIdleWaitMs;
  }

  // Runs inside transport_->Wait(), without the lock: it only touches the
  // line buffer (owner thread only) and atomics.
  void OnLiveChunk(std::string_view chunk) {
    live_buffer_.append(chunk);
    std::size_t newline;
    while ((newline = live_buffer_.find('\n')) != std::string::npos) {
      std::string_view line(live_buffer_.data(), newline);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      // "hello" on connect (catch up on what was missed), "poke" on changes.
      if (line == "event: hello" || line == "event: poke") live_poked_ = true;
      if (line == "event: hello") live_connected_ = true;
      live_buffer_.erase(0, newline + 1);
    }
    if (live_buffer_.size() > std::size_t{64} * 1024) live_buffer_.clear();  // not an event stream
  }

  void LiveStreamEnded(const HttpResponse& response) {
    live_id_ = 0;
    if (live_connected_.exchange(false)) live_failures_ = 0;  // it worked for a while
    ++live_failures_;
    // Exponential backoff with full jitter, as for sync retries.
    const TimeMs cap = std::min<TimeMs>(options_.live_retry_max_ms,
                                        TimeMs{500} << std::min<uint32_t>(live_failures_, 16));
    live_retry_at_ = WallClockNow() + std::uniform_int_distribution<TimeMs>(cap / 2, cap)(random_);
    Log(LogLevel::kInfo, "live updates stream closed (" +
                             (response.status ? "HTTP " + std::to_string(response.status)
                                              : response.transport_error) +
                             "); reconnecting later");
  }

  std::string Token(bool refresh) {
    if (!options_.token_provider) return {};
    try {
      return options_.token_provider(refresh);
    } catch (...) {
      Log(LogLevel::kError, "the token provider threw; sending the request without a token");
      return {};
    }
  }

  void DrainActions() {
    while (auto action = engine_->PollAction()) {
      if (auto* send = std::get_if<SendRequest>(&*action)) {
        StartRequest(send->request);
      } else if (auto* cancel = std::get_if<CancelRequest>(&*action)) {
        transport_->Cancel(cancel->id);
      } else {
        Dispatch(std::get<Event>(*action));
      }
    }
  }

  void StartRequest(const HttpRequest& request) {
    TransportRequest out;
    out.id = request.id;
    out.method = request.method;
    out.url = options_.endpoint + request.target;
    out.timeout_ms = request.timeout_ms;
    out.headers = {"Accept: application/json", "Ferry-Protocol: 1"};
    if (!request.body.empty()) out.headers.push_back("Content-Type: application/json");
    std::optional<std::string> compressed;
    if (options_.gzip_above_bytes > 0 && request.body.size() > options_.gzip_above_bytes)
      compressed = GzipZlib(request.body);
    if (compressed) {
      out.body = std::move(*compressed);
      out.headers.push_back("Content-Encoding: gzip");
    } else {
      out.body = request.body;  // small, or zlib failed: plain is always acceptable
    }
    if (std::string token = Token(request.refresh_credentials); !token.empty())
      out.headers.push_back("Authorization: Bearer " + token);
    Log(LogLevel::kDebug, request.method + " " + request.target);
    transport_->Start(std::move(out));
  }

  void Dispatch(const Event& event) {
    const SyncRunRecord* finished = nullptr;
    if (auto* completed = std::get_if<SyncCompletedEvent>(&event)) finished = &completed->run;
    if (auto* failed = std::get_if<SyncFailedEvent>(&event)) finished = &failed->run;
    if (finished) {
      Log(finished->outcome == RunOutcome::kCompleted ? LogLevel::kInfo : LogLevel::kWarning,
          "sync run " + std::to_string(finished->run_id) + " " +
              std::string(RunOutcomeName(finished->outcome)) + ": pushed " +
              std::to_string(finished->pushed) + ", pulled " + std::to_string(finished->pulled) +
              (finished->error.empty() ? "" : ", error: " + finished->error));
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (finished->run_id >= it->first) {
          it->second.set_value(*finished);
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    // Listeners may add or remove listeners: iterate over a snapshot.
    std::vector<std::function<void(const Event&)>> snapshot;
    for (auto& [id, listener] : listeners_)
      snapshot.push_back(listener);
    for (auto& listener : snapshot) {
      try {
        listener(event);
      } catch (...) {
        Log(LogLevel::kError, "an event listener threw; the exception was dropped");
      }
    }
  }

  ClientOptions options_;
  EngineOptions engine_options_;
  std::unique_ptr<SqliteStore> store_;
  std::shared_ptr<Transport> transport_;
  std::unique_ptr<SyncEngine> engine_;
  std::thread thread_;

  std::atomic<bool> stopping_{false};
  // Guards the engine and everything below. Recursive: listeners run with it
  // held and may call back into the Client.
  std::recursive_mutex mutex_;
  std::map<ListenerId, std::function<void(const Event&)>> listeners_;
  ListenerId next_listener_ = 1;
  std::vector<std::pair<RunTicket, std::promise<Result<SyncRunRecord>>>> waiters_;
  bool reachable_ = true;

  static constexpr RequestId kLiveRequestBase = RequestId{1} << 62;
  RequestId live_id_ = 0;  // the open /v1/live request, 0 when none
  uint64_t live_attempts_ = 0;
  uint32_t live_failures_ = 0;
  TimeMs live_retry_at_ = 0;
  std::string live_buffer_;
  std::atomic<bool> live_poked_{false};
  std::atomic<bool> live_connected_{false};
  std::mt19937_64 random_{std::random_device{}()};
};

Result<std::unique_ptr<Client>> Client::Open(ClientOptions options) {
  if (options.endpoint.empty())
    return Status(ErrorCode::kInvalidArgument, "an endpoint is required");
  if (options.path.empty()) return Status(ErrorCode::kInvalidArgument, "a store path is required");
  FERRY_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(options.path, options.store));
  std::shared_ptr<Transport> transport = options.custom_transport;
  if (!transport) {
    FERRY_ASSIGN_OR_RETURN(transport, CurlTransport::Create(options.transport));
  }
  auto runtime =
      std::make_unique<Runtime>(std::move(options), std::move(store), std::move(transport));
  FERRY_RETURN_IF_ERROR(runtime->Start());
  return std::unique_ptr<Client>(new Client(std::move(runtime)));
}

Client::Client(std::unique_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}
Client::~Client() = default;

Status Client::Put(std::string collection, std::string key, Json value) {
  return runtime_->Call([&] {
    return runtime_->engine()
        .HandleLocalWrite(MutationOp::kPut, {std::move(collection), std::move(key)}, value,
                          WallClockNow())
        .status();
  });
}

Status Client::Patch(std::string collection, std::string key, Json merge_patch) {
  return runtime_->Call([&] {
    return runtime_->engine()
        .HandleLocalWrite(MutationOp::kPatch, {std::move(collection), std::move(key)}, merge_patch,
                          WallClockNow())
        .status();
  });
}

Status Client::Remove(std::string collection, std::string key) {
  return runtime_->Call([&] {
    return runtime_->engine()
        .HandleLocalWrite(MutationOp::kDelete, {std::move(collection), std::move(key)}, Json(),
                          WallClockNow())
        .status();
  });
}

Status Client::Write(std::vector<LocalWrite> writes) {
  return runtime_->Call(
      [&] { return runtime_->engine().HandleLocalWrites(writes, WallClockNow()).status(); });
}

Result<std::optional<Json>> Client::Get(std::string collection, std::string key) {
  return runtime_->Call([&] {
    return runtime_->engine().Get({std::move(collection), std::move(key)});
  });
}

Result<std::vector<std::pair<std::string, Json>>> Client::Scan(std::string collection,
                                                               std::string key_prefix,
                                                               std::size_t limit) {
  return runtime_->Call([&] { return runtime_->engine().Scan(collection, key_prefix, limit); });
}

Client::ListenerId Client::Subscribe(std::function<void(const DocumentsChangedEvent&)> listener) {
  return runtime_->AddListener([listener = std::move(listener)](const Event& event) {
    if (auto* changed = std::get_if<DocumentsChangedEvent>(&event)) listener(*changed);
  });
}

Client::ListenerId Client::AddEventListener(std::function<void(const Event&)> listener) {
  return runtime_->AddListener(std::move(listener));
}

void Client::RemoveListener(ListenerId id) {
  runtime_->RemoveListener(id);
}

Result<SyncRunRecord> Client::SyncNow() {
  return runtime_->RequestSync().get();
}

void Client::StartBackgroundSync(TimeMs interval_ms) {
  runtime_->Call([&] {
    runtime_->engine().SetInterval(interval_ms, WallClockNow());
    return 0;
  });
}

void Client::StopBackgroundSync() {
  runtime_->Call([&] {
    runtime_->engine().SetInterval(std::nullopt, WallClockNow());
    return 0;
  });
}

void Client::SetOnline(bool online) {
  runtime_->Call([&] {
    runtime_->engine().HandleOnline(online, WallClockNow());
    return 0;
  });
}

void Client::Cancel() {
  runtime_->Call([&] {
    runtime_->engine().Cancel(WallClockNow());
    return 0;
  });
}

SyncStatus Client::status() {
  return runtime_->CurrentStatus();
}

SyncStatistics Client::statistics() {
  return runtime_->Call([&] { return runtime_->engine().statistics(); });
}

Result<std::vector<SyncRunRecord>> Client::History(std::size_t limit) {
  return runtime_->Call([&] { return runtime_->engine().History(limit); });
}

Result<std::vector<OutboxEntry>> Client::FailedMutations() {
  return runtime_->Call([&] { return runtime_->engine().FailedMutations(); });
}

Result<uint64_t> Client::RetryFailedMutation(uint64_t seq) {
  return runtime_->Call(
      [&] { return runtime_->engine().RetryFailedMutation(seq, WallClockNow()); });
}

Status Client::DiscardFailedMutation(uint64_t seq) {
  return runtime_->Call(
      [&] { return runtime_->engine().DiscardFailedMutation(seq, WallClockNow()); });
}

std::string Client::client_id() {
  return runtime_->Call([&] { return runtime_->engine().client_id(); });
}

Status Client::DeleteLocalData(const std::string& path) {
  return SqliteStore::Destroy(path);
}

}  // namespace ferry
