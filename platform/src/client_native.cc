// The native runtime behind ferry::Client: API calls run the engine on the
// caller's thread under the engine lock; one owner thread carries out what
// the shared EngineHost asks for (tokens, transfers, deliveries) without the
// lock, waits on the transport and fires deadlines.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "ferry/client.h"

#include "ferry/gzip_zlib.h"

namespace ferry {
namespace {

// Deadlines run on steady_clock, which never steps; the HLC and the times
// shown to users take the wall clock.
Instant Now() {
  const auto since_epoch = [](auto clock_now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_now.time_since_epoch())
        .count();
  };
  return {since_epoch(std::chrono::steady_clock::now()),
          since_epoch(std::chrono::system_clock::now())};
}

// The longest the owner thread sleeps without a deadline; bounds how late a
// wakeup could be if one were ever missed.
constexpr TimeMs kIdleWaitMs = 1000;

}  // namespace

class Client::Runtime : public std::enable_shared_from_this<Client::Runtime> {
 public:
  Runtime(ClientOptions options, std::unique_ptr<SqliteStore> store,
          std::shared_ptr<Transport> transport)
      : options_(std::move(options)), store_(std::move(store)), transport_(std::move(transport)) {}

  ~Runtime() {
    // Normally Stop() joined the thread; when the Client was destroyed from
    // one of its callbacks the owner thread itself drops the last reference.
    if (thread_.joinable()) thread_.detach();
  }

  Status Start() {
    EngineOptions engine_options = options_.engine;
    if (engine_options.random_seed == 0) {
      std::random_device device;
      engine_options.random_seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    }
    const Instant now = Now();
    FERRY_ASSIGN_OR_RETURN(auto engine, SyncEngine::Open(*store_, engine_options, now));
    HostOptions host;
    host.endpoint = options_.endpoint;
    host.has_token_provider = static_cast<bool>(options_.token_provider);
    host.gzip_above_bytes = options_.gzip_above_bytes;
    host.headers = options_.headers;
    host.log = options_.log;
    host_ = std::make_unique<EngineHost>(std::move(engine), std::move(host), now);
    thread_ = std::thread([self = shared_from_this()] { self->Loop(); });
    return Status::Ok();
  }

  // Ends the owner thread (or, from inside a callback, asks it to end after
  // the callback) and tells SyncNow waiters that the client closed.
  void Stop() {
    stopping_ = true;
    std::vector<HostTask> closing;
    {
      std::lock_guard lock(mutex_);
      closing = host_->Close(Now());
    }
    transport_->Wakeup();
    if (OnOwnerThread()) {
      thread_.detach();
    } else if (thread_.joinable()) {
      thread_.join();
    }
    // Only the waiters hear of the closing; listeners hear nothing more.
    for (HostTask& task : closing) {
      if (auto* delivery = std::get_if<Delivery>(&task)) {
        delivery->listeners.clear();
        EngineHost::Deliver(*delivery);
      }
    }
  }

  bool OnOwnerThread() const { return std::this_thread::get_id() == thread_.get_id(); }

  // See Client::FlushEvents. A fence registered now is released by the owner
  // thread after its next CarryOut, which drains every task queued before.
  bool FlushEvents() {
    if (OnOwnerThread()) return false;
    std::promise<void> delivered;
    std::future<void> done = delivered.get_future();
    {
      std::lock_guard lock(mutex_);
      if (loop_ended_) return true;  // nothing will be delivered any more
      fences_.push_back(std::move(delivered));
    }
    transport_->Wakeup();
    done.wait();
    return true;
  }

  // Runs `work` with the host under the engine lock on the calling thread,
  // then wakes the owner thread to carry out what the engine now wants.
  // The runtime outlives the call: a listener may destroy the Client while
  // this thread is still in here (after the work, before the wakeup), and the
  // owner thread would then drop the last reference.
  template <typename Work>
  auto Call(Work work) -> decltype(work(std::declval<EngineHost&>())) {
    const std::shared_ptr<Runtime> keep_alive = shared_from_this();
    std::unique_lock lock(mutex_);
    auto result = work(*host_);
    lock.unlock();
    transport_->Wakeup();
    return result;
  }

