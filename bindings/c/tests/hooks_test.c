/* Hooks (issue 17) through the C API, against a real ferry-server: before
 * a push a write is rewritten or refused into a dead letter, after a pull a
 * change is kept out, before a run the run is postponed; an {"error"}
 * answer fails the run and loses nothing. */
#include "harness.h"
#include "support.h"

typedef struct hook_state {
  bool postpone;        /* before_run answers refuse */
  bool fail;            /* every answer is {"error": ...} */
  int asked[8];         /* by ferry_hook_point */
  ferry_result bad_set; /* ferry_hook_answer_set with text that is no answer */
} hook_state;

static void answer(ferry_hook_answer* answer, const char* text) {
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_hook_answer_set(answer, S(text), &error), &error);
  ferry_error_clear(&error);
}

static void hook(void* user_data, ferry_hook_point point, const char* input, size_t size,
                 ferry_hook_answer* out) {
  hook_state* state = user_data;
  CHECK(strlen(input) == size);
  ++state->asked[point];
  ferry_error error = FERRY_ERROR_INIT;
  state->bad_set = ferry_hook_answer_set(out, S("{\"maybe\":1}"), &error);
  ferry_error_clear(&error);
  if (state->fail) {
    answer(out, "{\"error\":\"bug in the hook\"}");
  } else if (point == FERRY_HOOK_BEFORE_PUSH && contains(input, "\"collection\":\"secrets\"")) {
    answer(out, "{\"refuse\":\"secrets stay on the device\"}");
  } else if (point == FERRY_HOOK_BEFORE_PUSH && contains(input, "\"key\":\"loud\"")) {
    answer(out, "{\"value\":{\"text\":\"HELLO\"}}");
  } else if (point == FERRY_HOOK_AFTER_PULL && contains(input, "\"key\":\"hidden\"")) {
    answer(out, "{\"refuse\":true}");
  } else if (point == FERRY_HOOK_BEFORE_RUN && state->postpone) {
    answer(out, "{\"refuse\":\"in the background\"}");
  } /* else no answer: keep */
}

static ferry_client* open_client(const char* path, const char* endpoint, hook_state* state) {
  ferry_client_options options;
  REQUIRE(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  CHECK(options.hook == NULL && options.hook_points == 0);
  test_options(&options, path, endpoint);
  options.token_provider = fixed_token;
  options.token_user_data = (void*)"token-alice";
  if (state != NULL) {
    options.hook = hook;
    options.hook_user_data = state;
    options.hook_points = FERRY_HOOK_BEFORE_PUSH | FERRY_HOOK_AFTER_PULL | FERRY_HOOK_BEFORE_RUN;
  }
  ferry_client* client = NULL;
  ferry_error error = FERRY_ERROR_INIT;
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);
  return client;
}

/* The run's JSON; the caller releases it. */
static ferry_buffer sync(ferry_client* client) {
  ferry_buffer run = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_sync_now(client, &run, &error), &error);
  ferry_error_clear(&error);
  return run;
}

static bool holds(ferry_client* client, const char* key, const char* expected) {
  ferry_buffer value = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_get(client, S("notes"), S(key), &value, &error), &error);
  const bool same = expected == NULL ? value.data == NULL
                                     : value.data != NULL && strcmp(value.data, expected) == 0;
  ferry_buffer_release(&value);
  return same;
}

static void test_hooks_rewrite_refuse_keep_out_and_postpone(void) {
  test_server server;
  server_start(&server);
  char directory[512], a_path[600], b_path[600];
  make_temp_store(directory, sizeof directory, a_path, sizeof a_path);
  path_in(b_path, sizeof b_path, directory, "b.db");
  hook_state state = {0};
  ferry_client* a = open_client(a_path, server.endpoint, &state);
  ferry_client* b = open_client(b_path, server.endpoint, NULL);
  ferry_error error = FERRY_ERROR_INIT;

  CHECK_OK(ferry_client_put(a, S("secrets"), S("s1"), S("{\"pin\":1}"), &error), &error);
  CHECK_OK(ferry_client_put(a, S("notes"), S("loud"), S("{\"text\":\"hello\"}"), &error), &error);
  ferry_buffer run = sync(a);
  CHECK(contains(run.data, "\"outcome\":\"completed\"") && contains(run.data, "\"rejected\":1"));
  ferry_buffer_release(&run);
  CHECK(state.bad_set == FERRY_INVALID_ARGUMENT);
  ferry_buffer failed = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_failed_mutations(a, &failed, &error), &error);
  CHECK(contains(failed.data, "secrets stay on the device"));
  ferry_buffer_release(&failed);

  run = sync(b);
  ferry_buffer_release(&run);
  CHECK(holds(b, "loud", "{\"text\":\"HELLO\"}"));
  CHECK_OK(ferry_client_put(b, S("notes"), S("hidden"), S("1"), &error), &error);
  CHECK_OK(ferry_client_put(b, S("notes"), S("shown"), S("2"), &error), &error);
  run = sync(b);
  ferry_buffer_release(&run);
  run = sync(a);
  ferry_buffer_release(&run);
  CHECK(holds(a, "shown", "2") && holds(a, "hidden", NULL));
  CHECK(state.asked[FERRY_HOOK_AFTER_PULL] >= 2);

  state.postpone = true;
  CHECK_OK(ferry_client_put(a, S("notes"), S("later"), S("3"), &error), &error);
  run = sync(a);
  CHECK(contains(run.data, "\"outcome\":\"cancelled\"") && contains(run.data, "\"postponed\""));
  ferry_buffer_release(&run);
  state.postpone = false;
  run = sync(a);
  CHECK(contains(run.data, "\"outcome\":\"completed\"") && contains(run.data, "\"pushed\":1"));
  ferry_buffer_release(&run);

  CHECK_OK(ferry_client_close(a, &error), &error);
  CHECK_OK(ferry_client_close(b, &error), &error);
  ferry_error_clear(&error);
  CHECK(server_stop(&server));
  remove_temp_dir(directory);
}

static void test_an_error_answer_fails_the_run_and_loses_nothing(void) {
  test_server server;
  server_start(&server);
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  hook_state state = {0};
  state.fail = true;
  ferry_client* client = open_client(path, server.endpoint, &state);
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_put(client, S("notes"), S("n1"), S("1"), &error), &error);
  ferry_buffer run = sync(client);
  CHECK(contains(run.data, "\"outcome\":\"failed\"") && contains(run.data, "bug in the hook"));
  ferry_buffer_release(&run);
  state.fail = false;
  run = sync(client);
  CHECK(contains(run.data, "\"outcome\":\"completed\"") && contains(run.data, "\"pushed\":1"));
  ferry_buffer_release(&run);
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_hook_answer_set(NULL, S("{\"keep\":true}"), &error),
             &error);
  ferry_error_clear(&error);
  CHECK_OK(ferry_client_close(client, &error), &error);
  CHECK(server_stop(&server));
  remove_temp_dir(directory);
}

void hooks_tests(void) {
  RUN_TEST(test_hooks_rewrite_refuse_keep_out_and_postpone);
  RUN_TEST(test_an_error_answer_fails_the_run_and_loses_nothing);
}
