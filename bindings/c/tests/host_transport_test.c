/* The host transport: the host carries every HTTP request. First against a
 * real ferry-server (the host performs each request with a tiny HTTP client
 * on a thread of its own and answers from there), then with a canned
 * responder speaking the protocol's JSON: rejected mutations (dead letters,
 * retry, discard), Retry-After, transport errors, the live stream's chunks,
 * held requests, cancellation and bad answers. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>

#include "harness.h"
#include "support.h"

/* ------------------------------------------------ host over a real server */

enum { kMaxThreads = 256 };

typedef struct real_host {
  ferry_client* client;
  pthread_mutex_t mutex;
  pthread_t threads[kMaxThreads];
  int thread_count;
  int requests;
  uint64_t last_id;
  bool saw_gzip;
  bool saw_authorization;
  int with_api_key; /* requests carrying the custom X-API-Key header */
} real_host;

typedef struct carried_request {
  real_host* host;
  ferry_client* client;
  uint64_t id;
  char* method;
  char* url;
  ferry_http_header headers[16];
  size_t header_count;
  char* header_text[32];
  char* body;
  size_t body_size;
  int64_t timeout_ms;
} carried_request;

static void* carry(void* argument) {
  carried_request* copy = argument;
  ferry_http_request request;
  memset(&request, 0, sizeof request);
  request.id = copy->id;
  request.method = S(copy->method);
  request.url = S(copy->url);
  request.headers = copy->headers;
  request.header_count = copy->header_count;
  request.body = (ferry_slice){copy->body, copy->body_size};
  request.timeout_ms = copy->timeout_ms;
  http_answer answer;
  http_perform(&request, &answer);
  ferry_error error = FERRY_ERROR_INIT;
  /* From this thread, not the client's. */
  CHECK_OK(ferry_client_complete_request(copy->client, copy->id, answer.status, answer.body,
                                         answer.body_size, S(answer.retry_after), S(answer.error),
                                         &error),
           &error);
  ferry_error_clear(&error);
  http_answer_free(&answer);
  free(copy->method);
  free(copy->url);
  for (size_t i = 0; i < 2 * copy->header_count; ++i)
    free(copy->header_text[i]);
  free(copy->body);
  free(copy);
  return NULL;
}

/* Owner thread: copies the borrowed request and carries it elsewhere. */
static void send_to_real_server(void* user_data, ferry_client* client,
                                const ferry_http_request* request) {
  real_host* host = user_data;
  carried_request* copy = calloc(1, sizeof *copy);
  REQUIRE(copy != NULL);
  copy->host = host;
  copy->client = client;
  copy->id = request->id;
  copy->method = copy_slice(request->method);
  copy->url = copy_slice(request->url);
  REQUIRE(request->header_count <= 16);
  pthread_mutex_lock(&host->mutex);
  for (size_t i = 0; i < request->header_count; ++i) {
    copy->header_text[2 * i] = copy_slice(request->headers[i].name);
    copy->header_text[2 * i + 1] = copy_slice(request->headers[i].value);
    copy->headers[i].name = S(copy->header_text[2 * i]);
    copy->headers[i].value = S(copy->header_text[2 * i + 1]);
    if (strcmp(copy->header_text[2 * i], "Content-Encoding") == 0) host->saw_gzip = true;
    if (strcmp(copy->header_text[2 * i], "Authorization") == 0) host->saw_authorization = true;
    if (strcmp(copy->header_text[2 * i], "X-API-Key") == 0 &&
        strcmp(copy->header_text[2 * i + 1], "key-c") == 0)
      ++host->with_api_key;
  }
  copy->header_count = request->header_count;
  copy->body = copy_slice(request->body);
  copy->body_size = request->body.size;
  copy->timeout_ms = request->timeout_ms;
  CHECK(!request->stream); /* live updates are off */
  ++host->requests;
  host->last_id = request->id;
  REQUIRE(host->thread_count < kMaxThreads);
  pthread_create(&host->threads[host->thread_count++], NULL, carry, copy);
  pthread_mutex_unlock(&host->mutex);
}

