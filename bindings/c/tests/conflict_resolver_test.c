/* The custom conflict resolver (ferry_client_options.conflict_resolver)
 * against a real ferry-server: its input, each form of its answer, and the
 * calls it must not make. */
#include <pthread.h>

#include "harness.h"
#include "support.h"

typedef struct resolver_state {
  pthread_mutex_t mutex;
  int calls;
  char last_input[2048];
  const char* answer;            /* set as is; NULL: set nothing */
  ferry_result set_result;       /* what ferry_conflict_answer_set returned */
  ferry_result call_from_inside; /* a client call made from inside the resolver */
  ferry_client* client;          /* the client whose resolver this is */
} resolver_state;

static void resolve(void* user_data, const char* input_json, size_t input_json_size,
                    ferry_conflict_answer* answer) {
  resolver_state* state = user_data;
  CHECK(strlen(input_json) == input_json_size);
  pthread_mutex_lock(&state->mutex);
  ++state->calls;
  snprintf(state->last_input, sizeof state->last_input, "%s", input_json);
  if (state->client != NULL) {
    ferry_buffer value = FERRY_BUFFER_INIT;
    state->call_from_inside = ferry_client_get(state->client, S("c"), S("k"), &value, NULL);
    ferry_buffer_release(&value);
  }
  if (state->answer != NULL) {
    ferry_error error = FERRY_ERROR_INIT;
    state->set_result = ferry_conflict_answer_set(answer, S(state->answer), &error);
    ferry_error_clear(&error);
  }
  pthread_mutex_unlock(&state->mutex);
}

typedef struct conflict_setup {
  test_server server;
  char directory[512];
  char path_a[600];
  char path_b[600];
  ferry_client* a;
  ferry_client* b; /* resolves with `state` */
  resolver_state state;
  bool manual; /* b's counters are "manual" rather than "custom" */
  ferry_error error;
} conflict_setup;

static void open_with(conflict_setup* t, const char* path, ferry_client** client, bool custom) {
  ferry_client_options options;
  test_options(&options, path, t->server.endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-alice";
  if (custom && t->manual) {
    options.conflicts_json = S("{\"collections\":{\"counters\":\"manual\"}}");
  } else if (custom) {
    options.conflicts_json = S("{\"collections\":{\"counters\":\"custom\"}}");
    options.conflict_resolver = resolve;
    options.conflict_user_data = &t->state;
  }
  REQUIRE(ferry_client_open(&options, client, &t->error) == FERRY_OK);
}

/* A writes {n: 13} and syncs; B, based on {n: 10}, writes {n: 15} and syncs
 * into a conflict its resolver decides. Returns B's run. */
static void make_conflict(conflict_setup* t, ferry_buffer* run) {
  ferry_error* error = &t->error;
  CHECK_OK(ferry_client_put(t->a, S("counters"), S("c"), S("{\"n\":10}"), error), error);
  CHECK_OK(ferry_client_sync_now(t->a, NULL, error), error);
  CHECK_OK(ferry_client_sync_now(t->b, NULL, error), error);
  CHECK_OK(ferry_client_put(t->a, S("counters"), S("c"), S("{\"n\":13}"), error), error);
  CHECK_OK(ferry_client_sync_now(t->a, NULL, error), error);
  CHECK_OK(ferry_client_put(t->b, S("counters"), S("c"), S("{\"n\":15}"), error), error);
  CHECK_OK(ferry_client_sync_now(t->b, run, error), error);
}

static void start_with(conflict_setup* t, const char* answer, bool manual) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->state.mutex, NULL);
  t->state.answer = answer;
  t->manual = manual;
  server_start(&t->server);
  make_temp_dir(t->directory, sizeof t->directory);
  path_in(t->path_a, sizeof t->path_a, t->directory, "a.db");
  path_in(t->path_b, sizeof t->path_b, t->directory, "b.db");
  open_with(t, t->path_a, &t->a, false);
  open_with(t, t->path_b, &t->b, true);
}

static void start(conflict_setup* t, const char* answer) {
  start_with(t, answer, false);
}

static void finish(conflict_setup* t) {
  CHECK_OK(ferry_client_close(t->a, &t->error), &t->error);
  CHECK_OK(ferry_client_close(t->b, &t->error), &t->error);
  ferry_error_clear(&t->error);
  CHECK(server_stop(&t->server));
  remove_temp_dir(t->directory);
  pthread_mutex_destroy(&t->state.mutex);
}

static void check_document(ferry_client* client, const char* expected, ferry_error* error) {
  ferry_buffer value = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_get(client, S("counters"), S("c"), &value, error), error);
  if (expected == NULL) {
    CHECK(value.data == NULL);
  } else if (value.data == NULL || strcmp(value.data, expected) != 0) {
    fprintf(stderr, "document is %s, expected %s\n", value.data ? value.data : "absent", expected);
    ++g_failures;
  }
  ferry_buffer_release(&value);
}

