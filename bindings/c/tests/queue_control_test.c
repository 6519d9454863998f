/* Queue control (issue 17) through the C API: the pending listing, paged;
 * the cap on attempts against a real ferry-server that was stopped; clearing
 * the history; their options and their refusals. */
#include <pthread.h>
#include <stdint.h>

#include "harness.h"
#include "support.h"

/* How many times `needle` occurs in `text` (NUL-terminated; NULL: 0). */
static int occurrences(const char* text, const char* needle) {
  int count = 0;
  for (const char* at = text != NULL ? strstr(text, needle) : NULL; at != NULL;
       at = strstr(at + 1, needle))
    ++count;
  return count;
}

/* The seq of the last item of a listing (0 when there is none). */
static uint64_t last_seq(const char* json) {
  const char* at = NULL;
  for (const char* next = strstr(json, "\"seq\":"); next != NULL;
       next = strstr(next + 1, "\"seq\":"))
    at = next;
  return at != NULL ? strtoull(at + strlen("\"seq\":"), NULL, 10) : 0;
}

static void test_options_and_refusals(void) {
  ferry_client_options options;
  REQUIRE(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  CHECK(options.max_attempts == 0 && options.dead_letter_max_age_ms == 0); /* both off */

  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  test_options(&options, path, "http://127.0.0.1:9");
  options.dead_letter_max_age_ms = -1;
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &client, &error), &error);
  CHECK(client == NULL && contains(error.message, "dead_letter_max_age_ms"));
  options.dead_letter_max_age_ms = 60000;
  options.max_attempts = 5;
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);

  ferry_buffer out = FERRY_BUFFER_INIT;
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_pending_mutations(client, 0, 10, NULL, &error),
             &error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_pending_mutations(NULL, 0, 10, &out, &error),
             &error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_clear_history(NULL, true, &error), &error);
  CHECK(out.data == NULL);
  CHECK_OK(ferry_client_pending_mutations(client, 0, 0, &out, &error), &error);
  CHECK(out.data != NULL && strcmp(out.data, "[]") == 0);
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_clear_history(client, false, &error), &error); /* nothing to clear */
  CHECK_OK(ferry_client_close(client, &error), &error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_pending_mutations(client, 0, 10, &out, &error),
             &error);
  ferry_error_clear(&error);
  remove_temp_dir(directory);
}

static void test_pending_writes_are_listed_in_pages(void) {
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_client_options options;
  test_options(&options, path, "http://127.0.0.1:9");
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);
  const char* keys[] = {"p1", "p2", "p3", "p4", "p5"};
  for (int i = 0; i < 5; ++i)
    CHECK_OK(ferry_client_put(client, S("notes"), S(keys[i]), S("{\"n\":1}"), &error), &error);
  CHECK_OK(ferry_client_remove(client, S("notes"), S("p6"), &error), &error);

  ferry_buffer page = FERRY_BUFFER_INIT;
  uint64_t after = 0;
  int seen = 0;
  for (int round = 0; round < 10; ++round) {
    CHECK_OK(ferry_client_pending_mutations(client, after, 2, &page, &error), &error);
    REQUIRE(page.data != NULL);
    const int items = occurrences(page.data, "\"seq\":");
    if (items == 0) {
      ferry_buffer_release(&page);
      break;
    }
    CHECK(items <= 2);
    for (int i = seen; i < seen + items && i < 5; ++i) {
      char expected[32];
      snprintf(expected, sizeof expected, "\"key\":\"%s\"", keys[i]);
      CHECK(contains(page.data, expected));
    }
    CHECK(contains(page.data, "\"attempts\":0") && contains(page.data, "\"lastAttemptAt\":null") &&
          contains(page.data, "\"lastError\":null") &&
          contains(page.data, "\"collection\":\"notes\""));
    seen += items;
    const uint64_t last = last_seq(page.data);
    CHECK(last > after);
    after = last;
    ferry_buffer_release(&page);
  }
  CHECK(seen == 6);
  CHECK_OK(ferry_client_pending_mutations(client, 0, 0, &page, &error), &error);
  CHECK(occurrences(page.data, "\"seq\":") == 6 && contains(page.data, "\"op\":\"delete\""));
  ferry_buffer_release(&page);
  CHECK_OK(ferry_client_close(client, &error), &error);
  ferry_error_clear(&error);
  remove_temp_dir(directory);
}

static void sync_once(ferry_client* client, const char* outcome, ferry_error* error) {
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now(client, &run, error), error);
  char expected[64];
  snprintf(expected, sizeof expected, "\"outcome\":\"%s\"", outcome);
  if (!contains(run.data, expected)) {
    fprintf(stderr, "expected a %s run: %s\n", outcome, run.data != NULL ? run.data : "(none)");
    ++g_failures;
  }
  ferry_buffer_release(&run);
}

