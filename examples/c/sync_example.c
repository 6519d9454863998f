/* The C API in a few calls: open a client, write, sync, print the status.
 *
 *   ferry-c-example --endpoint http://127.0.0.1:PORT --token TOKEN --store FILE
 *
 * Start a server first, e.g. `ferry-server --tokens tokens.txt --db server.db`
 * with a tokens.txt line "TOKEN alice". Build: cc example.c $(pkg-config
 * --cflags --libs ferry). */
#include <stdio.h>
#include <string.h>

#include <ferry/ferry.h>

/* The token provider: copies the token given at open. */
static size_t provide_token(void* user_data, bool refresh, char* buffer, size_t capacity) {
  (void)refresh; /* a real app fetches a fresh token when refresh is true */
  const char* token = user_data;
  const size_t size = strlen(token);
  if (size <= capacity) memcpy(buffer, token, size);
  return size;
}

/* Events arrive on the client's own thread. */
static void print_event(void* user_data, const char* event_json, size_t size) {
  (void)user_data;
  printf("event: %.*s\n", (int)size, event_json);
}

static int fail(const char* what, ferry_error* error) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, ferry_result_name(error->code),
          error->message != NULL ? error->message : "");
  ferry_error_clear(error);
  return 1;
}

int main(int argc, char** argv) {
  const char* endpoint = "http://127.0.0.1:8080";
  const char* token = "token-alice";
  const char* store = "ferry-example.db";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--endpoint") == 0) endpoint = argv[i + 1];
    if (strcmp(argv[i], "--token") == 0) token = argv[i + 1];
    if (strcmp(argv[i], "--store") == 0) store = argv[i + 1];
  }
  printf("libferry %s (header %s)\n", ferry_version(), FERRY_VERSION_STRING);

  ferry_client_options options;
  ferry_client_options_init(&options, sizeof options);
  options.path = ferry_slice_from_string(store);
  options.endpoint = ferry_slice_from_string(endpoint);
  options.token_provider = provide_token;
  options.token_user_data = (void*)token;

  ferry_error error = FERRY_ERROR_INIT;
  ferry_client* client = NULL;
  if (ferry_client_open(&options, &client, &error) != FERRY_OK) return fail("open", &error);

  ferry_listener_id listener = 0;
  ferry_client_add_event_listener(client, print_event, NULL, &listener, &error);

  /* Writes are durable when the call returns, online or not. */
  ferry_client_put(client, ferry_slice_from_string("notes"), ferry_slice_from_string("n1"),
                   ferry_slice_from_string("{\"title\":\"Milk\"}"), &error);
  ferry_client_patch(client, ferry_slice_from_string("notes"), ferry_slice_from_string("n1"),
                     ferry_slice_from_string("{\"done\":true}"), &error);
  if (error.code != FERRY_OK) return fail("write", &error);

  ferry_buffer run = FERRY_BUFFER_INIT;
  if (ferry_client_sync_now(client, &run, &error) != FERRY_OK) return fail("sync", &error);
  printf("sync run: %s\n", run.data);
  ferry_buffer_release(&run);

  ferry_buffer status = FERRY_BUFFER_INIT;
  if (ferry_client_status(client, &status, &error) == FERRY_OK) printf("status: %s\n", status.data);
  ferry_buffer_release(&status);

  ferry_client_remove_listener(client, listener, &error);
  if (ferry_client_close(client, &error) != FERRY_OK) return fail("close", &error);
  ferry_error_clear(&error);
  return 0;
}
