/* The C API without a server: versions, errors, options, local data, handles,
 * listeners and callbacks, and bad arguments of every kind. The endpoint is a
 * closed loopback port; nothing here syncs. */
#include <pthread.h>

#include "harness.h"
#include "support.h"

static const char* const kNowhere = "http://127.0.0.1:9";

typedef struct fixture {
  char directory[512];
  char path[600];
  ferry_client* client;
  ferry_error error;
} fixture;

static void open_fixture(fixture* f) {
  memset(f, 0, sizeof *f);
  make_temp_store(f->directory, sizeof f->directory, f->path, sizeof f->path);
  ferry_client_options options;
  test_options(&options, f->path, kNowhere);
  REQUIRE(ferry_client_open(&options, &f->client, &f->error) == FERRY_OK);
  REQUIRE(f->client != NULL);
}

static void close_fixture(fixture* f) {
  if (f->client != NULL) CHECK_OK(ferry_client_close(f->client, &f->error), &f->error);
  ferry_error_clear(&f->error);
  remove_temp_dir(f->directory);
}

static void test_version(void) {
  CHECK(strcmp(ferry_version(), FERRY_VERSION_STRING) == 0);
  CHECK(ferry_version_number() == FERRY_VERSION_NUMBER);
  CHECK(FERRY_VERSION_NUMBER ==
        FERRY_VERSION_MAJOR * 10000 + FERRY_VERSION_MINOR * 100 + FERRY_VERSION_PATCH);
}

static void test_result_names(void) {
  CHECK(strcmp(ferry_result_name(FERRY_OK), "ok") == 0);
  CHECK(strcmp(ferry_result_name(FERRY_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(ferry_result_name(FERRY_INTERNAL), "internal") == 0);
  CHECK(strcmp(ferry_result_name(FERRY_INVALID_HANDLE), "invalid_handle") == 0);
  CHECK(strcmp(ferry_result_name(FERRY_WRONG_THREAD), "wrong_thread") == 0);
  CHECK(strcmp(ferry_result_name((ferry_result)999), "unknown") == 0);
}

static void test_errors_and_buffers(void) {
  ferry_error_clear(NULL);
  ferry_buffer_release(NULL);
  ferry_buffer empty = FERRY_BUFFER_INIT;
  ferry_buffer_release(&empty);

  ferry_error error = FERRY_ERROR_INIT;
  /* A failure fills the error, a success resets it, a second failure
   * replaces the first message (no leak under ASan). */
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_delete_local_data(S(""), &error), &error);
  CHECK(error.message != NULL && error.message_size == strlen(error.message));
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_cancel(NULL, &error), &error);
  CHECK(contains(error.message, "ferry_client"));
  char directory[512], path[600];
  make_temp_dir(directory, sizeof directory);
  path_in(path, sizeof path, directory, "none.db");
  CHECK_OK(ferry_delete_local_data(S(path), &error), &error);
  CHECK(error.code == FERRY_OK && error.message == NULL && error.message_size == 0);
  ferry_error_clear(&error);
  ferry_error_clear(&error);
  remove_temp_dir(directory);
  /* The error is optional. */
  CHECK(ferry_client_cancel(NULL, NULL) == FERRY_INVALID_HANDLE);
}

