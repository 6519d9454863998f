/* ferry.h: the C API of Ferry, the one exported ABI (libferry).
 *
 * Conventions (couchbase-lite-core's c4 style):
 * - Every name starts with ferry_ / FERRY_. Handles are opaque.
 * - Strings are UTF-8 with explicit lengths (ferry_slice); they need no NUL
 *   terminator. Invalid UTF-8 is refused with FERRY_INVALID_ARGUMENT. A slice
 *   {NULL, 0} is the empty string; {NULL, n > 0} is an invalid argument.
 * - Documents, options of a structured kind and every report (status,
 *   statistics, history, events) are JSON as UTF-8 text.
 * - A fallible call returns a ferry_result and takes a `ferry_error*` as its
 *   LAST parameter (may be NULL). Each such call resets *error: FERRY_OK with
 *   no message on success, the code and a message on failure. Initialize an
 *   error with FERRY_ERROR_INIT before its first use and release it with
 *   ferry_error_clear() when done.
 * - Buffers the library returns (ferry_buffer) belong to the caller, who
 *   releases them with ferry_buffer_release(). Pointers the library passes to
 *   a callback are borrowed: valid only until the callback returns.
 * - Callbacks take the `user_data` given with them and state their thread.
 *
 * Handles and threading:
 * - Every function is thread-safe and may be called from any thread.
 * - A ferry_client* is a key into a registry of live clients, never a raw
 *   pointer: after ferry_client_close() every call with that handle (a second
 *   close included) fails with FERRY_INVALID_HANDLE, and handles are never
 *   reused. Using a closed handle is an error, not undefined behaviour.
 * - Callbacks run on threads owned by the client (its owner thread, or a
 *   worker for ferry_client_sync_now_async), never on the caller's thread
 *   during a call. From inside a callback the client may be called again,
 *   except ferry_client_close() and the blocking ferry_client_sync_now(),
 *   which fail there with FERRY_WRONG_THREAD (they would wait for the very
 *   thread that runs the callback). Callbacks must not block for long.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(FERRY_BUILDING_LIBRARY)
#define FERRY_EXPORT __declspec(dllexport)
#else
#define FERRY_EXPORT __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define FERRY_EXPORT __attribute__((visibility("default")))
#else
#define FERRY_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ version */

#define FERRY_VERSION_MAJOR 0
#define FERRY_VERSION_MINOR 1
#define FERRY_VERSION_PATCH 0
#define FERRY_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch */
#define FERRY_VERSION_NUMBER \
  (FERRY_VERSION_MAJOR * 10000 + FERRY_VERSION_MINOR * 100 + FERRY_VERSION_PATCH)

/* The library's version, "MAJOR.MINOR.PATCH" (static storage). Compare with
 * FERRY_VERSION_STRING to detect a header/library mismatch. */
FERRY_EXPORT const char* ferry_version(void);
/* FERRY_VERSION_NUMBER of the library. */
FERRY_EXPORT uint32_t ferry_version_number(void);

/* ---------------------------------------------------- results, errors */

typedef enum ferry_result {
  FERRY_OK = 0,
  FERRY_INVALID_ARGUMENT = 1,     /* malformed argument: NULL, bad UTF-8, bad JSON, bad size */
  FERRY_NOT_FOUND = 2,            /* a named item (failed mutation, listener, request) is unknown */
  FERRY_CORRUPTION = 3,           /* stored bytes do not decode */
  FERRY_PROTOCOL = 4,             /* the server sent something the protocol does not allow */
  FERRY_TOO_LARGE = 5,            /* a size limit was exceeded */
  FERRY_UNAVAILABLE = 6,          /* network or server unavailable; retryable */
  FERRY_UNAUTHENTICATED = 7,      /* the server refused the credentials */
  FERRY_CURSOR_EXPIRED = 8,       /* internal to sync; reported for completeness */
  FERRY_CANCELLED = 9,            /* an operation was cancelled */
  FERRY_IO = 10,                  /* the local store failed */
  FERRY_UNSUPPORTED_VERSION = 11, /* a store written by a newer Ferry */
  FERRY_INTERNAL = 12,            /* a broken invariant inside Ferry */
  FERRY_BUSY = 13,              /* the store is open in another client (this process or another) */
  FERRY_INVALID_HANDLE = 64,    /* NULL, closed or unknown ferry_client* */
  FERRY_WRONG_THREAD = 65,      /* not allowed from inside a callback (see above) */
  FERRY_RESULT_MAX = 0x7fffffff /* not a result: keeps the type int-sized for new codes */
} ferry_result;

/* A stable lowercase name for a result, e.g. "invalid_argument" (static). */
FERRY_EXPORT const char* ferry_result_name(ferry_result result);

typedef struct ferry_error {
  ferry_result code;
  /* NUL-terminated UTF-8, owned by the error (ferry_error_clear frees it);
   * NULL when code is FERRY_OK. */
  char* message;
  size_t message_size; /* bytes, without the NUL */
} ferry_error;