static void join_carriers(real_host* host) {
  pthread_mutex_lock(&host->mutex);
  const int count = host->thread_count;
  host->thread_count = 0;
  pthread_mutex_unlock(&host->mutex);
  for (int i = 0; i < count; ++i)
    pthread_join(host->threads[i], NULL);
}

static void test_host_transport_with_server(void) {
  test_server server;
  server_start(&server);
  char directory[512], path_host[600], path_curl[600];
  make_temp_dir(directory, sizeof directory);
  path_in(path_host, sizeof path_host, directory, "host.db");
  path_in(path_curl, sizeof path_curl, directory, "curl.db");
  ferry_error error = FERRY_ERROR_INIT;

  real_host host;
  memset(&host, 0, sizeof host);
  pthread_mutex_init(&host.mutex, NULL);
  ferry_client_options options;
  test_options(&options, path_host, server.endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-bob";
  options.send_request = send_to_real_server;
  options.transport_user_data = &host;
  options.push_batch_size = 1; /* two writes, two pushes */
  const ferry_http_header api_key = {S("X-API-Key"), S("key-c")};
  options.headers = &api_key; /* copied at open */
  options.header_count = 1;
  REQUIRE(ferry_client_open(&options, &host.client, &error) == FERRY_OK);

  ferry_client* curl = NULL;
  test_options(&options, path_curl, server.endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-bob";
  REQUIRE(ferry_client_open(&options, &curl, &error) == FERRY_OK);

  /* A value large enough that the push is gzipped. */
  char big[4096];
  memset(big, 'a', sizeof big);
  big[0] = '"';
  big[sizeof big - 1] = '"';
  CHECK_OK(
      ferry_client_put(host.client, S("notes"), S("big"), (ferry_slice){big, sizeof big}, &error),
      &error);
  CHECK_OK(ferry_client_put(host.client, S("notes"), S("n1"), S("{\"by\":\"host\"}"), &error),
           &error);
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(host.client, &run, &error), &error);
  CHECK(contains(run.data, "\"outcome\":\"completed\"") && contains(run.data, "\"pushed\":2"));
  ferry_buffer_release(&run);
  CHECK(host.requests >= 3 && host.saw_gzip && host.saw_authorization);
  CHECK(host.with_api_key == host.requests); /* beside the token, on every request */

  CHECK_OK(ferry_client_sync_now(curl, &run, &error), &error);
  ferry_buffer_release(&run);
  ferry_buffer value = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_get(curl, S("notes"), S("n1"), &value, &error), &error);
  CHECK(value.data != NULL && strcmp(value.data, "{\"by\":\"host\"}") == 0);
  ferry_buffer_release(&value);
  CHECK_OK(ferry_client_get(curl, S("notes"), S("big"), &value, &error), &error);
  CHECK(value.size == sizeof big);
  ferry_buffer_release(&value);

  /* The other way: pulled through the host. */
  CHECK_OK(ferry_client_put(curl, S("notes"), S("n2"), S("{\"by\":\"curl\"}"), &error), &error);
  CHECK_OK(ferry_client_sync_now(curl, &run, &error), &error);
  ferry_buffer_release(&run);
  CHECK_OK(ferry_client_sync_now(host.client, &run, &error), &error);
  CHECK(contains(run.data, "\"outcome\":\"completed\""));
  ferry_buffer_release(&run);
  CHECK_OK(ferry_client_get(host.client, S("notes"), S("n2"), &value, &error), &error);
  CHECK(value.data != NULL && strcmp(value.data, "{\"by\":\"curl\"}") == 0);
  ferry_buffer_release(&value);

  /* Answered already, or never asked: NOT_FOUND, harmlessly. */
  join_carriers(&host);
  CHECK_CODE(
      FERRY_NOT_FOUND,
      ferry_client_complete_request(host.client, host.last_id, 200, "{}", 2, S(""), S(""), &error),
      &error);
  CHECK_CODE(FERRY_NOT_FOUND,
             ferry_client_complete_request(host.client, 99999, 200, "{}", 2, S(""), S(""), &error),
             &error);

  CHECK_OK(ferry_client_close(host.client, &error), &error);
  CHECK_OK(ferry_client_close(curl, &error), &error);
  join_carriers(&host);
  ferry_error_clear(&error);
  pthread_mutex_destroy(&host.mutex);
  CHECK(server_stop(&server));
  remove_temp_dir(directory);
}

