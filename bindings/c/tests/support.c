#include "support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef FERRY_SERVER_BINARY
#error "FERRY_SERVER_BINARY must name the ferry-server executable"
#endif

void make_temp_dir(char* out, size_t size) {
  const char* base = getenv("TMPDIR");
  snprintf(out, size, "%s/ferry-c-test-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
  REQUIRE(mkdtemp(out) != NULL);
}

void make_temp_store(char* directory, size_t directory_size, char* path, size_t path_size) {
  make_temp_dir(directory, directory_size);
  path_in(path, path_size, directory, "store.db");
}

void remove_temp_dir(const char* path) {
  DIR* directory = opendir(path);
  if (directory == NULL) return;
  struct dirent* entry;
  char file[1024];
  while ((entry = readdir(directory)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    path_in(file, sizeof file, path, entry->d_name);
    unlink(file);
  }
  closedir(directory);
  rmdir(path);
}

void path_in(char* out, size_t size, const char* directory, const char* name) {
  REQUIRE((size_t)snprintf(out, size, "%s/%s", directory, name) < size);
}

void server_start(test_server* server) {
  memset(server, 0, sizeof *server);
  make_temp_dir(server->directory, sizeof server->directory);
  char tokens[600], database[600];
  path_in(tokens, sizeof tokens, server->directory, "tokens.txt");
  path_in(database, sizeof database, server->directory, "server.db");
  FILE* file = fopen(tokens, "w");
  REQUIRE(file != NULL);
  fputs("token-alice alice\ntoken-bob bob\n", file);
  fclose(file);

  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(FERRY_SERVER_BINARY, FERRY_SERVER_BINARY, "--tokens", tokens, "--db", database, "--port",
          "0", "--quiet", (char*)NULL);
    _exit(127);
  }
  close(out[1]);
  /* The first line: "ferry-server listening on http://127.0.0.1:PORT". */
  char line[256] = {0};
  size_t length = 0;
  char c = 0;
  while (length + 1 < sizeof line && read(out[0], &c, 1) == 1 && c != '\n')
    line[length++] = c;
  close(out[0]);
  const char* url = strstr(line, "http://");
  if (url == NULL) {
    fprintf(stderr, "ferry-server did not start: '%s'\n", line);
    abort();
  }
  server->pid = pid;
  snprintf(server->endpoint, sizeof server->endpoint, "%s", url);
}

bool server_stop(test_server* server) {
  bool clean = true;
  if (server->pid > 0) {
    kill(server->pid, SIGTERM);
    int status = 0;
    waitpid(server->pid, &status, 0);
    clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    server->pid = 0;
  }
  remove_temp_dir(server->directory);
  return clean;
}

void test_options(ferry_client_options* options, const char* path, const char* endpoint) {
  REQUIRE(ferry_client_options_init(options, sizeof *options) == FERRY_OK);
  options->path = S(path);
  options->endpoint = S(endpoint);
  options->sync_on_local_write = false;
  options->live_updates = false;
  options->request_timeout_ms = 10000;
}

size_t fixed_token(void* user_data, bool refresh, char* buffer, size_t capacity) {
  (void)refresh;
  const char* token = (const char*)user_data;
  const size_t size = strlen(token);
  if (size <= capacity) memcpy(buffer, token, size);
  return size;
}

/* ---------------------------------------------------------- HTTP client */

static bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t sent = send(fd, data, size, 0);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data += sent;
    size -= (size_t)sent;
  }
  return true;
}

static bool append(char** buffer, size_t* size, size_t* capacity, const char* data, size_t n) {
  if (*size + n + 1 > *capacity) {
    size_t grown = *capacity == 0 ? 4096 : *capacity;
    while (*size + n + 1 > grown)
      grown *= 2;
    char* bigger = realloc(*buffer, grown);
    if (bigger == NULL) return false;
    *buffer = bigger;
    *capacity = grown;
  }
  memcpy(*buffer + *size, data, n);
  *size += n;
  (*buffer)[*size] = '\0';
  return true;
}