#define FERRY_ERROR_INIT \
  { FERRY_OK, NULL, 0 }

/* Frees the message and resets the error to FERRY_OK. NULL is allowed. */
FERRY_EXPORT void ferry_error_clear(ferry_error* error);

/* ------------------------------------------------------ slices, buffers */

/* Borrowed UTF-8 text (or bytes, where stated): `size` bytes at `data`. */
typedef struct ferry_slice {
  const char* data;
  size_t size;
} ferry_slice;

/* Text the library returns. `data` is NUL-terminated (not counted in size),
 * owned by the caller, released with ferry_buffer_release. */
typedef struct ferry_buffer {
  char* data;
  size_t size;
} ferry_buffer;

#define FERRY_BUFFER_INIT \
  { NULL, 0 }

/* Frees `buffer->data` and resets it to {NULL, 0}. NULL is allowed. */
FERRY_EXPORT void ferry_buffer_release(ferry_buffer* buffer);

/* A slice over a NUL-terminated string (NULL gives the empty slice). */
static inline ferry_slice ferry_slice_from_string(const char* text) {
  ferry_slice slice = {text, 0};
  if (text != NULL) {
    while (text[slice.size] != '\0')
      ++slice.size;
  }
  return slice;
}

/* Handle of an open client (opaque). */
typedef struct ferry_client ferry_client;

/* --------------------------------------------------------- callbacks */

typedef enum ferry_log_level {
  FERRY_LOG_DEBUG = 0,
  FERRY_LOG_INFO = 1,
  FERRY_LOG_WARNING = 2,
  FERRY_LOG_ERROR = 3
} ferry_log_level;

/* The log hook. Owner thread. `message` is borrowed (NUL-terminated too). */
typedef void (*ferry_log_callback)(void* user_data, ferry_log_level level, const char* message,
                                   size_t message_size);

/* The token provider, asked on the owner thread before every request.
 * Writes the bearer token (UTF-8, no NUL needed) into `buffer` when it fits
 * in `capacity` bytes, and returns its length in bytes; when the returned
 * length exceeds `capacity`, Ferry asks once more with a buffer of that size.
 * Return 0 for "no token" (no Authorization header). `refresh` is true when
 * the server has just refused the token: return a fresh one, not a cached
 * one. Ferry copies the token and never logs or stores it.
 * Return FERRY_TOKEN_FAILED when no token can be had (signed out, the
 * session is gone), after writing why into `buffer` as NUL-terminated UTF-8
 * (cut at `capacity`; or nothing): the request is not sent, the run fails
 * with that message, and the client waits in "auth_error" with every write
 * kept, as after a refused token. */
typedef size_t (*ferry_token_callback)(void* user_data, bool refresh, char* buffer,
                                       size_t capacity);
#define FERRY_TOKEN_FAILED SIZE_MAX

/* The custom conflict resolver (the strategy "custom" in conflicts_json).
 * Called on the owner thread, inside the sync, when the server refused a
 * write because the document changed meanwhile. `input_json` (borrowed) is
 * {"collection", "key", "base", "local", "remote", "localHlc", "remoteHlc"}:
 * the server's document the local writes were made against, the local view,
 * the server's document now (null: absent or deleted) and the stamps of the
 * newest local write and of the server's write (they sort as text). The
 * callback answers with ferry_conflict_answer_set(answer, ...) before it
 * returns: {"value": document} (pushed as a new write), {"deleted": true},
 * {"deferred": true} (kept open, as the strategy "manual" does, for
 * ferry_client_resolve_conflict), or {"error": message}; no answer, or an
 * error, keeps the server's document (the sync.conflict event says
 * "custom_failed: <message>").
 * The client's engine is locked while it runs: calling the client from it
 * fails with FERRY_WRONG_THREAD, and a slow resolver holds up every call. */
typedef struct ferry_conflict_answer ferry_conflict_answer;
typedef void (*ferry_conflict_resolver_callback)(void* user_data, const char* input_json,
                                                 size_t input_json_size,
                                                 ferry_conflict_answer* answer);
/* Sets the resolver's answer (JSON text as above; copied). Only inside the
 * resolver, with the `answer` it was given. FERRY_INVALID_ARGUMENT for text
 * that is not one of the three forms (the answer stays unset); a second call
 * replaces the first. */
FERRY_EXPORT ferry_result ferry_conflict_answer_set(ferry_conflict_answer* answer,
                                                    ferry_slice answer_json, ferry_error* error);

