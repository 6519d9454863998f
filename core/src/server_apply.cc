#include "ferry/server_apply.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

#include "ferry/server_storage_kv.h"
#include "keys.h"

namespace ferry {
namespace {

Result<DocumentState> StateOf(const StoredDocument& record) {
  if (!record.exists) return DocumentState{};
  auto value = ParseJson(record.value_json);
  if (!value.ok()) return Status(ErrorCode::kCorruption, "server document value does not decode");
  return DocumentState{true, std::move(*value)};
}

Result<ServerDocument> ToServerDocument(const DocumentId& id,
                                        const std::optional<StoredDocument>& record) {
  if (!record) return ServerDocument{id, 0, {}, {}};
  FERRY_ASSIGN_OR_RETURN(DocumentState state, StateOf(*record));
  return ServerDocument{id, record->version, std::move(state), record->hlc};
}

// Rule 4's checks of a mutation's stamp: well formed (decoding kept why
// not) and not too far ahead of the server's clock, when it is known.
Status CheckStamp(const PushRequest& request, std::size_t index,
                  std::optional<int64_t> server_wall_ms, const ProtocolLimits& limits) {
  if (index < request.refusals.size() && !request.refusals[index].empty()) {
    return Status(ErrorCode::kInvalidArgument, request.refusals[index]);
  }
  if (server_wall_ms &&
      request.mutations[index].hlc.wall_ms - *server_wall_ms > limits.max_hlc_ahead_ms) {
    return Status(ErrorCode::kInvalidArgument,
                  "hlc is more than " + std::to_string(limits.max_hlc_ahead_ms) +
                      " ms ahead of the server's clock (is the device's clock set right?)");
  }
  return Status::Ok();
}

// A patch's result into `updated`: a value like any other, so rule 4's
// limits apply to it (small patches once grew a document to 40 MB). The
// error is a storage failure; the text, why the patch is rejected (empty: it
// fits).
Result<std::string> Patch(const std::optional<StoredDocument>& record, const Json& patch,
                          StoredDocument& updated) {
  DocumentState before;
  if (record) {
    FERRY_ASSIGN_OR_RETURN(before, StateOf(*record));
  }
  const Json merged = ApplyMutation(std::move(before), MutationOp::kPatch, patch).value;
  updated.exists = true;
  if (Status fits = ValidateMutationValue(MutationOp::kPut, merged, &updated.value_json);
      !fits.ok()) {
    return "the patched document: " + fits.message();
  }
  return std::string();
}

// The documents a push reads, each once: every mutation's with a valid id
// (rule 4 refuses the others before any read).
std::vector<DocumentId> DocumentsRead(const PushRequest& request) {
  std::set<DocumentId> seen;
  std::vector<DocumentId> ids;
  for (const Mutation& mutation : request.mutations) {
    if (ValidateDocumentId(mutation.document).ok() && seen.insert(mutation.document).second) {
      ids.push_back(mutation.document);
    }
  }
  return ids;
}

void AddStatistics(ServerStatistics& total, const ServerStatistics& counted) {
  total.mutations_applied += counted.mutations_applied;
  total.mutations_duplicate += counted.mutations_duplicate;
  total.mutations_conflict += counted.mutations_conflict;
  total.mutations_rejected += counted.mutations_rejected;
}

// A cursor (docs/SERVER.md, "Cursors"), opaque to clients:
//   <epoch>.<after>.<head>.<tag>.<horizon>
// `after`: the last version the holder has read; `head` and `tag`: the
// user's head when it was issued and the tag of the commit that produced it,
// so a pull proves the log it reads continues that one; `horizon`: the
// tombstone horizon then, so a resync paging below it may go on as long as
// no purge came since.
struct Cursor {
  Version after = 0;
  Version head = 0;
  std::string tag;
  Version horizon = 0;
};

std::string FormatCursor(std::string_view epoch, Version after, const LogMark& mark) {
  std::string cursor(epoch);
  for (const std::string& part : {std::to_string(after), std::to_string(mark.head), mark.head_tag,
                                  std::to_string(mark.horizon)}) {
    cursor += '.';
    cursor += part;
  }
  return cursor;
}

// Any cursor that is not one this server issued for its current epoch, the
// format before commit tags included, expires: the client then resyncs
// (a 400 would have it retry the same cursor forever).
Result<Cursor> ParseCursor(std::string_view text, std::string_view epoch) {
  const auto expired = [](const char* why) { return Status(ErrorCode::kCursorExpired, why); };
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts[0] != epoch) return expired("cursor is from an earlier server epoch");
  if (parts.size() != 5) return expired("not a cursor this server issues (resync)");
  Cursor cursor;
  auto after = keys::ParseDecimal(parts[1]);
  auto head = keys::ParseDecimal(parts[2]);
  auto horizon = keys::ParseDecimal(parts[4]);
  if (!after || !head || !horizon || parts[3].empty() || *after > *head) {
    return expired("not a cursor this server issues (resync)");
  }
  return Cursor{*after, *head, std::string(parts[3]), *horizon};
}

std::string Base36(uint64_t number) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string text;
  do {
    text.insert(text.begin(), kDigits[number % 36]);
    number /= 36;
  } while (number != 0);
  return text;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kCursorExpired:
      return 410;
    case ErrorCode::kIo:
    case ErrorCode::kCorruption:
    case ErrorCode::kInternal:
      return 500;
    default:
      return 400;
  }
}

}  // namespace

