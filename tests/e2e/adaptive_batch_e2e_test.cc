// Network-aware batching end to end: a real ferry-server behind a loopback
// proxy that delays each request by its size (a slow uplink), then stops
// delaying. The proxy sees every push, so the test counts what each carried.
#include <string>
#include <vector>

#include "e2e/e2e_helpers.h"
#include "ferry/push_sizer.h"
#include "support/server_process.h"
#include "support/tcp_fault_proxy.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

// The number of writes in each push the proxy passed on, in order.
std::vector<std::size_t> PushSizes(TcpFaultProxy& proxy) {
  std::vector<std::size_t> sizes;
  for (const std::string& request : proxy.requests()) {
    if (request.rfind("POST /v1/push", 0) != 0) continue;
    const std::size_t body = request.find("\r\n\r\n");
    auto push = DecodePushRequest(std::string_view(request).substr(body + 4), {});
    EXPECT_TRUE(push.ok()) << push.status().ToString();
    if (push.ok()) sizes.push_back(push->mutations.size());
  }
  return sizes;
}

void WriteNotes(Client& client, int from, int to) {
  const std::string filler(900, 'x');  // about 1 KiB a write
  for (int i = from; i < to; ++i)
    ASSERT_TRUE(
        client.Put("notes", "n" + std::to_string(i), Json{{"i", i}, {"text", filler}}).ok());
}

TEST(AdaptiveBatchEndToEnd, PushesShrinkOnASlowLinkAndGrowBackWhenItIsFast) {
  ServerProcess server;
  TcpFaultProxy::Options slow;
  slow.fault_rate = 0;
  slow.delay_per_kib_ms = 8;  // 500 writes of 1 KiB: about 4 s
  slow.record_requests = true;
  TcpFaultProxy proxy(server.port(), slow);
  TempDir dir;
  ClientOptions options = TestClientOptions(proxy.endpoint(), dir.File("a.db"));
  options.gzip_above_bytes = 0;  // the proxy reads the bodies
  options.engine.batch.max_count = 500;
  options.engine.batch.max_bytes = 1u << 20;
  options.engine.batch_target_ms = 2'000;
  options.engine.request_timeout_ms = 30'000;
  auto client = OpenClient(std::move(options));
  ASSERT_NE(client, nullptr);

  WriteNotes(*client, 0, 1000);
  SyncUntilComplete(*client, std::chrono::seconds(60));
  const std::vector<std::size_t> slow_pushes = PushSizes(proxy);
  ASSERT_GE(slow_pushes.size(), 3u);
  EXPECT_EQ(slow_pushes.front(), 500u) << "the first push is cut at the ceiling";
  for (std::size_t i = 1; i < slow_pushes.size(); ++i) {
    EXPECT_LE(slow_pushes[i], 250u) << "push " << i << " after a 4 s answer";
    EXPECT_GE(slow_pushes[i], std::min<std::size_t>(PushSizer::kFloorCount, 1000)) << i;
  }

  proxy.set_delay(0, 0);  // the link is fast again
  WriteNotes(*client, 1000, 3000);
  SyncUntilComplete(*client, std::chrono::seconds(60));
  const std::vector<std::size_t> all = PushSizes(proxy);
  std::size_t largest_fast = 0;
  for (std::size_t i = slow_pushes.size(); i < all.size(); ++i) {
    EXPECT_LE(all[i], 500u) << "never above the ceiling";
    largest_fast = std::max(largest_fast, all[i]);
  }
  EXPECT_EQ(largest_fast, 500u) << "fast answers grow the batch back to the ceiling";
  EXPECT_EQ(client->status().pending, 0u);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 3000u);
}

}  // namespace
}  // namespace ferry::testing