/* Hooks: the app's code at three points of a sync (ferry_client_options
 * hook, hook_points). Called on the owner thread, inside the sync, with
 * the client's engine locked, as the conflict resolver is: calling the
 * client from it fails with FERRY_WRONG_THREAD. `input_json` (borrowed):
 *   FERRY_HOOK_BEFORE_PUSH, for each write a push is about to carry: the
 *     write as events give it ({"seq", "op", "collection", "key",
 *     "baseVersion", "hlc", "value"}); asked again on a retry, with the
 *     value it gave, so it must answer the same for a write it answered;
 *   FERRY_HOOK_AFTER_PULL, for each pulled change with a document (a
 *     deletion is stored without asking): {"collection", "key", "value"};
 *   FERRY_HOOK_BEFORE_RUN: {"reason", "direction"}.
 * The callback answers with ferry_hook_answer_set before it returns:
 * {"keep": true} (as no answer does), {"value": v} (push or store v
 * instead; not for a delete), {"refuse": "reason"} (a write becomes a dead
 * letter with that reason; a change is not stored; a run is postponed: it
 * ends cancelled with the error "postponed", an interval tick leaves none),
 * or {"error": message}, which fails the run: nothing is lost, it is
 * retried with backoff. */
typedef enum ferry_hook_point {
  FERRY_HOOK_BEFORE_PUSH = 1,
  FERRY_HOOK_AFTER_PULL = 2,
  FERRY_HOOK_BEFORE_RUN = 4
} ferry_hook_point;
typedef struct ferry_hook_answer ferry_hook_answer;
typedef void (*ferry_hook_callback)(void* user_data, ferry_hook_point point, const char* input_json,
                                    size_t input_json_size, ferry_hook_answer* answer);
/* Sets the hook's answer (JSON text as above; copied). Only inside the hook,
 * with the `answer` it was given. FERRY_INVALID_ARGUMENT for text that is
 * none of the forms (the answer stays unset); a second call replaces it. */
FERRY_EXPORT ferry_result ferry_hook_answer_set(ferry_hook_answer* answer, ferry_slice answer_json,
                                                ferry_error* error);

/* --------------------------------------------------- host transport */

typedef struct ferry_http_header {
  ferry_slice name;
  ferry_slice value;
} ferry_http_header;

/* Local retention of one collection (ferry_client_options.retention):
 * documents synced longer ago than max_age_ms, and beyond max_count the
 * longest synced, are evicted. 0 leaves a bound off; a rule needs one.
 * A document's age counts from when its server copy last changed here (a
 * pull, an acknowledged push). An evicted document's version goes too: a
 * later local write to it meets the server's copy as a conflict. */
typedef struct ferry_retention_rule {
  ferry_slice collection;
  int64_t max_age_ms;
  uint64_t max_count;
} ferry_retention_rule;

/* One HTTP request for the host to carry. Everything is borrowed: valid
 * until the send callback returns; copy what is needed later. Fields may be
 * appended in later versions. */
typedef struct ferry_http_request {
  uint64_t id;
  ferry_slice method; /* "GET" or "POST" */
  ferry_slice url;    /* absolute: the endpoint plus path and query */
  const ferry_http_header* headers;
  size_t header_count;
  ferry_slice body;   /* bytes (JSON, or gzip with Content-Encoding: gzip) */
  int64_t timeout_ms; /* the whole request; 0: no limit (a stream) */
  /* The live-updates stream (Server-Sent Events): pass each body chunk to
   * ferry_client_request_data as it arrives, then complete the request with
   * an empty body when the stream ends. A host that cannot stream sets
   * ferry_client_options.live_updates to false (or answers the stream with a
   * transport error; Ferry then retries it with backoff). */
  bool stream;
} ferry_http_request;

/* Hands a request to the host. Owner thread; must not block: start the
 * request and return. The answer goes to ferry_client_complete_request(client,
 * ...), from any thread, possibly before this callback returns and even
 * before ferry_client_open has returned the handle (hence `client` here). The
 * host should enforce timeout_ms; Ferry also gives up on a request past its
 * own deadline and then calls the cancel callback. */
typedef void (*ferry_send_request_callback)(void* user_data, ferry_client* client,
                                            const ferry_http_request* request);
/* Ferry no longer wants request `request_id` (cancelled, timed out, or the
 * client is closing: ferry_client_close calls it for every unanswered
 * request). Owner thread, or the thread calling ferry_client_close. */
typedef void (*ferry_cancel_request_callback)(void* user_data, ferry_client* client,
                                              uint64_t request_id);

/* ----------------------------------------------------------- options */

