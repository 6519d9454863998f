// ferry-server as a black box over HTTP: authentication, isolation between
// users, limits and malformed input, gzip bodies, live pokes.
#include <httplib.h>

#include <fstream>
#include <future>

#include <gtest/gtest.h>

#include "ferry/gzip_zlib.h"
#include "ferry/protocol.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

std::string PushBody(const std::string& client_id, uint64_t seq, const std::string& key, Json value,
                     Version base = 0) {
  Mutation m;
  m.client_id = client_id;
  m.seq = seq;
  m.op = MutationOp::kPut;
  m.document = {"docs", key};
  m.value = std::move(value);
  m.base_version = base;
  m.hlc = {1700000000000, 0, client_id};
  return EncodePushRequest({client_id, {m}});
}

httplib::Headers Auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

class ServerTest : public ::testing::Test {
 protected:
  httplib::Result Push(const std::string& token, const std::string& body) {
    return http_.Post("/v1/push", Auth(token), body, "application/json");
  }
  httplib::Result PushGzip(const std::string& token, const std::string& gzipped_body) {
    httplib::Headers headers = Auth(token);
    headers.emplace("Content-Encoding", "gzip");
    return http_.Post("/v1/push", headers, gzipped_body, "application/json");
  }
  httplib::Result Pull(const std::string& token, const std::string& query = "") {
    return http_.Get(("/v1/pull" + query).c_str(), Auth(token));
  }

  ServerProcess server_{"token-alice alice\ntoken-alice-2 alice\ntoken-bob bob\n",
                        {"--max-body-bytes", "65536", "--max-batch", "10"}};
  httplib::Client http_{"127.0.0.1", server_.port()};
};

