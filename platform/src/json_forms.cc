// JSON forms shared by the bindings; see json_forms.h.
#include "ferry/json_forms.h"

#include <type_traits>
#include <variant>

namespace ferry {

Json DocumentIdToJson(const DocumentId& id) {
  return {{"collection", id.collection}, {"key", id.key}};
}

Json SyncStatusToJson(const SyncStatus& status) {
  Json json = {{"state", SyncStateName(status.state)},
               {"pending", status.pending},
               {"failed", status.failed},
               {"lastError", status.last_error}};
  json["lastSyncedAt"] = status.last_synced_at ? Json(*status.last_synced_at) : Json();
  json["nextRetryAt"] = status.next_retry_at ? Json(*status.next_retry_at) : Json();
  return json;
}

Json MutationToJson(const Mutation& mutation) {
  Json json = {{"seq", mutation.seq},
               {"op", MutationOpName(mutation.op)},
               {"collection", mutation.document.collection},
               {"key", mutation.document.key},
               {"baseVersion", mutation.base_version},
               {"hlc", mutation.hlc.ToString()}};
  if (mutation.op != MutationOp::kDelete) json["value"] = mutation.value;
  return json;
}

Json FailedMutationToJson(const OutboxEntry& entry) {
  Json json = MutationToJson(entry.mutation);
  json["error"] = entry.error;
  json["attempts"] = entry.attempts;
  return json;
}

Json PendingMutationToJson(const OutboxEntry& entry) {
  const Mutation& m = entry.mutation;
  Json json = {
      {"seq", m.seq},          {"op", MutationOpName(m.op)}, {"collection", m.document.collection},
      {"key", m.document.key}, {"attempts", entry.attempts}, {"lastAttemptAt", nullptr},
      {"lastError", nullptr}};
  if (entry.last_attempt_at > 0) json["lastAttemptAt"] = entry.last_attempt_at;
  if (!entry.error.empty()) json["lastError"] = entry.error;
  return json;
}

Json EventToJson(const Event& event) {
  return std::visit(
      [](const auto& e) -> Json {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, SyncStartedEvent>) {
          return {{"type", "sync.started"},
                  {"runId", e.run_id},
                  {"reason", TriggerReasonName(e.reason)},
                  {"direction", SyncDirectionName(e.direction)}};
        } else if constexpr (std::is_same_v<E, SyncProgressEvent>) {
          return {{"type", "sync.progress"},
                  {"runId", e.run_id},
                  {"phase", e.phase == SyncPhase::kPush ? "push" : "pull"},
                  {"pushed", e.pushed},
                  {"pushDone", e.push_done},
                  {"pushTotal", e.push_total},
                  {"pulled", e.pulled},
                  {"pullTotal", e.pull_total}};
        } else if constexpr (std::is_same_v<E, SyncCompletedEvent>) {
          return {{"type", "sync.completed"}, {"run", SyncRunToJson(e.run)}};
        } else if constexpr (std::is_same_v<E, SyncFailedEvent>) {
          return {{"type", "sync.failed"}, {"run", SyncRunToJson(e.run)}};
        } else if constexpr (std::is_same_v<E, SyncConflictEvent>) {
          Json server = {{"version", e.server.version}, {"deleted", !e.server.state.exists}};
          if (e.server.state.exists) server["value"] = e.server.state.value;
          if (!e.server.hlc.empty()) server["hlc"] = e.server.hlc;
          Json resolved = {{"deleted", !e.resolved.exists}};
          if (e.resolved.exists) resolved["value"] = e.resolved.value;
          return {{"type", "sync.conflict"},          {"runId", e.run_id},
                  {"local", MutationToJson(e.local)}, {"server", server},
                  {"resolution", e.resolution},       {"resolved", resolved}};
        } else if constexpr (std::is_same_v<E, MutationRejectedEvent>) {
          return {{"type", "mutation.rejected"},
                  {"mutation", MutationToJson(e.mutation)},
                  {"error", e.error}};
        } else if constexpr (std::is_same_v<E, StatusChangedEvent>) {
          return {{"type", "status"}, {"status", SyncStatusToJson(e.status)}};
        } else if constexpr (std::is_same_v<E, QueryChangedEvent>) {
          Json json = QueryPageToJson(e.update->page);
          json["type"] = "query";
          json["query"] = e.query;
          json["added"] = e.update->diff.added;
          json["removed"] = e.update->diff.removed;
          json["changed"] = e.update->diff.changed;
          json["moved"] = e.update->diff.moved;
          return json;
        } else {
          Json documents = Json::array();
          for (const DocumentId& id : e.documents)
            documents.push_back(DocumentIdToJson(id));
          return {{"type", "change"},
                  {"documents", documents},
                  {"remote", e.remote},
                  {"evicted", e.evicted}};
        }
      },
      event);
}