typedef struct ferry_client_options {
  /* sizeof(ferry_client_options) as the caller compiled it; set by
   * ferry_client_options_init. Lets fields be appended without breaking
   * callers built against an older header. */
  size_t struct_size;

  ferry_slice path;     /* required: the SQLite file of this user's store */
  ferry_slice endpoint; /* required: ferry-server's base URL, e.g. "http://127.0.0.1:8080" */

  bool sync_on_local_write;        /* default true: a write starts a sync or joins one */
  int64_t local_write_debounce_ms; /* default 0: no wait before that sync */
  int64_t request_timeout_ms;      /* default 30000 */
  int64_t interval_ms;             /* background sync interval at open; 0 (default): none */
  /* 0 (default): system randomness. Seeds backoff jitter and the client id
   * of a new store: two stores must never share a seed. */
  uint64_t random_seed;
  size_t push_batch_size;  /* default 500: mutations per push request */
  size_t pull_page_size;   /* default 1000: changes per pull page asked for */
  bool live_updates;       /* default true: keep the /v1/live stream open */
  size_t gzip_above_bytes; /* default 1024; 0 turns request compression off */
  bool durable_full;       /* default false: synchronous=NORMAL; true: FULL */
  /* Conflict strategies as JSON, e.g. {"default":"serverWins",
   * "collections":{"notes":"merge"}}; strategies: serverWins, clientWins,
   * lastWriteWins, merge, custom (needs conflict_resolver) and manual (kept
   * open for ferry_client_resolve_conflict). Empty (default): server wins
   * everywhere. */
  ferry_slice conflicts_json;
  ferry_slice ca_bundle_path; /* empty (default): the system's CA store (libcurl only) */
  bool dangerously_disable_tls_verification; /* tests only (libcurl only) */

  ferry_log_callback log; /* NULL (default): nothing is logged */
  void* log_user_data;
  ferry_token_callback token_provider; /* NULL (default): no Authorization header */
  void* token_user_data;
  /* Host transport: when send_request is set, the host carries every HTTP
   * request instead of libcurl. cancel_request is optional. */
  ferry_send_request_callback send_request;
  ferry_cancel_request_callback cancel_request;
  void* transport_user_data;

  /* --- Appended in 0.1 (issue 14); a caller built before passes the
   * shorter struct_size and gets the defaults. --- */
  /* Decides conflicts in collections whose strategy is "custom"; NULL
   * (default): "custom" is refused at open. */
  ferry_conflict_resolver_callback conflict_resolver;
  void* conflict_user_data;

  /* --- Appended in 0.1 (issue 12); a caller built before passes the
   * shorter struct_size and gets the default. --- */
  /* How long ferry_client_open waits for another client (in this process or
   * another) to close the store at `path`; 0 (default): FERRY_BUSY at once.
   * The open blocks the calling thread meanwhile. */
  int64_t store_lock_timeout_ms;

  /* --- Appended in 0.1 (issue 17); a caller built before passes the
   * shorter struct_size and gets the defaults. --- */
  /* Headers sent with every request, the live stream included (an API key
   * beside or instead of the bearer token); header_count of them, copied at
   * open. FERRY_INVALID_ARGUMENT at open for a name that is not an HTTP
   * token, a value holding CR, LF or NUL, a header Ferry owns (Accept,
   * Content-Type, Host, ...) or Authorization while token_provider is set.
   * Values are never logged. NULL/0 (default): none. */
  const ferry_http_header* headers;
  size_t header_count;
  /* Retry delay after the n-th failure: uniform in [0, min(backoff_max_ms,
   * backoff_base_ms * 2^(n-1))]; defaults 1000 and 300000. */
  int64_t backoff_base_ms;
  int64_t backoff_max_ms;
  size_t push_batch_bytes; /* default 1 MiB: encoded values per push request */
  size_t history_limit;    /* default 100: sync runs kept in the history */
  /* Queue control. A write whose push failed for a transient reason (no
   * answer: network error, timeout; HTTP 408, 429, 5xx) once it has been
   * carried by max_attempts pushes is dead-lettered with that error (a
   * "mutation.rejected" event; ferry_client_failed_mutations lists it).
   * 0 (default): no cap. Dead letters older than dead_letter_max_age_ms
   * are discarded, at open and as time passes; 0 (default): kept. */
  int64_t dead_letter_max_age_ms;
  uint32_t max_attempts;
  /* Scope. upload_only: upload_only_count collection names whose writes are
   * pushed but never pulled back (a write pushed from here stays in the
   * local store as a synced document until the next full resync). With
   * has_pull_scope nonzero, only the pull_collections_count collections in
   * pull_collections are pulled (0 of them: none); zero (default): every
   * collection. Opening with a scope other than the store's last one pulls
   * from the beginning and then forgets the documents outside the new scope,
   * keeping those with pending writes. The names are copied. */
  const ferry_slice* upload_only;
  size_t upload_only_count;
  const ferry_slice* pull_collections;
  size_t pull_collections_count;
  bool has_pull_scope;
  /* Local retention: retention_count rules, each evicting synced documents
   * of its collection from this store (never from the server), at open and
   * after each completed run; documents with pending writes stay. The rules
   * are copied. NULL/0 (default): none. */
  const ferry_retention_rule* retention;
  size_t retention_count;
  /* The conflict log (ferry_client_conflict_log) keeps the newest this many
   * resolutions; default 1000, 0: none are recorded. */
  size_t conflict_log_limit;
  /* Hooks (see ferry_hook_callback): `hook` is asked at the points whose
   * FERRY_HOOK_* bits hook_points holds. NULL / 0 (default): none. */
  ferry_hook_callback hook;
  void* hook_user_data;
  unsigned hook_points;
  /* Deferrable: deferrable_count collection names whose writes wait while
   * the connection is metered (ferry_client_set_metered). A push that goes
   * ahead of them gives them new seqs behind its own, so the server never
   * takes them for repeats: a cost in proportion to the writes waiting.
   * Pulls are not deferred. The names are copied. NULL/0 (default): none. */
  const ferry_slice* deferrable;
  size_t deferrable_count;
  /* Query indexes, as JSON text: [{"collection": ..., "paths": [path, ...],
   * "name": ... (optional)}, ...] (docs/API.md, "Local queries"). Kept in
   * the commit of every write they index; an open with other declarations
   * rebuilds or drops what changed. {NULL, 0} (default): none. */
  ferry_slice indexes_json;
} ferry_client_options;

