// Hooks of SyncEngine (issue 17; EngineOptions::before_push, after_pull,
// before_run): the app's code asked at three points of a sync. A hook's
// answer is staged into the commit of the step it belongs to (the push's
// record, the pulled page), so a crash never leaves half of it applied.
#include <exception>
#include <string>

#include "ferry/engine.h"

namespace ferry {
namespace {

// Runs a hook; an exception is a failure of the run, never of the process.
template <typename Call>
auto Guarded(const char* hook, Call&& call) -> Result<decltype(call())> {
  try {
    return call();
  } catch (const std::exception& error) {
    return Status(ErrorCode::kInternal, std::string(hook) + " threw: " + error.what());
  } catch (...) {
    return Status(ErrorCode::kInternal, std::string(hook) + " threw");
  }
}

}  // namespace

Status SyncEngine::AskBeforePush(Transaction& txn, std::vector<OutboxEntry>& batch,
                                 std::vector<Event>& events, Instant now) {
  std::vector<OutboxEntry> going;
  going.reserve(batch.size());
  std::vector<DocumentId> refused;
  for (OutboxEntry& entry : batch) {
    const Mutation mutation = entry.WithValue();
    FERRY_ASSIGN_OR_RETURN(HookDecision decision,
                           Guarded("before_push", [&] { return options_.before_push(mutation); }));
    if (decision.kind == HookDecision::Kind::kReplace) {
      std::string json;
      Status valid = mutation.op == MutationOp::kDelete
                         ? Status(ErrorCode::kInvalidArgument, "a delete has no value to replace")
                         : ValidateMutationValue(mutation.op, decision.value, &json);
      if (valid.ok()) {
        entry.mutation.value = Json();  // batches carry values as text only
        entry.value_json = std::move(json);
        FERRY_RETURN_IF_ERROR(outbox_.StagePut(txn, entry));
        going.push_back(std::move(entry));
        continue;
      }
      decision = {HookDecision::Kind::kRefuse, {}, "before_push replaced it: " + valid.message()};
    }
    if (decision.kind == HookDecision::Kind::kKeep) {
      going.push_back(std::move(entry));
      continue;
    }
    // Refused: a dead letter, as a write the server rejected.
    OutboxEntry counted = entry;
    counted.last_attempt_at = counted.dead_at = now.wall;
    FERRY_RETURN_IF_ERROR(replica_.StageDeadLetter(txn, counted, decision.reason));
    events.push_back(MutationRejectedEvent{mutation, std::move(decision.reason)});
    refused.push_back(mutation.document);
  }
  if (!refused.empty()) {
    run_->rejected += refused.size();
    statistics_.rejected += refused.size();
    events.push_back(DocumentsChangedEvent{std::move(refused), false});
  }
  batch = std::move(going);
  return Status::Ok();
}

Result<bool> SyncEngine::AskAfterPull(PulledChange& change) {
  if (!change.exists) return true;
  FERRY_ASSIGN_OR_RETURN(Json value, ParseJson(change.value_json));
  FERRY_ASSIGN_OR_RETURN(HookDecision decision, Guarded("after_pull", [&] {
                           return options_.after_pull(change.document, value);
                         }));
  switch (decision.kind) {
    case HookDecision::Kind::kKeep:
      return true;
    case HookDecision::Kind::kRefuse:
      return false;
    case HookDecision::Kind::kReplace:
      break;
  }
  // Stored as a document is: the same checks as a local write's.
  std::string json;
  Status valid = ValidateMutationValue(MutationOp::kPut, decision.value, &json);
  if (!valid.ok())
    return Status(valid.code(), "after_pull replaced a document: " + valid.message());
  change.value_json = std::move(json);
  return true;
}

Result<bool> SyncEngine::AskBeforeRun(TriggerReason reason, SyncDirection direction) {
  if (!options_.before_run) return true;
  return Guarded("before_run", [&] { return options_.before_run(reason, direction); });
}

}  // namespace ferry
