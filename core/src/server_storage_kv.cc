#include "ferry/server_storage_kv.h"

#include <algorithm>
#include <map>

#include "keys.h"

namespace ferry {
namespace {

// Key layout, all under "u/<user>\0":
//   d/<collection>\0<key>  document record (see EncodeRecord)
//   c/<version:20>         change log: the document last changed at version
//   s/<clientId>           highest seq processed for that client
//   o/<clientId>/<seq:20>  "c" or "r <error>": a recent mutation not applied
//   m/head                 the user's latest version
//   m/horizon              tombstones at or below this were purged
// and, apart so that the tombstone horizon's purge finds every user's recent
// commits without reading their documents:
//   t/<user>\0<last:20>    "<before> <wall_ms> <tag>": a commit produced the
//                          versions (before, last] (RecordCommit)
std::string UserPrefix(std::string_view user) {
  std::string prefix = "u/";
  prefix += user;
  prefix += '\0';
  return prefix;
}

constexpr std::string_view kCommitsPrefix = "t/";

std::string CommitPrefix(std::string_view user) {
  std::string prefix(kCommitsPrefix);
  prefix += user;
  prefix += '\0';
  return prefix;
}

// A commit record: "<before> <wall_ms> <tag>".
struct CommitRecord {
  Version before = 0;
  uint64_t wall_ms = 0;
  std::string_view tag;
};

std::optional<CommitRecord> DecodeCommit(std::string_view bytes) {
  const std::size_t first = bytes.find(' ');
  const std::size_t second = first == std::string_view::npos ? first : bytes.find(' ', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto before = keys::ParseDecimal(bytes.substr(0, first));
  auto wall_ms = keys::ParseDecimal(bytes.substr(first + 1, second - first - 1));
  if (!before || !wall_ms || second + 1 == bytes.size()) return std::nullopt;
  return CommitRecord{*before, *wall_ms, bytes.substr(second + 1)};
}

// The tag of the commit that produced `version`, "0" when none is recorded.
// Commits cover consecutive ranges, so it is the first record ending at or
// above `version`, if that one began below it.
Result<std::string> CommitTagOf(Store& store, std::string_view user, Version version) {
  if (version == 0) return std::string("0");
  const std::string prefix = CommitPrefix(user);
  std::string tag = "0";
  Status failure;
  FERRY_RETURN_IF_ERROR(store.Scan(prefix + keys::OrderedNumber(version), PrefixEnd(prefix),
                                   [&](std::string_view, std::string_view value) {
                                     auto record = DecodeCommit(value);
                                     if (!record) {
                                       failure = Status(ErrorCode::kCorruption,
                                                        "server commit record does not decode");
                                     } else if (record->before < version) {
                                       tag = std::string(record->tag);
                                     }
                                     return false;
                                   }));
  FERRY_RETURN_IF_ERROR(failure);
  return tag;
}

// A stored document: a one-line header, then the value as compact JSON.
//   "<version> <run_start> <exists:0|1> <writer> <hlc>\n<value>"
// (records written before the server kept the HLC end after <writer>).
// The value stays text: a put stores the pushed text, a pull sends it as it
// is, and only patches and conflicts parse it.
std::string EncodeRecord(const StoredDocument& record) {
  std::string bytes = std::to_string(record.version) + ' ' + std::to_string(record.run_start) +
                      (record.exists ? " 1 " : " 0 ") + record.writer + ' ' + record.hlc + '\n';
  bytes += record.value_json;
  return bytes;
}

Result<StoredDocument> DecodeRecord(std::string_view bytes) {
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
  StoredDocument record;
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

Result<std::optional<StoredDocument>> ReadRecord(Transaction& txn, const std::string& key) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(key));
  if (!stored) return std::optional<StoredDocument>();
  FERRY_ASSIGN_OR_RETURN(StoredDocument record, DecodeRecord(*stored));
  return std::optional<StoredDocument>(std::move(record));
}

// Where a scan of the change log through `version` ends: before version + 1,
// or at the log's end for 2^64-1 (version + 1 would wrap to 0).
std::string LogScanEnd(const std::string& log_prefix, Version version) {
  if (version == UINT64_MAX) return PrefixEnd(log_prefix);
  return log_prefix + keys::OrderedNumber(version + 1);
}

class KvServerTransaction final : public ServerTransaction {
 public:
  KvServerTransaction(Store& store, std::string_view user)
      : store_(store), txn_(store), user_(user), prefix_(UserPrefix(user)) {}