/* Fills `*options` with the defaults; `struct_size` is sizeof(*options) as
 * the caller sees it. FERRY_INVALID_ARGUMENT for NULL or a size this library
 * does not know. */
FERRY_EXPORT ferry_result ferry_client_options_init(ferry_client_options* options,
                                                    size_t struct_size);

/* ------------------------------------------------------------ client */

typedef uint64_t ferry_listener_id;

/* Opens (or creates) the store at options->path and starts the client's
 * owner thread. On success *client is a new handle (close it with
 * ferry_client_close); on failure it is NULL: FERRY_BUSY while another
 * client has the store open (after waiting up to store_lock_timeout_ms).
 * The options and the strings they point to are copied; the user_data
 * pointers must stay valid until the client is closed. */
FERRY_EXPORT ferry_result ferry_client_open(const ferry_client_options* options,
                                            ferry_client** client, ferry_error* error);

/* Cancels a running sync, waits for calls in progress on other threads
 * (blocking syncs among them return a run with outcome "cancelled"), stops the
 * owner thread and closes the store. After it returns no callback of this
 * client runs again and the handle is invalid. FERRY_WRONG_THREAD from
 * inside a callback; FERRY_INVALID_HANDLE for NULL or an already closed
 * handle. */
FERRY_EXPORT ferry_result ferry_client_close(ferry_client* client, ferry_error* error);

/* The client's id (a UTF-8 string) into *client_id (caller releases). */
FERRY_EXPORT ferry_result ferry_client_id(ferry_client* client, ferry_buffer* client_id,
                                          ferry_error* error);

/* --- Local data. A write is durable when the call returns FERRY_OK. ---
 * collection and key: non-empty UTF-8 without NUL bytes (at most 256 and
 * 1024 bytes). value: JSON text (any JSON value but null, at most 1 MiB). */
FERRY_EXPORT ferry_result ferry_client_put(ferry_client* client, ferry_slice collection,
                                           ferry_slice key, ferry_slice value_json,
                                           ferry_error* error);
/* merge_patch: an RFC 7396 merge patch, a JSON object. */
FERRY_EXPORT ferry_result ferry_client_patch(ferry_client* client, ferry_slice collection,
                                             ferry_slice key, ferry_slice merge_patch_json,
                                             ferry_error* error);
FERRY_EXPORT ferry_result ferry_client_remove(ferry_client* client, ferry_slice collection,
                                              ferry_slice key, ferry_error* error);
/* Several writes in one atomic, durable commit (all or none). writes_json:
 * [{"op": "put" | "patch" | "delete", "collection": ..., "key": ...,
 *   "value": ... (put and patch)}, ...] */
FERRY_EXPORT ferry_result ferry_client_write(ferry_client* client, ferry_slice writes_json,
                                             ferry_error* error);
/* The local view of a document: *value receives its JSON text, or stays
 * {NULL, 0} when the document does not exist (still FERRY_OK). */
FERRY_EXPORT ferry_result ferry_client_get(ferry_client* client, ferry_slice collection,
                                           ferry_slice key, ferry_buffer* value,
                                           ferry_error* error);
/* Documents of a collection whose key starts with key_prefix (empty: all),
 * in key order, at most `limit` (0: no limit), as
 * [{"key": ..., "value": ...}, ...] into *documents. */
FERRY_EXPORT ferry_result ferry_client_scan(ferry_client* client, ferry_slice collection,
                                            ferry_slice key_prefix, size_t limit,
                                            ferry_buffer* documents, ferry_error* error);

/* A local query over the local view, pending writes included: query_json
 * is the JSON form of docs/API.md's "Local queries" ({"collection", "where",
 * "orderBy", "limit", "after"}); *page receives {"documents": [{"key",
 * "value"}, ...], "next": a cursor or null}; pass "next" as "after" for the
 * page after. FERRY_INVALID_ARGUMENT for a query that is not one. */
FERRY_EXPORT ferry_result ferry_client_query(ferry_client* client, ferry_slice query_json,
                                             ferry_buffer* page, ferry_error* error);
/* How many documents the query matches ("limit" and "after" aside). */
FERRY_EXPORT ferry_result ferry_client_count(ferry_client* client, ferry_slice query_json,
                                             size_t* count, ferry_error* error);
