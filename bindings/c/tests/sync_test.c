/* Sync through libcurl against a real ferry-server on loopback: blocking and
 * async sync, events, history, statistics, the token provider, the log hook,
 * background sync, live updates, and close while a sync waits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"

typedef struct two_clients {
  test_server server;
  char directory[512];
  char path_a[600];
  char path_b[600];
  ferry_client* a;
  ferry_client* b;
  ferry_error error;
} two_clients;

static void open_client(two_clients* t, const char* path, ferry_client** client,
                        void (*adjust)(ferry_client_options*)) {
  ferry_client_options options;
  test_options(&options, path, t->server.endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-alice";
  if (adjust != NULL) adjust(&options);
  REQUIRE(ferry_client_open(&options, client, &t->error) == FERRY_OK);
}

static void start(two_clients* t, void (*adjust_b)(ferry_client_options*)) {
  memset(t, 0, sizeof *t);
  server_start(&t->server);
  make_temp_dir(t->directory, sizeof t->directory);
  path_in(t->path_a, sizeof t->path_a, t->directory, "a.db");
  path_in(t->path_b, sizeof t->path_b, t->directory, "b.db");
  open_client(t, t->path_a, &t->a, NULL);
  open_client(t, t->path_b, &t->b, adjust_b);
}

static void finish(two_clients* t) {
  if (t->a != NULL) CHECK_OK(ferry_client_close(t->a, &t->error), &t->error);
  if (t->b != NULL) CHECK_OK(ferry_client_close(t->b, &t->error), &t->error);
  ferry_error_clear(&t->error);
  CHECK(server_stop(&t->server));
  remove_temp_dir(t->directory);
}

static void sync_ok(ferry_client* client, ferry_error* error) {
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(client, &run, error), error);
  if (!contains(run.data, "\"outcome\":\"completed\"")) {
    fprintf(stderr, "sync run did not complete: %s\n", run.data != NULL ? run.data : "(none)");
    ++g_failures;
  }
  ferry_buffer_release(&run);
}

static void test_sync_between_two_clients(void) {
  two_clients t;
  start(&t, NULL);
  ferry_error* error = &t.error;
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("n1"), S("{\"title\":\"Milk\"}"), error), error);
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("n2"), S("{\"title\":\"Eggs\"}"), error), error);
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(t.a, &run, error), error);
  CHECK(contains(run.data, "\"outcome\":\"completed\"") && contains(run.data, "\"pushed\":2"));
  CHECK(contains(run.data, "\"reason\":\"manual\""));
  ferry_buffer_release(&run);
  /* `run` is optional. */
  CHECK_OK(ferry_client_sync_now(t.b, NULL, error), error);

  ferry_buffer value = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_get(t.b, S("notes"), S("n1"), &value, error), error);
  CHECK(value.data != NULL && strcmp(value.data, "{\"title\":\"Milk\"}") == 0);
  ferry_buffer_release(&value);

  /* B edits, A pulls. */
  CHECK_OK(ferry_client_patch(t.b, S("notes"), S("n2"), S("{\"done\":true}"), error), error);
  CHECK_OK(ferry_client_remove(t.b, S("notes"), S("n1"), error), error);
  sync_ok(t.b, error);
  sync_ok(t.a, error);
  CHECK_OK(ferry_client_get(t.a, S("notes"), S("n2"), &value, error), error);
  CHECK(contains(value.data, "\"done\":true"));
  ferry_buffer_release(&value);
  CHECK_OK(ferry_client_get(t.a, S("notes"), S("n1"), &value, error), error);
  CHECK(value.data == NULL);

  ferry_buffer report = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_status(t.a, &report, error), error);
  CHECK(contains(report.data, "\"state\":\"idle\"") && contains(report.data, "\"pending\":0"));
  CHECK(!contains(report.data, "\"lastSyncedAt\":null"));
  ferry_buffer_release(&report);
  CHECK_OK(ferry_client_statistics(t.a, &report, error), error);
  CHECK(contains(report.data, "\"runsCompleted\":2") &&
        contains(report.data, "\"mutationsPushed\":2"));
  ferry_buffer_release(&report);
  CHECK_OK(ferry_client_history(t.a, 1, &report, error), error);
  CHECK(report.data != NULL && report.data[0] == '[' && contains(report.data, "\"id\":2"));
  CHECK(!contains(report.data, "\"id\":1"));
  ferry_buffer_release(&report);
  CHECK_OK(ferry_client_history(t.a, 0, &report, error), error);
  CHECK(contains(report.data, "\"id\":1") && contains(report.data, "\"id\":2"));
  ferry_buffer_release(&report);
  finish(&t);
}

