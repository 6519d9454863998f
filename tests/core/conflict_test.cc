#include "ferry/conflict.h"

#include <random>

#include <gtest/gtest.h>

namespace ferry {
namespace {

const std::string kOlder = "0001700000000000-000000-aaaa";
const std::string kNewer = "0001700000000005-000000-bbbb";

ConflictInput Input(std::optional<Json> base, std::optional<Json> local, std::optional<Json> remote,
                    std::string local_hlc = kOlder, std::string remote_hlc = kNewer) {
  return {{"notes", "n1"},   std::move(base),      std::move(local),
          std::move(remote), std::move(local_hlc), std::move(remote_hlc)};
}

TEST(ConflictStrategy, NamesRoundTrip) {
  for (auto strategy :
       {ConflictStrategy::kServerWins, ConflictStrategy::kClientWins,
        ConflictStrategy::kLastWriteWins, ConflictStrategy::kMerge, ConflictStrategy::kCustom}) {
    EXPECT_EQ(ParseConflictStrategy(ConflictStrategyName(strategy)), strategy);
  }
  EXPECT_FALSE(ParseConflictStrategy("newestWins").has_value());
  ConflictPolicy policy;
  policy.default_strategy = ConflictStrategy::kMerge;
  policy.collections["todos"] = ConflictStrategy::kClientWins;
  EXPECT_EQ(policy.For("todos"), ConflictStrategy::kClientWins);
  EXPECT_EQ(policy.For("notes"), ConflictStrategy::kMerge);
}

TEST(ResolveConflict, ServerWinsAndClientWinsTakeOneSideWhole) {
  const auto input = Input(Json{{"a", 1}}, Json{{"a", 2}}, Json{{"a", 3}});
  EXPECT_EQ(ResolveConflict(ConflictStrategy::kServerWins, input, {}).value, (Json{{"a", 3}}));
  auto client = ResolveConflict(ConflictStrategy::kClientWins, input, {});
  EXPECT_EQ(client.value, (Json{{"a", 2}}));
  EXPECT_EQ(client.resolution, "client_wins");
  EXPECT_TRUE(client.local_edit_kept);  // re-pushed with the edit's own stamp
  EXPECT_FALSE(ResolveConflict(ConflictStrategy::kServerWins, input, {}).local_edit_kept);
  // A local delete against a remote edit, client wins: the document is deleted.
  EXPECT_FALSE(ResolveConflict(ConflictStrategy::kClientWins,
                               Input(Json{{"a", 1}}, std::nullopt, Json{{"a", 3}}), {})
                   .value.has_value());
}

TEST(ResolveConflict, LastWriteWinsComparesStampsAndTrustsTheServerWithoutOne) {
  const Json local{{"a", 2}}, remote{{"a", 3}};
  const auto local_newer = ResolveConflict(ConflictStrategy::kLastWriteWins,
                                           Input({}, local, remote, kNewer, kOlder), {});
  EXPECT_EQ(local_newer.value, local);
  EXPECT_TRUE(local_newer.local_edit_kept);
  EXPECT_EQ(ResolveConflict(ConflictStrategy::kLastWriteWins,
                            Input({}, local, remote, kOlder, kNewer), {})
                .value,
            remote);
  // Same millisecond and counter: the client id inside the stamp breaks the tie,
  // the same way on every replica.
  const std::string tie_a = "0001700000000000-000000-aaaa", tie_b = "0001700000000000-000000-bbbb";
  EXPECT_EQ(
      ResolveConflict(ConflictStrategy::kLastWriteWins, Input({}, local, remote, tie_b, tie_a), {})
          .resolution,
      "last_write_wins_local");
  EXPECT_EQ(
      ResolveConflict(ConflictStrategy::kLastWriteWins, Input({}, local, remote, tie_a, tie_b), {})
          .resolution,
      "last_write_wins_remote");
  EXPECT_EQ(
      ResolveConflict(ConflictStrategy::kLastWriteWins, Input({}, local, remote, kNewer, ""), {})
          .value,
      remote);
  // Delete against edit and edit against delete follow the stamps too.
  EXPECT_FALSE(ResolveConflict(ConflictStrategy::kLastWriteWins,
                               Input(local, std::nullopt, remote, kNewer, kOlder), {})
                   .value.has_value());
  EXPECT_EQ(ResolveConflict(ConflictStrategy::kLastWriteWins,
                            Input(local, local, std::nullopt, kNewer, kOlder), {})
                .value,
            local);
}

TEST(ResolveConflict, MergeKeepsOneSidedChangesAndSettlesBothSidedOnesByStamp) {
  const Json base{{"title", "Milk"}, {"done", false}, {"tags", {{"shop", true}}}, {"note", "x"}};
  Json local = base, remote = base;
  local["title"] = "Oat milk";     // local only
  remote["done"] = true;           // remote only
  local["tags"]["home"] = true;    // both change the nested object, different fields
  remote["tags"]["shop"] = false;  //
  local["note"] = "mine";          // both change the same field
  remote["note"] = "theirs";       //
  remote.erase("title");           // would conflict with the local edit of title
  local["added"] = 1;              // a new field on one side
  auto merged = ResolveConflict(ConflictStrategy::kMerge, Input(base, local, remote), {});
  EXPECT_EQ(merged.resolution, "merged");
  const Json expected{{"title", "Oat milk"},  // local edit vs remote removal: remote newer...
                      {"done", true},
                      {"tags", {{"shop", false}, {"home", true}}},
                      {"note", "theirs"},
                      {"added", 1}};
  // ...so the removal wins that field: both sides changed it, remote is newer.
  Json expected_with_removal = expected;
  expected_with_removal.erase("title");
  EXPECT_EQ(merged.value, expected_with_removal);
  // With the local side newer, the both-sided fields go the other way.
  auto local_newer =
      ResolveConflict(ConflictStrategy::kMerge, Input(base, local, remote, kNewer, kOlder), {});
  Json expected_local = expected;
  expected_local["note"] = "mine";
  EXPECT_EQ(local_newer.value, expected_local);
}

TEST(ResolveConflict, MergeOfNonObjectsOrDeletesFallsBackToLastWriteWins) {
  auto scalar = ResolveConflict(ConflictStrategy::kMerge, Input(1, 2, 3, kNewer, kOlder), {});
  EXPECT_EQ(scalar.value, Json(2));
  EXPECT_EQ(scalar.resolution, "last_write_wins_local");
  auto deleted = ResolveConflict(ConflictStrategy::kMerge,
                                 Input(Json{{"a", 1}}, Json{{"a", 2}}, std::nullopt), {});
  EXPECT_FALSE(deleted.value.has_value());  // remote delete is newer
  // Created on both sides (no base): fields from both are kept.
  auto created = ResolveConflict(ConflictStrategy::kMerge,
                                 Input(std::nullopt, Json{{"a", 1}}, Json{{"b", 2}}), {});
  EXPECT_EQ(created.value, (Json{{"a", 1}, {"b", 2}}));
}

TEST(ResolveConflict, CustomResolverDecidesAndItsFailureKeepsTheServerDocument) {
  const auto input = Input(Json{{"n", 1}}, Json{{"n", 3}}, Json{{"n", 5}});
  ConflictResolver sum = [](const ConflictInput& in) -> Result<std::optional<Json>> {
    return std::optional<Json>(
        Json{{"n", in.local->at("n").get<int>() + in.remote->at("n").get<int>() -
                       in.base->at("n").get<int>()}});
  };
  auto decided = ResolveConflict(ConflictStrategy::kCustom, input, sum);
  EXPECT_EQ(decided.value, (Json{{"n", 7}}));
  EXPECT_EQ(decided.resolution, "custom");
  ConflictResolver remove = [](const ConflictInput&) -> Result<std::optional<Json>> {
    return std::optional<Json>();
  };
  EXPECT_FALSE(ResolveConflict(ConflictStrategy::kCustom, input, remove).value.has_value());
  ConflictResolver throws = [](const ConflictInput&) -> Result<std::optional<Json>> {
    throw std::runtime_error("boom");
  };
  auto failed = ResolveConflict(ConflictStrategy::kCustom, input, throws);
  EXPECT_EQ(failed.value, input.remote);
  EXPECT_EQ(failed.resolution, "custom_failed: the resolver threw: boom");
  EXPECT_EQ(ResolveConflict(ConflictStrategy::kCustom, input, {}).value, input.remote);
}

// Property-based: random base objects, random edits on each side.
Json RandomValue(std::mt19937& random, int depth) {
  switch (random() % (depth > 0 ? 5 : 4)) {
    case 0:
      return static_cast<int>(random() % 4);
    case 1:
      return std::string(1, static_cast<char>('a' + random() % 3));
    case 2:
      return random() % 2 == 0;
    case 3:
      return nullptr;
    default: {
      Json object = Json::object();
      for (int i = static_cast<int>(random() % 4); i > 0; --i)
        object[std::string(1, static_cast<char>('p' + random() % 4))] =
            RandomValue(random, depth - 1);
      return object;
    }
  }
}

Json Edit(std::mt19937& random, Json object) {
  for (int edits = static_cast<int>(random() % 3); edits > 0; --edits) {
    const std::string key(1, static_cast<char>('p' + random() % 5));
    if (random() % 4 == 0) {
      object.erase(key);
    } else {
      object[key] = RandomValue(random, 1);
    }
  }
  return object;
}

TEST(MergeObjects, PropertiesHoldForRandomEdits) {
  std::mt19937 random(20261122);
  for (int round = 0; round < 5000; ++round) {
    Json base = RandomValue(random, 2);
    if (!base.is_object()) base = Json::object();
    const Json local = Edit(random, base), remote = Edit(random, base);
    const bool local_wins = random() % 2 == 0;
    const Json merged = MergeObjects(base, local, remote, local_wins);
    SCOPED_TRACE(base.dump() + " / " + local.dump() + " / " + remote.dump());
    // One side unchanged: the merge is the other side.
    EXPECT_EQ(MergeObjects(base, base, remote, local_wins), remote);
    EXPECT_EQ(MergeObjects(base, local, base, local_wins), local);
    // Both sides the same: that.
    EXPECT_EQ(MergeObjects(base, local, local, local_wins), local);
    // Swapping sides and the winner gives the same result: every replica,
    // whichever side it is on, computes the same document.
    EXPECT_EQ(MergeObjects(base, remote, local, !local_wins), merged);
    // A field changed on one side only keeps that change.
    for (const auto& [key, value] : local.items()) {
      const bool remote_unchanged = remote.contains(key) == base.contains(key) &&
                                    (!base.contains(key) || remote.at(key) == base.at(key));
      if (remote_unchanged) {
        EXPECT_EQ(merged.at(key), value) << key;
      }
    }
    for (const auto& [key, value] : base.items()) {
      if (!local.contains(key) && remote.contains(key) && remote.at(key) == value) {
        EXPECT_FALSE(merged.contains(key)) << key << " was removed locally only";
      }
    }
  }
}

}  // namespace
}  // namespace ferry