 private:
  void Loop() {
    while (!stopping_) {
      TimeMs wait = kIdleWaitMs;
      std::vector<std::promise<void>> fences;
      {
        std::lock_guard lock(mutex_);
        fences.swap(fences_);
        const Instant now = Now();
        if (auto deadline = host_->PollTimeout(); deadline && *deadline <= now.monotonic)
          host_->engine().HandleTimeout(now);
      }
      CarryOut();
      ReleaseFences(fences);
      {
        std::lock_guard lock(mutex_);
        if (auto deadline = host_->PollTimeout())
          wait = std::clamp<TimeMs>(*deadline - Now().monotonic, 0, kIdleWaitMs);
      }
      // Waits without the lock: API calls proceed meanwhile and wake us.
      std::vector<TransportCompletion> completions = transport_->Wait(wait);
      {
        std::lock_guard lock(mutex_);
        for (TransportCompletion& completion : completions)
          host_->HandleTransferDone(completion.id, completion.response, Now());
      }
      // Requests the answers led to start before the engine's timers run: the
      // engine sends the next push and commits the last answer on a timer due
      // at once, so the server works on that push meanwhile.
      CarryOut();
    }
    // Closing: whoever waits on a fence hears nothing more, so release it.
    std::vector<std::promise<void>> fences;
    {
      std::lock_guard lock(mutex_);
      loop_ended_ = true;
      fences.swap(fences_);
    }
    ReleaseFences(fences);
  }

  static void ReleaseFences(std::vector<std::promise<void>>& fences) {
    for (std::promise<void>& fence : fences)
      fence.set_value();
  }

  // Carries out the host's tasks until it has none: without the lock, so
  // callbacks may call back into the Client and a slow token provider does
  // not hold up writers.
  void CarryOut() {
    for (;;) {
      std::vector<HostTask> tasks;
      {
        std::lock_guard lock(mutex_);
        tasks = host_->TakeTasks();
      }
      if (tasks.empty()) return;
      for (HostTask& task : tasks) {
        if (stopping_) return;
        std::visit(Overloaded{
                       [this](NeedToken& need) { FetchToken(need); },
                       [this](StartTransfer& start) { Start(std::move(start.request)); },
                       [this](AbortTransfer& abort) { transport_->Cancel(abort.id); },
                       [](Delivery& delivery) { EngineHost::Deliver(delivery); },
                   },
                   task);
      }
    }
  }

  void Start(OutgoingRequest request) {
    if (request.gzip_body) {
      if (std::optional<std::string> compressed = GzipZlib(request.body)) {
        request.body = std::move(*compressed);
      } else {
        request.SendUncompressed();  // zlib failed: plain is always acceptable
      }
    }
    TransportRequest out;
    out.id = request.id;
    out.method = std::move(request.method);
    out.url = std::move(request.url);
    out.body = std::move(request.body);
    out.timeout_ms = request.timeout_ms;
    for (auto& [name, value] : request.headers)
      out.headers.push_back(std::move(name.append(": ").append(value)));
    if (request.stream) {
      // Called inside transport_->Wait() on this thread, which holds no lock.
      out.on_chunk = [this, id = request.id](std::string_view chunk) {
        std::lock_guard lock(mutex_);
        host_->HandleStreamData(id, chunk, Now());
      };
    }
    transport_->Start(std::move(out));
  }

  // Runs the app's token provider without the lock: a slow one delays this
  // request, never a writer.
  void FetchToken(const NeedToken& need) {
    std::optional<std::string> token;
    std::string error;
    try {
      token = options_.token_provider(need.refresh);
    } catch (const std::exception& thrown) {
      error = thrown.what();
    } catch (...) {
      error = "an exception that is not a std::exception";
    }
    std::lock_guard lock(mutex_);
    if (token) {
      host_->HandleToken(need.id, *token, Now());
    } else {
      host_->HandleTokenFailure(need.id, error, Now());
    }
  }

  ClientOptions options_;
  std::unique_ptr<SqliteStore> store_;
  std::shared_ptr<Transport> transport_;
  std::unique_ptr<EngineHost> host_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  // Guards host_ (and through it the engine and the store), fences_ and
  // loop_ended_.
  std::mutex mutex_;
  // FlushEvents callers waiting for the owner thread's next CarryOut.
  std::vector<std::promise<void>> fences_;
  bool loop_ended_ = false;
};

Result<std::unique_ptr<Client>> Client::Open(ClientOptions options) {
  if (options.endpoint.empty())
    return Status(ErrorCode::kInvalidArgument, "an endpoint is required");
  if (options.path.empty()) return Status(ErrorCode::kInvalidArgument, "a store path is required");
  FERRY_RETURN_IF_ERROR(
      CheckCustomHeaders(options.headers, static_cast<bool>(options.token_provider)));
  FERRY_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(options.path, options.store));
  std::shared_ptr<Transport> transport = options.custom_transport;
  if (!transport) {
    FERRY_ASSIGN_OR_RETURN(transport, CurlTransport::Create(options.transport));
  }
  auto runtime =
      std::make_shared<Runtime>(std::move(options), std::move(store), std::move(transport));
  FERRY_RETURN_IF_ERROR(runtime->Start());
  return std::unique_ptr<Client>(new Client(std::move(runtime)));
}