/* mutation.rejected events, heard on the owner thread. */
typedef struct rejections {
  pthread_mutex_t mutex;
  int count;
  char last[1024];
} rejections;

static void record_rejection(void* user_data, const char* json, size_t size) {
  (void)size;
  rejections* r = user_data;
  if (!contains(json, "\"type\":\"mutation.rejected\"")) return;
  pthread_mutex_lock(&r->mutex);
  ++r->count;
  snprintf(r->last, sizeof r->last, "%s", json);
  pthread_mutex_unlock(&r->mutex);
}

static int rejections_heard(rejections* r) {
  pthread_mutex_lock(&r->mutex);
  const int count = r->count;
  pthread_mutex_unlock(&r->mutex);
  return count;
}

static bool rejection_seen(void* argument) {
  return rejections_heard(argument) > 0;
}

/* The server goes away: every push fails for want of an answer, each counts
 * an attempt with its error, and the third dead-letters the write. */
static void test_attempt_cap_dead_letters_writes_the_server_never_answered(void) {
  test_server server;
  server_start(&server);
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_client_options options;
  test_options(&options, path, server.endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-alice";
  options.max_attempts = 3;
  /* The automatic retry waits minutes: the test's own syncs make the attempts. */
  options.backoff_base_ms = 600000;
  options.backoff_max_ms = 600000;
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);
  rejections rejected;
  memset(&rejected, 0, sizeof rejected);
  pthread_mutex_init(&rejected.mutex, NULL);
  ferry_listener_id listener = 0;
  CHECK_OK(ferry_client_add_event_listener(client, record_rejection, &rejected, &listener, &error),
           &error);
  CHECK_OK(ferry_client_put(client, S("notes"), S("n1"), S("1"), &error), &error);
  sync_once(client, "completed", &error);
  CHECK(server_stop(&server));

  CHECK_OK(ferry_client_put(client, S("notes"), S("n2"), S("2"), &error), &error);
  sync_once(client, "failed", &error);
  ferry_buffer out = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_pending_mutations(client, 0, 10, &out, &error), &error);
  CHECK(contains(out.data, "\"key\":\"n2\"") && contains(out.data, "\"attempts\":1"));
  CHECK(contains(out.data, "\"lastError\":\"unavailable: network error"));
  CHECK(!contains(out.data, "\"lastAttemptAt\":null"));
  if (g_failures > 0) fprintf(stderr, "pending: %s\n", out.data != NULL ? out.data : "(none)");
  ferry_buffer_release(&out);

  sync_once(client, "failed", &error);
  CHECK_OK(ferry_client_pending_mutations(client, 0, 10, &out, &error), &error);
  CHECK(contains(out.data, "\"attempts\":2"));
  ferry_buffer_release(&out);
  CHECK(rejections_heard(&rejected) == 0);
  sync_once(client, "failed", &error);

  CHECK(wait_for(rejection_seen, &rejected, 5000));
  CHECK(rejections_heard(&rejected) == 1);
  pthread_mutex_lock(&rejected.mutex);
  CHECK(contains(rejected.last, "network error") && contains(rejected.last, "\"key\":\"n2\""));
  pthread_mutex_unlock(&rejected.mutex);
  CHECK_OK(ferry_client_failed_mutations(client, &out, &error), &error);
  CHECK(contains(out.data, "\"key\":\"n2\"") && contains(out.data, "\"attempts\":3") &&
        contains(out.data, "\"error\":\"unavailable: network error"));
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_pending_mutations(client, 0, 10, &out, &error), &error);
  CHECK(out.data != NULL && strcmp(out.data, "[]") == 0);
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_status(client, &out, &error), &error);
  CHECK(contains(out.data, "\"pending\":0") && contains(out.data, "\"failed\":1"));
  ferry_buffer_release(&out);

  /* Four runs recorded; keep the latest, then none. */
  CHECK_OK(ferry_client_history(client, 50, &out, &error), &error);
  CHECK(occurrences(out.data, "\"outcome\":") == 4);
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_clear_history(client, true, &error), &error);
  CHECK_OK(ferry_client_history(client, 50, &out, &error), &error);
  CHECK(occurrences(out.data, "\"outcome\":") == 1 && contains(out.data, "\"outcome\":\"failed\""));
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_clear_history(client, false, &error), &error);
  CHECK_OK(ferry_client_history(client, 50, &out, &error), &error);
  CHECK(out.data != NULL && strcmp(out.data, "[]") == 0);
  ferry_buffer_release(&out);

  CHECK_OK(ferry_client_close(client, &error), &error);
  ferry_error_clear(&error);
  remove_temp_dir(directory);
  pthread_mutex_destroy(&rejected.mutex);
}

