/* Scope (issue 17) through the C API: upload-only collections, the pull
 * scope, retention and deferrable collections on a metered connection,
 * against a real ferry-server; their refusals. */
#include "harness.h"
#include "support.h"

/* test_options for user alice (fixed_token "token-alice"). */
static void alice_options(ferry_client_options* options, const char* path, const char* endpoint) {
  test_options(options, path, endpoint);
  options->token_provider = fixed_token;
  options->token_user_data = (void*)"token-alice";
}

static bool has(ferry_client* client, const char* collection, const char* key) {
  ferry_buffer value = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_get(client, S(collection), S(key), &value, &error), &error);
  const bool found = value.data != NULL;
  ferry_buffer_release(&value);
  ferry_error_clear(&error);
  return found;
}

static void sync_completed(ferry_client* client) {
  ferry_buffer run = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_sync_now(client, &run, &error), &error);
  CHECK(contains(run.data, "\"outcome\":\"completed\""));
  ferry_buffer_release(&run);
  ferry_error_clear(&error);
}

static void test_scope_refusals(void) {
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_client_options options;
  REQUIRE(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  CHECK(options.upload_only_count == 0 && !options.has_pull_scope);
  test_options(&options, path, "http://127.0.0.1:9");
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  options.upload_only_count = 1; /* with a NULL array */
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &client, &error), &error);
  CHECK(client == NULL && contains(error.message, "upload_only"));
  const ferry_slice empty[] = {S("")};
  options.upload_only_count = 0;
  options.has_pull_scope = true;
  options.pull_collections = empty;
  options.pull_collections_count = 1;
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &client, &error), &error);
  CHECK(client == NULL && contains(error.message, "collection"));
  ferry_error_clear(&error);
  remove_temp_dir(directory);
}

static void test_upload_only_and_pull_scope(void) {
  test_server server;
  server_start(&server);
  char directory[512], a_path[600], b_path[600];
  make_temp_store(directory, sizeof directory, a_path, sizeof a_path);
  path_in(b_path, sizeof b_path, directory, "b.db");
  const ferry_slice readings[] = {S("readings")};
  const ferry_slice notes[] = {S("notes")};
  ferry_error error = FERRY_ERROR_INIT;

  ferry_client_options options;
  REQUIRE(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  alice_options(&options, a_path, server.endpoint);
  options.upload_only = readings;
  options.upload_only_count = 1;
  ferry_client* a = NULL;
  REQUIRE(ferry_client_open(&options, &a, &error) == FERRY_OK);
  CHECK_OK(ferry_client_put(a, S("readings"), S("r1"), S("{\"c\":21}"), &error), &error);
  CHECK_OK(ferry_client_put(a, S("notes"), S("n1"), S("1"), &error), &error);
  CHECK_OK(ferry_client_put(a, S("tasks"), S("t1"), S("2"), &error), &error);
  sync_completed(a);

  /* Device B pulls notes only: neither the reading nor the task. */
  alice_options(&options, b_path, server.endpoint); /* the same user as device A */
  options.has_pull_scope = true;
  options.pull_collections = notes;
  options.pull_collections_count = 1;
  ferry_client* b = NULL;
  REQUIRE(ferry_client_open(&options, &b, &error) == FERRY_OK);
  sync_completed(b);
  CHECK(has(b, "notes", "n1"));
  CHECK(!has(b, "readings", "r1"));
  CHECK(!has(b, "tasks", "t1"));
  CHECK_OK(ferry_client_close(b, &error), &error);

  /* Widened to every collection but the readings: the task arrives. */
  options.has_pull_scope = false;
  options.upload_only = readings;
  options.upload_only_count = 1;
  REQUIRE(ferry_client_open(&options, &b, &error) == FERRY_OK);
  sync_completed(b);
  CHECK(has(b, "tasks", "t1"));
  CHECK(!has(b, "readings", "r1"));
  CHECK_OK(ferry_client_close(b, &error), &error);
  CHECK_OK(ferry_client_close(a, &error), &error);
  ferry_error_clear(&error);
  CHECK(server_stop(&server));
  remove_temp_dir(directory);
}

static size_t evict(ferry_client* client, const char* collection, const ferry_slice* keys,
                    size_t key_count, bool whole_collection) {
  ferry_error error = FERRY_ERROR_INIT;
  size_t evicted = 99;
  CHECK_OK(ferry_client_evict(client, S(collection), keys, key_count, whole_collection, &evicted,
                              &error),
           &error);
  ferry_error_clear(&error);
  return evicted;
}

/* Local retention: a rule evicts after a run, ferry_client_evict on demand;
 * the server keeps everything. */
static void test_retention(void) {
  test_server server;
  server_start(&server);
  char directory[512], path[600];
  make_temp_store(directory, sizeof directory, path, sizeof path);
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client_options options;
  REQUIRE(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  CHECK(options.retention == NULL && options.retention_count == 0);
  alice_options(&options, path, server.endpoint);
  ferry_client* client = NULL;
  options.retention_count = 1; /* with a NULL array */
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &client, &error), &error);
  ferry_retention_rule rule = {S("readings"), 0, 0};
  options.retention = &rule;
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &client, &error), &error);
  CHECK(client == NULL && contains(error.message, "retention"));
  rule.max_count = 1;
  REQUIRE(ferry_client_open(&options, &client, &error) == FERRY_OK);

  CHECK_OK(ferry_client_put(client, S("readings"), S("r1"), S("1"), &error), &error);
  sync_completed(client);
  CHECK_OK(ferry_client_put(client, S("readings"), S("r2"), S("2"), &error), &error);
  sync_completed(client);
  CHECK(!has(client, "readings", "r1"));
  CHECK(has(client, "readings", "r2"));

  CHECK_OK(ferry_client_put(client, S("notes"), S("n1"), S("1"), &error), &error);
  CHECK_OK(ferry_client_put(client, S("notes"), S("n2"), S("2"), &error), &error);
  sync_completed(client);
  const ferry_slice n1[] = {S("n1")};
  CHECK(evict(client, "notes", n1, 1, false) == 1);
  CHECK(!has(client, "notes", "n1") && has(client, "notes", "n2"));
  CHECK(evict(client, "notes", NULL, 0, true) == 1);
  CHECK(!has(client, "notes", "n2"));
  size_t evicted = 99;
  CHECK_CODE(FERRY_INVALID_ARGUMENT,
             ferry_client_evict(client, S("notes"), NULL, 1, false, &evicted, &error), &error);
  CHECK(evicted == 0);

  ferry_buffer statistics = FERRY_BUFFER_INIT;
  CHECK_OK(ferry_client_statistics(client, &statistics, &error), &error);
  CHECK(contains(statistics.data, "\"documentsEvicted\":3"));
  ferry_buffer_release(&statistics);
  CHECK_OK(ferry_client_close(client, &error), &error);
  ferry_error_clear(&error);
  CHECK(server_stop(&server));
  remove_temp_dir(directory);
}

