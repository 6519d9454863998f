#include "ferry/hook_forms.h"

#include <stdexcept>

#include "ferry/json_forms.h"

namespace ferry {
namespace {

// The engine's contract for a hook that failed: it throws.
HookDecision Decide(const std::string& answer_json) {
  auto decision = HookAnswerFromText(answer_json);
  if (!decision.ok()) throw std::runtime_error(decision.status().message());
  return std::move(*decision);
}

}  // namespace

Result<HookDecision> HookAnswerFromText(std::string_view answer_json) {
  if (answer_json.empty()) return HookDecision{};
  auto parsed = ParseJson(answer_json);
  if (!parsed.ok() || !parsed->is_object())
    return Status(ErrorCode::kInvalidArgument, "the hook's answer does not decode");
  const Json& answer = *parsed;
  if (auto error = answer.find("error"); error != answer.end()) {
    return Status(ErrorCode::kInternal,
                  error->is_string() ? error->get<std::string>() : DumpJson(*error));
  }
  if (auto value = answer.find("value"); value != answer.end())
    return HookDecision{HookDecision::Kind::kReplace, *value, ""};
  if (auto refuse = answer.find("refuse"); refuse != answer.end()) {
    return HookDecision{HookDecision::Kind::kRefuse,
                        {},
                        refuse->is_string() ? refuse->get<std::string>() : "refused by the hook"};
  }
  if (auto keep = answer.find("keep"); keep != answer.end() && keep->is_boolean())
    return HookDecision{};
  return Status(ErrorCode::kInvalidArgument,
                R"(a hook answers {"keep": true}, {"value": v}, {"refuse": reason} or )"
                R"({"error": message})");
}

void InstallHooks(EngineOptions& options, unsigned points, const HookAsker& ask) {
  const auto wanted = [points](HookPoint point) {
    return (points & static_cast<unsigned>(point)) != 0;
  };
  if (wanted(HookPoint::kBeforePush)) {
    options.before_push = [ask](const Mutation& mutation) {
      return Decide(ask(HookPoint::kBeforePush, DumpJson(MutationToJson(mutation))));
    };
  }
  if (wanted(HookPoint::kAfterPull)) {
    options.after_pull = [ask](const DocumentId& id, const Json& value) {
      Json input = DocumentIdToJson(id);
      input["value"] = value;
      return Decide(ask(HookPoint::kAfterPull, DumpJson(input)));
    };
  }
  if (wanted(HookPoint::kBeforeRun)) {
    options.before_run = [ask](TriggerReason reason, SyncDirection direction) {
      const Json input = {{"reason", TriggerReasonName(reason)},
                          {"direction", SyncDirectionName(direction)}};
      return Decide(ask(HookPoint::kBeforeRun, DumpJson(input))).kind !=
             HookDecision::Kind::kRefuse;
    };
  }
}

}  // namespace ferry
