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

void AddStatistics(ServerStatistics& total, const ServerStatistics& counted) {
  total.mutations_applied += counted.mutations_applied;
  total.mutations_duplicate += counted.mutations_duplicate;
  total.mutations_conflict += counted.mutations_conflict;
  total.mutations_rejected += counted.mutations_rejected;
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

ServerState::ServerState(Store& store, std::string epoch, ProtocolLimits limits)
    : owned_storage_(std::make_unique<KvServerStorage>(store)),
      storage_(*owned_storage_),
      epoch_(std::move(epoch)),
      limits_(limits) {}

ServerState::ServerState(ServerStorage& storage, std::string epoch, ProtocolLimits limits)
    : storage_(storage), epoch_(std::move(epoch)), limits_(limits) {}

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
  FERRY_ASSIGN_OR_RETURN(uint64_t last_seq, txn->LastSeq(request.client_id));

  // Outcomes of mutations that were not applied (conflict, rejected), kept so
  // that a re-sent mutation whose answer was lost learns what happened to it
  // instead of a bare `duplicate` (a client would otherwise drop it unresolved
  // or without a dead letter). A client pushes its outbox in seq order, so
  // outcomes below this push's first seq are settled on its side: drop them.
  if (!request.mutations.empty()) {
    FERRY_RETURN_IF_ERROR(
        txn->ForgetOutcomesBelow(request.client_id, request.mutations.front().seq));
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
  if (!outcome || *outcome == "c") {
    // The document as it is now. A conflict resolves against it; for a
    // duplicate it replaces the client's copy of its write.
    if (outcome) result.status = PushResultStatus::kConflict;
    // A bad collection or key (rule 4) names no document to send.
    if (!ValidateDocumentId(mutation.document).ok()) return Status::Ok();
    FERRY_ASSIGN_OR_RETURN(auto record, txn.ReadDocument(mutation.document));
    FERRY_RETURN_IF_ERROR(push.AttachCurrent(result, mutation.document, record));
  } else if (outcome->starts_with("r ")) {
    result.status = PushResultStatus::kRejected;
    result.error = outcome->substr(2);
  }
  return Status::Ok();
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
  Version from = 0;
  if (!request.cursor.empty()) {
    const std::size_t dot = request.cursor.rfind('.');
    std::optional<uint64_t> parsed;
    if (dot != std::string::npos) {
      parsed = keys::ParseDecimal(std::string_view(request.cursor).substr(dot + 1));
    }
    if (!parsed) return Status(ErrorCode::kProtocol, "not a cursor this server issued");
    if (request.cursor.substr(0, dot) != epoch_) {
      return Status(ErrorCode::kCursorExpired, "cursor is from an earlier server epoch");
    }
    from = *parsed;
  }
  const std::size_t limit =
      std::min(std::max<std::size_t>(request.limit, 1), limits_.max_changes_per_pull);
  // Pages are also bounded in bytes so a page of large documents still fits
  // comfortably within a client's response limit.
  const std::size_t byte_budget = limits_.max_body_bytes / 2;

  PullResponseWriter writer;
  std::size_t count = 0;
  bool has_more = false;
  Version last = from;
  // One change more than the page holds, to learn whether more follow.
  // A cursor is checked against the horizon and the head in the read's snapshot.
  const ChangeQuery query{from, !request.cursor.empty(), limit + 1};
  FERRY_RETURN_IF_ERROR(
      storage_.ReadChanges(user, query, [&](const DocumentId& id, const StoredDocument& record) {
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
  return std::move(writer).Finish(epoch_ + "." + std::to_string(last), has_more);
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