typedef struct async_result {
  pthread_mutex_t mutex;
  bool called;
  ferry_result result;
  char run[2048];
  char message[256];
  pthread_t thread;
} async_result;

static void on_synced(void* user_data, ferry_result result, const char* run_json, size_t size,
                      const ferry_error* error) {
  async_result* r = user_data;
  pthread_mutex_lock(&r->mutex);
  r->called = true;
  r->result = result;
  r->thread = pthread_self();
  if (run_json != NULL) {
    CHECK(strlen(run_json) == size);
    snprintf(r->run, sizeof r->run, "%s", run_json);
  }
  CHECK(error != NULL && error->code == result);
  if (error != NULL && error->message != NULL)
    snprintf(r->message, sizeof r->message, "%s", error->message);
  pthread_mutex_unlock(&r->mutex);
}

static bool async_called(void* argument) {
  async_result* r = argument;
  pthread_mutex_lock(&r->mutex);
  const bool called = r->called;
  pthread_mutex_unlock(&r->mutex);
  return called;
}

typedef struct event_log {
  pthread_mutex_t mutex;
  char text[65536];
  size_t size;
} event_log;

static void log_event(void* user_data, const char* json, size_t size) {
  event_log* log = user_data;
  pthread_mutex_lock(&log->mutex);
  if (log->size + size + 2 < sizeof log->text) {
    memcpy(log->text + log->size, json, size);
    log->size += size;
    log->text[log->size++] = '\n';
    log->text[log->size] = '\0';
  }
  pthread_mutex_unlock(&log->mutex);
}

static bool log_contains(event_log* log, const char* needle) {
  pthread_mutex_lock(&log->mutex);
  const bool found = contains(log->text, needle);
  pthread_mutex_unlock(&log->mutex);
  return found;
}

static bool completed_seen(void* argument) {
  return log_contains(argument, "\"type\":\"sync.completed\"");
}

static void test_sync_async_and_events(void) {
  two_clients t;
  start(&t, NULL);
  ferry_error* error = &t.error;
  event_log events;
  memset(&events, 0, sizeof events);
  pthread_mutex_init(&events.mutex, NULL);
  ferry_listener_id listener = 0;
  CHECK_OK(ferry_client_add_event_listener(t.a, log_event, &events, &listener, error), error);
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("n1"), S("1"), error), error);

  async_result r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mutex, NULL);
  CHECK_OK(ferry_client_sync_now_async(t.a, on_synced, &r, error), error);
  CHECK(wait_for(async_called, &r, 20000));
  CHECK(r.result == FERRY_OK);
  CHECK(contains(r.run, "\"outcome\":\"completed\"") && contains(r.run, "\"pushed\":1"));
  CHECK(!pthread_equal(r.thread, pthread_self()));

  CHECK(wait_for(completed_seen, &events, 5000));
  CHECK(log_contains(&events, "\"type\":\"sync.started\""));
  CHECK(log_contains(&events, "\"type\":\"sync.progress\""));
  CHECK(log_contains(&events, "\"type\":\"status\""));
  CHECK(log_contains(&events, "\"state\":\"syncing\""));
  CHECK_OK(ferry_client_remove_listener(t.a, listener, error), error);
  finish(&t);
  pthread_mutex_destroy(&r.mutex);
  pthread_mutex_destroy(&events.mutex);
}

typedef struct token_state {
  pthread_mutex_t mutex;
  int asked;
  int refreshes;
  size_t largest_capacity;
  const char* stale; /* returned without refresh */
  const char* fresh; /* returned on refresh */
} token_state;

static size_t rotating_token(void* user_data, bool refresh, char* buffer, size_t capacity) {
  token_state* s = user_data;
  pthread_mutex_lock(&s->mutex);
  ++s->asked;
  if (refresh) ++s->refreshes;
  if (capacity > s->largest_capacity) s->largest_capacity = capacity;
  const char* token = refresh ? s->fresh : s->stale;
  pthread_mutex_unlock(&s->mutex);
  const size_t size = strlen(token);
  if (size <= capacity) memcpy(buffer, token, size);
  return size;
}