static void test_options_init(void) {
  ferry_client_options options;
  CHECK(ferry_client_options_init(NULL, sizeof options) == FERRY_INVALID_ARGUMENT);
  CHECK(ferry_client_options_init(&options, 0) == FERRY_INVALID_ARGUMENT);
  CHECK(ferry_client_options_init(&options, 3) == FERRY_INVALID_ARGUMENT);
  CHECK(ferry_client_options_init(&options, sizeof options + 8) == FERRY_INVALID_ARGUMENT);
  CHECK(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  CHECK(options.struct_size == sizeof options);
  CHECK(options.sync_on_local_write);
  CHECK(options.live_updates);
  CHECK(options.request_timeout_ms == 30000);
  CHECK(options.local_write_debounce_ms == 0);
  CHECK(options.gzip_above_bytes == 1024);
  CHECK(options.push_batch_size == 500 && options.pull_page_size == 1000);
  CHECK(options.interval_ms == 0 && options.random_seed == 0 && !options.durable_full);
  CHECK(options.path.data == NULL && options.endpoint.size == 0);
  CHECK(options.log == NULL && options.token_provider == NULL && options.send_request == NULL);
  CHECK(options.conflict_resolver == NULL && options.conflict_user_data == NULL);
  CHECK(options.store_lock_timeout_ms == 0);
  CHECK(options.headers == NULL && options.header_count == 0);
  CHECK(options.backoff_base_ms == 1000 && options.backoff_max_ms == 300000);
  CHECK(options.push_batch_bytes == 1024 * 1024 && options.history_limit == 100);

  /* A caller built against the first header (without conflict_resolver)
   * passes its shorter size: only that much is written. */
  const size_t first_size = offsetof(ferry_client_options, conflict_resolver);
  memset(&options, 0xab, sizeof options);
  CHECK(ferry_client_options_init(&options, first_size) == FERRY_OK);
  CHECK(options.struct_size == first_size && options.request_timeout_ms == 30000);
  const unsigned char* tail = (const unsigned char*)&options + first_size;
  CHECK(tail[0] == 0xab && tail[sizeof options - first_size - 1] == 0xab);
}

static void check_open_fails(const ferry_client_options* options, ferry_result expected,
                             const char* what) {
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = (ferry_client*)&error; /* must be reset to NULL */
  const ferry_result result = ferry_client_open(options, &client, &error);
  if (result != expected || client != NULL) {
    fprintf(stderr, "open with %s: %s (%s), expected %s\n", what, ferry_result_name(result),
            error.message != NULL ? error.message : "", ferry_result_name(expected));
    ++g_failures;
  }
  ferry_error_clear(&error);
}

static void test_open_bad_arguments(void) {
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_client_options options;
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;

  test_options(&options, path, kNowhere);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(NULL, &client, &error), &error);
  CHECK(client == NULL);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, NULL, &error), &error);

  options.struct_size = 7;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a wrong struct_size");
  options.struct_size = sizeof options + 16;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a struct_size from a newer header");

  test_options(&options, "", kNowhere);
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "an empty path");
  test_options(&options, path, "");
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "an empty endpoint");
  test_options(&options, path, kNowhere);
  options.path = (ferry_slice){"\xff\xfe.db", 5};
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a path that is not UTF-8");
  test_options(&options, path, kNowhere);
  options.endpoint = (ferry_slice){"http://a\0b", 10};
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "an endpoint with a NUL byte");
  test_options(&options, path, kNowhere);
  options.endpoint = (ferry_slice){NULL, 12};
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "an endpoint {NULL, 12}");
  test_options(&options, path, kNowhere);
  options.conflicts_json = S("{\"default\":");
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "malformed conflicts JSON");
  options.conflicts_json = S("{\"default\":\"coinFlip\"}");
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "an unknown conflict strategy");
  options.conflicts_json = S("{\"default\":\"custom\"}");
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a custom strategy without resolver");
  options.conflicts_json = S("[1]");
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "conflicts that are not an object");
  test_options(&options, path, kNowhere);
  options.request_timeout_ms = 0;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "request_timeout_ms 0");
  test_options(&options, path, kNowhere);
  options.push_batch_size = 0;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "push_batch_size 0");
  test_options(&options, path, kNowhere);
  options.pull_page_size = 0;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "pull_page_size 0");
  test_options(&options, path, kNowhere);
  options.interval_ms = -5;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a negative interval");
  test_options(&options, path, kNowhere);
  options.store_lock_timeout_ms = -1;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a negative store lock timeout");
  test_options(&options, path, kNowhere);
  options.cancel_request = (ferry_cancel_request_callback)1;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "cancel_request without send_request");
  test_options(&options, path, kNowhere);
  options.backoff_max_ms = 10; /* below the base */
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a backoff maximum below its base");
  test_options(&options, path, kNowhere);
  options.history_limit = 0;
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a history limit of 0");
  test_options(&options, path, kNowhere);
  options.header_count = 1; /* headers NULL */
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "header_count without headers");
  {
    const ferry_http_header refused[][1] = {
        {{S("Content-Type"), S("text/plain")}},   /* Ferry's own */
        {{S("X Key"), S("v")}},                   /* not an HTTP token */
        {{S("X-Key"), S("secret\r\nX-Evil: 1")}}, /* would end the header */
        {{S("Authorization"), S("ApiKey k")}},    /* beside a token provider */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; ++i) {
      test_options(&options, path, kNowhere);
      options.token_provider = fixed_token;
      options.token_user_data = (void*)"token-alice";
      options.headers = refused[i];
      options.header_count = 1;
      check_open_fails(&options, FERRY_INVALID_ARGUMENT, "a refused custom header");
      CHECK(ferry_client_open(&options, &client, &error) == FERRY_INVALID_ARGUMENT);
      CHECK(!contains(error.message, "secret")); /* a value is never quoted */
      ferry_error_clear(&error);
    }
  }

  /* A file that is not a store. */
  FILE* file = fopen(path, "w");
  REQUIRE(file != NULL);
  fputs("this is not a SQLite database, not at all, not even close to one\n", file);
  fclose(file);
  test_options(&options, path, kNowhere);
  check_open_fails(&options, FERRY_CORRUPTION, "a file that is not a store");

  /* The first layout opens too (its missing fields are defaults). */
  remove(path);
  test_options(&options, path, kNowhere);
  options.struct_size = offsetof(ferry_client_options, conflict_resolver);
  options.conflict_resolver = (ferry_conflict_resolver_callback)1; /* beyond its size: unread */
  options.conflicts_json = S("{\"default\":\"custom\"}");
  check_open_fails(&options, FERRY_INVALID_ARGUMENT, "custom with a resolver past struct_size");
  options.conflicts_json = S("");
  CHECK_OK(ferry_client_open(&options, &client, &error), &error);
  CHECK_OK(ferry_client_close(client, &error), &error);
  /* So does the second (its store lock timeout is the default, 0). */
  test_options(&options, path, kNowhere);
  options.struct_size = offsetof(ferry_client_options, store_lock_timeout_ms);
  CHECK_OK(ferry_client_open(&options, &client, &error), &error);
  CHECK_OK(ferry_client_close(client, &error), &error);
  /* And the third (no headers; default backoff, batch bytes, history). */
  test_options(&options, path, kNowhere);
  options.struct_size = offsetof(ferry_client_options, headers);
  options.header_count = 3; /* beyond its size: unread */
  CHECK_OK(ferry_client_open(&options, &client, &error), &error);
  CHECK_OK(ferry_client_close(client, &error), &error);

  /* Valid conflict strategies open. */
  remove(path);
  test_options(&options, path, kNowhere);
  options.conflicts_json =
      S("{\"default\":\"lastWriteWins\",\"collections\":{\"notes\":\"merge\"}}");
  CHECK_OK(ferry_client_open(&options, &client, &error), &error);
  CHECK_OK(ferry_client_close(client, &error), &error);
  ferry_error_clear(&error);
  remove_temp_dir(directory);
}