/* How the query would be answered, into *plan: {"collection", "index": the
 * index's name or null (a scan), "equalities": leading index paths fixed by
 * eq, "narrowed": a range or "in" on the next, "ordered": read in the
 * query's order, stopping at its limit}. */
FERRY_EXPORT ferry_result ferry_client_explain(ferry_client* client, ferry_slice query_json,
                                               ferry_buffer* plan, ferry_error* error);

/* A live query with an id the caller picks (not 0, not one in use:
 * FERRY_INVALID_ARGUMENT), so that it knows its pages from the first. Its
 * page comes to the event listeners as an event {"type": "query", "query":
 * the id, "documents", "next" (as ferry_client_query gives them), "added",
 * "removed", "changed", "moved": keys}, then each page that differs, right
 * after the "change" event of the write, pull or resolution that changed
 * it. A listener added before this call hears the first page. */
FERRY_EXPORT ferry_result ferry_client_subscribe_query(ferry_client* client, ferry_slice query_json,
                                                       uint64_t query_id, ferry_error* error);
/* FERRY_NOT_FOUND for an unknown (or already ended) live query. */
FERRY_EXPORT ferry_result ferry_client_unsubscribe_query(ferry_client* client, uint64_t query_id,
                                                         ferry_error* error);

/* --- Subscriptions and events. ---
 * Callbacks run on the owner thread with borrowed JSON text. After
 * ferry_client_remove_listener returns (or the client is closed) the
 * callback does not run again, and is not running unless the remove was
 * called from inside it. */
typedef void (*ferry_event_callback)(void* user_data, const char* event_json,
                                     size_t event_json_size);
/* Documents whose local view changed: {"type": "change", "documents":
 * [{"collection", "key"}], "remote": bool} (remote: a pull or a server
 * answer rather than a local write). */
FERRY_EXPORT ferry_result ferry_client_subscribe(ferry_client* client,
                                                 ferry_event_callback callback, void* user_data,
                                                 ferry_listener_id* listener, ferry_error* error);
/* Every event, by "type": sync.started, sync.progress, sync.completed,
 * sync.failed, sync.conflict, mutation.rejected, status, change. */
FERRY_EXPORT ferry_result ferry_client_add_event_listener(ferry_client* client,
                                                          ferry_event_callback callback,
                                                          void* user_data,
                                                          ferry_listener_id* listener,
                                                          ferry_error* error);
/* FERRY_NOT_FOUND for an unknown (or already removed) listener. */
FERRY_EXPORT ferry_result ferry_client_remove_listener(ferry_client* client,
                                                       ferry_listener_id listener,
                                                       ferry_error* error);

/* --- Sync. --- */

/* Starts a sync (or joins the running one), waits until a run that covers
 * the request ends and puts its record into *run: {"id", "reason",
 * "startedAt", "finishedAt", "outcome": "completed" | "failed" |
 * "cancelled", "pushed", "pulled", "conflicts", "rejected", "error"}. A run
 * that failed is still FERRY_OK: read its outcome. `run` may be NULL.
 * FERRY_WRONG_THREAD from inside a callback (use the async form there). */
FERRY_EXPORT ferry_result ferry_client_sync_now(ferry_client* client, ferry_buffer* run,
                                                ferry_error* error);
/* Called once when the run ends: `result` FERRY_OK with the run's JSON, or an
 * error with `error`. A client closed first gives FERRY_OK and a run whose
 * outcome is "cancelled" (one that never started has pushed nothing).
 * Both pointers are borrowed. Runs on a worker thread of the client. */
typedef void (*ferry_sync_callback)(void* user_data, ferry_result result, const char* run_json,
                                    size_t run_json_size, const ferry_error* error);
/* ferry_client_sync_now without waiting: returns at once; `callback` runs
 * when the run ends (before ferry_client_close returns, at the latest). */
FERRY_EXPORT ferry_result ferry_client_sync_now_async(ferry_client* client,
                                                      ferry_sync_callback callback, void* user_data,
                                                      ferry_error* error);
/* Which halves of a sync a run does (issue 17): push the pending writes,
 * pull the server's changes, or both. A push-only run sends no pull request;
 * a pull-only run sends no push, even with writes pending. */
typedef enum ferry_sync_direction {
  FERRY_SYNC_BOTH = 0,
  FERRY_SYNC_PUSH = 1,
  FERRY_SYNC_PULL = 2
} ferry_sync_direction;
/* ferry_client_sync_now in one direction (a ferry_sync_direction value;
 * anything else is FERRY_INVALID_ARGUMENT). The run's JSON also has
 * "direction": "both" | "push" | "pull". */
FERRY_EXPORT ferry_result ferry_client_sync_now_direction(ferry_client* client, int direction,
                                                          ferry_buffer* run, ferry_error* error);
FERRY_EXPORT ferry_result ferry_client_sync_now_direction_async(ferry_client* client, int direction,
                                                                ferry_sync_callback callback,
                                                                void* user_data,
                                                                ferry_error* error);