/* Runs `direction` (FERRY_SYNC_*) and checks the record has `expected` in it. */
static void sync_in(ferry_client* client, int direction, const char* expected, ferry_error* error) {
  ferry_buffer run = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_sync_now_direction(client, direction, &run, error), error);
  if (!contains(run.data, "\"outcome\":\"completed\"") || !contains(run.data, expected)) {
    fprintf(stderr, "expected a completed run with %s: %s\n", expected,
            run.data != NULL ? run.data : "(none)");
    ++g_failures;
  }
  ferry_buffer_release(&run);
}

/* A sync callback for calls that must be refused before it could run. */
static void ignore_run(void* user_data, ferry_result result, const char* run_json,
                       size_t run_json_size, const ferry_error* error) {
  (void)user_data, (void)result, (void)run_json, (void)run_json_size, (void)error;
  ++g_failures; /* never called */
}

static ferry_client* open_alice(const char* path, const char* endpoint) {
  ferry_client_options options;
  test_options(&options, path, endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-alice";
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  CHECK_OK(ferry_client_open(&options, &client, &error), &error);
  ferry_error_clear(&error);
  return client;
}

/* Push-only and pull-only runs against a real ferry-server, a forced full
 * resync, and the refusal of a direction that is not one. */
static void test_sync_direction_and_resync(void) {
  test_server server;
  server_start(&server);
  char directory_a[512], path_a[600], directory_b[512], path_b[600];
  make_temp_store(directory_a, sizeof directory_a, path_a, sizeof path_a);
  make_temp_store(directory_b, sizeof directory_b, path_b, sizeof path_b);
  ferry_client* a = open_alice(path_a, server.endpoint);
  ferry_client* b = open_alice(path_b, server.endpoint);
  REQUIRE(a != NULL && b != NULL);
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer out = FERRY_BUFFER_INIT;

  CHECK_OK(ferry_client_put(a, S("notes"), S("a1"), S("1"), &error), &error);
  sync_in(a, FERRY_SYNC_BOTH, "\"direction\":\"both\"", &error);
  CHECK_OK(ferry_client_put(b, S("notes"), S("b1"), S("2"), &error), &error);
  /* Pull only: a1 arrives, b1 stays pending. */
  sync_in(b, FERRY_SYNC_PULL, "\"direction\":\"pull\"", &error);
  CHECK_OK(ferry_client_get(b, S("notes"), S("a1"), &out, &error), &error);
  CHECK(out.data != NULL && strcmp(out.data, "1") == 0);
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_status(b, &out, &error), &error);
  CHECK(contains(out.data, "\"pending\":1"));
  ferry_buffer_release(&out);
  /* Push only: b1 goes, nothing comes back (a2 is at the server by then). */
  CHECK_OK(ferry_client_put(a, S("notes"), S("a2"), S("3"), &error), &error);
  sync_in(a, FERRY_SYNC_PUSH, "\"pushed\":1", &error);
  sync_in(b, FERRY_SYNC_PUSH, "\"pulled\":0", &error);
  CHECK_OK(ferry_client_get(b, S("notes"), S("a2"), &out, &error), &error);
  CHECK(out.data == NULL || strcmp(out.data, "null") == 0);
  ferry_buffer_release(&out);

  /* A resync pulls all three documents again, from the start. */
  CHECK_OK(ferry_client_put(b, S("notes"), S("b2"), S("4"), &error), &error);
  CHECK_OK(ferry_client_resync(b, &out, &error), &error);
  CHECK(contains(out.data, "\"outcome\":\"completed\"") && contains(out.data, "\"pushed\":1") &&
        contains(out.data, "\"pulled\":4"));
  if (g_failures > 0) fprintf(stderr, "resync: %s\n", out.data != NULL ? out.data : "(none)");
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_statistics(b, &out, &error), &error);
  CHECK(contains(out.data, "\"fullResyncs\":1"));
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_get(b, S("notes"), S("a2"), &out, &error), &error);
  CHECK(out.data != NULL && strcmp(out.data, "3") == 0);
  ferry_buffer_release(&out);

  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_sync_now_direction(b, 3, &out, &error), &error);
  CHECK(contains(error.message, "direction") && out.data == NULL);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_sync_now_direction_async(b, -1, ignore_run, NULL, &error), &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_resync_async(b, NULL, NULL, &error), &error);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_resync(NULL, &out, &error), &error);

  CHECK_OK(ferry_client_close(a, &error), &error);
  CHECK_OK(ferry_client_close(b, &error), &error);
  ferry_error_clear(&error);
  CHECK(server_stop(&server));
  remove_temp_dir(directory_a);
  remove_temp_dir(directory_b);
}

void queue_control_tests(void) {
  RUN_TEST(test_options_and_refusals);
  RUN_TEST(test_pending_writes_are_listed_in_pages);
  RUN_TEST(test_attempt_cap_dead_letters_writes_the_server_never_answered);
  RUN_TEST(test_sync_direction_and_resync);
}
