// The JSON forms of what a client reports (status, mutations, failed
// mutations, events), with camelCase keys: one definition shared by every
// binding (the web runtime's Embind surface and the C API), so every host sees
// the same shapes. Run records and statistics have theirs in engine.h
// (SyncRunToJson, SyncStatisticsToJson).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "ferry/conflict.h"
#include "ferry/engine.h"
#include "ferry/outbox.h"

namespace ferry {

// {"collection", "key"}
Json DocumentIdToJson(const DocumentId& id);
// {"state", "pending", "failed", "lastError", "lastSyncedAt", "nextRetryAt"}
Json SyncStatusToJson(const SyncStatus& status);
// {"seq", "op", "collection", "key", "baseVersion", "hlc", "value" (not for delete)}
Json MutationToJson(const Mutation& mutation);
// A dead letter: MutationToJson plus "error" and "attempts".
Json FailedMutationToJson(const OutboxEntry& entry);
// A pending write: {"seq", "op", "collection", "key", "attempts",
// "lastAttemptAt" (null before any), "lastError" (null when none)}.
Json PendingMutationToJson(const OutboxEntry& entry);
// {"type": "sync.started" | "sync.progress" | "sync.completed" | "sync.failed" |
//  "sync.conflict" | "mutation.rejected" | "status" | "change", ...};
// sync.started has {"runId", "reason", "direction": "both" | "push" | "pull"}.
Json EventToJson(const Event& event);

// The other direction: what a binding's caller passes as JSON.
// [{"op": "put" | "patch" | "delete", "collection", "key", "value"}]; an
// item without op, collection and key strings, or with an unknown op, is
// kInvalidArgument. Values are checked later, by the engine.
[[nodiscard]] Result<std::vector<LocalWrite>> LocalWritesFromJson(const Json& writes);
// The same from JSON text, as the C API and the web runtime receive it. A
// value nested deeper than kMaxValueDepth is kTooLarge "value nests deeper
// than 32 levels", refused before the parser recurses into it; text that is
// no JSON is kInvalidArgument.
[[nodiscard]] Result<std::vector<LocalWrite>> LocalWritesFromText(std::string_view writes_json);
// {"default": strategy, "collections": {name: strategy}} into `policy`, with
// strategy one of serverWins, clientWins, lastWriteWins, merge, custom, manual;
// anything else is kInvalidArgument. The custom resolver is the binding's.
[[nodiscard]] Status ConflictStrategiesFromJson(const Json& conflicts, ConflictPolicy& policy);

// A custom resolver's conflict as its host sees it: {"collection", "key",
// "base", "local", "remote", "localHlc", "remoteHlc"}, null for an absent
// document.
Json ConflictInputToJson(const ConflictInput& input);
// A custom resolver's answer, from JSON text: {"value": document} resolves to
// that document, {"deleted": true} deletes it, {"deferred": true} keeps the
// conflict open (DeferResolution), {"error": message} (or text that is none
// of these) is a kInvalidArgument failure, which keeps the server's document.
[[nodiscard]] Result<std::optional<Json>> ConflictAnswerFromText(std::string_view answer_json);

}  // namespace ferry