static void test_local_data(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  ferry_buffer value = FERRY_BUFFER_INIT;

  CHECK_OK(ferry_client_put(f.client, S("notes"), S("n1"), S("{\"title\":\"Milk\"}"), error),
           error);
  CHECK_OK(ferry_client_get(f.client, S("notes"), S("n1"), &value, error), error);
  CHECK(value.data != NULL && strcmp(value.data, "{\"title\":\"Milk\"}") == 0);
  CHECK(value.size == strlen("{\"title\":\"Milk\"}"));
  ferry_buffer_release(&value);
  CHECK(value.data == NULL && value.size == 0);

  CHECK_OK(ferry_client_patch(f.client, S("notes"), S("n1"), S("{\"done\":true}"), error), error);
  CHECK_OK(ferry_client_get(f.client, S("notes"), S("n1"), &value, error), error);
  CHECK(contains(value.data, "\"done\":true") && contains(value.data, "Milk"));
  ferry_buffer_release(&value);

  CHECK_OK(ferry_client_remove(f.client, S("notes"), S("n1"), error), error);
  CHECK_OK(ferry_client_get(f.client, S("notes"), S("n1"), &value, error), error);
  CHECK(value.data == NULL && value.size == 0); /* absent: OK with no buffer */

  /* Explicit lengths: the key is "n2" even though the text goes on. */
  CHECK_OK(
      ferry_client_put(f.client, S("notes"), (ferry_slice){"n2-and-more", 2}, S("[1,2]"), error),
      error);
  CHECK_OK(ferry_client_get(f.client, S("notes"), S("n2"), &value, error), error);
  CHECK(value.data != NULL && strcmp(value.data, "[1,2]") == 0);
  ferry_buffer_release(&value);
  /* UTF-8 beyond ASCII is fine. */
  CHECK_OK(ferry_client_put(f.client, S("notes"), S("caf\xc3\xa9"), S("\"cr\xc3\xa8me\""), error),
           error);

  CHECK_OK(ferry_client_write(f.client,
                              S("[{\"op\":\"put\",\"collection\":\"todos\",\"key\":\"a\","
                                "\"value\":{\"n\":1}},"
                                "{\"op\":\"put\",\"collection\":\"todos\",\"key\":\"b\","
                                "\"value\":{\"n\":2}},"
                                "{\"op\":\"patch\",\"collection\":\"todos\",\"key\":\"a\","
                                "\"value\":{\"m\":3}},"
                                "{\"op\":\"put\",\"collection\":\"todos\",\"key\":\"c\","
                                "\"value\":3},"
                                "{\"op\":\"delete\",\"collection\":\"todos\",\"key\":\"c\"}]"),
                              error),
           error);
  ferry_buffer rows = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_scan(f.client, S("todos"), S(""), 0, &rows, error), error);
  CHECK(
      rows.data != NULL &&
      strcmp(rows.data,
             "[{\"key\":\"a\",\"value\":{\"m\":3,\"n\":1}},{\"key\":\"b\",\"value\":{\"n\":2}}]") ==
          0);
  ferry_buffer_release(&rows);
  CHECK_OK(ferry_client_scan(f.client, S("todos"), S("b"), 0, &rows, error), error);
  CHECK(rows.data != NULL && strcmp(rows.data, "[{\"key\":\"b\",\"value\":{\"n\":2}}]") == 0);
  ferry_buffer_release(&rows);
  CHECK_OK(ferry_client_scan(f.client, S("todos"), S(""), 1, &rows, error), error);
  CHECK(contains(rows.data, "\"a\"") && !contains(rows.data, "\"b\""));
  ferry_buffer_release(&rows);
  CHECK_OK(ferry_client_scan(f.client, S("empty"), S(""), 0, &rows, error), error);
  CHECK(rows.data != NULL && strcmp(rows.data, "[]") == 0);
  ferry_buffer_release(&rows);

  ferry_buffer id = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_id(f.client, &id, error), error);
  CHECK(id.data != NULL && id.size > 0 && strlen(id.data) == id.size);
  ferry_buffer_release(&id);

  ferry_buffer status = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_status(f.client, &status, error), error);
  CHECK(contains(status.data, "\"state\":\"never_synced\""));
  CHECK(contains(status.data, "\"pending\":"));
  ferry_buffer_release(&status);
  close_fixture(&f);
}

