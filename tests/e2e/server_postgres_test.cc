// ferry-server on PostgreSQL as a black box: several instances on one
// database (a PostgreSQL the test starts), a poke crossing instances, and
// writes that outlive a SIGKILLed instance.
#include <chrono>
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/postgres_process.h"
#include "support/push_bodies.h"
#include "support/server_process.h"

namespace ferry::testing {
namespace {

constexpr const char* kTokens = "token-alice alice\ntoken-bob bob\n";

std::string PushBody(const std::string& client_id, uint64_t seq, const std::string& key) {
  return PutBody(client_id, seq, key, Json{{"n", seq}});
}

HttpHeaders Alice() {
  return {{"Authorization", "Bearer token-alice"}};
}

class PostgresServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!postgres_.unavailable().empty()) GTEST_SKIP() << postgres_.unavailable();
  }
  std::unique_ptr<ServerProcess> StartServer() {
    return std::make_unique<ServerProcess>(kTokens,
                                           std::vector<std::string>{"--postgres", postgres_.url()});
  }
  static std::string PullAll(int port) {
    HttpClient client("127.0.0.1", port);
    auto pulled = client.Get("/v1/pull?limit=1000", Alice());
    return pulled && pulled->status == 200 ? pulled->body : "";
  }

  PostgresProcess postgres_;
};

TEST_F(PostgresServersTest, APushOnOneInstancePokesLiveStreamsOnAnotherAndItsPullHasTheWrite) {
  auto a = StartServer();
  auto b = StartServer();
  std::promise<void> poked;
  auto listener = std::async(std::launch::async, [&] {
    HttpClient client("127.0.0.1", b->port());
    client.set_read_timeout(std::chrono::seconds(10));
    std::string stream;
    bool reported = false;
    client.GetStream("/v1/live", Alice(), [&](std::string_view data) {
      stream.append(data);
      if (stream.find("event: poke") == std::string::npos) return true;
      poked.set_value();
      reported = true;
      return false;
    });
    if (!reported) poked.set_value();
    return stream;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the stream is open on b
  HttpClient http("127.0.0.1", a->port());
  auto push = http.Post("/v1/push", Alice(), PushBody("c1", 1, "k"), "application/json");
  ASSERT_TRUE(push);
  ASSERT_EQ(push->status, 200) << push->body;
  ASSERT_EQ(poked.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(listener.get().find("event: poke"), std::string::npos)
      << "b's stream ended without a poke for a's push";
  EXPECT_NE(PullAll(b->port()).find("\"key\":\"k\""), std::string::npos);
  // One epoch for the database: a cursor from one instance works on the other.
  EXPECT_EQ(PullAll(a->port()), PullAll(b->port()));
}

TEST_F(PostgresServersTest, AKilledInstanceLosesNoAcknowledgedWriteAndAnotherServesThem) {
  auto a = StartServer();
  HttpClient http("127.0.0.1", a->port());
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    auto push = http.Post("/v1/push", Alice(), PushBody("c1", seq, "k" + std::to_string(seq)),
                          "application/json");
    ASSERT_TRUE(push);
    ASSERT_EQ(push->status, 200);
  }
  a->Kill();
  auto b = StartServer();
  const std::string pulled = PullAll(b->port());
  for (int i = 1; i <= 20; ++i)
    EXPECT_NE(pulled.find("\"key\":\"k" + std::to_string(i) + "\""), std::string::npos) << i;
  // A repeat of an acknowledged push through b is a duplicate, not a second write.
  HttpClient again("127.0.0.1", b->port());
  auto repeat = again.Post("/v1/push", Alice(), PushBody("c1", 20, "k20"), "application/json");
  ASSERT_TRUE(repeat);
  EXPECT_NE(repeat->body.find("\"duplicate\""), std::string::npos) << repeat->body;
}

}  // namespace
}  // namespace ferry::testing