static void test_resolver_value_is_pushed_and_converges(void) {
  conflict_setup t;
  start(&t, "{\"value\":{\"n\":18}}");
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  CHECK(contains(run.data, "\"conflicts\":1"));
  ferry_buffer_release(&run);
  CHECK(t.state.calls == 1);
  CHECK(t.state.set_result == FERRY_OK);
  CHECK(contains(t.state.last_input, "\"collection\":\"counters\"") &&
        contains(t.state.last_input, "\"key\":\"c\""));
  CHECK(contains(t.state.last_input, "\"base\":{\"n\":10}") &&
        contains(t.state.last_input, "\"local\":{\"n\":15}") &&
        contains(t.state.last_input, "\"remote\":{\"n\":13}"));
  CHECK(contains(t.state.last_input, "\"localHlc\":\"") &&
        contains(t.state.last_input, "\"remoteHlc\":\""));
  /* The resolved value went up with B's sync (or the next one); A pulls it. */
  CHECK_OK(ferry_client_sync_now(t.b, NULL, &t.error), &t.error);
  CHECK_OK(ferry_client_sync_now(t.a, NULL, &t.error), &t.error);
  check_document(t.a, "{\"n\":18}", &t.error);
  check_document(t.b, "{\"n\":18}", &t.error);
  finish(&t);
}

/* The conflict log lists the resolution, pages by id and clears. */
static void test_the_conflict_log_records_the_resolution(void) {
  conflict_setup t;
  start(&t, "{\"value\":{\"n\":18}}");
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  ferry_buffer_release(&run);
  ferry_buffer log = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_conflict_log(t.b, 0, 0, &log, &t.error), &t.error);
  CHECK(log.data != NULL && contains(log.data, "\"id\":1,") &&
        contains(log.data, "\"collection\":\"counters\"") && contains(log.data, "\"key\":\"c\"") &&
        contains(log.data, "\"strategy\":\"custom\"") && contains(log.data, "\"winner\":\"new\"") &&
        contains(log.data, "\"resolution\":\"custom\""));
  ferry_buffer_release(&log);
  CHECK_OK(ferry_client_conflict_log(t.b, 1, 0, &log, &t.error), &t.error);
  CHECK(log.data != NULL && strcmp(log.data, "[]") == 0);
  ferry_buffer_release(&log);
  CHECK_OK(ferry_client_clear_conflict_log(t.b, &t.error), &t.error);
  CHECK_OK(ferry_client_conflict_log(t.b, 0, 0, &log, &t.error), &t.error);
  CHECK(log.data != NULL && strcmp(log.data, "[]") == 0);
  ferry_buffer_release(&log);
  CHECK_CODE(FERRY_INVALID_HANDLE, ferry_client_clear_conflict_log(NULL, &t.error), &t.error);
  ferry_error_clear(&t.error);
  finish(&t);
}

static void check_open_conflicts(conflict_setup* t, const char* expected_strategy) {
  ferry_buffer open = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_conflicts(t->b, &open, &t->error), &t->error);
  CHECK(open.data != NULL && contains(open.data, "\"collection\":\"counters\"") &&
        contains(open.data, "\"base\":{\"n\":10}") && contains(open.data, "\"local\":{\"n\":15}") &&
        contains(open.data, "\"remote\":{\"n\":13}") && contains(open.data, expected_strategy));
  ferry_buffer_release(&open);
  /* Meanwhile the document is the server's. */
  check_document(t->b, "{\"n\":13}", &t->error);
}

/* A resolver that defers keeps the conflict open; the app settles it later
 * with a value, which goes up like any write. */
static void test_a_deferred_conflict_is_resolved_later(void) {
  conflict_setup t;
  start(&t, "{\"deferred\":true}");
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  ferry_buffer_release(&run);
  CHECK(t.state.set_result == FERRY_OK);
  check_open_conflicts(&t, "\"strategy\":\"custom\"");
  CHECK_OK(ferry_client_resolve_conflict(t.b, S("counters"), S("c"), S("{\"n\":20}"), &t.error),
           &t.error);
  CHECK_OK(ferry_client_sync_now(t.b, NULL, &t.error), &t.error);
  CHECK_OK(ferry_client_sync_now(t.a, NULL, &t.error), &t.error);
  check_document(t.a, "{\"n\":20}", &t.error);
  ferry_buffer open = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_conflicts(t.b, &open, &t.error), &t.error);
  CHECK(open.data != NULL && strcmp(open.data, "[]") == 0);
  ferry_buffer_release(&open);
  CHECK_CODE(FERRY_NOT_FOUND,
             ferry_client_resolve_conflict(t.b, S("counters"), S("c"), S("{\"n\":21}"), &t.error),
             &t.error);
  ferry_error_clear(&t.error);
  finish(&t);
}

/* The manual strategy needs no resolver; null resolves with a delete, after
 * a reopen, and text that is no JSON is refused with the conflict kept. */