/* ---------------------------------------------------- canned responder */

typedef enum push_mode { kApply, kReject, kUnavailable, kNoAnswer, kHold } push_mode;

typedef struct canned {
  pthread_mutex_t mutex;
  ferry_client* client;
  push_mode push;
  uint64_t version;
  int pushes;
  int pulls;
  bool pull_has_change;
  uint64_t stream_id;    /* the open /v1/live request, 0: none */
  uint64_t held_id;      /* a push held without an answer (kHold) */
  uint64_t cancelled[8]; /* ids the cancel callback received */
  int cancelled_count;
  bool close_tried;
  ferry_result close_from_send;
} canned;

static void answer(ferry_client* client, uint64_t id, int status, const char* body,
                   const char* retry_after, const char* transport_error) {
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_complete_request(client, id, status, body, body ? strlen(body) : 0,
                                         S(retry_after), S(transport_error), &error),
           &error);
  ferry_error_clear(&error);
}

/* {"results": [...]} with one result a mutation of the push `body`. */
static void push_results(canned* c, const char* body, bool reject, char* out, size_t size) {
  size_t used = (size_t)snprintf(out, size, "{\"results\":[");
  const char* at = body;
  bool first = true;
  while ((at = strstr(at, "\"seq\":")) != NULL) {
    at += 6;
    const unsigned long long seq = strtoull(at, NULL, 10);
    if (reject) {
      used += (size_t)snprintf(out + used, size - used,
                               "%s{\"seq\":%llu,\"status\":\"rejected\",\"error\":\"refused by "
                               "the test\"}",
                               first ? "" : ",", seq);
    } else {
      ++c->version;
      used += (size_t)snprintf(out + used, size - used,
                               "%s{\"seq\":%llu,\"status\":\"applied\",\"version\":%" PRIu64
                               ",\"previousVersion\":0}",
                               first ? "" : ",", seq, c->version);
    }
    first = false;
    REQUIRE(used < size);
  }
  snprintf(out + used, size - used, "]}");
}

/* Owner thread: answers at once, before returning (allowed; the first
 * request, the live stream, may even come before ferry_client_open returns). */
static void send_to_canned(void* user_data, ferry_client* client,
                           const ferry_http_request* request) {
  canned* c = user_data;
  char* url = copy_slice(request->url);
  char* body = copy_slice(request->body);
  pthread_mutex_lock(&c->mutex);
  if (!c->close_tried) {
    ferry_error error = FERRY_ERROR_INIT;
    c->close_from_send = ferry_client_close(client, &error);
    c->close_tried = true;
    ferry_error_clear(&error);
  }
  if (strstr(url, "/v1/live") != NULL) {
    CHECK(request->stream && request->timeout_ms == 0);
    c->stream_id = request->id;
  } else if (strstr(url, "/v1/pull") != NULL) {
    CHECK(!request->stream);
    ++c->pulls;
    if (c->pull_has_change) {
      c->pull_has_change = false;
      ++c->version;
      char page[512];
      snprintf(page, sizeof page,
               "{\"changes\":[{\"collection\":\"notes\",\"key\":\"canned\",\"version\":%" PRIu64
               ",\"deleted\":false,\"value\":{\"from\":\"canned\"}}],\"cursor\":\"c%" PRIu64
               "\",\"hasMore\":false}",
               c->version, c->version);
      answer(client, request->id, 200, page, "", "");
    } else {
      answer(client, request->id, 200, "{\"changes\":[],\"cursor\":\"c0\",\"hasMore\":false}", "",
             "");
    }
  } else if (strstr(url, "/v1/push") != NULL) {
    ++c->pushes;
    char results[4096];
    switch (c->push) {
      case kApply:
      case kReject:
        push_results(c, body, c->push == kReject, results, sizeof results);
        answer(client, request->id, 200, results, "", "");
        break;
      case kUnavailable:
        answer(client, request->id, 503, "{\"error\":\"busy\"}", "120", "");
        break;
      case kNoAnswer:
        answer(client, request->id, 0, NULL, "", "connection refused by the test");
        break;
      case kHold:
        c->held_id = request->id;
        break;
    }
  } else {
    answer(client, request->id, 404, "{}", "", "");
  }
  pthread_mutex_unlock(&c->mutex);
  free(url);
  free(body);
}