static token_state* g_token_state;

static void use_rotating_token(ferry_client_options* options) {
  options->token_provider = rotating_token;
  options->token_user_data = g_token_state;
}

static void test_token_provider(void) {
  /* A stale token is refused (401); the fresh one is accepted. */
  token_state state = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, "token-expired", "token-alice"};
  g_token_state = &state;
  two_clients t;
  start(&t, use_rotating_token);
  CHECK_OK(ferry_client_put(t.b, S("notes"), S("n1"), S("1"), &t.error), &t.error);
  sync_ok(t.b, &t.error);
  CHECK(state.refreshes >= 1);
  CHECK_OK(ferry_client_close(t.b, &t.error), &t.error);
  t.b = NULL;

  /* Never accepted: the run fails and the status says auth_error; the
   * write stays pending. A token longer than the first buffer is asked for
   * again with room for it. */
  char long_token[1000];
  memset(long_token, 'x', sizeof long_token - 1);
  long_token[sizeof long_token - 1] = '\0';
  token_state refused = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, long_token, long_token};
  g_token_state = &refused;
  open_client(&t, t.path_b, &t.b, use_rotating_token);
  CHECK_OK(ferry_client_put(t.b, S("notes"), S("n2"), S("2"), &t.error), &t.error);
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(t.b, &run, &t.error), &t.error);
  CHECK(contains(run.data, "\"outcome\":\"failed\""));
  ferry_buffer_release(&run);
  ferry_buffer status = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_status(t.b, &status, &t.error), &t.error);
  CHECK(contains(status.data, "\"state\":\"auth_error\"") &&
        contains(status.data, "\"pending\":1"));
  ferry_buffer_release(&status);
  CHECK(refused.largest_capacity >= sizeof long_token - 1);
  CHECK(refused.refreshes >= 1);

  /* A token with a line break would forge headers: it is not sent, and the
   * run says why. */
  token_state forged = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, "token-alice\r\nX-Evil: 1",
                        "token-alice\r\nX-Evil: 1"};
  g_token_state = &forged;
  CHECK_OK(ferry_client_close(t.b, &t.error), &t.error);
  open_client(&t, t.path_b, &t.b, use_rotating_token);
  CHECK_OK(ferry_client_sync_now(t.b, &run, &t.error), &t.error);
  CHECK(contains(run.data, "\"outcome\":\"failed\""));
  CHECK(contains(run.data, "control character"));
  CHECK(!contains(run.data, "X-Evil"));
  ferry_buffer_release(&run);
  finish(&t);
}

typedef struct log_lines {
  pthread_mutex_t mutex;
  int info;
  int debug;
  char last_info[512];
} log_lines;

static void collect_log(void* user_data, ferry_log_level level, const char* message, size_t size) {
  log_lines* lines = user_data;
  CHECK(strlen(message) == size);
  pthread_mutex_lock(&lines->mutex);
  if (level == FERRY_LOG_INFO) {
    ++lines->info;
    snprintf(lines->last_info, sizeof lines->last_info, "%s", message);
  }
  if (level == FERRY_LOG_DEBUG) ++lines->debug;
  pthread_mutex_unlock(&lines->mutex);
}

static log_lines* g_log_lines;

static void use_log(ferry_client_options* options) {
  options->log = collect_log;
  options->log_user_data = g_log_lines;
}

static void test_log_hook(void) {
  log_lines lines;
  memset(&lines, 0, sizeof lines);
  pthread_mutex_init(&lines.mutex, NULL);
  g_log_lines = &lines;
  two_clients t;
  start(&t, use_log);
  CHECK_OK(ferry_client_put(t.b, S("notes"), S("n1"), S("1"), &t.error), &t.error);
  sync_ok(t.b, &t.error);
  pthread_mutex_lock(&lines.mutex);
  CHECK(lines.debug >= 2); /* the push and the pull requests */
  CHECK(lines.info >= 1 && contains(lines.last_info, "completed"));
  CHECK(!contains(lines.last_info, "token-alice"));
  pthread_mutex_unlock(&lines.mutex);
  finish(&t);
  pthread_mutex_destroy(&lines.mutex);
}