Client::Client(std::shared_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}

Client::~Client() {
  runtime_->Stop();
}

namespace {

// The Client's write methods share one shape: one engine write, its status.
Status WriteOne(EngineHost& host, MutationOp op, std::string collection, std::string key,
                const Json& value) {
  return host.engine()
      .HandleLocalWrite(op, {std::move(collection), std::move(key)}, value, Now())
      .status();
}

}  // namespace

Status Client::Put(std::string collection, std::string key, Json value) {
  return runtime_->Call([&](EngineHost& host) {
    return WriteOne(host, MutationOp::kPut, std::move(collection), std::move(key), value);
  });
}

Status Client::Patch(std::string collection, std::string key, Json merge_patch) {
  return runtime_->Call([&](EngineHost& host) {
    return WriteOne(host, MutationOp::kPatch, std::move(collection), std::move(key), merge_patch);
  });
}

Status Client::Remove(std::string collection, std::string key) {
  return runtime_->Call([&](EngineHost& host) {
    return WriteOne(host, MutationOp::kDelete, std::move(collection), std::move(key), Json());
  });
}

Status Client::Write(std::vector<LocalWrite> writes) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().HandleLocalWrites(writes, Now()).status(); });
}

Result<std::optional<Json>> Client::Get(std::string collection, std::string key) {
  return runtime_->Call([&](EngineHost& host) {
    return host.engine().Get({std::move(collection), std::move(key)});
  });
}

Result<std::vector<std::pair<std::string, Json>>> Client::Scan(std::string collection,
                                                               std::string key_prefix,
                                                               std::size_t limit) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().Scan(collection, key_prefix, limit); });
}

Result<QueryPage> Client::RunQuery(const Query& query) {
  return runtime_->Call([&](EngineHost& host) { return host.engine().RunQuery(query); });
}

Result<std::size_t> Client::CountQuery(const Query& query) {
  return runtime_->Call([&](EngineHost& host) { return host.engine().CountQuery(query); });
}

Result<Json> Client::ExplainQuery(const Query& query) {
  return runtime_->Call(
      [&](EngineHost& host) -> Result<Json> { return host.engine().ExplainQuery(query); });
}

Status Client::SubscribeQuery(uint64_t id, const Query& query) {
  return runtime_->Call([&](EngineHost& host) { return host.engine().SubscribeQuery(id, query); });
}

Status Client::UnsubscribeQuery(uint64_t id) {
  return runtime_->Call([&](EngineHost& host) {
    return host.engine().UnsubscribeQuery(id)
               ? Status::Ok()
               : Status(ErrorCode::kNotFound, "no live query " + std::to_string(id));
  });
}

Client::ListenerId Client::Subscribe(std::function<void(const DocumentsChangedEvent&)> listener) {
  return AddEventListener([listener = std::move(listener)](const Event& event) {
    if (auto* changed = std::get_if<DocumentsChangedEvent>(&event)) listener(*changed);
  });
}

Client::ListenerId Client::AddEventListener(std::function<void(const Event&)> listener) {
  return runtime_->Call([&](EngineHost& host) { return host.AddListener(std::move(listener)); });
}

void Client::RemoveListener(ListenerId id) {
  runtime_->Call([&](EngineHost& host) {
    host.RemoveListener(id);
    return 0;
  });
}

Result<SyncRunRecord> Client::WaitForRun(std::string_view operation,
                                         const std::function<void(SyncCallback)>& start) {
  if (runtime_->OnOwnerThread()) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(operation) +
                      "() from a Ferry callback would wait on the thread that carries out the "
                      "sync; use " +
                      std::string(operation) + "(callback) there");
  }
  auto promise = std::make_shared<std::promise<Result<SyncRunRecord>>>();
  std::future<Result<SyncRunRecord>> result = promise->get_future();
  start([promise](const Result<SyncRunRecord>& run) { promise->set_value(run); });
  return result.get();
}

Result<SyncRunRecord> Client::SyncNow(SyncDirection direction) {
  return WaitForRun("SyncNow", [&](SyncCallback done) { SyncNow(std::move(done), direction); });
}

