// Hooks as a binding's host sees them (EngineOptions::before_push,
// after_pull, before_run): each asks the host with JSON text and reads its
// answer from JSON text, one definition for every binding (the C API and,
// through it, Node, React Native and Python; the web runtime's Embind
// surface), so every host sees the same shapes.
//
// Inputs: before_push, the write as MutationToJson gives it; after_pull,
// {"collection", "key", "value"}; before_run, {"reason", "direction"}.
// Answers: {"keep": true} (as an empty answer), {"value": v} (push or store
// v instead), {"refuse": reason} (before_push: a dead letter with that
// reason, a string; after_pull: not stored; before_run: postponed), or
// {"error": message}: the hook failed, and so does the run.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "ferry/engine.h"

namespace ferry {

enum class HookPoint { kBeforePush = 1, kAfterPull = 2, kBeforeRun = 4 };

// An answer as above; text that is none of them is kInvalidArgument, and
// {"error": ...} is kInternal with its message.
[[nodiscard]] Result<HookDecision> HookAnswerFromText(std::string_view answer_json);

// Asks the host at `point` with the input's JSON text; returns its answer.
using HookAsker = std::function<std::string(HookPoint point, const std::string& input_json)>;

// Sets the hooks of `options` that `points` names (bits of HookPoint) to ask
// `ask`. An answer that fails (an error, or text that is not an answer)
// throws, which fails the run (EngineOptions: a hook that throws).
void InstallHooks(EngineOptions& options, unsigned points, const HookAsker& ask);

}  // namespace ferry