static bool has_document(void* argument) {
  two_clients* t = argument;
  ferry_buffer value = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  const bool found =
      ferry_client_get(t->b, S("notes"), S("live"), &value, &error) == FERRY_OK && value.data;
  ferry_buffer_release(&value);
  ferry_error_clear(&error);
  return found;
}

static void use_live_updates(ferry_client_options* options) {
  options->live_updates = true;
}

static void test_live_updates_and_background_sync(void) {
  /* B keeps the live stream open: A's push pokes it and B pulls. */
  two_clients t;
  start(&t, use_live_updates);
  sleep_ms(500); /* B's stream connects */
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("live"), S("1"), &t.error), &t.error);
  sync_ok(t.a, &t.error);
  CHECK(wait_for(has_document, &t, 15000));
  CHECK_OK(ferry_client_close(t.b, &t.error), &t.error);

  /* Background sync without the stream. */
  open_client(&t, t.path_b, &t.b, NULL);
  CHECK_OK(ferry_client_start_background_sync(t.b, 100, &t.error), &t.error);
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("background"), S("2"), &t.error), &t.error);
  sync_ok(t.a, &t.error);
  ferry_buffer value = FERRY_BUFFER_INIT;
  for (int i = 0; i < 200 && value.data == NULL; ++i) {
    sleep_ms(50);
    CHECK_OK(ferry_client_get(t.b, S("notes"), S("background"), &value, &t.error), &t.error);
  }
  CHECK(value.data != NULL);
  ferry_buffer_release(&value);
  CHECK_OK(ferry_client_stop_background_sync(t.b, &t.error), &t.error);
  finish(&t);
}

/* A server that accepts connections and never answers. */
static int black_hole(char* endpoint, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, (struct sockaddr*)&address, sizeof address) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd, (struct sockaddr*)&address, &length) == 0);
  snprintf(endpoint, size, "http://127.0.0.1:%u", (unsigned)ntohs(address.sin_port));
  return fd;
}

typedef struct blocked_sync {
  ferry_client* client;
  ferry_result result;
  char run[1024];
} blocked_sync;

static void* sync_in_thread(void* argument) {
  blocked_sync* s = argument;
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer run = FERRY_BUFFER_INIT;
  s->result = ferry_client_sync_now(s->client, &run, &error);
  if (run.data != NULL) snprintf(s->run, sizeof s->run, "%s", run.data);
  ferry_buffer_release(&run);
  ferry_error_clear(&error);
  return NULL;
}

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void test_close_while_sync_waits(void) {
  char endpoint[64], directory[512], path[600];
  const int hole = black_hole(endpoint, sizeof endpoint);
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_client_options options;
  test_options(&options, path, endpoint);
  options.request_timeout_ms = 60000;
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);
  CHECK_OK(ferry_client_put(client, S("notes"), S("n1"), S("1"), &error), &error);

  blocked_sync blocked = {client, FERRY_INTERNAL, {0}};
  pthread_t thread;
  pthread_create(&thread, NULL, sync_in_thread, &blocked);
  async_result r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mutex, NULL);
  CHECK_OK(ferry_client_sync_now_async(client, on_synced, &r, &error), &error);
  sleep_ms(300);
  CHECK(!async_called(&r)); /* the request hangs */

  const double before = seconds_now();
  CHECK_OK(ferry_client_close(client, &error), &error);
  CHECK(seconds_now() - before < 10.0);
  CHECK(async_called(&r)); /* before close returned */
  CHECK(r.result == FERRY_OK && contains(r.run, "\"outcome\":\"cancelled\""));
  pthread_join(thread, NULL);
  CHECK(blocked.result == FERRY_OK && contains(blocked.run, "\"outcome\":\"cancelled\""));

  /* The write is still there, pending. */
  options.endpoint = S("http://127.0.0.1:9");
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);
  ferry_buffer status = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_status(client, &status, &error), &error);
  CHECK(contains(status.data, "\"pending\":1"));
  ferry_buffer_release(&status);
  CHECK_OK(ferry_client_close(client, &error), &error);
  ferry_error_clear(&error);
  close(hole);
  remove_temp_dir(directory);
  pthread_mutex_destroy(&r.mutex);
}