static void cancelled_by_client(void* user_data, ferry_client* client, uint64_t request_id) {
  canned* c = user_data;
  CHECK(client != NULL);
  pthread_mutex_lock(&c->mutex);
  if (c->cancelled_count < 8) c->cancelled[c->cancelled_count++] = request_id;
  pthread_mutex_unlock(&c->mutex);
}

static bool was_cancelled(canned* c, uint64_t id) {
  pthread_mutex_lock(&c->mutex);
  bool found = false;
  for (int i = 0; i < c->cancelled_count; ++i)
    found = found || c->cancelled[i] == id;
  pthread_mutex_unlock(&c->mutex);
  return found;
}

typedef struct cancel_wait {
  canned* c;
  uint64_t id;
} cancel_wait;

static bool cancelled_now(void* argument) {
  cancel_wait* w = argument;
  return was_cancelled(w->c, w->id);
}

static uint64_t stream_of(canned* c) {
  pthread_mutex_lock(&c->mutex);
  const uint64_t id = c->stream_id;
  pthread_mutex_unlock(&c->mutex);
  return id;
}

static bool stream_open(void* argument) {
  return stream_of(argument) != 0;
}

static int pulls_of(canned* c) {
  pthread_mutex_lock(&c->mutex);
  const int pulls = c->pulls;
  pthread_mutex_unlock(&c->mutex);
  return pulls;
}

static bool held(void* argument) {
  canned* c = argument;
  pthread_mutex_lock(&c->mutex);
  const bool is_held = c->held_id != 0;
  pthread_mutex_unlock(&c->mutex);
  return is_held;
}

typedef struct pull_wait {
  canned* c;
  int more_than;
} pull_wait;

static bool pulled_again(void* argument) {
  pull_wait* w = argument;
  return pulls_of(w->c) > w->more_than;
}

static void set_push(canned* c, push_mode mode) {
  pthread_mutex_lock(&c->mutex);
  c->push = mode;
  pthread_mutex_unlock(&c->mutex);
}

static bool has_canned_document(void* argument) {
  canned* c = argument;
  ferry_buffer value = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  const bool found =
      ferry_client_get(c->client, S("notes"), S("canned"), &value, &error) == FERRY_OK &&
      value.data != NULL && strcmp(value.data, "{\"from\":\"canned\"}") == 0;
  ferry_buffer_release(&value);
  ferry_error_clear(&error);
  return found;
}

/* The first seq in a failed-mutations array. */
static uint64_t first_seq(const char* json) {
  const char* at = json == NULL ? NULL : strstr(json, "\"seq\":");
  return at == NULL ? 0 : strtoull(at + 6, NULL, 10);
}

static void run_outcome(canned* c, const char* expected) {
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(c->client, &run, &error), &error);
  if (!contains(run.data, expected)) {
    fprintf(stderr, "expected %s in %s\n", expected, run.data != NULL ? run.data : "(none)");
    ++g_failures;
  }
  ferry_buffer_release(&run);
  ferry_error_clear(&error);
}

