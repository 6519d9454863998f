// Shared behaviour vectors (tests/vectors/*.json). The same files run in the
// native build and in the wasm build under Node, so the two targets cannot
// drift apart on merge patch, clock or wire codec behaviour.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "ferry/hlc.h"
#include "ferry/json.h"
#include "ferry/protocol.h"

#ifndef FERRY_VECTORS_DIR
#error "FERRY_VECTORS_DIR must name tests/vectors"
#endif

namespace ferry {
namespace {

Json LoadVectors(const std::string& name) {
  std::ifstream file(std::string(FERRY_VECTORS_DIR) + "/" + name);
  EXPECT_TRUE(file.good()) << "cannot read vectors " << name;
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = ParseJson(text.str());
  EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : Json::object();
}

TEST(Vectors, MergePatchApply) {
  const Json vectors = LoadVectors("merge_patch.json");
  ASSERT_FALSE(vectors["apply"].empty());
  for (const Json& v : vectors["apply"]) {
    EXPECT_EQ(ApplyMergePatch(v["target"], v["patch"]), v["result"]) << v.dump();
  }
}

TEST(Vectors, MergePatchCompose) {
  const Json vectors = LoadVectors("merge_patch.json");
  ASSERT_FALSE(vectors["compose"].empty());
  for (const Json& v : vectors["compose"]) {
    auto composed = ComposeMergePatches(v["first"], v["second"]);
    ASSERT_EQ(composed.has_value(), v["composable"].get<bool>()) << v.dump();
    if (!composed) continue;
    for (const Json& target : vectors["targets"]) {
      EXPECT_EQ(ApplyMergePatch(target, *composed),
                ApplyMergePatch(ApplyMergePatch(target, v["first"]), v["second"]))
          << v.dump() << " on " << target.dump();
    }
  }
}

HlcStamp StampOf(const Json& v) {
  return {v["wall_ms"].get<int64_t>(), v["counter"].get<uint32_t>(), v["node"].get<std::string>()};
}

TEST(Vectors, HlcText) {
  const Json vectors = LoadVectors("hlc.json");
  for (const Json& v : vectors["text"]) {
    EXPECT_EQ(StampOf(v).ToString(), v["text"].get<std::string>());
    auto parsed = HlcStamp::Parse(v["text"].get<std::string>());
    ASSERT_TRUE(parsed.ok()) << v.dump();
    EXPECT_EQ(*parsed, StampOf(v));
  }
  for (const Json& text : vectors["malformed"]) {
    EXPECT_FALSE(HlcStamp::Parse(text.get<std::string>()).ok()) << text;
  }
  const Json& sorted = vectors["sorted"];
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(StampOf(sorted[i]), StampOf(sorted[i + 1]));
    EXPECT_LT(StampOf(sorted[i]).ToString(), StampOf(sorted[i + 1]).ToString());
  }
}

TEST(Vectors, HlcClock) {
  const Json vectors = LoadVectors("hlc.json");
  for (const Json& v : vectors["clock"]) {
    HybridLogicalClock clock("node");
    for (const Json& step : v["steps"]) {
      if (step[0] == "now") {
        ASSERT_TRUE(clock.Now(step[1].get<int64_t>()).ok());
      } else {
        ASSERT_TRUE(clock
                        .Observe({step[1].get<int64_t>(), step[2].get<uint32_t>(), "remote"},
                                 step[3].get<int64_t>())
                        .ok());
      }
    }
    EXPECT_EQ(clock.last().wall_ms, v["expect"]["wall_ms"].get<int64_t>()) << v["description"];
    EXPECT_EQ(clock.last().counter, v["expect"]["counter"].get<uint32_t>()) << v["description"];
  }
}

TEST(Vectors, PushResponses) {
  const Json vectors = LoadVectors("codec.json");
  PushRequest sent{"client", {}};
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    Mutation m;
    m.client_id = "client";
    m.seq = seq;
    m.op = MutationOp::kDelete;
    m.document = {"notes", "n" + std::to_string(seq)};
    sent.mutations.push_back(m);
  }
  for (const Json& v : vectors["push_responses"]) {
    auto decoded = DecodePushResponse(v["body"].get<std::string>(), sent, {});
    EXPECT_EQ(decoded.ok(), v["ok"].get<bool>())
        << v["body"] << " -> " << decoded.status().ToString();
    if (!decoded.ok() && v.contains("error")) {
      EXPECT_NE(decoded.status().message().find(v["error"].get<std::string>()), std::string::npos)
          << decoded.status().message();
    }
  }
}

TEST(Vectors, PullResponses) {
  const Json vectors = LoadVectors("codec.json");
  for (const Json& v : vectors["pull_responses"]) {
    auto decoded = DecodePullResponse(v["body"].get<std::string>(), {});
    EXPECT_EQ(decoded.ok(), v["ok"].get<bool>())
        << v["body"] << " -> " << decoded.status().ToString();
    if (decoded.ok() && v.contains("changes")) {
      EXPECT_EQ(decoded->changes.size(), v["changes"].get<std::size_t>());
    }
    if (!decoded.ok() && v.contains("error")) {
      EXPECT_NE(decoded.status().message().find(v["error"].get<std::string>()), std::string::npos)
          << decoded.status().message();
    }
  }
}

}  // namespace
}  // namespace ferry
