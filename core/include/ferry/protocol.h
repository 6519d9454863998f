// The wire protocol v1 codec (docs/PROTOCOL.md): encoders for what we send and
// strict decoders for what we receive.
//
// Decoders treat their input as hostile: wrong types, missing fields, values
// out of range, oversized bodies and excessive nesting all become a Status
// naming the problem. Nothing here throws or aborts, and nothing here mutates
// state, so a rejected response loses nothing: the caller simply keeps its
// pending mutations. Unknown fields are ignored so servers can add fields
// without breaking older clients.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/model.h"
#include "ferry/status.h"

namespace ferry {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::string_view kPushPath = "/v1/push";
inline constexpr std::string_view kPullPath = "/v1/pull";
// Server-Sent Events: "hello" on connect, "poke" when the user's data changed.
inline constexpr std::string_view kLivePath = "/v1/live";
// Unauthenticated liveness check; the client probes it after network failures.
inline constexpr std::string_view kHealthPath = "/v1/health";

struct ProtocolLimits {
  std::size_t max_body_bytes = 32u << 20;
  std::size_t max_mutations_per_push = 1000;
  std::size_t max_changes_per_pull = 5000;
  std::size_t max_cursor_bytes = 256;
  int max_depth = kMaxValueDepth + 8;  // documents plus the envelope around them
  // A server rejects a mutation whose `hlc` is further ahead of its own wall
  // clock than this: a stamp from the far future would win every later
  // last-write-wins comparison until that time came. An hour leaves room for
  // a badly set device clock without letting one rule for long.
  int64_t max_hlc_ahead_ms = int64_t{60} * 60 * 1000;
  // A push answer carries the document (`current`) at most once per
  // document, and none once the documents it carries hold this many bytes:
  // 300 conflicting deletes of a 1 MB document made a 300 MB answer. A
  // result without it is settled by the client's next push or pull. The
  // first `current` of an answer is always sent, so every push progresses.
  std::size_t max_push_current_bytes = 8u << 20;
};

// Client ids: 1 to 64 characters of [A-Za-z0-9_-].
[[nodiscard]] Status ValidateClientId(std::string_view client_id);
// Cursors are opaque to clients but restricted to URL-safe characters
// [A-Za-z0-9._-] so they travel in a query string unescaped.
[[nodiscard]] Status ValidateCursor(std::string_view cursor, const ProtocolLimits& limits);

struct PushRequest {
  std::string client_id;
  std::vector<Mutation> mutations;  // ascending seq
  // Set by DecodePushRequest: per mutation (same index), why the server
  // rejects it although the push is well formed (docs/PROTOCOL.md, rule 4):
  // a collection or key outside the rules, an unknown op, an `hlc` string
  // that is not a stamp. Such a mutation's other fields are not to be used
  // (its document id may be invalid, its op and `hlc` are defaults). Empty
  // when no mutation is refused so. A stored malformed stamp would make
  // every later pull of the document malformed; refusing the whole push
  // (400) would only make the client bisect it down to this mutation.
  std::vector<std::string> refusals = {};
};

enum class PushResultStatus { kApplied, kDuplicate, kConflict, kRejected };
std::string_view PushResultStatusName(PushResultStatus status);

struct PushResult {
  uint64_t seq = 0;
  PushResultStatus status = PushResultStatus::kApplied;
  Version version = 0;  // kApplied: the document's new version
  // kApplied: the version the mutation was applied on. A client folds the
  // mutation into its copy only when its copy has exactly this version;
  // otherwise its copy is stale and the pull that follows brings the result.
  Version previous_version = 0;
  // kConflict and kDuplicate, when the server sends it: the server's document
  // as it stands. For a duplicate it replaces the write the client drops, so
  // the write stays visible locally before the next pull (an answer without
  // it leaves that to the pull). A conflict without it (the answer's budget
  // was spent) stays pending: the next push gets its outcome again, with it.
  ServerDocument current;
  bool has_current = false;
  std::string error;  // kRejected: why, for the app and the dead-letter list
};

struct PushResponse {
  std::vector<PushResult> results;  // one per sent mutation, in the same order
};

struct PullRequest {
  // A constructor, so callers that name no scope need not spell one out.
  PullRequest() = default;
  PullRequest(std::string cursor_in, std::size_t limit_in, CollectionScope scope_in = {})
      : cursor(std::move(cursor_in)), limit(limit_in), scope(std::move(scope_in)) {}