static void test_host_transport_canned(void) {
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  canned c;
  memset(&c, 0, sizeof c);
  pthread_mutex_init(&c.mutex, NULL);
  ferry_client_options options;
  test_options(&options, path, "http://canned.invalid");
  options.gzip_above_bytes = 0; /* the responder reads the push bodies */
  options.live_updates = true;
  options.send_request = send_to_canned;
  options.cancel_request = cancelled_by_client;
  options.transport_user_data = &c;
  ferry_error error = FERRY_ERROR_INIT;
  REQUIRE(ferry_client_open(&options, &c.client, &error) == FERRY_OK);

  /* The live stream opens; closing from the send callback was refused. */
  CHECK(wait_for(stream_open, &c, 10000));
  CHECK(c.close_tried && c.close_from_send == FERRY_WRONG_THREAD);

  /* "hello" and "poke" chunks, split anywhere, make the client pull. */
  const uint64_t stream = stream_of(&c);
  pull_wait w = {&c, pulls_of(&c)};
  pthread_mutex_lock(&c.mutex);
  c.pull_has_change = true;
  pthread_mutex_unlock(&c.mutex);
  CHECK_OK(ferry_client_request_data(c.client, stream, "event: he", strlen("event: he"), &error),
           &error);
  CHECK_OK(ferry_client_request_data(c.client, stream, "llo\ndata: {}\n\n",
                                     strlen("llo\ndata: {}\n\n"), &error),
           &error);
  CHECK(wait_for(pulled_again, &w, 10000));
  CHECK(wait_for(has_canned_document, &c, 10000));
  w.more_than = pulls_of(&c);
  CHECK_OK(ferry_client_request_data(c.client, stream, "event: poke\ndata: {}\n\n",
                                     strlen("event: poke\ndata: {}\n\n"), &error),
           &error);
  CHECK(wait_for(pulled_again, &w, 10000));
  CHECK_OK(ferry_client_request_data(c.client, stream, NULL, 0, &error), &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_request_data(c.client, stream, NULL, 3, &error),
             &error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_request_data(c.client, 4242, "x", 1, &error), &error);

  /* A rejected write becomes a dead letter; retry queues it again. */
  set_push(&c, kReject);
  CHECK_OK(ferry_client_put(c.client, S("notes"), S("bad"), S("{\"n\":1}"), &error), &error);
  run_outcome(&c, "\"rejected\":1");
  ferry_buffer failed = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_failed_mutations(c.client, &failed, &error), &error);
  CHECK(contains(failed.data, "\"error\":\"refused by the test\"") &&
        contains(failed.data, "\"key\":\"bad\"") && contains(failed.data, "\"attempts\":1"));
  const uint64_t seq = first_seq(failed.data);
  ferry_buffer_release(&failed);
  CHECK(seq != 0);
  ferry_buffer status = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_status(c.client, &status, &error), &error);
  CHECK(contains(status.data, "\"failed\":1"));
  ferry_buffer_release(&status);
  set_push(&c, kApply);
  uint64_t new_seq = 0;
  CHECK_OK(ferry_client_retry_failed_mutation(c.client, seq, &new_seq, &error), &error);
  CHECK(new_seq > seq);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_retry_failed_mutation(c.client, seq, NULL, &error),
             &error);
  run_outcome(&c, "\"pushed\":1");
  CHECK_OK(ferry_client_failed_mutations(c.client, &failed, &error), &error);
  CHECK(failed.data != NULL && strcmp(failed.data, "[]") == 0);
  ferry_buffer_release(&failed);

  /* ...and discard drops it for good. */
  set_push(&c, kReject);
  CHECK_OK(ferry_client_put(c.client, S("notes"), S("worse"), S("2"), &error), &error);
  run_outcome(&c, "\"rejected\":1");
  CHECK_OK(ferry_client_failed_mutations(c.client, &failed, &error), &error);
  const uint64_t dead = first_seq(failed.data);
  ferry_buffer_release(&failed);
  CHECK_OK(ferry_client_discard_failed_mutation(c.client, dead, &error), &error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_discard_failed_mutation(c.client, dead, &error), &error);
  CHECK_OK(ferry_client_status(c.client, &status, &error), &error);
  CHECK(contains(status.data, "\"failed\":0") && contains(status.data, "\"pending\":0"));
  ferry_buffer_release(&status);

  /* 503 with Retry-After: the run fails, a retry is scheduled. */
  set_push(&c, kUnavailable);
  CHECK_OK(ferry_client_put(c.client, S("notes"), S("later"), S("3"), &error), &error);
  run_outcome(&c, "\"outcome\":\"failed\"");
  CHECK_OK(ferry_client_status(c.client, &status, &error), &error);
  CHECK(contains(status.data, "\"state\":\"error\"") &&
        !contains(status.data, "\"nextRetryAt\":null"));
  ferry_buffer_release(&status);

  /* No HTTP answer at all: offline. */
  set_push(&c, kNoAnswer);
  run_outcome(&c, "\"outcome\":\"failed\"");
  CHECK_OK(ferry_client_status(c.client, &status, &error), &error);
  CHECK(contains(status.data, "\"state\":\"offline\""));
  ferry_buffer_release(&status);

  /* A held request: bad answers are refused, a good one is taken once. */
  set_push(&c, kHold);
  CHECK_OK(ferry_client_cancel(c.client, &error), &error); /* the scheduled retry */
  CHECK_OK(ferry_client_set_online(c.client, true, &error), &error);
  CHECK_OK(ferry_client_start_background_sync(c.client, 50, &error), &error);
  CHECK(wait_for(held, &c, 10000));
  CHECK_OK(ferry_client_stop_background_sync(c.client, &error), &error);
  pthread_mutex_lock(&c.mutex);
  const uint64_t held_id = c.held_id;
  pthread_mutex_unlock(&c.mutex);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_request_data(c.client, held_id, "x", 1, &error),
             &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_complete_request(c.client, held_id, -1, "", 0, S(""), S(""), &error),
             &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_complete_request(c.client, held_id, 1000, "", 0, S(""), S(""), &error),
             &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_complete_request(c.client, held_id, 200, NULL, 3, S(""), S(""), &error),
             &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_complete_request(c.client, held_id, 0, NULL, 0, S(""),
                                           (ferry_slice){"\xff\xfe", 2}, &error),
             &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_complete_request(c.client, held_id, 503, NULL, 0, (ferry_slice){NULL, 2},
                                           S(""), &error),
             &error);
  /* A malformed body is the engine's problem, not a crash: the run fails. */
  CHECK_OK(ferry_client_complete_request(c.client, held_id, 200, "{\"results\":", 11, S(""), S(""),
                                         &error),
           &error);
  CHECK_CODE(FERRY_NOT_FOUND,
             ferry_client_complete_request(c.client, held_id, 200, "{}", 2, S(""), S(""), &error),
             &error);

  /* Cancel aborts a held request: the host hears of it. */
  pthread_mutex_lock(&c.mutex);
  c.held_id = 0;
  pthread_mutex_unlock(&c.mutex);
  CHECK_OK(ferry_client_cancel(c.client, &error), &error);
  CHECK_OK(ferry_client_start_background_sync(c.client, 50, &error), &error);
  CHECK(wait_for(held, &c, 10000));
  CHECK_OK(ferry_client_stop_background_sync(c.client, &error), &error);
  pthread_mutex_lock(&c.mutex);
  const uint64_t second_held = c.held_id;
  pthread_mutex_unlock(&c.mutex);
  CHECK_OK(ferry_client_cancel(c.client, &error), &error);
  cancel_wait cw = {&c, second_held};
  CHECK(wait_for(cancelled_now, &cw, 10000)); /* the owner thread carries the cancel out */
  CHECK_CODE(
      FERRY_NOT_FOUND,
      ferry_client_complete_request(c.client, second_held, 200, "{}", 2, S(""), S(""), &error),
      &error);

  /* Close tells the host about the stream it still holds open. */
  CHECK_OK(ferry_client_close(c.client, &error), &error);
  CHECK(was_cancelled(&c, stream));
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_request_data(c.client, stream, "x", 1, &error),
             &error);
  ferry_error_clear(&error);
  pthread_mutex_destroy(&c.mutex);
  remove_temp_dir(directory);
}

