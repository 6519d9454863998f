#include "ferry/conflict.h"

#include <exception>
#include <set>

namespace ferry {

std::string_view ConflictStrategyName(ConflictStrategy strategy) {
  switch (strategy) {
    case ConflictStrategy::kServerWins:
      return "serverWins";
    case ConflictStrategy::kClientWins:
      return "clientWins";
    case ConflictStrategy::kLastWriteWins:
      return "lastWriteWins";
    case ConflictStrategy::kMerge:
      return "merge";
    case ConflictStrategy::kCustom:
      return "custom";
    case ConflictStrategy::kManual:
      return "manual";
  }
  return "serverWins";
}

std::optional<ConflictStrategy> ParseConflictStrategy(std::string_view name) {
  for (ConflictStrategy strategy : {ConflictStrategy::kServerWins, ConflictStrategy::kClientWins,
                                    ConflictStrategy::kLastWriteWins, ConflictStrategy::kMerge,
                                    ConflictStrategy::kCustom, ConflictStrategy::kManual}) {
    if (ConflictStrategyName(strategy) == name) return strategy;
  }
  return std::nullopt;
}

ConflictStrategy ConflictPolicy::For(std::string_view collection) const {
  auto found = collections.find(collection);
  return found == collections.end() ? default_strategy : found->second;
}

Status DeferResolution() {
  return Status(ErrorCode::kCancelled, "the resolution was deferred");
}

bool IsDeferredResolution(const Status& status) {
  return status.code() == ErrorCode::kCancelled && status.message() == DeferResolution().message();
}

bool LocalWriteIsNewer(const ConflictInput& input) {
  // HlcStamp text sorts as the stamps do (fixed-width fields, client id last).
  return !input.remote_hlc.empty() && input.local_hlc > input.remote_hlc;
}

namespace {

// A field's value, or nullopt when the object lacks it.
std::optional<Json> Field(const Json& object, const std::string& key) {
  if (!object.is_object()) return std::nullopt;
  auto found = object.find(key);
  if (found == object.end()) return std::nullopt;
  return *found;
}

ConflictDecision LastWriteWins(const ConflictInput& input) {
  if (LocalWriteIsNewer(input)) return {input.local, "last_write_wins_local", true};
  return {input.remote, "last_write_wins_remote"};
}

}  // namespace

Json MergeObjects(const Json& base, const Json& local, const Json& remote, bool local_wins) {
  std::set<std::string> keys;
  for (const Json* side : {&base, &local, &remote}) {
    if (!side->is_object()) continue;
    for (auto it = side->begin(); it != side->end(); ++it)
      keys.insert(it.key());
  }
  Json merged = Json::object();
  for (const std::string& key : keys) {
    const std::optional<Json> b = Field(base, key), l = Field(local, key), r = Field(remote, key);
    std::optional<Json> chosen;
    if (l == r || r == b) {
      chosen = l;  // the same on both sides, or changed locally only
    } else if (l == b) {
      chosen = r;  // changed remotely only
    } else if (l && r && l->is_object() && r->is_object()) {
      chosen = MergeObjects(b && b->is_object() ? *b : Json::object(), *l, *r, local_wins);
    } else {
      chosen = local_wins ? l : r;  // changed differently on both sides
    }
    if (chosen) merged[key] = std::move(*chosen);
  }
  return merged;
}

ConflictDecision ResolveConflict(ConflictStrategy strategy, const ConflictInput& input,
                                 const ConflictResolver& custom) {
  switch (strategy) {
    case ConflictStrategy::kServerWins:
      break;
    case ConflictStrategy::kClientWins:
      return {input.local, "client_wins", true};
    case ConflictStrategy::kLastWriteWins:
      return LastWriteWins(input);
    case ConflictStrategy::kMerge: {
      if (!input.local || !input.remote || !input.local->is_object() ||
          !input.remote->is_object()) {
        return LastWriteWins(input);
      }
      const Json base = input.base && input.base->is_object() ? *input.base : Json::object();
      return {MergeObjects(base, *input.local, *input.remote, LocalWriteIsNewer(input)), "merged"};
    }
    case ConflictStrategy::kCustom: {
      if (!custom) break;
      Result<std::optional<Json>> decided = Status(ErrorCode::kInternal, "no decision");
      try {
        decided = custom(input);
      } catch (const std::exception& error) {
        decided = Status(ErrorCode::kInternal, std::string("the resolver threw: ") + error.what());
      } catch (...) {
        decided = Status(ErrorCode::kInternal, "the resolver threw");
      }
      if (IsDeferredResolution(decided.status())) return {input.remote, "deferred", false, true};
      if (!decided.ok()) return {input.remote, "custom_failed: " + decided.status().message()};
      return {std::move(*decided), "custom"};
    }
    case ConflictStrategy::kManual:
      return {input.remote, "manual", false, true};
  }
  return {input.remote, "server_wins"};
}

}  // namespace ferry