/* A forced full resync: forgets the pull cursor and pulls everything from the
 * start; pending writes stay queued (and shown), documents the server no
 * longer has are forgotten unless they have pending writes. With a run in
 * flight, the resync is the run after it. Waits for that run and puts its
 * record into *run, as ferry_client_sync_now does (same thread rules). */
FERRY_EXPORT ferry_result ferry_client_resync(ferry_client* client, ferry_buffer* run,
                                              ferry_error* error);
FERRY_EXPORT ferry_result ferry_client_resync_async(ferry_client* client,
                                                    ferry_sync_callback callback, void* user_data,
                                                    ferry_error* error);
/* Syncs every interval_ms (> 0) until stopped. */
FERRY_EXPORT ferry_result ferry_client_start_background_sync(ferry_client* client,
                                                             int64_t interval_ms,
                                                             ferry_error* error);
FERRY_EXPORT ferry_result ferry_client_stop_background_sync(ferry_client* client,
                                                            ferry_error* error);
/* Host-declared connectivity: while offline no request is made. */
FERRY_EXPORT ferry_result ferry_client_set_online(ferry_client* client, bool online,
                                                  ferry_error* error);
/* The network changed (an OS reachability callback, a new interface): after
 * network failures Ferry probes the server's /v1/health at once instead of
 * waiting out its probe backoff; otherwise nothing happens. */
FERRY_EXPORT ferry_result ferry_client_network_changed(ferry_client* client, ferry_error* error);
/* Whether the connection is metered (false at open): while it is, the runs
 * Ferry starts itself leave the writes of options.deferrable collections
 * for later; ferry_client_sync_now, and the end of the metered spell, push
 * them. */
FERRY_EXPORT ferry_result ferry_client_set_metered(ferry_client* client, bool metered,
                                                   ferry_error* error);
/* Stops the running sync and any scheduled retry; every write stays pending. */
FERRY_EXPORT ferry_result ferry_client_cancel(ferry_client* client, ferry_error* error);

/* --- Reports (JSON into a buffer the caller releases). --- */

/* {"state": "never_synced" | "idle" | "syncing" | "offline" | "error" |
 * "auth_error", "pending", "failed", "lastError", "lastSyncedAt",
 * "nextRetryAt"} */
FERRY_EXPORT ferry_result ferry_client_status(ferry_client* client, ferry_buffer* status,
                                              ferry_error* error);
/* {"runsStarted", "runsCompleted", "runsFailed", "runsCancelled",
 * "mutationsPushed", "conflicts", "rejected", "documentsPulled",
 * "fullResyncs", "bytesSent", "bytesReceived"} */
FERRY_EXPORT ferry_result ferry_client_statistics(ferry_client* client, ferry_buffer* statistics,
                                                  ferry_error* error);
/* The last `limit` run records (0: 50), newest first, as a JSON array. */
FERRY_EXPORT ferry_result ferry_client_history(ferry_client* client, size_t limit,
                                               ferry_buffer* runs, ferry_error* error);
/* Dead letters (writes the server rejected) as a JSON array of {"seq", "op",
 * "collection", "key", "baseVersion", "hlc", "value", "error", "attempts"}. */
FERRY_EXPORT ferry_result ferry_client_failed_mutations(ferry_client* client,
                                                        ferry_buffer* mutations,
                                                        ferry_error* error);
/* Pending writes (not dead letters) with seq above `after_seq`, in seq
 * order, at most `limit` (0: 100), as a JSON array of {"seq", "op",
 * "collection", "key", "attempts", "lastAttemptAt" (wall ms, null before
 * the first attempt), "lastError" (the last failed push's, null if none)}.
 * Page on with the last seq of a page. */
FERRY_EXPORT ferry_result ferry_client_pending_mutations(ferry_client* client, uint64_t after_seq,
                                                         size_t limit, ferry_buffer* mutations,
                                                         ferry_error* error);
/* Forgets past sync runs; with keep_latest, all but the newest. */
FERRY_EXPORT ferry_result ferry_client_clear_history(ferry_client* client, bool keep_latest,
                                                     ferry_error* error);
/* The conflict log: every conflict resolution, oldest first, with id above
 * `after_id`, at most `limit` (0: 100), as a JSON array of {"id", "at"
 * (wall ms), "collection", "key", "strategy", "winner" ("server", "local"
 * or "new": a merged or custom value), "resolution" (as in the "conflict"
 * event), "runId", "serverVersion"}. Page on with the last id of a page.
 * The log keeps options.conflict_log_limit entries. */
FERRY_EXPORT ferry_result ferry_client_conflict_log(ferry_client* client, uint64_t after_id,
                                                    size_t limit, ferry_buffer* entries,
                                                    ferry_error* error);
FERRY_EXPORT ferry_result ferry_client_clear_conflict_log(ferry_client* client, ferry_error* error);
/* Conflicts kept open for a person to resolve (strategy "manual", or a
 * custom resolver that answered {"deferred": true}), in document order, as
 * a JSON array of {"collection", "key", "base", "local", "remote" (the
 * server's document as this client knows it now; null: absent or deleted),
 * "localHlc", "remoteHlc", "strategy", "at" (wall ms), "runId",
 * "serverVersion"}. The document shows the server's version meanwhile; the
 * conflicts survive a restart. */