/* ------------------------------------ reachability probe, network change */

/* A server that is away (no answer at all) until `up`. */
typedef struct away_server {
  canned base; /* mutex, client, version for push_results */
  bool up;
  int probes; /* GET /v1/health requests */
  long long last_probe_at;
} away_server;

static void send_to_away_server(void* user_data, ferry_client* client,
                                const ferry_http_request* request) {
  away_server* s = user_data;
  char* url = copy_slice(request->url);
  char* body = copy_slice(request->body);
  pthread_mutex_lock(&s->base.mutex);
  if (strstr(url, "/v1/health") != NULL) {
    ++s->probes;
    s->last_probe_at = now_ms();
    CHECK(request->method.size == 3 && memcmp(request->method.data, "GET", 3) == 0);
    CHECK(request->timeout_ms > 0 && !request->stream);
  }
  if (!s->up) {
    answer(client, request->id, 0, NULL, "", "connection refused by the test");
  } else if (strstr(url, "/v1/health") != NULL) {
    answer(client, request->id, 200, "{\"status\":\"ok\"}", "", "");
  } else if (strstr(url, "/v1/push") != NULL) {
    char results[4096];
    push_results(&s->base, body, false, results, sizeof results);
    answer(client, request->id, 200, results, "", "");
  } else {
    answer(client, request->id, 200, "{\"changes\":[],\"cursor\":\"c0\",\"hasMore\":false}", "",
           "");
  }
  pthread_mutex_unlock(&s->base.mutex);
  free(url);
  free(body);
}

