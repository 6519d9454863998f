#include "ferry/server_apply.h"

#include <gtest/gtest.h>

#include "core/server_apply_contract.h"
#include "ferry/server_storage_kv.h"
#include "ferry/store_memory.h"

namespace ferry {
namespace {

using testing::ServerBackend;
using testing::ServerStateTest;

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

}  // namespace
}  // namespace ferry
