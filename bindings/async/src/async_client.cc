// See async_client.h. The State is shared by the AsyncClient (JS thread),
// the worker's jobs, the closures queued for the JS thread and, as raw
// user_data, the C callbacks: the worker's close job holds it until
// ferry_client_close has returned, after which no C callback runs.
#include "ferry/async_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "answer_gate.h"
#include "fifo_worker.h"

namespace ferry::async {
namespace {

ferry_slice Slice(const std::string& text) {
  return {text.data(), text.size()};
}

// A C call's outcome; `error` is cleared.
Result FromC(ferry_result code, ferry_error& error) {
  Result result;
  result.code = code;
  if (code != FERRY_OK && error.message != nullptr) result.message = error.message;
  if (code != FERRY_OK && result.message.empty()) result.message = ferry_result_name(code);
  ferry_error_clear(&error);
  return result;
}

// Moves a returned buffer into the result's text (a NULL buffer: no text).
void TakeText(ferry_buffer& buffer, Result& result) {
  if (buffer.data != nullptr) {
    result.text.assign(buffer.data, buffer.size);
    result.has_text = true;
  }
  ferry_buffer_release(&buffer);
}

}  // namespace

struct AsyncClient::State : std::enable_shared_from_this<AsyncClient::State> {
  State(Deliver deliver_to_js, Callbacks js_callbacks)
      : deliver(std::move(deliver_to_js)),
        callbacks(std::move(js_callbacks)),
        has_token(static_cast<bool>(callbacks.get_token)),
        has_resolver(static_cast<bool>(callbacks.resolve_conflict)),
        has_hook(static_cast<bool>(callbacks.hook)),
        has_log(static_cast<bool>(callbacks.log)) {}