static void test_local_data_bad_arguments(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  ferry_client* c = f.client;
  ferry_buffer out = FERRY_BUFFER_INIT;
  const ferry_slice bad_utf8 = {"\xc3\x28", 2};
  const ferry_slice dangling = {NULL, 4};

  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, bad_utf8, S("k"), S("1"), error), error);
  CHECK(contains(error->message, "UTF-8"));
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), bad_utf8, S("1"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), S("k"), bad_utf8, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, dangling, S("k"), S("1"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), dangling, S("1"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), S("k"), dangling, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), S("k"), S("{\"a\":"), error),
             error);
  CHECK(contains(error->message, "JSON"));
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), S("k"), S(""), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), S("k"), S("null"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S(""), S("k"), S("1"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_put(c, S("c"), S(""), S("1"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_put(c, S("c"), (ferry_slice){"a\0b", 3}, S("1"), error), error);
  /* A value over the 1 MiB limit. */
  const size_t big = (1u << 20) + 16;
  char* large = malloc(big);
  REQUIRE(large != NULL);
  memset(large, 'x', big);
  large[0] = '"';
  large[big - 1] = '"';
  CHECK_CODE(FERRY_TOO_LARGE, ferry_client_put(c, S("c"), S("k"), (ferry_slice){large, big}, error),
             error);
  free(large);

  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_patch(c, S("c"), S("k"), S("[1]"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_patch(c, S("c"), S("k"), S("{"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_patch(c, bad_utf8, S("k"), S("{}"), error),
             error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_remove(c, bad_utf8, S("k"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_remove(c, S("c"), dangling, error), error);

  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_write(c, S("["), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_write(c, S("{}"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_write(c, dangling, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_write(c, bad_utf8, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_write(c, S("[{\"op\":\"put\",\"collection\":\"c\",\"value\":1}]"), error),
             error);
  CHECK_CODE(
      FERRY_INVALID_ARGUMENT,
      ferry_client_write(
          c, S("[{\"op\":\"upsert\",\"collection\":\"c\",\"key\":\"k\",\"value\":1}]"), error),
      error);
  /* All or none: the second write is bad, so the first is not made. */
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_write(c,
                                S("[{\"op\":\"put\",\"collection\":\"c\",\"key\":\"k1\","
                                  "\"value\":1},{\"op\":\"put\",\"collection\":\"c\",\"key\":"
                                  "\"k2\",\"value\":null}]"),
                                error),
             error);
  CHECK_OK(ferry_client_get(c, S("c"), S("k1"), &out, error), error);
  CHECK(out.data == NULL);
  CHECK_OK(ferry_client_write(c, S("[]"), error), error);
  /* A value nested 33 or 36 levels deep: refused as such, whatever depth. */
  for (int depth = 33; depth <= 36; depth += 3) {
    char deep[256];
    int at = snprintf(deep, sizeof deep,
                      "[{\"op\":\"put\",\"collection\":\"c\",\"key\":\"d\",\"value\":");
    for (int i = 0; i < depth; ++i)
      deep[at++] = '[';
    for (int i = 0; i < depth; ++i)
      deep[at++] = ']';
    at += snprintf(deep + at, sizeof deep - (size_t)at, "}]");
    CHECK_CODE(FERRY_TOO_LARGE, ferry_client_write(c, (ferry_slice){deep, (size_t)at}, error),
               error);
    CHECK(contains(error->message, "value nests deeper than 32 levels"));
  }

  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_get(c, S("c"), S("k"), NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_get(c, bad_utf8, S("k"), &out, error), error);
  CHECK(out.data == NULL);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_scan(c, S("c"), S(""), 0, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_scan(c, S("c"), bad_utf8, 0, &out, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_id(c, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_status(c, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_statistics(c, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_history(c, 10, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_failed_mutations(c, NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_start_background_sync(c, 0, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_start_background_sync(c, -1, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_subscribe(c, NULL, NULL, &(ferry_listener_id){0}, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_add_event_listener(c, (ferry_event_callback)NULL, NULL, NULL, error),
             error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_sync_now_async(c, NULL, NULL, error), error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_remove_listener(c, 987654, error), error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_retry_failed_mutation(c, 424242, NULL, error), error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_discard_failed_mutation(c, 424242, error), error);
  /* No host transport on this client. */
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_complete_request(c, 1, 200, "{}", 2, S(""), S(""), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_request_data(c, 1, "x", 1, error), error);
  /* Still healthy afterwards. */
  CHECK_OK(ferry_client_put(c, S("c"), S("k"), S("true"), error), error);
  close_fixture(&f);
}

/* Every call with a NULL, made-up or closed handle: FERRY_INVALID_HANDLE. */
static void check_all_calls_refuse(ferry_client* c) {
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer out = FERRY_BUFFER_INIT;
  ferry_listener_id listener = 0;
  uint64_t seq = 0;
  const ferry_result h = FERRY_INVALID_HANDLE;
  CHECK_CODE(h, ferry_client_id(c, &out, &error), &error);
  CHECK_CODE(h, ferry_client_put(c, S("c"), S("k"), S("1"), &error), &error);
  CHECK_CODE(h, ferry_client_patch(c, S("c"), S("k"), S("{}"), &error), &error);
  CHECK_CODE(h, ferry_client_remove(c, S("c"), S("k"), &error), &error);
  CHECK_CODE(h, ferry_client_write(c, S("[]"), &error), &error);
  CHECK_CODE(h, ferry_client_get(c, S("c"), S("k"), &out, &error), &error);
  CHECK_CODE(h, ferry_client_scan(c, S("c"), S(""), 0, &out, &error), &error);
  CHECK_CODE(h, ferry_client_subscribe(c, (ferry_event_callback)1, NULL, &listener, &error),
             &error);
  CHECK_CODE(h,
             ferry_client_add_event_listener(c, (ferry_event_callback)1, NULL, &listener, &error),
             &error);
  CHECK_CODE(h, ferry_client_remove_listener(c, 1, &error), &error);
  CHECK_CODE(h, ferry_client_sync_now(c, &out, &error), &error);
  CHECK_CODE(h, ferry_client_sync_now_async(c, (ferry_sync_callback)1, NULL, &error), &error);
  CHECK_CODE(h, ferry_client_start_background_sync(c, 1000, &error), &error);
  CHECK_CODE(h, ferry_client_stop_background_sync(c, &error), &error);
  CHECK_CODE(h, ferry_client_set_online(c, true, &error), &error);
  CHECK_CODE(h, ferry_client_cancel(c, &error), &error);
  CHECK_CODE(h, ferry_client_status(c, &out, &error), &error);
  CHECK_CODE(h, ferry_client_statistics(c, &out, &error), &error);
  CHECK_CODE(h, ferry_client_history(c, 5, &out, &error), &error);
  CHECK_CODE(h, ferry_client_failed_mutations(c, &out, &error), &error);
  CHECK_CODE(h, ferry_client_retry_failed_mutation(c, 1, &seq, &error), &error);
  CHECK_CODE(h, ferry_client_discard_failed_mutation(c, 1, &error), &error);
  CHECK_CODE(h, ferry_client_complete_request(c, 1, 200, "", 0, S(""), S(""), &error), &error);
  CHECK_CODE(h, ferry_client_request_data(c, 1, "", 0, &error), &error);
  CHECK_CODE(h, ferry_client_close(c, &error), &error);
  CHECK(out.data == NULL);
  ferry_error_clear(&error);
}

static void test_null_and_closed_handles(void) {
  check_all_calls_refuse(NULL);
  check_all_calls_refuse((ferry_client*)(uintptr_t)0x7fffffff);

  fixture f;
  open_fixture(&f);
  ferry_client* closed = f.client;
  CHECK_OK(ferry_client_close(closed, &f.error), &f.error);
  f.client = NULL;
  check_all_calls_refuse(closed);

  /* A new client never gets the old handle back. */
  ferry_client_options options;
  test_options(&options, f.path, kNowhere);
  CHECK_OK(ferry_client_open(&options, &f.client, &f.error), &f.error);
  CHECK(f.client != closed);
  check_all_calls_refuse(closed);
  CHECK_OK(ferry_client_put(f.client, S("c"), S("k"), S("1"), &f.error), &f.error);
  close_fixture(&f);
}

typedef struct recorder {
  pthread_mutex_t mutex;
  int calls;
  char last[4096];
} recorder;

static void record_event(void* user_data, const char* json, size_t size) {
  recorder* r = user_data;
  pthread_mutex_lock(&r->mutex);
  ++r->calls;
  CHECK(strlen(json) == size); /* NUL-terminated as well */
  snprintf(r->last, sizeof r->last, "%s", json);
  pthread_mutex_unlock(&r->mutex);
}

static int calls_of(recorder* r) {
  pthread_mutex_lock(&r->mutex);
  const int calls = r->calls;
  pthread_mutex_unlock(&r->mutex);
  return calls;
}

static void test_listeners(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  recorder changes = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};
  recorder events = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};
  ferry_listener_id change_listener = 0, event_listener = 0;
  CHECK_OK(ferry_client_subscribe(f.client, record_event, &changes, &change_listener, error),
           error);
  CHECK_OK(ferry_client_add_event_listener(f.client, record_event, &events, &event_listener, error),
           error);
  CHECK(change_listener != 0 && event_listener != 0 && change_listener != event_listener);

  CHECK_OK(ferry_client_put(f.client, S("notes"), S("n1"), S("1"), error), error);
  /* Listeners run on the owner thread: the write returns first. */
  sleep_ms(300);
  CHECK(calls_of(&changes) == 1);
  CHECK(strcmp(changes.last,
               "{\"documents\":[{\"collection\":\"notes\",\"key\":\"n1\"}],\"evicted\":false,"
               "\"remote\":false,\"type\":\"change\"}") == 0);
  CHECK(calls_of(&events) >= 1); /* the change, and the status (pending: 1) */

  CHECK_OK(ferry_client_remove_listener(f.client, change_listener, error), error);
  CHECK_OK(ferry_client_remove_listener(f.client, event_listener, error), error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_remove_listener(f.client, change_listener, error),
             error);
  const int before = calls_of(&events);
  CHECK_OK(ferry_client_put(f.client, S("notes"), S("n2"), S("2"), error), error);
  sleep_ms(300);
  CHECK(calls_of(&changes) == 1);
  CHECK(calls_of(&events) == before);
  close_fixture(&f);
}

static void record_page(void* user_data, const char* json, size_t size) {
  if (strstr(json, "\"type\":\"query\"") != NULL) record_event(user_data, json, size);
}

static bool pages_seen_2(void* r) {
  return calls_of(r) >= 2;
}
static bool pages_seen_1(void* r) {
  return calls_of(r) >= 1;
}

/* A live query's pages come to event listeners, the first at once and then
 * one per change of its result, none for other changes or once ended. */
static void test_live_query(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  recorder pages = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};
  ferry_listener_id listener = 0;
  CHECK_OK(ferry_client_add_event_listener(f.client, record_page, &pages, &listener, error), error);
  CHECK_OK(ferry_client_put(f.client, S("tasks"), S("t1"), S("{\"due\":2}"), error), error);
  const char* query = "{\"collection\":\"tasks\",\"orderBy\":[{\"path\":\"due\"}]}";
  const uint64_t id = 42;
  CHECK_OK(ferry_client_subscribe_query(f.client, S(query), id, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_subscribe_query(f.client, S(query), id, error),
             error);
  CHECK(wait_for(pages_seen_1, &pages, 5000));
  char expected[64];
  snprintf(expected, sizeof expected, "\"query\":%llu", (unsigned long long)id);
  CHECK(contains(pages.last, expected) && contains(pages.last, "\"added\":[\"t1\"]"));

  CHECK_OK(ferry_client_put(f.client, S("tasks"), S("t2"), S("{\"due\":1}"), error), error);
  CHECK(wait_for(pages_seen_2, &pages, 5000));
  CHECK(contains(pages.last, "\"added\":[\"t2\"]"));
  CHECK(strstr(pages.last, "\"t2\"") < strstr(pages.last, "\"t1\""));

  CHECK_OK(ferry_client_put(f.client, S("notes"), S("n1"), S("1"), error), error);
  CHECK_OK(ferry_client_unsubscribe_query(f.client, id, error), error);
  CHECK_CODE(FERRY_NOT_FOUND, ferry_client_unsubscribe_query(f.client, id, error), error);
  CHECK_OK(ferry_client_put(f.client, S("tasks"), S("t3"), S("{\"due\":0}"), error), error);
  sleep_ms(300);
  CHECK(calls_of(&pages) == 2);

  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_subscribe_query(f.client, S(query), 0, error),
             error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_subscribe_query(f.client, S("{}"), 7, error),
             error);
  close_fixture(&f);
}

/* A listener that calls back into its client. */
typedef struct reentry {
  ferry_client* client;
  ferry_listener_id self;
  int calls;
  ferry_result close_result;
  ferry_result sync_result;
  ferry_result get_result;
  ferry_result put_result;
  ferry_result remove_result;
  pthread_mutex_t mutex;
  bool done;
} reentry;

static void reenter(void* user_data, const char* json, size_t size) {
  (void)json;
  (void)size;
  reentry* r = user_data;
  if (r->calls++ > 0) return; /* only the first event */
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer out = FERRY_BUFFER_INIT;
  r->close_result = ferry_client_close(r->client, &error);
  r->sync_result = ferry_client_sync_now(r->client, &out, &error);
  r->get_result = ferry_client_get(r->client, S("notes"), S("n1"), &out, &error);
  ferry_buffer_release(&out);
  r->remove_result = ferry_client_remove_listener(r->client, r->self, &error);
  r->put_result = ferry_client_put(r->client, S("notes"), S("from-callback"), S("1"), &error);
  ferry_error_clear(&error);
  pthread_mutex_lock(&r->mutex);
  r->done = true;
  pthread_mutex_unlock(&r->mutex);
}

static bool reentry_done(void* argument) {
  reentry* r = argument;
  pthread_mutex_lock(&r->mutex);
  const bool done = r->done;
  pthread_mutex_unlock(&r->mutex);
  return done;
}

static void test_callbacks_call_back(void) {
  fixture f;
  open_fixture(&f);
  reentry r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mutex, NULL);
  r.client = f.client;
  CHECK_OK(ferry_client_subscribe(f.client, reenter, &r, &r.self, &f.error), &f.error);
  CHECK_OK(ferry_client_put(f.client, S("notes"), S("n1"), S("1"), &f.error), &f.error);
  CHECK(wait_for(reentry_done, &r, 10000));
  CHECK(r.close_result == FERRY_WRONG_THREAD);
  CHECK(r.sync_result == FERRY_WRONG_THREAD);
  CHECK(r.get_result == FERRY_OK);
  CHECK(r.put_result == FERRY_OK);
  CHECK(r.remove_result == FERRY_OK);
  sleep_ms(200);
  CHECK(r.calls == 1); /* removed itself: the callback's own write was not delivered */
  ferry_buffer value = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_get(f.client, S("notes"), S("from-callback"), &value, &f.error), &f.error);
  CHECK(value.data != NULL);
  ferry_buffer_release(&value);
  close_fixture(&f); /* the client survived the close attempt */
  pthread_mutex_destroy(&r.mutex);
}

typedef struct async_reentry {
  ferry_client* client;
  pthread_mutex_t mutex;
  bool done;
  ferry_result sync_result;
  ferry_result close_result;
  ferry_result blocking_sync_result;
  ferry_result put_result;
} async_reentry;

static void on_async_done(void* user_data, ferry_result result, const char* run_json, size_t size,
                          const ferry_error* error) {
  (void)run_json;
  (void)size;
  (void)error;
  async_reentry* r = user_data;
  ferry_error inner = FERRY_ERROR_INIT;
  r->close_result = ferry_client_close(r->client, &inner);
  r->blocking_sync_result = ferry_client_sync_now(r->client, NULL, &inner);
  r->put_result = ferry_client_put(r->client, S("notes"), S("from-async"), S("1"), &inner);
  ferry_error_clear(&inner);
  pthread_mutex_lock(&r->mutex);
  r->sync_result = result;
  r->done = true;
  pthread_mutex_unlock(&r->mutex);
}

static bool async_reentry_done(void* argument) {
  async_reentry* r = argument;
  pthread_mutex_lock(&r->mutex);
  const bool done = r->done;
  pthread_mutex_unlock(&r->mutex);
  return done;
}

/* The async completion runs on a worker: it may write, but not close or
 * wait for a sync there. (The endpoint refuses connections: the run fails.) */
static void test_async_completion_calls_back(void) {
  fixture f;
  open_fixture(&f);
  async_reentry r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mutex, NULL);
  r.client = f.client;
  CHECK_OK(ferry_client_sync_now_async(f.client, on_async_done, &r, &f.error), &f.error);
  CHECK(wait_for(async_reentry_done, &r, 20000));
  CHECK(r.sync_result == FERRY_OK);
  CHECK(r.close_result == FERRY_WRONG_THREAD);
  CHECK(r.blocking_sync_result == FERRY_WRONG_THREAD);
  CHECK(r.put_result == FERRY_OK);
  close_fixture(&f);
  pthread_mutex_destroy(&r.mutex);
}

typedef struct closer {
  ferry_client* client;
  ferry_result result;
} closer;

static void* close_in_thread(void* argument) {
  closer* c = argument;
  ferry_error error = FERRY_ERROR_INIT;
  c->result = ferry_client_close(c->client, &error);
  ferry_error_clear(&error);
  return NULL;
}

static void* put_many(void* argument) {
  closer* c = argument;
  ferry_error error = FERRY_ERROR_INIT;
  for (int i = 0; i < 2000; ++i) {
    char key[32];
    snprintf(key, sizeof key, "k%d", i);
    const ferry_result result = ferry_client_put(c->client, S("bulk"), S(key), S("1"), &error);
    if (result == FERRY_INVALID_HANDLE) break;
    CHECK(result == FERRY_OK);
  }
  ferry_error_clear(&error);
  return NULL;
}

/* Close races with calls on other threads: they finish or see
 * FERRY_INVALID_HANDLE, and two concurrent closes give one OK. */
static void test_close_races_calls(void) {
  fixture f;
  open_fixture(&f);
  closer writers[3] = {{f.client, FERRY_OK}, {f.client, FERRY_OK}, {f.client, FERRY_OK}};
  closer closers[2] = {{f.client, FERRY_OK}, {f.client, FERRY_OK}};
  pthread_t threads[5];
  for (int i = 0; i < 3; ++i)
    pthread_create(&threads[i], NULL, put_many, &writers[i]);
  sleep_ms(50);
  for (int i = 0; i < 2; ++i)
    pthread_create(&threads[3 + i], NULL, close_in_thread, &closers[i]);
  for (int i = 0; i < 5; ++i)
    pthread_join(threads[i], NULL);
  CHECK((closers[0].result == FERRY_OK) != (closers[1].result == FERRY_OK));
  CHECK(closers[0].result == FERRY_INVALID_HANDLE || closers[1].result == FERRY_INVALID_HANDLE);
  f.client = NULL;
  close_fixture(&f);
}

static void test_reports_and_controls(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  ferry_buffer out = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_statistics(f.client, &out, error), error);
  CHECK(contains(out.data, "\"runsStarted\":0") && contains(out.data, "\"bytesSent\":"));
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_history(f.client, 0, &out, error), error);
  CHECK(out.data != NULL && strcmp(out.data, "[]") == 0);
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_failed_mutations(f.client, &out, error), error);
  CHECK(out.data != NULL && strcmp(out.data, "[]") == 0);
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_set_online(f.client, false, error), error);
  CHECK_OK(ferry_client_status(f.client, &out, error), error);
  CHECK(contains(out.data, "\"state\":\"offline\""));
  ferry_buffer_release(&out);
  CHECK_OK(ferry_client_set_online(f.client, true, error), error);
  CHECK_OK(ferry_client_start_background_sync(f.client, 60000, error), error);
  CHECK_OK(ferry_client_stop_background_sync(f.client, error), error);
  CHECK_OK(ferry_client_cancel(f.client, error), error);
  close_fixture(&f);
}

static void test_delete_local_data(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  CHECK_OK(ferry_client_put(f.client, S("notes"), S("n1"), S("1"), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_delete_local_data(S(""), error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_delete_local_data((ferry_slice){NULL, 3}, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_delete_local_data((ferry_slice){"\xff", 1}, error),
             error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_delete_local_data((ferry_slice){"a\0b", 3}, error),
             error);
  /* One client per store: a second open and a deletion are refused while it is open. */
  CHECK_CODE(FERRY_BUSY, ferry_delete_local_data(S(f.path), error), error);
  ferry_client_options second_options;
  test_options(&second_options, f.path, kNowhere);
  ferry_client* second = NULL;
  CHECK_CODE(FERRY_BUSY, ferry_client_open(&second_options, &second, error), error);
  CHECK(second == NULL);
  CHECK(strcmp(ferry_result_name(FERRY_BUSY), "busy") == 0);
  CHECK_OK(ferry_client_close(f.client, error), error);
  CHECK_OK(ferry_delete_local_data(S(f.path), error), error);

  ferry_client_options options;
  test_options(&options, f.path, kNowhere);
  CHECK_OK(ferry_client_open(&options, &f.client, error), error);
  ferry_buffer value = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_get(f.client, S("notes"), S("n1"), &value, error), error);
  CHECK(value.data == NULL); /* gone */
  close_fixture(&f);
}

typedef struct {
  ferry_client* client;
  int after_ms;
} delayed_close;

static void* close_after(void* argument) {
  delayed_close* delayed = argument;
  sleep_ms(delayed->after_ms);
  ferry_client_close(delayed->client, NULL);
  return NULL;
}

static void test_store_lock_timeout(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  ferry_client_options options;
  test_options(&options, f.path, kNowhere);
  ferry_client* second = NULL;

  /* Waits while the first client is open, and fails once the time is up. */
  options.store_lock_timeout_ms = 200;
  const long long started = now_ms();
  CHECK_CODE(FERRY_BUSY, ferry_client_open(&options, &second, error), error);
  CHECK(now_ms() - started >= 200);
  CHECK(second == NULL);

  /* Opens as soon as the first closes within it. */
  delayed_close first = {f.client, 150};
  pthread_t thread;
  pthread_create(&thread, NULL, close_after, &first);
  options.store_lock_timeout_ms = 10000;
  CHECK_OK(ferry_client_open(&options, &second, error), error);
  pthread_join(thread, NULL);
  CHECK(second != NULL);
  f.client = second;
  close_fixture(&f);
}

static void test_cleartext_endpoint_warning(void) {
  ferry_error error = FERRY_ERROR_INIT;
  ferry_buffer warning = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_cleartext_endpoint_warning(S("http://user:secret@sync.example.com:8080/app"),
                                            &warning, &error),
           &error);
  CHECK(warning.data != NULL && contains(warning.data, "plain http:// to sync.example.com"));
  CHECK(warning.data != NULL && !contains(warning.data, "secret"));
  ferry_buffer_release(&warning);
  const char* const quiet[] = {"https://sync.example.com", "http://127.0.0.1:8080",
                               "http://localhost:8080", "http://[::1]:8080"};
  for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; ++i) {
    warning.data = (char*)&error; /* must be reset */
    CHECK_OK(ferry_cleartext_endpoint_warning(S(quiet[i]), &warning, &error), &error);
    CHECK(warning.data == NULL && warning.size == 0);
  }
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_cleartext_endpoint_warning(S("http://example.com"), NULL, &error), &error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_cleartext_endpoint_warning((ferry_slice){"\xff", 1}, &warning, &error), &error);
  ferry_error_clear(&error);
}

/* Local queries: a filtered, sorted page that says there is a next one, a
 * count, and the refusals (paging itself: tests/core/query_test.cc). */
static void test_query(void) {
  fixture f;
  open_fixture(&f);
  ferry_error* error = &f.error;
  const char* tasks[][2] = {{"t1", "{\"p\":\"a\",\"due\":3}"},
                            {"t2", "{\"p\":\"a\",\"due\":1}"},
                            {"t3", "{\"p\":\"b\",\"due\":2}"},
                            {"t4", "{\"p\":\"a\",\"due\":2}"}};
  for (size_t i = 0; i < 4; ++i)
    CHECK_OK(ferry_client_put(f.client, S("tasks"), S(tasks[i][0]), S(tasks[i][1]), error), error);
  const char* query =
      "{\"collection\":\"tasks\",\"where\":{\"path\":\"p\",\"eq\":\"a\"},"
      "\"orderBy\":[{\"path\":\"due\"}],\"limit\":2}";
  ferry_buffer page = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_query(f.client, S(query), &page, error), error);
  CHECK(contains(page.data, "{\"documents\":[{\"key\":\"t2\",") &&
        contains(page.data, "{\"key\":\"t4\",") && !contains(page.data, "\"t1\"") &&
        !contains(page.data, "\"next\":null"));
  ferry_buffer_release(&page);
  size_t count = 99;
  CHECK_OK(ferry_client_count(f.client, S(query), &count, error), error);
  CHECK(count == 3);
  CHECK_CODE(
      FERRY_INVALID_ARGUMENT,
      ferry_client_query(f.client, S("{\"collection\":\"tasks\",\"where\":1}"), &page, error),
      error);
  CHECK(page.data == NULL && contains(error->message, "query"));
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_query(f.client, S("not json"), &page, error),
             error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_query(f.client, S(query), NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_count(f.client, S(query), NULL, error), error);
  close_fixture(&f);
}

/* Indexes declared at open: a query reads the one that fits, in order, and
 * says so; a declaration that is not one fails the open. */
static void test_indexes(void) {
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_error error_storage = {0};
  ferry_error* error = &error_storage;
  ferry_client_options options;
  test_options(&options, path, kNowhere);
  options.indexes_json = S("[{\"collection\":\"tasks\",\"paths\":[\"p\",\"due\"]}]");
  ferry_client* client = NULL;
  CHECK_OK(ferry_client_open(&options, &client, error), error);
  for (int i = 0; i < 6; ++i) {
    char key[8], value[64];
    snprintf(key, sizeof key, "t%d", i);
    snprintf(value, sizeof value, "{\"p\":\"%s\",\"due\":%d}", i % 2 ? "a" : "b", 10 - i);
    CHECK_OK(ferry_client_put(client, S("tasks"), S(key), S(value), error), error);
  }
  const char* query =
      "{\"collection\":\"tasks\",\"where\":{\"path\":\"p\",\"eq\":\"a\"},"
      "\"orderBy\":[{\"path\":\"due\"}],\"limit\":2}";
  ferry_buffer plan = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_explain(client, S(query), &plan, error), error);
  CHECK(contains(plan.data, "\"index\":\"p,due\"") && contains(plan.data, "\"ordered\":true"));
  ferry_buffer_release(&plan);
  ferry_buffer page = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_query(client, S(query), &page, error), error);
  CHECK(contains(page.data, "{\"documents\":[{\"key\":\"t5\",") &&
        contains(page.data, "{\"key\":\"t3\","));
  ferry_buffer_release(&page);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_explain(client, S(query), NULL, error), error);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_explain(client, S("{}"), &plan, error), error);
  CHECK_OK(ferry_client_close(client, error), error);

  options.indexes_json = S("[{\"collection\":\"tasks\"}]");
  client = NULL;
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &client, error), error);
  CHECK(client == NULL && contains(error->message, "indexes"));
  ferry_error_clear(error);
  remove_temp_dir(directory);
}

void api_tests(void) {
  RUN_TEST(test_version);
  RUN_TEST(test_result_names);
  RUN_TEST(test_errors_and_buffers);
  RUN_TEST(test_options_init);
  RUN_TEST(test_open_bad_arguments);
  RUN_TEST(test_local_data);
  RUN_TEST(test_local_data_bad_arguments);
  RUN_TEST(test_indexes);
  RUN_TEST(test_query);
  RUN_TEST(test_null_and_closed_handles);
  RUN_TEST(test_listeners);
  RUN_TEST(test_live_query);
  RUN_TEST(test_callbacks_call_back);
  RUN_TEST(test_async_completion_calls_back);
  RUN_TEST(test_close_races_calls);
  RUN_TEST(test_reports_and_controls);
  RUN_TEST(test_delete_local_data);
  RUN_TEST(test_store_lock_timeout);
  RUN_TEST(test_cleartext_endpoint_warning);
}
