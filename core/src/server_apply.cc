#include "ferry/server_apply.h"

#include <set>
#include <vector>

#include "keys.h"

namespace ferry {
namespace {

// Key layout, all under "u/<user>\0":
//   d/<collection>\0<key>  document record (JSON, see DocumentRecord)
//   c/<version:20>         change log: the document last changed at version
//   s/<clientId>           highest seq processed for that client
//   o/<clientId>/<seq:20>  "c" or "r <error>": a recent mutation not applied
//   m/head                 the user's latest version
//   m/horizon              tombstones at or below this were purged
std::string UserPrefix(std::string_view user) {
  std::string prefix = "u/";
  prefix += user;
  prefix += '\0';
  return prefix;
}

// A stored document: a one-line header, then the value as compact JSON.
//   "<version> <run_start> <exists:0|1> <writer> <hlc>\n<value>"
// (records written before the server kept the HLC end after <writer>).
// The value stays text: a put stores the pushed text, a pull sends it as it
// is, and only patches and conflicts parse it.
struct DocumentRecord {
  Version version = 0;
  bool exists = false;
  std::string value_json;  // compact JSON; empty when deleted
  std::string writer;      // client whose mutation produced this version
  std::string hlc;         // that mutation's HLC stamp (text form); may be empty
  // The version before `writer`'s current run of consecutive writes began: a
  // mutation by `writer` based on any version from here on saw no foreign write.
  Version run_start = 0;

  Result<DocumentState> State() const {
    if (!exists) return DocumentState{};
    auto value = ParseJson(value_json);
    if (!value.ok()) return Status(ErrorCode::kCorruption, "server document value does not decode");
    return DocumentState{true, std::move(*value)};
  }
};

std::string EncodeRecord(const DocumentRecord& record) {
  std::string bytes = std::to_string(record.version) + ' ' + std::to_string(record.run_start) +
                      (record.exists ? " 1 " : " 0 ") + record.writer + ' ' + record.hlc + '\n';
  bytes += record.value_json;
  return bytes;
}

Result<DocumentRecord> DecodeRecord(std::string_view bytes) {
  const auto corrupt = [] {
    return Status(ErrorCode::kCorruption, "server document record does not decode");
  };
  const std::size_t newline = bytes.find('\n');
  if (newline == std::string_view::npos) return corrupt();
  std::string_view header = bytes.substr(0, newline);
  const auto next_field = [&header]() {
    const std::size_t space = header.find(' ');
    std::string_view field = header.substr(0, space);
    header = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
    return field;
  };
  DocumentRecord record;
  auto version = keys::ParseDecimal(next_field());
  auto run_start = keys::ParseDecimal(next_field());
  std::string_view exists = next_field();
  record.writer = std::string(next_field());
  record.hlc = std::string(header);
  if (!version || !run_start || (exists != "0" && exists != "1") || record.writer.empty()) {
    return corrupt();
  }
  record.version = *version;
  record.run_start = *run_start;
  record.exists = exists == "1";
  record.value_json = std::string(bytes.substr(newline + 1));
  if (record.exists == record.value_json.empty()) return corrupt();
  return record;
}

Result<uint64_t> ReadNumber(Transaction& txn, const std::string& key) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(key));
  if (!stored) return uint64_t{0};
  auto number = keys::ParseDecimal(*stored);
  if (!number) return Status(ErrorCode::kCorruption, "server counter does not decode");
  return *number;
}

Result<uint64_t> ReadNumber(Store& store, const std::string& key) {
  Transaction txn(store);
  return ReadNumber(txn, key);
}

Result<std::optional<DocumentRecord>> ReadRecord(Transaction& txn, const std::string& key) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(key));
  if (!stored) return std::optional<DocumentRecord>();
  FERRY_ASSIGN_OR_RETURN(DocumentRecord record, DecodeRecord(*stored));
  return std::optional<DocumentRecord>(std::move(record));
}