static int probes_of(away_server* s) {
  pthread_mutex_lock(&s->base.mutex);
  const int probes = s->probes;
  pthread_mutex_unlock(&s->base.mutex);
  return probes;
}

typedef struct probe_wait {
  away_server* s;
  int at_least;
} probe_wait;

static bool probed(void* argument) {
  probe_wait* w = argument;
  return probes_of(w->s) >= w->at_least;
}

static bool nothing_pending(void* argument) {
  away_server* s = argument;
  ferry_buffer status = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  const bool done = ferry_client_status(s->base.client, &status, &error) == FERRY_OK &&
                    contains(status.data, "\"pending\":0");
  ferry_buffer_release(&status);
  ferry_error_clear(&error);
  return done;
}

static void test_network_change_probes_at_once(void) {
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  away_server s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.base.mutex, NULL);
  ferry_client_options options;
  test_options(&options, path, "http://away.invalid");
  options.gzip_above_bytes = 0;     /* push_results reads the bodies */
  options.backoff_base_ms = 600000; /* the run retry is minutes away */
  options.backoff_max_ms = 600000;
  options.send_request = send_to_away_server;
  options.transport_user_data = &s;
  ferry_error error = FERRY_ERROR_INIT;
  REQUIRE(ferry_client_open(&options, &s.base.client, &error) == FERRY_OK);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_network_changed(NULL, &error), &error);

  CHECK_OK(ferry_client_put(s.base.client, S("notes"), S("a"), S("1"), &error), &error);
  run_outcome(&s.base, "\"outcome\":\"failed\"");
  /* Probes back off on their own: 4 come within a few seconds, and the
   * next one is at least 2 s after the 4th. */
  probe_wait w = {&s, 4};
  CHECK(wait_for(probed, &w, 10000));
  pthread_mutex_lock(&s.base.mutex);
  s.up = true;
  pthread_mutex_unlock(&s.base.mutex);
  const long long changed_at = now_ms();
  const int before = probes_of(&s);
  CHECK_OK(ferry_client_network_changed(s.base.client, &error), &error);
  w.at_least = before + 1;
  CHECK(wait_for(probed, &w, 1000));
  pthread_mutex_lock(&s.base.mutex);
  const long long probe_after = s.last_probe_at - changed_at;
  pthread_mutex_unlock(&s.base.mutex);
  if (probe_after > 500) {
    fprintf(stderr, "the probe came %lld ms after the network change\n", probe_after);
    ++g_failures;
  }
  /* The answered probe starts the run that pushes the write. */
  CHECK(wait_for(nothing_pending, &s, 2000));

  CHECK_OK(ferry_client_close(s.base.client, &error), &error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_network_changed(s.base.client, &error), &error);
  ferry_error_clear(&error);
  pthread_mutex_destroy(&s.base.mutex);
  remove_temp_dir(directory);
}

void host_transport_tests(void) {
  RUN_TEST(test_host_transport_with_server);
  RUN_TEST(test_host_transport_canned);
  RUN_TEST(test_network_change_probes_at_once);
}