static bool status_says(ferry_client* client, const char* text) {
  ferry_buffer status = FERRY_BUFFER_INIT;
  ferry_error error = FERRY_ERROR_INIT;
  CHECK_OK(ferry_client_status(client, &status, &error), &error);
  const bool says = contains(status.data, text);
  ferry_buffer_release(&status);
  ferry_error_clear(&error);
  return says;
}
static bool nothing_pending(void* client) {
  return status_says(client, "\"pending\":0");
}
static bool one_pending(void* client) {
  return status_says(client, "\"pending\":1");
}

/* Metered: with sync after each write on, a reading written on a metered
 * connection waits while a note goes; ferry_client_set_metered(false)
 * sends it. */
static void test_metered_connection_defers_deferrable_writes(void) {
  test_server server;
  server_start(&server);
  char directory[512], a_path[600], b_path[600];
  make_temp_store(directory, sizeof directory, a_path, sizeof a_path);
  path_in(b_path, sizeof b_path, directory, "b.db");
  const ferry_slice readings[] = {S("readings")};
  ferry_error error = FERRY_ERROR_INIT;
  ferry_client_options options;
  REQUIRE(ferry_client_options_init(&options, sizeof options) == FERRY_OK);
  CHECK(options.deferrable == NULL && options.deferrable_count == 0);
  alice_options(&options, a_path, server.endpoint);
  ferry_client* a = NULL;
  options.deferrable_count = 1; /* with a NULL array */
  CHECK_CODE(FERRY_INVALID_ARGUMENT, ferry_client_open(&options, &a, &error), &error);
  CHECK(contains(error.message, "deferrable"));
  options.deferrable = readings;
  options.sync_on_local_write = true;
  REQUIRE(ferry_client_open(&options, &a, &error) == FERRY_OK);
  CHECK_OK(ferry_client_set_metered(a, true, &error), &error);
  CHECK_OK(ferry_client_put(a, S("readings"), S("r1"), S("21"), &error), &error);
  CHECK_OK(ferry_client_put(a, S("notes"), S("n1"), S("1"), &error), &error);
  CHECK(wait_for(one_pending, a, 10000)); /* the note went; the reading waits */

  alice_options(&options, b_path, server.endpoint);
  ferry_client* b = NULL;
  REQUIRE(ferry_client_open(&options, &b, &error) == FERRY_OK);
  sync_completed(b);
  CHECK(has(b, "notes", "n1"));
  CHECK(!has(b, "readings", "r1"));
  CHECK(one_pending(a));

  CHECK_OK(ferry_client_set_metered(a, false, &error), &error);
  CHECK(wait_for(nothing_pending, a, 10000));
  sync_completed(b);
  CHECK(has(b, "readings", "r1"));
  CHECK_OK(ferry_client_close(b, &error), &error);
  CHECK_OK(ferry_client_close(a, &error), &error);
  ferry_error_clear(&error);
  CHECK(server_stop(&server));
  remove_temp_dir(directory);
}

void scope_tests(void) {
  RUN_TEST(test_scope_refusals);
  RUN_TEST(test_upload_only_and_pull_scope);
  RUN_TEST(test_retention);
  RUN_TEST(test_metered_connection_defers_deferrable_writes);
}