  Result<Version> Head() override { return ReadNumber(txn_, prefix_ + "m/head"); }
  Result<uint64_t> LastSeq(std::string_view client_id) override {
    return ReadNumber(txn_, SeqKey(client_id));
  }
  Result<std::optional<std::string>> Outcome(std::string_view client_id, uint64_t seq) override {
    return txn_.Get(OutcomeKey(client_id, seq));
  }
  Status RememberOutcome(std::string_view client_id, uint64_t seq,
                         std::string_view outcome) override {
    txn_.Put(OutcomeKey(client_id, seq), outcome);
    return Status::Ok();
  }
  Status ForgetOutcomesBelow(std::string_view client_id, uint64_t seq) override {
    return store_.Scan(OutcomePrefix(client_id), OutcomeKey(client_id, seq),
                       [this](std::string_view key, std::string_view) {
                         txn_.Delete(key);
                         return true;
                       });
  }
  Result<std::optional<StoredDocument>> ReadDocument(const DocumentId& id) override {
    return ReadRecord(txn_, prefix_ + "d/" + keys::DocumentSuffix(id));
  }
  Status WriteDocument(const DocumentId& id, const StoredDocument& document,
                       Version previous) override {
    const std::string suffix = keys::DocumentSuffix(id);
    if (previous != 0) txn_.Delete(prefix_ + "c/" + keys::OrderedNumber(previous));
    txn_.Put(prefix_ + "c/" + keys::OrderedNumber(document.version), suffix);
    txn_.Put(prefix_ + "d/" + suffix, EncodeRecord(document));
    return Status::Ok();
  }
  Status Commit(Version head, std::string_view client_id, uint64_t last_seq) override {
    txn_.Put(prefix_ + "m/head", std::to_string(head));
    txn_.Put(SeqKey(client_id), std::to_string(last_seq));
    return txn_.Commit();
  }
  Status RecordCommit(Version before, Version last, std::string_view tag,
                      int64_t wall_ms) override {
    txn_.Put(CommitPrefix(user_) + keys::OrderedNumber(last),
             std::to_string(before) + ' ' + std::to_string(std::max<int64_t>(wall_ms, 0)) + ' ' +
                 std::string(tag));
    return Status::Ok();
  }

 private:
  std::string SeqKey(std::string_view client_id) const {
    return prefix_ + "s/" + std::string(client_id);
  }
  std::string OutcomePrefix(std::string_view client_id) const {
    return prefix_ + "o/" + std::string(client_id) + "/";
  }
  std::string OutcomeKey(std::string_view client_id, uint64_t seq) const {
    return OutcomePrefix(client_id) + keys::OrderedNumber(seq);
  }