Result<std::vector<LocalWrite>> LocalWritesFromText(std::string_view writes_json) {
  // Each value sits two levels inside the text, [{"value": ...}]: limiting
  // the parse to a value's deepest plus those two makes a refused depth
  // exactly a value nesting too deep, and says so as the engine does.
  constexpr JsonLimits kLimits{.max_bytes = 64u << 20, .max_depth = kMaxValueDepth + 2};
  auto parsed = ParseJson(writes_json, kLimits);
  if (parsed.ok()) return LocalWritesFromJson(*parsed);
  if (parsed.status().code() != ErrorCode::kTooLarge) {
    return Status(ErrorCode::kInvalidArgument,
                  "writes are not valid JSON: " + parsed.status().message());
  }
  if (writes_json.size() > kLimits.max_bytes) return parsed.status();
  return Status(ErrorCode::kTooLarge,
                "value nests deeper than " + std::to_string(kMaxValueDepth) + " levels");
}

Result<std::vector<LocalWrite>> LocalWritesFromJson(const Json& writes) {
  if (!writes.is_array()) return Status(ErrorCode::kInvalidArgument, "writes must be a JSON array");
  std::vector<LocalWrite> parsed;
  parsed.reserve(writes.size());
  for (const Json& item : writes) {
    if (!item.is_object() || !item.contains("op") || !item["op"].is_string() ||
        !item.contains("collection") || !item["collection"].is_string() || !item.contains("key") ||
        !item["key"].is_string()) {
      return Status(ErrorCode::kInvalidArgument, "each write needs op, collection and key strings");
    }
    auto op = ParseMutationOp(item["op"].get<std::string>());
    if (!op.ok()) return Status(ErrorCode::kInvalidArgument, op.status().message());
    parsed.push_back({*op,
                      {item["collection"].get<std::string>(), item["key"].get<std::string>()},
                      item.value("value", Json())});
  }
  return parsed;
}

Status ConflictStrategiesFromJson(const Json& conflicts, ConflictPolicy& policy) {
  if (!conflicts.is_object())
    return Status(ErrorCode::kInvalidArgument, "conflicts must be an object");
  const auto strategy = [](const Json& name) -> Result<ConflictStrategy> {
    auto parsed = name.is_string() ? ParseConflictStrategy(name.get<std::string>()) : std::nullopt;
    if (!parsed) {
      return Status(ErrorCode::kInvalidArgument,
                    "a conflict strategy is one of serverWins, clientWins, lastWriteWins, merge, "
                    "custom, manual; got " +
                        DumpJson(name));
    }
    return *parsed;
  };
  if (conflicts.contains("default")) {
    FERRY_ASSIGN_OR_RETURN(policy.default_strategy, strategy(conflicts["default"]));
  }
  if (conflicts.contains("collections")) {
    const Json& collections = conflicts["collections"];
    if (!collections.is_object())
      return Status(ErrorCode::kInvalidArgument, "conflicts.collections must be an object");
    for (auto it = collections.begin(); it != collections.end(); ++it) {
      FERRY_ASSIGN_OR_RETURN(policy.collections[it.key()], strategy(it.value()));
    }
  }
  return Status::Ok();
}

Json ConflictInputToJson(const ConflictInput& input) {
  const auto document = [](const std::optional<Json>& value) { return value ? *value : Json(); };
  return {{"collection", input.document.collection},
          {"key", input.document.key},
          {"base", document(input.base)},
          {"local", document(input.local)},
          {"remote", document(input.remote)},
          {"localHlc", input.local_hlc},
          {"remoteHlc", input.remote_hlc}};
}

Result<std::optional<Json>> ConflictAnswerFromText(std::string_view answer_json) {
  auto parsed = ParseJson(answer_json);
  if (!parsed.ok() || !parsed->is_object())
    return Status(ErrorCode::kInvalidArgument, "the resolver's answer does not decode");
  if (parsed->contains("error")) {
    const Json& error = (*parsed)["error"];
    return Status(ErrorCode::kInvalidArgument,
                  error.is_string() ? error.get<std::string>() : DumpJson(error));
  }
  const auto flag = [&](const char* name) {
    const auto found = parsed->find(name);
    return found != parsed->end() && found->is_boolean() && found->get<bool>();
  };
  if (flag("deleted")) return std::optional<Json>();
  if (flag("deferred")) return DeferResolution();
  if (!parsed->contains("value"))
    return Status(ErrorCode::kInvalidArgument, "the resolver's answer has no value");
  return std::optional<Json>((*parsed)["value"]);
}

}  // namespace ferry