// One push as its mutations are answered: the request, the server's clock,
// and the answer's budget of documents (rule 7): each document goes with a
// result once per push, and none once the documents sent hold
// ProtocolLimits::max_push_current_bytes.
struct ServerState::PushContext {
  const PushRequest& request;
  std::optional<int64_t> server_wall_ms;
  const ProtocolLimits& limits;
  std::set<DocumentId> given_current;
  std::size_t current_bytes = 0;

  Status AttachCurrent(PushResult& result, const DocumentId& id,
                       const std::optional<StoredDocument>& record) {
    if (given_current.contains(id) || current_bytes >= limits.max_push_current_bytes) {
      return Status::Ok();
    }
    FERRY_ASSIGN_OR_RETURN(result.current, ToServerDocument(id, record));
    result.has_current = true;
    given_current.insert(id);
    current_bytes += record ? record->value_json.size() : 0;
    return Status::Ok();
  }
};

ServerState::ServerState(Store& store, std::string epoch, ProtocolLimits limits,
                         RandomSource random)
    : owned_storage_(std::make_unique<KvServerStorage>(store)),
      storage_(*owned_storage_),
      epoch_(std::move(epoch)),
      limits_(limits),
      random_(std::move(random)),
      fallback_random_(std::hash<std::string>()(epoch_)) {}

ServerState::ServerState(ServerStorage& storage, std::string epoch, ProtocolLimits limits,
                         RandomSource random)
    : storage_(storage),
      epoch_(std::move(epoch)),
      limits_(limits),
      random_(std::move(random)),
      fallback_random_(std::hash<std::string>()(epoch_)) {}

// Never "0", the tag of versions no commit record covers.
std::string ServerState::NewCommitTag() {
  uint64_t word = 0;
  if (random_) {
    word = random_();
  } else {
    std::lock_guard lock(tag_mutex_);
    // splitmix64: a fixed, well-mixed sequence.
    word = (fallback_random_ += 0x9e3779b97f4a7c15);
    word = (word ^ (word >> 30)) * 0xbf58476d1ce4e5b9;
    word = (word ^ (word >> 27)) * 0x94d049bb133111eb;
    word ^= word >> 31;
  }
  return Base36(word == 0 ? 1 : word);
}

ServerStatistics ServerState::statistics() const {
  std::lock_guard lock(statistics_mutex_);
  return statistics_;
}

