#include "ferry/server_apply.h"

#include <gtest/gtest.h>

#include "core/server_apply_contract.h"
#include "ferry/server_storage_kv.h"
#include "ferry/store_memory.h"

namespace ferry {
namespace {

using testing::ServerBackend;
using testing::ServerStateTest;
using testing::Write;

// The model server's storage: the key-value layout over MemoryStore.
struct MemoryServerStorage {
  MemoryStore store;
  KvServerStorage storage{store};
};

INSTANTIATE_TEST_SUITE_P(Memory, ServerStateTest,
                         ::testing::Values(ServerBackend{
                             "memory",
                             [] {
                               auto held = std::make_shared<MemoryServerStorage>();
                               return std::shared_ptr<ServerStorage>(held, &held->storage);
                             }}),
                         testing::PrintServerBackend);

TEST(HandleServerRequest, MapsProblemsToHttpStatuses) {
  MemoryStore store;
  ProtocolLimits limits;
  limits.max_body_bytes = 4096;
  ServerState server(store, "ep", limits);
  EXPECT_EQ(HandleServerRequest(server, "u", "POST", "/v1/push", "{").status, 400);
  EXPECT_EQ(HandleServerRequest(server, "u", "POST", "/v1/push", std::string(5000, ' ')).status,
            413);
  EXPECT_EQ(HandleServerRequest(server, "u", "GET", "/v1/push", "").status, 405);
  EXPECT_EQ(HandleServerRequest(server, "u", "GET", "/v1/nothing", "").status, 404);
  EXPECT_EQ(HandleServerRequest(server, "u", "GET", "/v1/pull?cursor=old.1", "").status, 410);
  auto ok = HandleServerRequest(server, "u", "GET", "/v1/pull?limit=5", "");
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(DecodePullResponse(ok.body, {}).ok());
}

// A push body of one put per stamp, seqs from 1, each to its own key.
std::string PushBody(const std::vector<std::string>& stamps) {
  std::string mutations;
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    if (i > 0) mutations += ',';
    mutations += R"({"seq":)" + std::to_string(i + 1) + R"(,"collection":"docs","key":"k)" +
                 std::to_string(i) + R"(","op":"put","value":1,"baseVersion":0,"hlc":")" +
                 stamps[i] + R"("})";
  }
  return R"({"protocol":1,"clientId":"a","mutations":[)" + mutations + "]}";
}

TEST(HandleServerRequest, AMalformedStampIsRejectedPerMutationAndNeverStored) {
  MemoryStore store;
  ServerState server(store, "ep");
  const std::string body =
      PushBody({"yesterday", "0000000000001000-000000-a", "0000000000001000-00000g-a"});
  for (int attempt = 0; attempt < 2; ++attempt) {  // a repeat gets the same answer
    auto answer = HandleServerRequest(server, "u", "POST", "/v1/push", body);
    ASSERT_EQ(answer.status, 200) << answer.body;
    PushRequest sent;
    for (uint64_t seq = 1; seq <= 3; ++seq)
      sent.mutations.push_back(Write("a", seq, MutationOp::kPut, 1, "k" + std::to_string(seq - 1)));
    auto results = DecodePushResponse(answer.body, sent, {});
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    EXPECT_EQ(results->results[0].status, PushResultStatus::kRejected);
    EXPECT_NE(results->results[0].error.find("malformed HLC stamp"), std::string::npos);
    EXPECT_EQ(results->results[1].status,
              attempt == 0 ? PushResultStatus::kApplied : PushResultStatus::kDuplicate);
    EXPECT_EQ(results->results[2].status, PushResultStatus::kRejected);
  }
  auto pulled = HandleServerRequest(server, "u", "GET", "/v1/pull", "");
  ASSERT_EQ(pulled.status, 200);
  auto page = DecodePullResponse(pulled.body, {});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->changes.size(), 1u);
  EXPECT_EQ(page->changes[0].document.key, "k1");
}

TEST(HandleServerRequest, ChecksStampsAgainstTheWallClockItIsGiven) {
  MemoryStore store;
  ServerState server(store, "ep");
  const std::string body = PushBody({"0001700003600001-000000-a"});
  auto answer =
      HandleServerRequest(server, "u", "POST", "/v1/push", body, int64_t{1'700'000'000'000});
  ASSERT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("\"rejected\""), std::string::npos) << answer.body;
}

}  // namespace
}  // namespace ferry