  Store& store_;
  Transaction txn_;
  std::string user_;
  std::string prefix_;
};

}  // namespace

Result<std::unique_ptr<ServerTransaction>> KvServerStorage::Begin(std::string_view user) {
  return std::unique_ptr<ServerTransaction>(std::make_unique<KvServerTransaction>(store_, user));
}

namespace {

// Visits the change log above `after`, at most `max_changes` entries.
Status VisitLog(Store& store, const std::string& prefix, Version after, std::size_t max_changes,
                const ChangeVisitor& visit, const CollectionScope& scope = {}) {
  if (after == UINT64_MAX) return Status::Ok();  // nothing above it
  std::size_t visited = 0;
  Status failure;
  const std::string log_prefix = prefix + "c/";
  const auto visit_entry = [&](std::string_view key, std::string_view suffix) -> Status {
    auto version = keys::ParseOrderedNumber(key.substr(log_prefix.size()));
    auto id = keys::ParseDocumentSuffix(suffix);
    if (!version || !id) {
      return Status(ErrorCode::kCorruption, "server change log entry does not decode");
    }
    // Out of scope: skipped on the log entry alone, the document unread.
    if (!scope.Admits(id->collection)) return Status::Ok();
    ++visited;
    FERRY_ASSIGN_OR_RETURN(auto stored, store.Get(prefix + "d/" + std::string(suffix)));
    if (!stored) return Status(ErrorCode::kCorruption, "change log names a missing document");
    FERRY_ASSIGN_OR_RETURN(StoredDocument record, DecodeRecord(*stored));
    if (!visit(*id, record)) return Status(ErrorCode::kCancelled, "");
    return Status::Ok();
  };
  FERRY_RETURN_IF_ERROR(store.Scan(log_prefix + keys::OrderedNumber(after + 1),
                                   PrefixEnd(log_prefix),
                                   [&](std::string_view key, std::string_view suffix) {
                                     if (visited >= max_changes) return false;
                                     failure = visit_entry(key, suffix);
                                     return failure.ok();
                                   }));
  if (failure.code() == ErrorCode::kCancelled) return Status::Ok();  // the visitor stopped
  return failure;
}

}  // namespace

Status KvServerStorage::ReadChanges(std::string_view user, const ChangeQuery& query,
                                    const ChangeVisitor& visit) {
  const std::string prefix = UserPrefix(user);
  if (query.check_cursor) {
    Transaction txn(store_);
    FERRY_ASSIGN_OR_RETURN(const uint64_t horizon, ReadNumber(txn, prefix + "m/horizon"));
    if (query.after < horizon) {
      return Status(ErrorCode::kCursorExpired, "cursor is older than the tombstone horizon");
    }
    // Never issued for this log, and 2^64-1 would wrap the scan's start
    // (after + 1) to 0 and serve everything again.
    FERRY_ASSIGN_OR_RETURN(const uint64_t head, ReadNumber(txn, prefix + "m/head"));
    if (query.after > head) {
      return Status(ErrorCode::kCursorExpired, "cursor is ahead of the change log");
    }
  }
  return VisitLog(store_, prefix, query.after, query.max_changes, visit);
}

// The host serialises every call, so the reads below see one state.
Result<LogMark> KvServerStorage::ReadPullPage(std::string_view user, const PullPageQuery& query,
                                              const ChangeVisitor& visit) {
  const std::string prefix = UserPrefix(user);
  Transaction txn(store_);
  LogMark mark;
  FERRY_ASSIGN_OR_RETURN(mark.horizon, ReadNumber(txn, prefix + "m/horizon"));
  FERRY_ASSIGN_OR_RETURN(mark.head, ReadNumber(txn, prefix + "m/head"));
  if (query.check_cursor) {
    FERRY_RETURN_IF_ERROR(CheckCursor(
        query, mark, [&](Version version) { return CommitTagOf(store_, user, version); }));
  }
  FERRY_RETURN_IF_ERROR(
      VisitLog(store_, prefix, query.after, query.max_changes, visit, query.scope));
  FERRY_ASSIGN_OR_RETURN(mark.head_tag, CommitTagOf(store_, user, mark.head));
  return mark;
}

Status KvServerStorage::PurgeTombstonesCommittedBefore(int64_t wall_ms, const PurgeLimit& limit) {
  // Each user's last version committed before `wall_ms`. A record's wall
  // clock may step back, so the highest such version, not the first.
  std::map<std::string, Version, std::less<>> horizons;
  Status failure;
  FERRY_RETURN_IF_ERROR(
      store_.ScanPrefix(kCommitsPrefix, [&](std::string_view key, std::string_view value) {
        const std::string_view rest = key.substr(kCommitsPrefix.size());
        const std::size_t nul = rest.rfind('\0');
        auto record = DecodeCommit(value);
        auto last = nul == std::string_view::npos ? std::nullopt
                                                  : keys::ParseOrderedNumber(rest.substr(nul + 1));
        if (!record || !last) {
          failure = Status(ErrorCode::kCorruption, "server commit record does not decode");
          return false;
        }
        if (wall_ms >= 0 && record->wall_ms < static_cast<uint64_t>(wall_ms)) {
          Version& horizon = horizons[std::string(rest.substr(0, nul))];
          horizon = std::max(horizon, *last);
        }
        return true;
      }));
  FERRY_RETURN_IF_ERROR(failure);
  for (auto [user, version] : horizons) {
    FERRY_ASSIGN_OR_RETURN(version, LimitPurge(limit, user, version));
    Transaction txn(store_);
    FERRY_ASSIGN_OR_RETURN(const uint64_t horizon, ReadNumber(txn, UserPrefix(user) + "m/horizon"));
    if (version > horizon) FERRY_RETURN_IF_ERROR(PurgeTombstones(user, version));
  }
  return Status::Ok();
}

Status KvServerStorage::PurgeTombstones(std::string_view user, Version version) {
  const std::string prefix = UserPrefix(user);
  const std::string log_prefix = prefix + "c/";
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(const uint64_t head, ReadNumber(txn, prefix + "m/head"));
  version = std::min(version, head);
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
  const Version raised = std::max(horizon, version);
  txn.Put(prefix + "m/horizon", std::to_string(raised));
  // Commits wholly below the horizon: a valid cursor names a head at or
  // above it, so none names them.
  const std::string commits = CommitPrefix(user);
  FERRY_RETURN_IF_ERROR(store_.Scan(commits, commits + keys::OrderedNumber(raised),
                                    [&](std::string_view key, std::string_view) {
                                      txn.Delete(key);
                                      return true;
                                    }));
  return txn.Commit();
}

}  // namespace ferry