ServerStatistics ServerState::StatisticsOf(std::string_view user) const {
  std::lock_guard lock(statistics_mutex_);
  auto found = user_statistics_.find(user);
  return found == user_statistics_.end() ? ServerStatistics{} : found->second;
}

Result<PushResponse> ServerState::ApplyPush(std::string_view user, const PushRequest& request,
                                            std::optional<int64_t> server_wall_ms) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<ServerTransaction> txn, storage_.Begin(user));
  FERRY_ASSIGN_OR_RETURN(Version head, txn->Head());
  const Version first_head = head;
  FERRY_ASSIGN_OR_RETURN(uint64_t last_seq, txn->LastSeq(request.client_id));

  // Outcomes of mutations that were not applied (conflict, rejected), kept so
  // that a re-sent mutation whose answer was lost learns what happened to it
  // instead of a bare `duplicate` (a client would otherwise drop it unresolved
  // or without a dead letter). A client pushes its outbox in seq order, so
  // outcomes below this push's first seq are settled on its side: drop them.
  if (!request.mutations.empty()) {
    FERRY_RETURN_IF_ERROR(
        txn->ForgetOutcomesBelow(request.client_id, request.mutations.front().seq));
    // One read for the push instead of one per mutation, where the backend
    // can (a database across the network).
    FERRY_RETURN_IF_ERROR(txn->PrefetchDocuments(DocumentsRead(request)));
  }

  ServerStatistics counted;
  PushResponse response;
  response.results.reserve(request.mutations.size());
  PushContext push{request, server_wall_ms, limits_, {}, 0};
  for (std::size_t index = 0; index < request.mutations.size(); ++index) {
    const Mutation& mutation = request.mutations[index];
    PushResult result;
    result.seq = mutation.seq;
    if (mutation.seq <= last_seq) {
      FERRY_RETURN_IF_ERROR(AnswerRepeat(*txn, push, mutation, result));
      ++counted.mutations_duplicate;
      response.results.push_back(std::move(result));
      continue;
    }
    last_seq = mutation.seq;
    FERRY_RETURN_IF_ERROR(ApplyMutation(*txn, push, index, head, result));
    switch (result.status) {
      case PushResultStatus::kApplied:
        ++counted.mutations_applied;
        break;
      case PushResultStatus::kConflict:
        ++counted.mutations_conflict;
        break;
      case PushResultStatus::kRejected:
        ++counted.mutations_rejected;
        break;
      case PushResultStatus::kDuplicate:
        break;
    }
    response.results.push_back(std::move(result));
  }
  if (head != first_head) {
    FERRY_RETURN_IF_ERROR(
        txn->RecordCommit(first_head, head, NewCommitTag(), server_wall_ms.value_or(0)));
  }
  FERRY_RETURN_IF_ERROR(txn->Commit(head, request.client_id, last_seq));
  std::lock_guard lock(statistics_mutex_);
  AddStatistics(statistics_, counted);
  AddStatistics(user_statistics_[std::string(user)], counted);
  return response;
}

// A mutation at or below the client's last seq: processed before. Its
// remembered outcome, if any, answers it again.
Status ServerState::AnswerRepeat(ServerTransaction& txn, PushContext& push,
                                 const Mutation& mutation, PushResult& result) {
  result.status = PushResultStatus::kDuplicate;
  FERRY_ASSIGN_OR_RETURN(auto outcome, txn.Outcome(push.request.client_id, mutation.seq));
  // Empty when none is remembered (the mutation was applied). Taken out of
  // the optional because GCC 12 at -O3 warns (falsely) that comparing the
  // optional's string may read it uninitialized.
  const std::string remembered = std::move(outcome).value_or(std::string());
  if (remembered.starts_with("r ")) {
    result.status = PushResultStatus::kRejected;
    result.error = remembered.substr(2);
    return Status::Ok();
  }
  if (!remembered.empty() && remembered != "c") return Status::Ok();
  // The document as it is now. A conflict resolves against it; for a
  // duplicate it replaces the client's copy of its write.
  if (remembered == "c") result.status = PushResultStatus::kConflict;
  // A bad collection or key (rule 4) names no document to send.
  if (!ValidateDocumentId(mutation.document).ok()) return Status::Ok();
  FERRY_ASSIGN_OR_RETURN(auto record, txn.ReadDocument(mutation.document));
  return push.AttachCurrent(result, mutation.document, record);
}