FERRY_EXPORT ferry_result ferry_client_conflicts(ferry_client* client, ferry_buffer* conflicts,
                                                 ferry_error* error);
/* Settles the open conflict on a document with `value_json`: the document
 * as JSON text, or null to delete it. A local write like any other, pushed
 * against the server's version this client knows now (none when the local
 * view already is that value); recorded in the conflict log.
 * FERRY_NOT_FOUND when no conflict is open on the document. */
FERRY_EXPORT ferry_result ferry_client_resolve_conflict(ferry_client* client,
                                                        ferry_slice collection, ferry_slice key,
                                                        ferry_slice value_json, ferry_error* error);
/* Evicts synced documents of `collection` from this store, never from the
 * server: the key_count `keys`, or, with whole_collection, every document
 * of the collection (keys ignored). Documents with pending writes stay.
 * *evicted (may be NULL) receives how many went; listeners hear a "change"
 * with "evicted": true for those that left the local view. */
FERRY_EXPORT ferry_result ferry_client_evict(ferry_client* client, ferry_slice collection,
                                             const ferry_slice* keys, size_t key_count,
                                             bool whole_collection, size_t* evicted,
                                             ferry_error* error);
/* ferry_client_status, ferry_client_statistics, ferry_client_history(limit)
 * and ferry_client_failed_mutations read at one moment, so they agree:
 * {"status": {...}, "statistics": {...}, "history": [...],
 *  "failedMutations": [...]} into *report (caller releases). */
FERRY_EXPORT ferry_result ferry_client_report(ferry_client* client, size_t history_limit,
                                              ferry_buffer* report, ferry_error* error);
/* Queues a dead letter again; *new_seq (may be NULL) receives its new seq.
 * FERRY_NOT_FOUND when `seq` is not a dead letter. */
FERRY_EXPORT ferry_result ferry_client_retry_failed_mutation(ferry_client* client, uint64_t seq,
                                                             uint64_t* new_seq, ferry_error* error);
/* Drops a dead letter for good. FERRY_NOT_FOUND when it is not one. */
FERRY_EXPORT ferry_result ferry_client_discard_failed_mutation(ferry_client* client, uint64_t seq,
                                                               ferry_error* error);

/* Returns once every event that the calls which returned before it caused
 * has been delivered to the listeners (the owner thread delivers events
 * shortly after the call that caused them returns). A host that hands
 * events and call results to another thread through one ordered queue (as
 * the JavaScript bindings do) calls it before queueing a result, so that a
 * result never overtakes the events of its call. Also from a
 * ferry_client_sync_now_async completion: there the run's own events
 * (sync.completed, status) are delivered first. FERRY_WRONG_THREAD on the
 * owner thread (from an event, log, token, resolver or transport callback):
 * it would wait for itself. */
FERRY_EXPORT ferry_result ferry_client_flush_events(ferry_client* client, ferry_error* error);

/* --- Host transport answers (any thread). --- */

/* The answer to request `request_id`: an HTTP status with its body (bytes),
 * the Retry-After header verbatim (empty if none), or status 0 with a
 * transport_error (UTF-8) when no HTTP answer came. FERRY_NOT_FOUND when the
 * request is not waiting for an answer (already answered, cancelled: a late
 * answer is harmless); FERRY_INVALID_ARGUMENT when the client does not use a
 * host transport. */
FERRY_EXPORT ferry_result ferry_client_complete_request(ferry_client* client, uint64_t request_id,
                                                        int status, const char* body,
                                                        size_t body_size, ferry_slice retry_after,
                                                        ferry_slice transport_error,
                                                        ferry_error* error);
/* A body chunk of a streaming request (ferry_http_request.stream), in order. */
FERRY_EXPORT ferry_result ferry_client_request_data(ferry_client* client, uint64_t request_id,
                                                    const char* data, size_t size,
                                                    ferry_error* error);

/* --------------------------------------------------------- local data */

/* Sign-out: deletes the store at `path` (its pending writes included). The
 * store must not be open. */
FERRY_EXPORT ferry_result ferry_delete_local_data(ferry_slice path, ferry_error* error);

/* ----------------------------------------------------------- endpoint */

/* The warning a client opened on `endpoint` logs once (FERRY_LOG_WARNING):
 * a plain http:// endpoint to a host that is not loopback sends tokens and
 * data unencrypted. For hosts that show it on their own, without a log
 * callback (the web package prints it when a client opens). *warning gets
 * the text, or {NULL, 0} when there is nothing to warn of; release it with
 * ferry_buffer_release. Any thread. */
FERRY_EXPORT ferry_result ferry_cleartext_endpoint_warning(ferry_slice endpoint,
                                                           ferry_buffer* warning,
                                                           ferry_error* error);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_FERRY_H */