void Client::SyncNow(SyncCallback done, SyncDirection direction) {
  runtime_->Call([&](EngineHost& host) {
    return host.RequestSync(TriggerReason::kManual, Now(), std::move(done), direction);
  });
}

Result<SyncRunRecord> Client::Resync() {
  return WaitForRun("Resync", [&](SyncCallback done) { Resync(std::move(done)); });
}

void Client::Resync(SyncCallback done) {
  runtime_->Call([&](EngineHost& host) { return host.RequestResync(Now(), std::move(done)); });
}

void Client::StartBackgroundSync(TimeMs interval_ms) {
  runtime_->Call([&](EngineHost& host) {
    host.engine().SetInterval(interval_ms, Now());
    return 0;
  });
}

void Client::StopBackgroundSync() {
  runtime_->Call([&](EngineHost& host) {
    host.engine().SetInterval(std::nullopt, Now());
    return 0;
  });
}

void Client::SetOnline(bool online) {
  runtime_->Call([&](EngineHost& host) {
    host.engine().HandleOnline(online, Now());
    return 0;
  });
}

void Client::NetworkChanged() {
  runtime_->Call([&](EngineHost& host) {
    host.engine().HandleNetworkChanged(Now());
    return 0;
  });
}

void Client::SetMetered(bool metered) {
  runtime_->Call([&](EngineHost& host) {
    host.engine().HandleMetered(metered, Now());
    return 0;
  });
}

void Client::Cancel() {
  runtime_->Call([&](EngineHost& host) {
    host.engine().Cancel(Now());
    return 0;
  });
}

SyncStatus Client::status() {
  return runtime_->Call([&](EngineHost& host) { return host.engine().status(); });
}

SyncStatistics Client::statistics() {
  return runtime_->Call([&](EngineHost& host) { return host.engine().statistics(); });
}

Result<std::vector<SyncRunRecord>> Client::History(std::size_t limit) {
  return runtime_->Call([&](EngineHost& host) { return host.engine().History(limit); });
}

Result<std::vector<OutboxEntry>> Client::FailedMutations() {
  return runtime_->Call([&](EngineHost& host) { return host.engine().FailedMutations(); });
}

Result<uint64_t> Client::RetryFailedMutation(uint64_t seq) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().RetryFailedMutation(seq, Now()); });
}

Status Client::DiscardFailedMutation(uint64_t seq) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().DiscardFailedMutation(seq, Now()); });
}

Result<ClientReport> Client::Report(std::size_t history_limit) {
  return runtime_->Call([&](EngineHost& host) -> Result<ClientReport> {
    ClientReport report;
    report.status = host.engine().status();
    report.statistics = host.engine().statistics();
    FERRY_ASSIGN_OR_RETURN(report.history, host.engine().History(history_limit));
    FERRY_ASSIGN_OR_RETURN(report.failed_mutations, host.engine().FailedMutations());
    return report;
  });
}

bool Client::FlushEvents() {
  return runtime_->FlushEvents();
}

std::string Client::client_id() {
  return runtime_->Call([&](EngineHost& host) { return host.engine().client_id(); });
}

Result<std::vector<OutboxEntry>> Client::PendingMutations(uint64_t after_seq, std::size_t limit) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().PendingMutations(after_seq, limit); });
}

Status Client::ClearHistory(bool keep_latest) {
  return runtime_->Call([&](EngineHost& host) { return host.engine().ClearHistory(keep_latest); });
}

Result<std::vector<ConflictLogEntry>> Client::ConflictLog(uint64_t after_id, std::size_t limit) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().ConflictLog(after_id, limit); });
}

Status Client::ClearConflictLog() {
  return runtime_->Call([&](EngineHost& host) { return host.engine().ClearConflictLog(); });
}

Result<std::vector<OpenConflict>> Client::Conflicts() {
  return runtime_->Call([&](EngineHost& host) { return host.engine().Conflicts(); });
}

Status Client::ResolveConflict(std::string collection, std::string key,
                               const std::optional<Json>& value) {
  return runtime_->Call([&](EngineHost& host) {
    return host.engine().ResolveConflict({std::move(collection), std::move(key)}, value, Now());
  });
}

Result<std::size_t> Client::Evict(const std::string& collection,
                                  const std::optional<std::vector<std::string>>& keys) {
  return runtime_->Call(
      [&](EngineHost& host) { return host.engine().HandleEvict(collection, keys, Now()); });
}

Status Client::DeleteLocalData(const std::string& path) {
  return SqliteStore::Destroy(path);
}

}  // namespace ferry