static void test_report_reads_everything_at_once(void) {
  two_clients t;
  start(&t, NULL);
  ferry_error* error = &t.error;
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("r1"), S("1"), error), error);
  sync_ok(t.a, error);
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("r2"), S("2"), error), error);
  ferry_buffer report = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_report(t.a, 0, &report, error), error);
  CHECK(contains(report.data, "{\"failedMutations\":[],\"history\":[{"));
  CHECK(contains(report.data, "\"status\":{") && contains(report.data, "\"pending\":1"));
  CHECK(contains(report.data, "\"statistics\":{") && contains(report.data, "\"runsCompleted\":1"));
  ferry_buffer_release(&report);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_report(t.a, 5, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_report(NULL, 5, &report, error), error);
  CHECK(report.data == NULL);
  finish(&t);
}

static size_t failing_token(void* user_data, bool refresh, char* buffer, size_t capacity) {
  (void)user_data;
  (void)refresh;
  snprintf(buffer, capacity, "%s", "session gone");
  return FERRY_TOKEN_FAILED;
}

static void use_failing_token(ferry_client_options* options) {
  options->token_provider = failing_token;
}

static void test_token_failure_is_an_auth_error_that_keeps_writes(void) {
  two_clients t;
  start(&t, use_failing_token);
  CHECK_OK(ferry_client_put(t.b, S("notes"), S("never-sent"), S("1"), &t.error), &t.error);
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(t.b, &run, &t.error), &t.error);
  CHECK(contains(run.data, "\"outcome\":\"failed\"") && contains(run.data, "session gone"));
  ferry_buffer_release(&run);
  ferry_buffer status = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_status(t.b, &status, &t.error), &t.error);
  CHECK(contains(status.data, "\"state\":\"auth_error\"") &&
        contains(status.data, "\"pending\":1"));
  ferry_buffer_release(&status);
  finish(&t);
}

/* A listener slow enough that without the flush a put returns long before
 * its events are delivered. */
typedef struct slow_listener {
  pthread_mutex_t mutex;
  int delivered;
  ferry_client* client;
  ferry_result flush_inside;
} slow_listener;

static void count_slowly(void* user_data, const char* json, size_t size) {
  slow_listener* listener = user_data;
  (void)json;
  (void)size;
  sleep_ms(100);
  const ferry_result inside = ferry_client_flush_events(listener->client, NULL);
  pthread_mutex_lock(&listener->mutex);
  ++listener->delivered;
  listener->flush_inside = inside;
  pthread_mutex_unlock(&listener->mutex);
}

static void test_flush_events_waits_for_the_events_of_earlier_calls(void) {
  two_clients t;
  start(&t, NULL);
  slow_listener listener;
  memset(&listener, 0, sizeof listener);
  pthread_mutex_init(&listener.mutex, NULL);
  listener.client = t.a;
  ferry_listener_id id = 0;
  CHECK_OK(ferry_client_add_event_listener(t.a, count_slowly, &listener, &id, &t.error), &t.error);
  CHECK_OK(ferry_client_put(t.a, S("notes"), S("f1"), S("1"), &t.error), &t.error);
  CHECK_OK(ferry_client_flush_events(t.a, &t.error), &t.error);
  pthread_mutex_lock(&listener.mutex);
  CHECK(listener.delivered >= 2); /* status (pending 1) and change */
  CHECK(listener.flush_inside == FERRY_WRONG_THREAD);
  pthread_mutex_unlock(&listener.mutex);
  CHECK_OK(ferry_client_remove_listener(t.a, id, &t.error), &t.error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_flush_events(NULL, &t.error), &t.error);
  finish(&t);
  pthread_mutex_destroy(&listener.mutex);
}

void sync_tests(void) {
  RUN_TEST(test_sync_between_two_clients);
  RUN_TEST(test_sync_async_and_events);
  RUN_TEST(test_token_provider);
  RUN_TEST(test_log_hook);
  RUN_TEST(test_live_updates_and_background_sync);
  RUN_TEST(test_close_while_sync_waits);
  RUN_TEST(test_report_reads_everything_at_once);
  RUN_TEST(test_token_failure_is_an_auth_error_that_keeps_writes);
  RUN_TEST(test_flush_events_waits_for_the_events_of_earlier_calls);
}
