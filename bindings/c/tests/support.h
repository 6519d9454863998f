/* Test support for the C suites: temporary folders, a real ferry-server on
 * loopback (fork + exec of FERRY_SERVER_BINARY), a tiny blocking HTTP/1.1
 * client for host-transport tests, and waiting helpers. Test-only. */
#ifndef FERRY_C_TESTS_SUPPORT_H
#define FERRY_C_TESTS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ferry/ferry.h"

/* A fresh folder under $TMPDIR (or /tmp); `out` receives its path. */
void make_temp_dir(char* out, size_t size);
/* Removes the folder and the files directly in it. */
void remove_temp_dir(const char* path);
/* A fresh folder into `directory` and a store file name in it into `path`. */
void make_temp_store(char* directory, size_t directory_size, char* path, size_t path_size);
/* out = directory + "/" + name */
void path_in(char* out, size_t size, const char* directory, const char* name);

typedef struct test_server {
  pid_t pid;
  char directory[512];
  char endpoint[128]; /* "http://127.0.0.1:PORT" */
} test_server;

/* Starts ferry-server with tokens "token-alice alice" and "token-bob bob". */
void server_start(test_server* server);
/* SIGTERM and wait; returns false unless it exited cleanly. */
bool server_stop(test_server* server);

/* Options for a test client: the store `path`, the `endpoint`, no automatic
 * sync on write, no live stream; tests change what they need. */
void test_options(ferry_client_options* options, const char* path, const char* endpoint);
/* A token provider whose user_data is the token (a NUL-terminated string). */
size_t fixed_token(void* user_data, bool refresh, char* buffer, size_t capacity);

typedef struct http_answer {
  int status; /* 0: no HTTP answer (see error) */
  char* body; /* malloc'd, may hold NUL bytes */
  size_t body_size;
  char retry_after[64]; /* the Retry-After header, if any */
  char error[128];      /* why no answer came */
} http_answer;

/* One blocking request over a new connection (http:// URLs only). */
void http_perform(const ferry_http_request* request, http_answer* answer);
void http_answer_free(http_answer* answer);

void sleep_ms(int milliseconds);
/* A monotonic clock in milliseconds. */
long long now_ms(void);
/* Polls `condition(argument)` every 10 ms for up to `timeout_ms`. */
bool wait_for(bool (*condition)(void* argument), void* argument, int timeout_ms);
/* True when `json` (NUL-terminated) contains `needle`. */
bool contains(const char* json, const char* needle);
/* A copy of a borrowed slice as a NUL-terminated string (malloc'd). */
char* copy_slice(ferry_slice slice);

#endif