  // --- Toward the JS thread ------------------------------------------------
  // An event or a question for the JS side: nothing once the client closed.
  void Emit(std::function<void()> work) {
    if (events_ended) return;
    Queue(std::move(work));
  }
  // A call's result: always (a call made after Close still settles). `done`
  // is moved along, never copied, so that it is destroyed on the JS thread.
  void Complete(Completion done, Result result) {
    Queue([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }
  void Queue(std::function<void()> work) {
    deliver([self = shared_from_this(), work = std::move(work)] {
      if (!self->detached) work();
    });
  }

  // Runs `call` on the worker and delivers its result; with `flush`, after
  // the events the call caused.
  void Run(Completion done, std::function<Result(ferry_client*)> call, bool flush = true) {
    worker.Post([self = shared_from_this(), done = std::move(done), call = std::move(call),
                 flush]() mutable {
      ferry_client* handle = self->client.load();
      Result result = call(handle);
      if (flush) ferry_client_flush_events(handle, nullptr);
      self->Complete(std::move(done), std::move(result));
    });
  }

  // Starts a run on the worker with `start` (a ferry_client_*_async call
  // given OnSynced's waiter); its run or its refusal settles `done`.
  using StartRunCall = std::function<ferry_result(ferry_client*, void* waiter, ferry_error*)>;
  void StartRun(Completion done, StartRunCall start);

  Result OpenOnWorker(const OpenOptions& options);
  void CloseOnWorker(Completion done);
  std::chrono::milliseconds AnswerDeadline(const OpenOptions& options) const;

  // --- The C callbacks (owner thread unless said otherwise) ----------------
  static void OnEvent(void* user_data, const char* json, size_t size);
  static void OnLog(void* user_data, ferry_log_level level, const char* message, size_t size);
  static size_t OnToken(void* user_data, bool refresh, char* buffer, size_t capacity);
  static void OnResolve(void* user_data, const char* input, size_t size,
                        ferry_conflict_answer* answer);
  static void OnHook(void* user_data, ferry_hook_point point, const char* input, size_t size,
                     ferry_hook_answer* answer);
  static void OnSendRequest(void* user_data, ferry_client* client,
                            const ferry_http_request* request);
  static void OnCancelRequest(void* user_data, ferry_client* client, uint64_t request_id);
  // A C worker thread of the client.
  static void OnSynced(void* user_data, ferry_result code, const char* run_json, size_t size,
                       const ferry_error* error);

  std::optional<TokenAnswer> AskToken(bool refresh);

  // What a ferry_client_sync_now_async completion needs.
  struct SyncWaiter {
    std::shared_ptr<State> state;
    Completion done;
  };

  Deliver deliver;
  Callbacks callbacks;  // JS thread only (cleared once closed)
  // Fixed at construction: the owner thread reads them.
  const bool has_token;
  const bool has_resolver;
  const bool has_hook;
  const bool has_log;
  std::chrono::milliseconds answer_deadline{30000};  // set before open, read after
  std::shared_ptr<AnswerGate> answers = std::make_shared<AnswerGate>();
  // Set by the open job, or by a host-transport request during the open.
  std::atomic<ferry_client*> client{nullptr};
  std::atomic<bool> events_ended{false};  // the client closed
  std::atomic<bool> detached{false};      // the AsyncClient is gone: run nothing more
  bool close_requested = false;           // JS thread only
  // A token too long for the C API's first buffer, kept for its second ask.
  std::optional<std::string> oversized_token;  // owner thread only
  FifoWorker worker;                           // last: destroyed (joined) before what its jobs use
};

// ------------------------------------------------------------ worker jobs

namespace {
std::vector<ferry_slice> Slices(const std::vector<std::string>& names) {
  std::vector<ferry_slice> slices;
  slices.reserve(names.size());
  for (const std::string& name : names)
    slices.push_back(Slice(name));
  return slices;
}

// 0 keeps the C API's default.
template <typename Field, typename Value>
void SetIfPositive(Field& field, Value value) {
  if (value > 0) field = static_cast<Field>(value);
}
}  // namespace

std::chrono::milliseconds AsyncClient::State::AnswerDeadline(const OpenOptions& options) const {
  const int64_t deadline =
      options.answer_deadline_ms > 0 ? options.answer_deadline_ms : options.request_timeout_ms;
  return std::chrono::milliseconds(std::max<int64_t>(deadline, 1));
}

Result AsyncClient::State::OpenOnWorker(const OpenOptions& options) {
  ferry_client_options c;
  ferry_client_options_init(&c, sizeof c);
  c.path = Slice(options.path);
  c.endpoint = Slice(options.endpoint);
  c.sync_on_local_write = options.sync_on_local_write;
  c.request_timeout_ms = options.request_timeout_ms;
  c.interval_ms = options.interval_ms;
  c.live_updates = options.live_updates;
  c.gzip_above_bytes = options.gzip_above_bytes;
  c.conflicts_json = Slice(options.conflicts_json);
  c.store_lock_timeout_ms = options.store_lock_timeout_ms;
  c.max_attempts = options.max_attempts;
  c.dead_letter_max_age_ms = options.dead_letter_max_age_ms;
  SetIfPositive(c.backoff_base_ms, options.backoff_base_ms);
  SetIfPositive(c.backoff_max_ms, options.backoff_max_ms);
  SetIfPositive(c.push_batch_size, options.push_batch_size);
  SetIfPositive(c.push_batch_bytes, options.push_batch_bytes);
  SetIfPositive(c.pull_page_size, options.pull_page_size);
  SetIfPositive(c.history_limit, options.history_limit);
  if (options.conflict_log_limit) c.conflict_log_limit = *options.conflict_log_limit;
  std::vector<ferry_slice> upload_only = Slices(options.upload_only);
  c.upload_only = upload_only.data();
  c.upload_only_count = upload_only.size();
  std::vector<ferry_slice> deferrable = Slices(options.deferrable);
  c.deferrable = deferrable.data();
  c.deferrable_count = deferrable.size();
  c.indexes_json = Slice(options.indexes_json);
  std::vector<ferry_slice> pull_collections;
  if (options.pull_collections) {
    pull_collections = Slices(*options.pull_collections);
    c.pull_collections = pull_collections.data();
    c.pull_collections_count = pull_collections.size();
    c.has_pull_scope = true;
  }
  std::vector<ferry_retention_rule> retention;
  retention.reserve(options.retention.size());
  for (const OpenOptions::Retention& rule : options.retention)
    retention.push_back({Slice(rule.collection), rule.max_age_ms, rule.max_count});
  c.retention = retention.data();
  c.retention_count = retention.size();
  std::vector<ferry_http_header> headers;
  headers.reserve(options.headers.size());
  for (const auto& [name, value] : options.headers)
    headers.push_back({Slice(name), Slice(value)});
  c.headers = headers.data();
  c.header_count = headers.size();
  if (has_log) {
    c.log = OnLog;
    c.log_user_data = this;
  }
  if (has_token) {
    c.token_provider = OnToken;
    c.token_user_data = this;
  }
  if (has_resolver) {
    c.conflict_resolver = OnResolve;
    c.conflict_user_data = this;
  }
  if (has_hook) {
    c.hook = OnHook;
    c.hook_user_data = this;
    c.hook_points = options.hook_points;
  }
  if (options.host_transport) {
    c.send_request = OnSendRequest;
    c.cancel_request = OnCancelRequest;
    c.transport_user_data = this;
  }
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* opened = nullptr;
  if (ferry_result code = ferry_client_open(&c, &opened, &error); code != FERRY_OK)
    return FromC(code, error);
  client = opened;
  ferry_listener_id listener = 0;
  ferry_result code = ferry_client_add_event_listener(opened, OnEvent, this, &listener, &error);
  Result result = FromC(code, error);
  ferry_buffer id = FERRY_BUFFER_INIT;
  if (result.ok()) result = FromC(ferry_client_id(opened, &id, &error), error);
  TakeText(id, result);
  if (!result.ok()) {
    ferry_client_close(opened, nullptr);
    client = nullptr;
  }
  return result;
}

void AsyncClient::State::CloseOnWorker(Completion done) {
  ferry_error error = FERRY_ERROR_INIT;
  Result result = FromC(ferry_client_close(client.load(), &error), error);
  events_ended = true;  // ferry_client_close returned: no C callback runs again
  Queue([self = shared_from_this(), done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
    self->callbacks = Callbacks();  // lets go of the JS side's functions
  });
}

// ---------------------------------------------------------- C callbacks

void AsyncClient::State::OnEvent(void* user_data, const char* json, size_t size) {
  auto* state = static_cast<State*>(user_data);
  state->Emit([state, text = std::string(json, size)] {
    if (state->callbacks.on_event) state->callbacks.on_event(text);
  });
}

void AsyncClient::State::OnLog(void* user_data, ferry_log_level level, const char* message,
                               size_t size) {
  auto* state = static_cast<State*>(user_data);
  state->Emit([state, level, text = std::string(message, size)] {
    if (state->callbacks.log) state->callbacks.log(static_cast<int>(level), text);
  });
}

std::optional<TokenAnswer> AsyncClient::State::AskToken(bool refresh) {
  const std::function<void(TokenReply)> ask = [this, refresh](const TokenReply& reply) {
    Emit([this, refresh, reply] {
      if (callbacks.get_token) callbacks.get_token(refresh, reply);
    });
  };
  return answers->Await<TokenAnswer>(ask, answer_deadline);
}

size_t AsyncClient::State::OnToken(void* user_data, bool refresh, char* buffer, size_t capacity) {
  auto* state = static_cast<State*>(user_data);
  // The C API's second ask, with room for the token the first could not hold.
  if (state->oversized_token && state->oversized_token->size() <= capacity) {
    const std::string token = std::move(*state->oversized_token);
    state->oversized_token.reset();
    std::memcpy(buffer, token.data(), token.size());
    return token.size();
  }
  std::optional<TokenAnswer> answer = state->AskToken(refresh);
  if (!answer) {
    answer = TokenAnswer{TokenAnswer::Kind::kFailed, state->events_ended || state->detached
                                                         ? "the client is closing"
                                                         : "getToken did not answer in time"};
  }
  if (answer->kind == TokenAnswer::Kind::kNone) return 0;
  if (answer->kind == TokenAnswer::Kind::kFailed) {
    const size_t size = std::min(answer->text.size(), capacity > 0 ? capacity - 1 : 0);
    std::memcpy(buffer, answer->text.data(), size);
    if (capacity > 0) buffer[size] = '\0';
    return FERRY_TOKEN_FAILED;
  }
  if (answer->text.size() > capacity) {
    state->oversized_token = answer->text;
    return answer->text.size();
  }
  std::memcpy(buffer, answer->text.data(), answer->text.size());
  return answer->text.size();
}

void AsyncClient::State::OnResolve(void* user_data, const char* input, size_t size,
                                   ferry_conflict_answer* answer) {
  auto* state = static_cast<State*>(user_data);
  const std::function<void(std::function<void(std::string)>)> ask =
      [state, text = std::string(input, size)](const std::function<void(std::string)>& reply) {
        state->Emit([state, text, reply] {
          if (state->callbacks.resolve_conflict) reply(state->callbacks.resolve_conflict(text));
        });
      };
  std::optional<std::string> decided =
      state->answers->Await<std::string>(ask, state->answer_deadline);
  if (!decided)
    decided =
        R"json({"error":"conflicts.resolve gave no answer in time, or the client closed"})json";
  ferry_conflict_answer_set(answer, Slice(*decided), nullptr);
}

// As OnResolve: the owner thread waits for the JS thread's answer. No
// answer in time is an error answer, which fails the run (nothing is lost).
void AsyncClient::State::OnHook(void* user_data, ferry_hook_point point, const char* input,
                                size_t size, ferry_hook_answer* answer) {
  auto* state = static_cast<State*>(user_data);
  const std::function<void(std::function<void(std::string)>)> ask =
      [state, point,
       text = std::string(input, size)](const std::function<void(std::string)>& reply) {
        state->Emit([state, point, text, reply] {
          if (state->callbacks.hook) reply(state->callbacks.hook(point, text));
        });
      };
  std::optional<std::string> decided =
      state->answers->Await<std::string>(ask, state->answer_deadline);
  if (!decided)
    decided = R"json({"error":"the hook gave no answer in time, or the client closed"})json";
  ferry_error error = FERRY_ERROR_INIT;
  if (ferry_hook_answer_set(answer, Slice(*decided), &error) != FERRY_OK) {
    ferry_error_clear(&error);
    (void)ferry_hook_answer_set(
        answer, Slice(R"json({"error":"the hook's answer is not one"})json"), nullptr);
  }
}

void AsyncClient::State::OnSendRequest(void* user_data, ferry_client* client,
                                       const ferry_http_request* request) {
  auto* state = static_cast<State*>(user_data);
  ferry_client* unknown = nullptr;
  state->client.compare_exchange_strong(unknown, client);  // may come before open returns
  HttpRequest copy;
  copy.id = request->id;
  copy.method.assign(request->method.data, request->method.size);
  copy.url.assign(request->url.data, request->url.size);
  for (size_t i = 0; i < request->header_count; ++i) {
    const ferry_http_header& header = request->headers[i];
    copy.headers.emplace_back(std::string(header.name.data, header.name.size),
                              std::string(header.value.data, header.value.size));
  }
  copy.body.assign(request->body.data == nullptr ? "" : request->body.data, request->body.size);
  copy.timeout_ms = request->timeout_ms;
  copy.stream = request->stream;
  state->Emit([state, copy = std::move(copy)]() mutable {
    if (state->callbacks.send_request) state->callbacks.send_request(std::move(copy));
  });
}

void AsyncClient::State::OnCancelRequest(void* user_data, ferry_client* /*client*/,
                                         uint64_t request_id) {
  auto* state = static_cast<State*>(user_data);
  state->Emit([state, request_id] {
    if (state->callbacks.cancel_request) state->callbacks.cancel_request(request_id);
  });
}

void AsyncClient::State::OnSynced(void* user_data, ferry_result code, const char* run_json,
                                  size_t size, const ferry_error* error) {
  std::unique_ptr<SyncWaiter> waiter(static_cast<SyncWaiter*>(user_data));
  Result result;
  result.code = code;
  if (code == FERRY_OK) {
    result.text.assign(run_json, size);
    result.has_text = true;
  } else {
    result.message = error != nullptr && error->message != nullptr ? error->message : "";
  }
  // The run's own events (sync.completed, status) first.
  ferry_client_flush_events(waiter->state->client.load(), nullptr);
  std::shared_ptr<State> state = std::move(waiter->state);
  state->Complete(std::move(waiter->done), std::move(result));
}

// ------------------------------------------------------------ AsyncClient

AsyncClient::AsyncClient(Deliver deliver, Callbacks callbacks)
    : state_(std::make_shared<State>(std::move(deliver), std::move(callbacks))) {}

AsyncClient::~AsyncClient() {
  state_->detached = true;
  if (!state_->close_requested) {
    state_->close_requested = true;
    state_->answers->Close();
    state_->worker.Post([state = state_] {
      ferry_client_close(state->client.load(), nullptr);
      state->events_ended = true;
    });
  }
  state_->worker.Stop();
}

void AsyncClient::Open(OpenOptions options, Completion done) {
  state_->answer_deadline = state_->AnswerDeadline(options);
  state_->Run(std::move(done), [state = state_.get(), options = std::move(options)](ferry_client*) {
    return state->OpenOnWorker(options);
  });
}

void AsyncClient::Write(std::string writes_json, Completion done) {
  state_->Run(std::move(done), [writes = std::move(writes_json)](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_write(client, Slice(writes), &error), error);
  });
}

void AsyncClient::Get(std::string collection, std::string key, Completion done) {
  state_->Run(
      std::move(done),
      [collection = std::move(collection), key = std::move(key)](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer value = FERRY_BUFFER_INIT;
        Result result =
            FromC(ferry_client_get(client, Slice(collection), Slice(key), &value, &error), error);
        TakeText(value, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::Scan(std::string collection, std::string key_prefix, std::size_t limit,
                       Completion done) {
  state_->Run(
      std::move(done),
      [collection = std::move(collection), prefix = std::move(key_prefix),
       limit](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer documents = FERRY_BUFFER_INIT;
        Result result = FromC(
            ferry_client_scan(client, Slice(collection), Slice(prefix), limit, &documents, &error),
            error);
        TakeText(documents, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::Query(std::string query_json, Completion done) {
  state_->Run(
      std::move(done),
      [query = std::move(query_json)](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer page = FERRY_BUFFER_INIT;
        Result result = FromC(ferry_client_query(client, Slice(query), &page, &error), error);
        TakeText(page, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::Count(std::string query_json, Completion done) {
  state_->Run(
      std::move(done),
      [query = std::move(query_json)](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        std::size_t count = 0;
        Result result = FromC(ferry_client_count(client, Slice(query), &count, &error), error);
        result.number = count;
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::SubscribeQuery(uint64_t id, std::string query_json, Completion done) {
  state_->Run(std::move(done), [id, query = std::move(query_json)](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_subscribe_query(client, Slice(query), id, &error), error);
  });
}

void AsyncClient::UnsubscribeQuery(uint64_t id, Completion done) {
  state_->Run(std::move(done), [id](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_unsubscribe_query(client, id, &error), error);
  });
}

void AsyncClient::Explain(std::string query_json, Completion done) {
  state_->Run(
      std::move(done),
      [query = std::move(query_json)](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer plan = FERRY_BUFFER_INIT;
        Result result = FromC(ferry_client_explain(client, Slice(query), &plan, &error), error);
        TakeText(plan, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::SyncNow(int direction, Completion done) {
  state_->StartRun(std::move(done), [direction](ferry_client* client, void* waiter,
                                                ferry_error* error) {
    return ferry_client_sync_now_direction_async(client, direction, State::OnSynced, waiter, error);
  });
}

void AsyncClient::Resync(Completion done) {
  state_->StartRun(std::move(done), [](ferry_client* client, void* waiter, ferry_error* error) {
    return ferry_client_resync_async(client, State::OnSynced, waiter, error);
  });
}

void AsyncClient::State::StartRun(Completion done, StartRunCall start) {
  worker.Post(
      [state = shared_from_this(), done = std::move(done), start = std::move(start)]() mutable {
        auto waiter = std::make_unique<SyncWaiter>(SyncWaiter{state, std::move(done)});
        ferry_error error = FERRY_ERROR_INIT;
        const ferry_result code = start(state->client.load(), waiter.get(), &error);
        if (code == FERRY_OK) {
          (void)waiter.release();  // OnSynced owns it now
        } else {
          state->Complete(std::move(waiter->done), FromC(code, error));
        }
      });
}

void AsyncClient::StartBackgroundSync(int64_t interval_ms, Completion done) {
  state_->Run(std::move(done), [interval_ms](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_start_background_sync(client, interval_ms, &error), error);
  });
}

void AsyncClient::StopBackgroundSync(Completion done) {
  state_->Run(std::move(done), [](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_stop_background_sync(client, &error), error);
  });
}

void AsyncClient::SetOnline(bool online, Completion done) {
  state_->Run(std::move(done), [online](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_set_online(client, online, &error), error);
  });
}

void AsyncClient::NetworkChanged(Completion done) {
  state_->Run(std::move(done), [](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_network_changed(client, &error), error);
  });
}

void AsyncClient::SetMetered(bool metered, Completion done) {
  state_->Run(std::move(done), [metered](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_set_metered(client, metered, &error), error);
  });
}

void AsyncClient::Cancel(Completion done) {
  state_->Run(std::move(done), [](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_cancel(client, &error), error);
  });
}

void AsyncClient::Report(std::size_t history_limit, Completion done) {
  state_->Run(
      std::move(done),
      [history_limit](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer report = FERRY_BUFFER_INIT;
        Result result = FromC(ferry_client_report(client, history_limit, &report, &error), error);
        TakeText(report, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::RetryFailedMutation(uint64_t seq, Completion done) {
  state_->Run(std::move(done), [seq](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    uint64_t new_seq = 0;
    Result result = FromC(ferry_client_retry_failed_mutation(client, seq, &new_seq, &error), error);
    result.number = new_seq;
    return result;
  });
}

void AsyncClient::DiscardFailedMutation(uint64_t seq, Completion done) {
  state_->Run(std::move(done), [seq](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_discard_failed_mutation(client, seq, &error), error);
  });
}

void AsyncClient::PendingMutations(uint64_t after_seq, std::size_t limit, Completion done) {
  state_->Run(
      std::move(done),
      [after_seq, limit](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer mutations = FERRY_BUFFER_INIT;
        Result result = FromC(
            ferry_client_pending_mutations(client, after_seq, limit, &mutations, &error), error);
        TakeText(mutations, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::ClearHistory(bool keep_latest, Completion done) {
  state_->Run(std::move(done), [keep_latest](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_clear_history(client, keep_latest, &error), error);
  });
}

void AsyncClient::ConflictLog(uint64_t after_id, std::size_t limit, Completion done) {
  state_->Run(
      std::move(done),
      [after_id, limit](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer entries = FERRY_BUFFER_INIT;
        Result result =
            FromC(ferry_client_conflict_log(client, after_id, limit, &entries, &error), error);
        TakeText(entries, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::ClearConflictLog(Completion done) {
  state_->Run(std::move(done), [](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_clear_conflict_log(client, &error), error);
  });
}

void AsyncClient::Conflicts(Completion done) {
  state_->Run(
      std::move(done),
      [](ferry_client* client) {
        ferry_error error = FERRY_ERROR_INIT;
        ferry_buffer conflicts = FERRY_BUFFER_INIT;
        Result result = FromC(ferry_client_conflicts(client, &conflicts, &error), error);
        TakeText(conflicts, result);
        return result;
      },
      /*flush=*/false);
}

void AsyncClient::ResolveConflict(std::string collection, std::string key, std::string value_json,
                                  Completion done) {
  state_->Run(std::move(done), [collection = std::move(collection), key = std::move(key),
                                value_json = std::move(value_json)](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    return FromC(ferry_client_resolve_conflict(client, Slice(collection), Slice(key),
                                               Slice(value_json), &error),
                 error);
  });
}

void AsyncClient::Evict(std::string collection, std::optional<std::vector<std::string>> keys,
                        Completion done) {
  state_->Run(std::move(done), [collection = std::move(collection),
                                keys = std::move(keys)](ferry_client* client) {
    ferry_error error = FERRY_ERROR_INIT;
    const std::vector<ferry_slice> slices = Slices(keys.value_or(std::vector<std::string>{}));
    std::size_t evicted = 0;
    Result result = FromC(ferry_client_evict(client, Slice(collection), slices.data(),
                                             slices.size(), !keys.has_value(), &evicted, &error),
                          error);
    result.number = evicted;
    return result;
  });
}

void AsyncClient::Close(Completion done) {
  if (state_->close_requested) {
    Result closed;
    closed.code = FERRY_INVALID_HANDLE;
    closed.message = "the client is closed";
    state_->Complete(std::move(done), std::move(closed));
    return;
  }
  state_->close_requested = true;
  // Waiting token and conflict questions are answered now: the JS thread
  // that would answer them may be the one waiting for this close.
  state_->answers->Close();
  state_->worker.Post([state = state_, done = std::move(done)]() mutable {
    state->CloseOnWorker(std::move(done));
  });
}

void AsyncClient::CompleteRequest(uint64_t request_id, int status, const std::string& body,
                                  const std::string& retry_after,
                                  const std::string& transport_error) {
  ferry_client_complete_request(state_->client.load(), request_id, status, body.data(), body.size(),
                                Slice(retry_after), Slice(transport_error), nullptr);
}

void AsyncClient::RequestData(uint64_t request_id, const std::string& chunk) {
  ferry_client_request_data(state_->client.load(), request_id, chunk.data(), chunk.size(), nullptr);
}

void DeleteLocalData(std::string path, Deliver deliver, Completion done) {
  std::thread([path = std::move(path), deliver = std::move(deliver),
               done = std::move(done)]() mutable {
    ferry_error error = FERRY_ERROR_INIT;
    Result result = FromC(ferry_delete_local_data(Slice(path), &error), error);
    deliver([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }).detach();
}

Result CleartextEndpointWarning(const std::string& endpoint) {
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer warning = FERRY_BUFFER_INIT;
  Result result = FromC(ferry_cleartext_endpoint_warning(Slice(endpoint), &warning, &error), error);
  TakeText(warning, result);
  return result;
}

}  // namespace ferry::async