/* Case-insensitive search for a header line "name:" in `headers`. */
static const char* find_header(const char* headers, const char* name) {
  const size_t length = strlen(name);
  for (const char* line = headers; line != NULL && *line != '\0';) {
    bool same = true;
    for (size_t i = 0; i < length && same; ++i) {
      char a = line[i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
      same = a == b;
    }
    if (same && line[length] == ':') {
      const char* value = line + length + 1;
      while (*value == ' ')
        ++value;
      return value;
    }
    line = strstr(line, "\r\n");
    if (line != NULL) line += 2;
  }
  return NULL;
}

static void fail(http_answer* answer, const char* what) {
  answer->status = 0;
  snprintf(answer->error, sizeof answer->error, "%s", what);
}

void http_perform(const ferry_http_request* request, http_answer* answer) {
  memset(answer, 0, sizeof *answer);
  char* url = copy_slice(request->url);
  char* method = copy_slice(request->method);
  unsigned port = 0;
  char host[64] = {0};
  int path_offset = 0;
  if (sscanf(url, "http://%63[^:/]:%u%n", host, &port, &path_offset) < 2) {
    fail(answer, "not an http://HOST:PORT URL");
    free(url);
    free(method);
    return;
  }
  const char* path = url[path_offset] == '\0' ? "/" : url + path_offset;

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)port);
  const long timeout_ms = request->timeout_ms > 0 ? (long)request->timeout_ms : 30000;
  struct timeval timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (fd < 0 || inet_pton(AF_INET, host, &address.sin_addr) != 1 ||
      connect(fd, (struct sockaddr*)&address, sizeof address) != 0) {
    fail(answer, "could not connect");
    if (fd >= 0) close(fd);
    free(url);
    free(method);
    return;
  }

  char* head = NULL;
  size_t head_size = 0, head_capacity = 0;
  char line[2048];
  snprintf(line, sizeof line, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n", method,
           path, host, port);
  bool ok = append(&head, &head_size, &head_capacity, line, strlen(line));
  for (size_t i = 0; i < request->header_count && ok; ++i) {
    const ferry_http_header* header = &request->headers[i];
    ok = append(&head, &head_size, &head_capacity, header->name.data, header->name.size) &&
         append(&head, &head_size, &head_capacity, ": ", 2) &&
         append(&head, &head_size, &head_capacity, header->value.data, header->value.size) &&
         append(&head, &head_size, &head_capacity, "\r\n", 2);
  }
  snprintf(line, sizeof line, "Content-Length: %zu\r\n\r\n", request->body.size);
  ok = ok && append(&head, &head_size, &head_capacity, line, strlen(line));
  ok = ok && send_all(fd, head, head_size) &&
       (request->body.size == 0 || send_all(fd, request->body.data, request->body.size));
  free(head);
  free(url);
  free(method);

  /* Reads to the end of the stream (Connection: close). */
  char* raw = NULL;
  size_t raw_size = 0, raw_capacity = 0;
  char chunk[8192];
  ssize_t got;
  while (ok && (got = recv(fd, chunk, sizeof chunk, 0)) != 0) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ok = false;
      break;
    }
    ok = append(&raw, &raw_size, &raw_capacity, chunk, (size_t)got);
  }
  close(fd);
  char* end_of_head = raw == NULL ? NULL : strstr(raw, "\r\n\r\n");
  if (!ok || end_of_head == NULL || sscanf(raw, "HTTP/1.%*d %d", &answer->status) != 1) {
    fail(answer, ok ? "a malformed HTTP answer" : "the connection failed");
    free(raw);
    return;
  }
  *end_of_head = '\0';
  const char* body = end_of_head + 4;
  const size_t body_size = raw_size - (size_t)(body - raw);
  const char* retry_after = find_header(raw, "Retry-After");
  if (retry_after != NULL) sscanf(retry_after, "%63[^\r]", answer->retry_after);
  const char* encoding = find_header(raw, "Transfer-Encoding");
  size_t capacity = 0;
  if (encoding != NULL && strncmp(encoding, "chunked", 7) == 0) {
    const char* at = body;
    const char* end = body + body_size;
    unsigned long size = 0;
    while (at < end && sscanf(at, "%lx", &size) == 1 && size > 0) {
      const char* data = strstr(at, "\r\n");
      if (data == NULL || data + 2 + size > end) break;
      append(&answer->body, &answer->body_size, &capacity, data + 2, size);
      at = data + 2 + size + 2;
    }
  } else {
    append(&answer->body, &answer->body_size, &capacity, body, body_size);
  }
  free(raw);
}

void http_answer_free(http_answer* answer) {
  free(answer->body);
  answer->body = NULL;
  answer->body_size = 0;
}

/* --------------------------------------------------------------- misc */

void sleep_ms(int milliseconds) {
  struct timespec delay = {milliseconds / 1000, (long)(milliseconds % 1000) * 1000000L};
  while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
  }
}

long long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

bool wait_for(bool (*condition)(void* argument), void* argument, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (condition(argument)) return true;
    sleep_ms(10);
  }
  return condition(argument);
}

bool contains(const char* json, const char* needle) {
  return json != NULL && strstr(json, needle) != NULL;
}

char* copy_slice(ferry_slice slice) {
  char* copy = malloc(slice.size + 1);
  REQUIRE(copy != NULL);
  if (slice.size > 0) memcpy(copy, slice.data, slice.size);
  copy[slice.size] = '\0';
  return copy;
}
