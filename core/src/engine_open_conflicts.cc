// Open conflicts of SyncEngine (issue 17): a conflict in a collection whose
// strategy is manual, or one a custom resolver deferred, is kept for a
// person to resolve. StageConflict keeps it in the commit that takes the
// document's local writes out of the outbox, so base and local live on in
// the record ("oc/<collection>\0<key>") while the document shows the
// server's version; ResolveConflict turns the person's answer into a local
// write, in the commit that drops the record and logs the resolution.
#include <array>
#include <string>

#include "ferry/engine.h"
#include "keys.h"

namespace ferry {
namespace {

constexpr std::string_view kOpenConflictPrefix = "oc/";

// A record is its fields one per line: strategy, at, run id, server
// version, local stamp, remote stamp, then base, local and remote as
// compact JSON, which never holds a raw line break. Split rather than
// parsed: the documents stay text all the way to the bindings.
enum Field {
  kStrategy,
  kAt,
  kRunId,
  kServerVersion,
  kLocalHlc,
  kRemoteHlc,
  kBase,
  kLocal,
  kRemote
};
constexpr std::size_t kFields = kRemote + 1;

std::string RecordKey(const DocumentId& id) {
  return std::string(kOpenConflictPrefix) + keys::DocumentSuffix(id);
}

std::string DocumentJson(const std::optional<Json>& document) {
  return document ? DumpJson(*document) : "null";
}

Result<OpenConflict> DecodeRecord(const DocumentId& id, std::string_view stored) {
  std::array<std::string_view, kFields> fields;
  std::size_t count = 0;
  for (std::size_t start = 0; count < kFields; ++count) {
    const std::size_t end = stored.find('\n', start);
    fields[count] = stored.substr(start, end == std::string_view::npos ? end : end - start);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  const auto strategy = ParseConflictStrategy(fields[kStrategy]);
  const auto at = keys::ParseDecimal(fields[kAt]);
  const auto run_id = keys::ParseDecimal(fields[kRunId]);
  const auto version = keys::ParseDecimal(fields[kServerVersion]);
  if (count + 1 != kFields || !strategy || !at || !run_id || !version) {
    // It holds the local side of a conflict nothing else keeps: reported, not skipped.
    return Status(ErrorCode::kCorruption, "an open conflict's record does not decode");
  }
  return OpenConflict{id,
                      std::string(fields[kBase]),
                      std::string(fields[kLocal]),
                      std::string(fields[kRemote]),
                      std::string(fields[kLocalHlc]),
                      std::string(fields[kRemoteHlc]),
                      *strategy,
                      static_cast<TimeMs>(*at),
                      *run_id,
                      *version};
}

}  // namespace

std::string OpenConflictJson(const OpenConflict& conflict) {
  // Ids are valid UTF-8 (ValidateDocumentId); stamps are ASCII, or empty.
  std::string out = "{\"collection\":";
  AppendJsonString(out, conflict.document.collection);
  out += ",\"key\":";
  AppendJsonString(out, conflict.document.key);
  out += ",\"base\":" + conflict.base_json + ",\"local\":" + conflict.local_json +
         ",\"remote\":" + conflict.remote_json + ",\"localHlc\":";
  AppendJsonString(out, conflict.local_hlc);
  out += ",\"remoteHlc\":";
  AppendJsonString(out, conflict.remote_hlc);
  out += ",\"strategy\":";
  AppendJsonString(out, ConflictStrategyName(conflict.strategy));
  out += ",\"at\":" + std::to_string(conflict.at) +
         ",\"runId\":" + std::to_string(conflict.run_id) +
         ",\"serverVersion\":" + std::to_string(conflict.server_version) + "}";
  return out;
}

std::string OpenConflictsJson(const std::vector<OpenConflict>& conflicts) {
  std::string out = "[";
  for (const OpenConflict& conflict : conflicts) {
    if (out.size() > 1) out += ',';
    out += OpenConflictJson(conflict);
  }
  return out + "]";
}

Status SyncEngine::LoadOpenConflicts() {
  open_conflicts_.clear();
  return store_.ScanPrefix(kOpenConflictPrefix, [this](std::string_view key, std::string_view) {
    if (auto id = keys::ParseDocumentSuffix(key.substr(kOpenConflictPrefix.size())))
      open_conflicts_.insert(std::move(*id));
    return true;
  });
}

void SyncEngine::StageOpenConflict(Transaction& txn, const ConflictInput& input,
                                   ConflictStrategy strategy, Version server_version, TimeMs at) {
  std::string record(ConflictStrategyName(strategy));
  for (const std::string& field :
       {std::to_string(at), std::to_string(run_ ? run_->id : 0), std::to_string(server_version),
        input.local_hlc, input.remote_hlc, DocumentJson(input.base), DocumentJson(input.local),
        DocumentJson(input.remote)}) {
    record += '\n';
    record += field;
  }
  txn.Put(RecordKey(input.document), record);
  // Before the commit: a failed one reloads the set (ReloadAfterStorageFailure).
  open_conflicts_.insert(input.document);
}

Result<std::optional<OpenConflict>> SyncEngine::ReadOpenConflict(Transaction& txn,
                                                                 const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(RecordKey(id)));
  if (!stored) return std::optional<OpenConflict>();
  FERRY_ASSIGN_OR_RETURN(OpenConflict conflict, DecodeRecord(id, *stored));
  // The server's document may have moved since (a pull): the person decides
  // against what the server holds now, as far as this client knows.
  FERRY_ASSIGN_OR_RETURN(auto server, replica_.ReadServerCopyJson(txn, id));
  if (server.first > conflict.server_version) {
    conflict.server_version = server.first;
    conflict.remote_json = std::move(server.second);
  }
  return std::optional<OpenConflict>(std::move(conflict));
}

Result<std::vector<OpenConflict>> SyncEngine::Conflicts() {
  Transaction reading(store_);  // never committed: reads only
  std::vector<OpenConflict> conflicts;
  for (const DocumentId& id : open_conflicts_) {
    FERRY_ASSIGN_OR_RETURN(auto conflict, ReadOpenConflict(reading, id));
    if (conflict) conflicts.push_back(std::move(*conflict));
  }
  return conflicts;
}

Status SyncEngine::ResolveConflict(const DocumentId& id, const std::optional<Json>& value,
                                   Instant now, std::string_view write_id) {
  Observe(now);
  FERRY_RETURN_IF_ERROR(ValidateDocumentId(id));
  std::string value_json = "null";
  if (value) FERRY_RETURN_IF_ERROR(ValidateMutationValue(MutationOp::kPut, *value, &value_json));
  FERRY_ASSIGN_OR_RETURN(auto applied, FindWriteId(write_id));
  if (applied) return Status::Ok();
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(std::optional<OpenConflict> open, ReadOpenConflict(txn, id));
  if (!open) {
    return Status(ErrorCode::kNotFound, "no conflict is open on " + id.collection + "/" + id.key);
  }
  ConflictLogEntry logged{0,     now.wall, id,           open->strategy,
                          "new", "manual", open->run_id, open->server_version};
  // Compact JSON text of equal values is equal: both sides were dumped the same way.
  if (value_json == open->local_json) logged.winner = "local";
  if (value_json == open->remote_json) logged.winner = "server";
  FERRY_ASSIGN_OR_RETURN(DocumentState view, replica_.ReadView(txn, id));
  std::vector<uint64_t> seqs;
  if (view.exists != value.has_value() || (value && view.value != *value)) {
    Mutation mutation;
    mutation.client_id = client_id_;
    mutation.seq = outbox_.AllocateSeq();
    mutation.document = id;
    mutation.op = value ? MutationOp::kPut : MutationOp::kDelete;
    if (value) mutation.value = *value;
    FERRY_ASSIGN_OR_RETURN(mutation.hlc, clock_.Now(now.wall));
    auto staged = replica_.StageLocalWrite(txn, std::move(mutation),
                                           value ? std::move(value_json) : std::string(),
                                           /*allow_coalescing=*/true);
    if (!staged.ok()) {
      ReloadAfterStorageFailure();
      return staged.status();
    }
    seqs.push_back(staged->entry.mutation.seq);
  }
  txn.Delete(RecordKey(id));
  StageConflictLogEntry(txn, std::move(logged));
  Status committed = StageWriteId(txn, write_id, seqs);
  if (committed.ok()) committed = txn.Commit();
  if (!committed.ok()) {
    ReloadAfterStorageFailure();
    return committed;
  }
  open_conflicts_.erase(id);
  if (seqs.empty()) return Status::Ok();
  if (run_) ++run_->push_total;
  Emit(DocumentsChangedEvent{{id}, false});
  ScheduleLocalWriteSync(now);
  EmitStatusIfChanged();
  return Status::Ok();
}

}  // namespace ferry