  std::string cursor;  // empty: from the beginning
  std::size_t limit = 1000;
  // Query parameters `collections` (include) and `exclude`: comma-separated,
  // each name percent-encoded (PROTOCOL.md, "Pull scope").
  CollectionScope scope;
};

struct PullResponse {
  std::vector<ServerDocument> changes;
  std::string cursor;  // where the next pull starts
  bool has_more = false;
  // With has_more: at most this many changes follow (PROTOCOL.md, "remaining");
  // nullopt when the server does not say.
  std::optional<uint64_t> remaining;
};

std::string EncodePushRequest(const PushRequest& request);

// Builds a push request body from values that are already serialized JSON
// (the outbox stores them so), without parsing and re-serializing each one.
class PushRequestWriter {
 public:
  explicit PushRequestWriter(std::string_view client_id);
  // `value_json`: the mutation's value as compact JSON; for a delete, sent
  // only when it is neither empty nor `null`.
  void AddMutation(const Mutation& mutation, std::string_view value_json);
  std::string Finish() &&;

 private:
  std::string body_;
  bool first_ = true;
};
[[nodiscard]] Result<PushRequest> DecodePushRequest(std::string_view body,
                                                    const ProtocolLimits& limits);

std::string EncodePushResponse(const PushResponse& response);
// Also checks the response answers exactly `sent`: one result per mutation,
// same seqs, same order. A response that does not is a protocol error.
[[nodiscard]] Result<PushResponse> DecodePushResponse(std::string_view body,
                                                      const PushRequest& sent,
                                                      const ProtocolLimits& limits);

// The pull request travels as a GET target: "/v1/pull?cursor=...&limit=...".
std::string EncodePullTarget(const PullRequest& request);
// Parses the query string (the part after '?', possibly empty).
[[nodiscard]] Result<PullRequest> DecodePullQuery(std::string_view query,
                                                  const ProtocolLimits& limits);

std::string EncodePullResponse(const PullResponse& response);

// Builds a pull response body from values that are already serialized JSON,
// so a server streaming stored documents need not parse and re-serialize
// each one. Call AddChange per document, then Finish.
class PullResponseWriter {
 public:
  PullResponseWriter() : body_("{\"changes\":[") {}
  // `value_json`: the document's value as compact JSON; nullopt for a tombstone.
  void AddChange(const DocumentId& document, Version version,
                 std::optional<std::string_view> value_json, std::string_view hlc = {});
  // `remaining` is written only with `has_more`.
  std::string Finish(std::string_view cursor, bool has_more,
                     std::optional<uint64_t> remaining = std::nullopt) &&;
  std::size_t size() const { return body_.size(); }

 private:
  std::string body_;
  bool first_ = true;
};
[[nodiscard]] Result<PullResponse> DecodePullResponse(std::string_view body,
                                                      const ProtocolLimits& limits);

// One change of a pull page as the client stores it: the value stays the
// JSON text it came as and is never built into a Json (a pull stores text,
// and building then re-serializing every value was most of its time).
struct PulledChange {
  DocumentId document;
  Version version = 0;
  bool exists = false;
  std::string value_json;  // the value as compact JSON; empty for a tombstone
  std::string hlc;         // as in ServerDocument
};
struct PullPage {
  std::vector<PulledChange> changes;
  std::string cursor;
  bool has_more = false;
  std::optional<uint64_t> remaining;  // as in PullResponse
};
// The client's decoder of a pull answer: what DecodePullResponse accepts,
// with its checks and its errors. The form PullResponseWriter writes is read
// by a JsonScanner; any other form, and every error, through
// DecodePullResponse.
[[nodiscard]] Result<PullPage> DecodePullPage(std::string_view body, const ProtocolLimits& limits);

// Error bodies: {"error":{"code":"...","message":"..."}}.
std::string EncodeErrorBody(ErrorCode code, std::string_view message);
// Best effort: the message of an error body, or a short excerpt of the body
// (never more than 200 bytes, so a huge HTML error page cannot flood logs).
std::string DescribeErrorBody(std::string_view body);

}  // namespace ferry