TEST_F(ServerTest, HealthNeedsNoToken) {
  auto result = http_.Get("/v1/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST_F(ServerTest, RequestsWithoutOrWithAWrongTokenAreRefused) {
  auto none = http_.Get("/v1/pull");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  auto wrong = Pull("token-mallory");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto basic = http_.Get("/v1/pull", {{"Authorization", "Basic dG9rZW4tYWxpY2U6"}});
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
  auto push = http_.Post("/v1/push", PushBody("c1", 1, "k", 1), "application/json");
  ASSERT_TRUE(push);
  EXPECT_EQ(push->status, 401);
}

TEST_F(ServerTest, OneUserCanNeverReadOrChangeAnothersDocuments) {
  auto alice = Push("token-alice", PushBody("c1", 1, "secret", Json{{"owner", "alice"}}));
  ASSERT_TRUE(alice);
  ASSERT_EQ(alice->status, 200);
  auto bob_pull = Pull("token-bob");
  ASSERT_TRUE(bob_pull);
  auto bob_view = DecodePullResponse(bob_pull->body, {});
  ASSERT_TRUE(bob_view.ok());
  EXPECT_TRUE(bob_view->changes.empty());
  // Bob writes the same key with alice's client id and a guessed base
  // version: it lands in bob's own space and alice's document is untouched.
  auto bob_push = Push("token-bob", PushBody("c1", 2, "secret", Json{{"owner", "bob"}}, 1));
  ASSERT_TRUE(bob_push);
  EXPECT_EQ(bob_push->status, 200);
  auto alice_pull = Pull("token-alice-2");  // another token of the same user sees alice's data
  ASSERT_TRUE(alice_pull);
  auto alice_view = DecodePullResponse(alice_pull->body, {});
  ASSERT_TRUE(alice_view.ok());
  ASSERT_EQ(alice_view->changes.size(), 1u);
  EXPECT_EQ(alice_view->changes[0].state.value, (Json{{"owner", "alice"}}));
}

TEST_F(ServerTest, OversizedBodiesAndBatchesAreRefusedWith413) {
  auto big = Push("token-alice", PushBody("c1", 1, "k", std::string(100'000, 'x')));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  PushRequest batch{"c1", {}};
  for (uint64_t i = 1; i <= 11; ++i) {
    Mutation m;
    m.client_id = "c1";
    m.seq = i;
    m.op = MutationOp::kDelete;
    m.document = {"docs", "k" + std::to_string(i)};
    m.hlc = {1, 0, "c1"};
    batch.mutations.push_back(m);
  }
  auto many = Push("token-alice", EncodePushRequest(batch));
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status, 413);
  EXPECT_NE(many->body.find("too_large"), std::string::npos);
}

TEST_F(ServerTest, MalformedBodiesAreRefusedWith4xx) {
  const std::string bodies[] = {
      "",
      "{",
      "[]",
      "{\"protocol\":1}",
      std::string(5000, '[') + std::string(5000, ']'),
      "{\"protocol\":1,\"clientId\":\"c1\",\"mutations\":[{\"seq\":\"one\"}]}"};
  for (const std::string& body : bodies) {
    auto result = Push("token-alice", body);
    ASSERT_TRUE(result);
    EXPECT_GE(result->status, 400) << body.substr(0, 40);
    EXPECT_LT(result->status, 500) << body.substr(0, 40);
  }
  auto bad_cursor = Pull("token-alice", "?cursor=%3Cscript%3E");
  ASSERT_TRUE(bad_cursor);
  EXPECT_EQ(bad_cursor->status, 400);
  auto old_cursor = Pull("token-alice", "?cursor=other-epoch.5");
  ASSERT_TRUE(old_cursor);
  EXPECT_EQ(old_cursor->status, 410);
  // The server is still healthy afterwards.
  auto health = http_.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, AcceptsGzipRequestBodies) {
  const std::string body = PushBody("c1", 1, "zipped", Json{{"text", std::string(2000, 'z')}});
  const std::optional<std::string> compressed = GzipZlib(body);
  ASSERT_TRUE(compressed);
  auto result = PushGzip("token-alice", *compressed);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_NE(result->body.find("applied"), std::string::npos);
}

// The server's peak resident memory (VmHWM), in KiB.
long PeakMemoryKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A gzip bomb: 60 KB on the wire that inflate to 60 MB. httplib checks the
// body limit against the wire bytes only; before ferry-server counted the
// inflated bytes itself, this cost it the whole 60 MB before the refusal.
TEST_F(ServerTest, GzipBombIsRefusedBeforeItCostsMemory) {
  const std::optional<std::string> bomb = GzipZlib(std::string(60u << 20, ' '), 9);
  ASSERT_TRUE(bomb);
  ASSERT_LT(bomb->size(), 65536u);  // within --max-body-bytes as sent
  const long before = PeakMemoryKiB(server_.pid());
  ASSERT_GT(before, 0);
  auto result = PushGzip("token-alice", *bomb);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413) << result->body;
  EXPECT_NE(result->body.find("too_large"), std::string::npos);
  const long grown = PeakMemoryKiB(server_.pid()) - before;
  EXPECT_LT(grown, 32 * 1024) << "the server inflated the bomb: +" << grown << " KiB";
  auto health = http_.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, LiveStreamPokesListenersOfTheSameUserOnly) {
  std::promise<std::string> alice_saw, bob_saw;
  auto listen = [this](const std::string& token, std::promise<std::string>& saw) {
    return std::async(std::launch::async, [this, token, &saw] {
      httplib::Client client("127.0.0.1", server_.port());
      client.set_read_timeout(5, 0);
      std::string stream;
      bool reported = false;
      client.Get("/v1/live", Auth(token), [&](const char* data, size_t length) {
        stream.append(data, length);
        if (stream.find("event: poke") != std::string::npos) {
          saw.set_value(stream);
          reported = true;
          return false;
        }
        return true;
      });
      if (!reported) saw.set_value(stream);
    });
  };
  auto alice_listener = listen("token-alice", alice_saw);
  auto bob_listener = listen("token-bob", bob_saw);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both streams open
  auto push = Push("token-alice", PushBody("c9", 1, "k", 1));
  ASSERT_TRUE(push);
  ASSERT_EQ(push->status, 200);
  auto alice_future = alice_saw.get_future();
  ASSERT_EQ(alice_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_NE(alice_future.get().find("event: poke"), std::string::npos);
  auto bob_future = bob_saw.get_future();
  bob_future.wait();  // the read timeout ends bob's stream
  EXPECT_EQ(bob_future.get().find("event: poke"), std::string::npos);
}

TEST_F(ServerTest, KilledServerReopensItsStoreWithEveryAcknowledgedWrite) {
  for (uint64_t i = 1; i <= 20; ++i) {
    auto result =
        Push("token-alice", PushBody("c1", i, "k" + std::to_string(i), Json(static_cast<int>(i))));
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
  }
  server_.Kill();
  server_.Start();
  httplib::Client again("127.0.0.1", server_.port());
  auto pulled = again.Get("/v1/pull", Auth("token-alice"));
  ASSERT_TRUE(pulled);
  auto view = DecodePullResponse(pulled->body, {});
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->changes.size(), 20u);
  // The client's seq state survived too: a replay is a duplicate.
  auto replay = again.Post("/v1/push", Auth("token-alice"), PushBody("c1", 20, "k20", 20),
                           "application/json");
  ASSERT_TRUE(replay);
  EXPECT_NE(replay->body.find("duplicate"), std::string::npos);
}

TEST(ServerLog, NamesRequestsButNeverTokens) {
  TempDir dir;
  const std::string log_path = dir.File("server.log");
  {
    ServerProcess server("secret-token-987 alice\n", {}, log_path);
    httplib::Client http("127.0.0.1", server.port());
    ASSERT_TRUE(http.Get("/v1/pull", Auth("secret-token-987")));
    ASSERT_TRUE(http.Post("/v1/push", Auth("secret-token-987"), PushBody("c1", 1, "k", 1),
                          "application/json"));
    ASSERT_TRUE(http.Get("/v1/pull", Auth("wrong-token-654")));
  }
  std::ifstream file(log_path);
  const std::string log((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("POST /v1/push 200"), std::string::npos) << log;
  EXPECT_NE(log.find("GET /v1/pull 401"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-token-987"), std::string::npos);
  EXPECT_EQ(log.find("wrong-token-654"), std::string::npos);
}

}  // namespace
}  // namespace ferry::testing
