// The conflict log of SyncEngine (issue 17): every conflict resolution is
// recorded in the commit that applies it, so the log never tells of a
// resolution the store does not hold, nor misses one it does. Bounded by
// EngineOptions::conflict_log_limit: ids are consecutive, so adding entry N
// drops entry N - limit.
#include <string>

#include "ferry/engine.h"
#include "keys.h"

namespace ferry {
namespace {

constexpr std::string_view kConflictLogPrefix = "cl/";
// The next id, in the same commit as the entry: ids stay unique after
// ClearConflictLog, so a reader paging by id never sees one twice.
constexpr std::string_view kNextConflictLogKey = "m/next_conflict_log";
constexpr std::size_t kDefaultPage = 100;

std::string EntryKey(uint64_t id) {
  return std::string(kConflictLogPrefix) + keys::OrderedNumber(id);
}

// Stored entries are informational: one that does not decode is skipped.
std::optional<ConflictLogEntry> EntryFromJson(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  const auto text = [&json](const char* name) -> const std::string* {
    auto found = json.find(name);
    return found != json.end() && found->is_string() ? found->get_ptr<const std::string*>()
                                                     : nullptr;
  };
  const auto number = [&json](const char* name) -> std::optional<uint64_t> {
    auto found = json.find(name);
    if (found == json.end() || !found->is_number_unsigned()) return std::nullopt;
    return found->get<uint64_t>();
  };
  const std::string* collection = text("collection");
  const std::string* key = text("key");
  const std::string* strategy_name = text("strategy");
  const std::string* winner = text("winner");
  const std::string* resolution = text("resolution");
  const auto id = number("id");
  const auto at = number("at");
  if (!collection || !key || !strategy_name || !winner || !resolution || !id || !at) {
    return std::nullopt;
  }
  const auto strategy = ParseConflictStrategy(*strategy_name);
  if (!strategy) return std::nullopt;
  ConflictLogEntry entry;
  entry.id = *id;
  entry.at = static_cast<TimeMs>(*at);
  entry.document = {*collection, *key};
  entry.strategy = *strategy;
  entry.winner = *winner;
  entry.resolution = *resolution;
  entry.run_id = number("runId").value_or(0);
  entry.server_version = number("serverVersion").value_or(0);
  return entry;
}

}  // namespace

std::string ConflictLogEntryJson(const ConflictLogEntry& entry) {
  // Collection and key are valid UTF-8 (ValidateDocumentId); a custom
  // resolver's error message in `resolution` may not be.
  const auto string = [](std::string& out, std::string_view text) {
    if (IsValidUtf8(text)) {
      AppendJsonString(out, text);
    } else {
      out += DumpJson(Json(text));
    }
  };
  std::string out = "{\"id\":" + std::to_string(entry.id) + ",\"at\":" + std::to_string(entry.at);
  out += ",\"collection\":";
  string(out, entry.document.collection);
  out += ",\"key\":";
  string(out, entry.document.key);
  out += ",\"strategy\":";
  string(out, ConflictStrategyName(entry.strategy));
  out += ",\"winner\":";
  string(out, entry.winner);
  out += ",\"resolution\":";
  string(out, entry.resolution);
  out += ",\"runId\":" + std::to_string(entry.run_id);
  out += ",\"serverVersion\":" + std::to_string(entry.server_version) + "}";
  return out;
}

std::string ConflictLogJson(const std::vector<ConflictLogEntry>& entries) {
  std::string out = "[";
  for (const ConflictLogEntry& entry : entries) {
    if (out.size() > 1) out += ',';
    out += ConflictLogEntryJson(entry);
  }
  return out + "]";
}

Status SyncEngine::LoadConflictLog() {
  FERRY_ASSIGN_OR_RETURN(auto next, store_.Get(kNextConflictLogKey));
  if (next) next_conflict_log_id_ = keys::ParseDecimal(*next).value_or(1);
  return Status::Ok();
}

void SyncEngine::StageConflictLogEntry(Transaction& txn, ConflictLogEntry entry) {
  const std::size_t limit = options_.conflict_log_limit;
  if (limit == 0) return;
  entry.id = next_conflict_log_id_++;
  txn.Put(EntryKey(entry.id), ConflictLogEntryJson(entry));
  txn.Put(kNextConflictLogKey, std::to_string(next_conflict_log_id_));
  if (entry.id > limit) txn.Delete(EntryKey(entry.id - limit));
}

Result<std::vector<ConflictLogEntry>> SyncEngine::ConflictLog(uint64_t after_id,
                                                              std::size_t limit) {
  if (limit == 0) limit = kDefaultPage;
  // A limit lowered since the entries were written leaves older ones behind
  // the window; they are not listed.
  const uint64_t window = options_.conflict_log_limit;
  const uint64_t oldest = next_conflict_log_id_ > window ? next_conflict_log_id_ - window : 1;
  std::vector<ConflictLogEntry> entries;
  const uint64_t first = after_id >= oldest ? after_id + 1 : oldest;
  FERRY_RETURN_IF_ERROR(store_.Scan(EntryKey(first), PrefixEnd(kConflictLogPrefix),
                                    [&](std::string_view, std::string_view value) {
                                      auto json = ParseJson(value);
                                      if (json.ok()) {
                                        if (auto entry = EntryFromJson(*json))
                                          entries.push_back(std::move(*entry));
                                      }
                                      return entries.size() < limit;
                                    }));
  return entries;
}

Status SyncEngine::ClearConflictLog() {
  return DeletePrefix(store_, kConflictLogPrefix, /*keep_last=*/0);
}

}  // namespace ferry