Result<ServerDocument> ToServerDocument(const DocumentId& id,
                                        const std::optional<DocumentRecord>& record) {
  if (!record) return ServerDocument{id, 0, {}, {}};
  FERRY_ASSIGN_OR_RETURN(DocumentState state, record->State());
  return ServerDocument{id, record->version, std::move(state), record->hlc};
}

// Where a scan of the change log through `version` ends: before version + 1,
// or at the log's end for 2^64-1 (version + 1 would wrap to 0).
std::string LogScanEnd(const std::string& log_prefix, Version version) {
  if (version == UINT64_MAX) return PrefixEnd(log_prefix);
  return log_prefix + keys::OrderedNumber(version + 1);
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
// error is a store failure; the text, why the patch is rejected (empty: it
// fits).
Result<std::string> Patch(const std::optional<DocumentRecord>& record, const Json& patch,
                          DocumentRecord& updated) {
  DocumentState before;
  if (record) {
    FERRY_ASSIGN_OR_RETURN(before, record->State());
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

ServerState::ServerState(Store& store, std::string epoch, ProtocolLimits limits)
    : store_(store), epoch_(std::move(epoch)), limits_(limits) {}

Result<PushResponse> ServerState::ApplyPush(std::string_view user, const PushRequest& request,
                                            std::optional<int64_t> server_wall_ms) {
  const std::string prefix = UserPrefix(user);
  const std::string head_key = prefix + "m/head";
  const std::string seq_key = prefix + "s/" + request.client_id;
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(uint64_t head, ReadNumber(txn, head_key));
  FERRY_ASSIGN_OR_RETURN(uint64_t last_seq, ReadNumber(txn, seq_key));

  // Outcomes of mutations that were not applied (conflict, rejected), kept so
  // that a re-sent mutation whose answer was lost learns what happened to it
  // instead of a bare `duplicate` (a client would otherwise drop it unresolved
  // or without a dead letter). A client pushes its outbox in seq order, so
  // outcomes below this push's first seq are settled on its side: drop them.
  const std::string outcome_prefix = prefix + "o/" + request.client_id + "/";
  const auto outcome_key = [&outcome_prefix](uint64_t seq) {
    return outcome_prefix + keys::OrderedNumber(seq);
  };
  if (!request.mutations.empty()) {
    FERRY_RETURN_IF_ERROR(store_.Scan(outcome_prefix, outcome_key(request.mutations.front().seq),
                                      [&txn](std::string_view key, std::string_view) {
                                        txn.Delete(std::string(key));
                                        return true;
                                      }));
  }

  ServerStatistics counted;
  PushResponse response;
  response.results.reserve(request.mutations.size());
  // The document goes with a result once per document and within the
  // answer's byte budget (ProtocolLimits::max_push_current_bytes).
  std::set<DocumentId> given_current;
  std::size_t current_bytes = 0;
  const auto attach_current = [&](PushResult& result, const DocumentId& id,
                                  const std::optional<DocumentRecord>& record) -> Status {
    if (given_current.contains(id) || current_bytes >= limits_.max_push_current_bytes) {
      return Status::Ok();
    }
    FERRY_ASSIGN_OR_RETURN(result.current, ToServerDocument(id, record));
    result.has_current = true;
    given_current.insert(id);
    current_bytes += record ? record->value_json.size() : 0;
    return Status::Ok();
  };
  // Rule 4: not applied, now or ever; the outcome is kept for a repeat.
  const auto reject = [&](PushResult result, const std::string& error) {
    result.status = PushResultStatus::kRejected;
    result.error = error;
    ++counted.mutations_rejected;
    txn.Put(outcome_key(result.seq), "r " + result.error);
    response.results.push_back(std::move(result));
  };
  for (std::size_t index = 0; index < request.mutations.size(); ++index) {
    const Mutation& mutation = request.mutations[index];
    PushResult result;
    result.seq = mutation.seq;
    if (mutation.seq <= last_seq) {
      result.status = PushResultStatus::kDuplicate;
      ++counted.mutations_duplicate;
      FERRY_ASSIGN_OR_RETURN(auto outcome, txn.Get(outcome_key(mutation.seq)));
      if (!outcome || *outcome == "c") {
        // The document as it is now. A conflict resolves against it; for a
        // duplicate it replaces the client's copy of its write.
        if (outcome) result.status = PushResultStatus::kConflict;
        FERRY_ASSIGN_OR_RETURN(
            auto record, ReadRecord(txn, prefix + "d/" + keys::DocumentSuffix(mutation.document)));
        FERRY_RETURN_IF_ERROR(attach_current(result, mutation.document, record));
      } else if (outcome->starts_with("r ")) {
        result.status = PushResultStatus::kRejected;
        result.error = outcome->substr(2);
      }
      response.results.push_back(std::move(result));
      continue;
    }
    last_seq = mutation.seq;
    std::string value_json;
    Status valid = CheckStamp(request, index, server_wall_ms, limits_);
    if (valid.ok()) valid = ValidateMutationValue(mutation.op, mutation.value, &value_json);
    if (!valid.ok()) {
      reject(std::move(result), valid.message());
      continue;
    }
    const std::string document_key = prefix + "d/" + keys::DocumentSuffix(mutation.document);
    FERRY_ASSIGN_OR_RETURN(std::optional<DocumentRecord> record, ReadRecord(txn, document_key));
    const Version current_version = record ? record->version : 0;
    const bool own_run = record && record->writer == mutation.client_id &&
                         mutation.base_version >= record->run_start &&
                         mutation.base_version <= current_version;
    if (mutation.base_version != current_version && !own_run) {
      result.status = PushResultStatus::kConflict;
      FERRY_RETURN_IF_ERROR(attach_current(result, mutation.document, record));
      ++counted.mutations_conflict;
      txn.Put(outcome_key(mutation.seq), "c");
      response.results.push_back(std::move(result));
      continue;
    }
    DocumentRecord updated;
    if (mutation.op == MutationOp::kPatch) {
      FERRY_ASSIGN_OR_RETURN(const std::string rejection, Patch(record, mutation.value, updated));
      if (!rejection.empty()) {
        reject(std::move(result), rejection);
        continue;
      }
    } else if (mutation.op == MutationOp::kPut) {
      updated.exists = true;
      updated.value_json = std::move(value_json);
    }
    updated.version = ++head;
    updated.writer = mutation.client_id;
    updated.hlc = mutation.hlc.ToString();
    updated.run_start =
        record && record->writer == mutation.client_id ? record->run_start : current_version;
    if (record) txn.Delete(prefix + "c/" + keys::OrderedNumber(record->version));
    txn.Put(prefix + "c/" + keys::OrderedNumber(updated.version),
            keys::DocumentSuffix(mutation.document));
    txn.Put(document_key, EncodeRecord(updated));
    result.status = PushResultStatus::kApplied;
    result.version = updated.version;
    result.previous_version = current_version;
    ++counted.mutations_applied;
    response.results.push_back(std::move(result));
  }
  txn.Put(head_key, std::to_string(head));
  txn.Put(seq_key, std::to_string(last_seq));
  FERRY_RETURN_IF_ERROR(txn.Commit());
  AddStatistics(statistics_, counted);
  AddStatistics(user_statistics_[std::string(user)], counted);
  return response;
}

Result<std::string> ServerState::ServePullBody(std::string_view user, const PullRequest& request) {
  const std::string prefix = UserPrefix(user);
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
    FERRY_ASSIGN_OR_RETURN(const uint64_t horizon, ReadNumber(store_, prefix + "m/horizon"));
    if (from < horizon) {
      return Status(ErrorCode::kCursorExpired, "cursor is older than the tombstone horizon");
    }
    // Never issued for this log, and 2^64-1 would wrap the scan's start
    // (from + 1) to 0 and serve everything again.
    FERRY_ASSIGN_OR_RETURN(const uint64_t head, ReadNumber(store_, prefix + "m/head"));
    if (from > head) {
      return Status(ErrorCode::kCursorExpired, "cursor is ahead of the change log");
    }
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
  Status failure;
  const std::string log_prefix = prefix + "c/";
  Status scanned = store_.Scan(
      log_prefix + keys::OrderedNumber(from + 1), PrefixEnd(log_prefix),
      [&](std::string_view key, std::string_view suffix) {
        if (count >= limit || writer.size() >= byte_budget) {
          has_more = true;
          return false;
        }
        auto version = keys::ParseOrderedNumber(key.substr(log_prefix.size()));
        auto id = keys::ParseDocumentSuffix(suffix);
        if (!version || !id) {
          failure = Status(ErrorCode::kCorruption, "server change log entry does not decode");
          return false;
        }
        auto stored = store_.Get(prefix + "d/" + std::string(suffix));
        if (!stored.ok()) {
          failure = stored.status();
          return false;
        }
        if (!stored->has_value()) {
          failure = Status(ErrorCode::kCorruption, "change log names a missing document");
          return false;
        }
        auto record = DecodeRecord(**stored);
        if (!record.ok()) {
          failure = record.status();
          return false;
        }
        writer.AddChange(
            *id, record->version,
            record->exists ? std::optional<std::string_view>(record->value_json) : std::nullopt,
            record->hlc);
        ++count;
        last = *version;
        return true;
      });
  FERRY_RETURN_IF_ERROR(scanned);
  FERRY_RETURN_IF_ERROR(failure);
  return std::move(writer).Finish(epoch_ + "." + std::to_string(last), has_more);
}

Result<PullResponse> ServerState::ServePull(std::string_view user, const PullRequest& request) {
  FERRY_ASSIGN_OR_RETURN(std::string body, ServePullBody(user, request));
  ProtocolLimits unbounded = limits_;
  unbounded.max_changes_per_pull = std::max(unbounded.max_changes_per_pull, request.limit);
  return DecodePullResponse(body, unbounded);
}

Status ServerState::PurgeTombstones(std::string_view user, Version version) {
  const std::string prefix = UserPrefix(user);
  const std::string log_prefix = prefix + "c/";
  Transaction txn(store_);
  Status failure;
  FERRY_RETURN_IF_ERROR(store_.Scan(log_prefix, LogScanEnd(log_prefix, version),
                                    [&](std::string_view key, std::string_view suffix) {
                                      const std::string document_key =
                                          prefix + "d/" + std::string(suffix);
                                      auto record = ReadRecord(txn, document_key);
                                      if (!record.ok()) {
                                        failure = record.status();
                                        return false;
                                      }
                                      if (record->has_value() && !record->value().exists) {
                                        txn.Delete(document_key);
                                        txn.Delete(key);
                                      }
                                      return true;
                                    }));
  FERRY_RETURN_IF_ERROR(failure);
  FERRY_ASSIGN_OR_RETURN(const uint64_t horizon, ReadNumber(txn, prefix + "m/horizon"));
  txn.Put(prefix + "m/horizon", std::to_string(std::max(horizon, version)));
  return txn.Commit();
}

Result<ServerDocument> ServerState::GetDocument(std::string_view user, const DocumentId& id) {
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(auto record,
                         ReadRecord(txn, UserPrefix(user) + "d/" + keys::DocumentSuffix(id)));
  return ToServerDocument(id, record);
}

ServerStatistics ServerState::StatisticsOf(std::string_view user) const {
  auto found = user_statistics_.find(user);
  return found == user_statistics_.end() ? ServerStatistics{} : found->second;
}

Result<uint64_t> ServerState::LastSeq(std::string_view user, std::string_view client_id) {
  return ReadNumber(store_, UserPrefix(user) + "s/" + std::string(client_id));
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
    if (!response.ok()) return error(response.status());
    return {200, EncodePushResponse(*response)};
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