// A new mutation: rejected, a conflict, or applied at version ++head.
Status ServerState::ApplyMutation(ServerTransaction& txn, PushContext& push, std::size_t index,
                                  Version& head, PushResult& result) {
  const Mutation& mutation = push.request.mutations[index];
  const std::string_view client_id = push.request.client_id;
  // Rule 4: not applied, now or ever; the outcome is kept for a repeat.
  const auto reject = [&](const std::string& error) {
    result.status = PushResultStatus::kRejected;
    result.error = error;
    return txn.RememberOutcome(client_id, mutation.seq, "r " + result.error);
  };
  std::string value_json;
  Status valid = CheckStamp(push.request, index, push.server_wall_ms, limits_);
  if (valid.ok()) valid = ValidateMutationValue(mutation.op, mutation.value, &value_json);
  if (!valid.ok()) return reject(valid.message());
  FERRY_ASSIGN_OR_RETURN(std::optional<StoredDocument> record, txn.ReadDocument(mutation.document));
  const Version current_version = record ? record->version : 0;
  const bool own_run = record && record->writer == mutation.client_id &&
                       mutation.base_version >= record->run_start &&
                       mutation.base_version <= current_version;
  if (mutation.base_version != current_version && !own_run) {
    result.status = PushResultStatus::kConflict;
    FERRY_RETURN_IF_ERROR(push.AttachCurrent(result, mutation.document, record));
    return txn.RememberOutcome(client_id, mutation.seq, "c");
  }
  StoredDocument updated;
  if (mutation.op == MutationOp::kPatch) {
    // Decided before a version is taken: a rejected patch takes none.
    FERRY_ASSIGN_OR_RETURN(const std::string rejection, Patch(record, mutation.value, updated));
    if (!rejection.empty()) return reject(rejection);
  } else if (mutation.op == MutationOp::kPut) {
    updated.exists = true;
    updated.value_json = std::move(value_json);
  }
  updated.version = ++head;
  updated.writer = mutation.client_id;
  updated.hlc = mutation.hlc.ToString();
  updated.run_start =
      record && record->writer == mutation.client_id ? record->run_start : current_version;
  FERRY_RETURN_IF_ERROR(txn.WriteDocument(mutation.document, updated, current_version));
  result.status = PushResultStatus::kApplied;
  result.version = updated.version;
  result.previous_version = current_version;
  return Status::Ok();
}

Result<std::string> ServerState::ServePullBody(std::string_view user, const PullRequest& request) {
  PullPageQuery query;
  if (!request.cursor.empty()) {
    FERRY_ASSIGN_OR_RETURN(Cursor cursor, ParseCursor(request.cursor, epoch_));
    query.after = cursor.after;
    query.check_cursor = true;
    query.cursor_head = cursor.head;
    query.cursor_tag = std::move(cursor.tag);
    query.cursor_horizon = cursor.horizon;
  }
  query.scope = request.scope;
  const std::size_t limit =
      std::min(std::max<std::size_t>(request.limit, 1), limits_.max_changes_per_pull);
  // Pages are also bounded in bytes so a page of large documents still fits
  // comfortably within a client's response limit.
  const std::size_t byte_budget = limits_.max_body_bytes / 2;

  PullResponseWriter writer;
  std::size_t count = 0;
  bool has_more = false;
  Version last = query.after;
  // One change more than the page holds, to learn whether more follow.
  query.max_changes = limit + 1;
  FERRY_ASSIGN_OR_RETURN(
      const LogMark mark,
      storage_.ReadPullPage(user, query, [&](const DocumentId& id, const StoredDocument& record) {
        if (count >= limit || writer.size() >= byte_budget) {
          has_more = true;
          return false;
        }
        writer.AddChange(
            id, record.version,
            record.exists ? std::optional<std::string_view>(record.value_json) : std::nullopt,
            record.hlc);
        ++count;
        last = record.version;
        return true;
      }));
  // A scoped page that reaches the head has seen every change it admits up
  // to the head: the cursor moves there, so the next pull does not scan the
  // changes the scope leaves out again.
  if (!has_more && !query.scope.everything()) last = std::max(last, mark.head);
  // An upper bound for progress; a scoped pull would count what it leaves out.
  std::optional<uint64_t> remaining;
  if (query.scope.everything()) remaining = mark.head > last ? mark.head - last : 0;
  return std::move(writer).Finish(FormatCursor(epoch_, last, mark), has_more, remaining);
}