static void test_a_manual_conflict_survives_a_reopen_and_resolves_with_a_delete(void) {
  conflict_setup t;
  start_with(&t, NULL, true);
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  ferry_buffer_release(&run);
  CHECK(t.state.calls == 0);
  CHECK_OK(ferry_client_close(t.b, &t.error), &t.error);
  open_with(&t, t.path_b, &t.b, true);
  check_open_conflicts(&t, "\"strategy\":\"manual\"");
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_resolve_conflict(t.b, S("counters"), S("c"), S("{\"n\":"), &t.error),
             &t.error);
  ferry_error_clear(&t.error);
  CHECK_OK(ferry_client_resolve_conflict(t.b, S("counters"), S("c"), S("null"), &t.error),
           &t.error);
  check_document(t.b, NULL, &t.error);
  CHECK_OK(ferry_client_sync_now(t.b, NULL, &t.error), &t.error);
  CHECK_OK(ferry_client_sync_now(t.a, NULL, &t.error), &t.error);
  check_document(t.a, NULL, &t.error);
  ferry_buffer log = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_conflict_log(t.b, 0, 0, &log, &t.error), &t.error);
  CHECK(log.data != NULL && contains(log.data, "\"strategy\":\"manual\"") &&
        contains(log.data, "\"resolution\":\"manual\""));
  ferry_buffer_release(&log);
  finish(&t);
}

static void test_resolver_can_delete(void) {
  conflict_setup t;
  start(&t, "{\"deleted\":true}");
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  ferry_buffer_release(&run);
  CHECK_OK(ferry_client_sync_now(t.b, NULL, &t.error), &t.error);
  CHECK_OK(ferry_client_sync_now(t.a, NULL, &t.error), &t.error);
  check_document(t.a, NULL, &t.error);
  check_document(t.b, NULL, &t.error);
  finish(&t);
}

typedef struct conflict_events {
  pthread_mutex_t mutex;
  char text[8192];
} conflict_events;

static void keep_conflicts(void* user_data, const char* json, size_t size) {
  conflict_events* events = user_data;
  (void)size;
  if (!contains(json, "\"type\":\"sync.conflict\"")) return;
  pthread_mutex_lock(&events->mutex);
  snprintf(events->text, sizeof events->text, "%s", json);
  pthread_mutex_unlock(&events->mutex);
}

/* An error, no answer at all, or an answer that does not decode (refused by
 * ferry_conflict_answer_set) keep the server's document, and say why. */
static void check_declined(const char* answer, ferry_result expected_set, const char* reason) {
  conflict_setup t;
  start(&t, answer);
  conflict_events events;
  memset(&events, 0, sizeof events);
  pthread_mutex_init(&events.mutex, NULL);
  ferry_listener_id listener = 0;
  CHECK_OK(ferry_client_add_event_listener(t.b, keep_conflicts, &events, &listener, &t.error),
           &t.error);
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  ferry_buffer_release(&run);
  if (answer != NULL) CHECK(t.state.set_result == expected_set);
  CHECK_OK(ferry_client_flush_events(t.b, &t.error), &t.error);
  pthread_mutex_lock(&events.mutex);
  if (!contains(events.text, reason)) {
    fprintf(stderr, "conflict event %s lacks %s\n", events.text, reason);
    ++g_failures;
  }
  pthread_mutex_unlock(&events.mutex);
  check_document(t.b, "{\"n\":13}", &t.error);
  CHECK_OK(ferry_client_remove_listener(t.b, listener, &t.error), &t.error);
  finish(&t);
  pthread_mutex_destroy(&events.mutex);
}

static void test_resolver_errors_keep_the_server_document(void) {
  check_declined("{\"error\":\"cannot decide\"}", FERRY_OK, "custom_failed: cannot decide");
  check_declined(NULL, FERRY_OK, "custom_failed: the resolver set no answer");
  check_declined("{\"valu\":1}", FERRY_INVALID_ARGUMENT,
                 "custom_failed: the resolver set no answer");
  check_declined("not json", FERRY_INVALID_ARGUMENT, "custom_failed: the resolver set no answer");
}

static void test_resolver_must_not_call_its_client(void) {
  conflict_setup t;
  start(&t, "{\"value\":{\"n\":1}}");
  t.state.client = t.b;
  t.state.call_from_inside = FERRY_OK;
  ferry_buffer run = FERRY_BUFFER_INIT;
  make_conflict(&t, &run);
  ferry_buffer_release(&run);
  CHECK(t.state.calls == 1);
  CHECK(t.state.call_from_inside == FERRY_WRONG_THREAD);
  /* The client still works, and took the answer. */
  check_document(t.b, "{\"n\":1}", &t.error);
  t.state.client = NULL;
  finish(&t);
}

static void test_answer_set_checks_its_arguments(void) {
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_conflict_answer_set(NULL, S("{\"deleted\":true}"), &error), &error);
  ferry_error_clear(&error);
}

void conflict_resolver_tests(void) {
  RUN_TEST(test_answer_set_checks_its_arguments);
  RUN_TEST(test_resolver_value_is_pushed_and_converges);
  RUN_TEST(test_resolver_can_delete);
  RUN_TEST(test_the_conflict_log_records_the_resolution);
  RUN_TEST(test_a_deferred_conflict_is_resolved_later);
  RUN_TEST(test_a_manual_conflict_survives_a_reopen_and_resolves_with_a_delete);
  RUN_TEST(test_resolver_errors_keep_the_server_document);
  RUN_TEST(test_resolver_must_not_call_its_client);
}