Result<PullResponse> ServerState::ServePull(std::string_view user, const PullRequest& request) {
  FERRY_ASSIGN_OR_RETURN(std::string body, ServePullBody(user, request));
  ProtocolLimits unbounded = limits_;
  unbounded.max_changes_per_pull = std::max(unbounded.max_changes_per_pull, request.limit);
  return DecodePullResponse(body, unbounded);
}

Status ServerState::PurgeTombstones(std::string_view user, Version version) {
  return storage_.PurgeTombstones(user, version);
}

Status ServerState::PurgeTombstonesCommittedBefore(int64_t wall_ms, const PurgeLimit& limit) {
  return storage_.PurgeTombstonesCommittedBefore(wall_ms, limit);
}

// Read through a transaction that is never committed: it changes nothing.
Result<ServerDocument> ServerState::GetDocument(std::string_view user, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<ServerTransaction> txn, storage_.Begin(user));
  FERRY_ASSIGN_OR_RETURN(auto record, txn->ReadDocument(id));
  return ToServerDocument(id, record);
}

Result<uint64_t> ServerState::LastSeq(std::string_view user, std::string_view client_id) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<ServerTransaction> txn, storage_.Begin(user));
  return txn->LastSeq(client_id);
}

ServerHttpResponse HandleServerRequest(ServerState& server, std::string_view user,
                                       std::string_view method, std::string_view target,
                                       std::string_view body,
                                       std::optional<int64_t> server_wall_ms) {
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  const auto error = [](const Status& status) {
    return ServerHttpResponse{HttpStatusFor(status),
                              EncodeErrorBody(status.code(), status.message())};
  };
  const ProtocolLimits& limits = server.limits();
  if (path == kPushPath) {
    if (method != "POST") return {405, EncodeErrorBody(ErrorCode::kInvalidArgument, "use POST")};
    auto request = DecodePushRequest(body, limits);
    if (!request.ok()) return error(request.status());
    auto response = server.ApplyPush(user, *request, server_wall_ms);
    // The push was well formed, so a failure now is the server's (its
    // storage's), whatever its code, and changed nothing (rule 2): a 5xx,
    // which clients retry. A 4xx would make them split the batch and
    // dead-letter a good write.
    if (!response.ok()) {
      return {500, EncodeErrorBody(response.status().code(), response.status().message())};
    }
    const bool changed =
        std::any_of(response->results.begin(), response->results.end(),
                    [](const PushResult& r) { return r.status == PushResultStatus::kApplied; });
    return {200, EncodePushResponse(*response), changed};
  }
  if (path == kPullPath) {
    if (method != "GET") return {405, EncodeErrorBody(ErrorCode::kInvalidArgument, "use GET")};
    auto request = DecodePullQuery(query, limits);
    if (!request.ok()) return error(request.status());
    auto response = server.ServePullBody(user, *request);
    if (!response.ok()) return error(response.status());
    return {200, std::move(*response)};
  }
  return {404, EncodeErrorBody(ErrorCode::kNotFound, "no such endpoint")};
}

}  // namespace ferry
