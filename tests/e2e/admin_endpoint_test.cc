// The app backend's door into ferry-server (--admin-token-file): a push for
// a user named in the path, with a credential of its own that no user token
// opens, reaching the user's devices like any other change.
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/e2e_helpers.h"
#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/push_bodies.h"
#include "support/server_backends.h"
#include "support/server_process.h"
#include "support/spawn.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

constexpr const char* kAdminSecret = "backend-secret-0123456789";

std::string AdminPushBody(uint64_t seq, const std::string& key, Json value) {
  // The backend's own client id: its seqs never clash with a device's.
  return PutBody("backend", seq, key, std::move(value));
}

// The status of a push answer's first result ("applied", "duplicate", ...).
std::string FirstResultStatus(const std::string& answer) {
  auto json = ParseJson(answer);
  if (!json.ok() || !json->contains("results") || json->at("results").empty()) return "";
  return json->at("results")[0].value("status", "");
}

HttpHeaders Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A server with the admin endpoint: the secret in a file of its own. On
// both backends: an admin push is stored, deduplicated and poked as a
// device's push is, by each backend's own code.
class AdminEndpointTest : public BackendTest {
 protected:
  static std::string SecretFile(const TempDir& directory) {
    std::ofstream(directory.File("admin.txt")) << kAdminSecret << "\n";
    return directory.File("admin.txt");
  }

  HttpResult AdminPush(const std::string& token, const std::string& user, const std::string& body) {
    return http_.Post("/v1/admin/users/" + user + "/push", Bearer(token), body, "application/json");
  }

  TempDir directory_;
  ServerProcess server_{"token-alice alice\ntoken-bob bob\n",
                        BackendFlags({"--admin-token-file", SecretFile(directory_)})};
  HttpClient http_{"127.0.0.1", server_.port()};
};

INSTANTIATE_TEST_SUITE_P(Backends, AdminEndpointTest, kBothBackends, BackendName);

TEST_P(AdminEndpointTest, OnlyTheAdminSecretOpensItAndItOpensNothingElse) {
  const std::string body = AdminPushBody(1, "k", 1);
  for (const std::string token :
       {"token-alice", "token-bob", "wrong", "backend-secret-012345678"}) {
    auto refused = AdminPush(token, "alice", body);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << token;
  }
  auto anonymous = http_.Post("/v1/admin/users/alice/push", body, "application/json");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  // The admin secret is not a user's token: it reads no user's data.
  auto pull = http_.Get("/v1/pull", Bearer(kAdminSecret));
  ASSERT_TRUE(pull);
  EXPECT_EQ(pull->status, 401);
  // Nothing was written by the refused pushes.
  EXPECT_TRUE(ReadServer(server_.port()).documents.empty());

  auto unknown =
      http_.Post("/v1/admin/users/alice/erase", Bearer(kAdminSecret), body, "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto get = http_.Get("/v1/admin/users/alice/push", Bearer(kAdminSecret));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

TEST_P(AdminEndpointTest, AdminPushesAreAppliedOnceForTheNamedUserOnly) {
  auto applied = AdminPush(kAdminSecret, "alice", AdminPushBody(1, "from-backend", Json{{"n", 1}}));
  ASSERT_TRUE(applied);
  ASSERT_EQ(applied->status, 200) << applied->body;
  EXPECT_EQ(FirstResultStatus(applied->body), "applied");

  // The same (clientId, seq) again, as a backend retrying after a lost answer.
  auto repeated =
      AdminPush(kAdminSecret, "alice", AdminPushBody(1, "from-backend", Json{{"n", 2}}));
  ASSERT_TRUE(repeated);
  EXPECT_EQ(FirstResultStatus(repeated->body), "duplicate");

  ServerView alice = ReadServer(server_.port(), "token-alice");
  ASSERT_EQ(alice.documents.size(), 1u);
  EXPECT_EQ(alice.documents.at({"docs", "from-backend"}).state.value, (Json{{"n", 1}}));
  EXPECT_TRUE(ReadServer(server_.port(), "token-bob").documents.empty());

  // A user name is percent-decoded; a path that names none is 404.
  auto encoded = AdminPush(kAdminSecret, "b%6Fb", AdminPushBody(2, "for-bob", 2));
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200);
  EXPECT_EQ(ReadServer(server_.port(), "token-bob").documents.size(), 1u);
  auto slash = AdminPush(kAdminSecret, "a%2Fb", AdminPushBody(3, "x", 3));
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->status, 404);
}

TEST_P(AdminEndpointTest, AnAdminWriteReachesALiveClientQuicklyAndItsPull) {
  ClientOptions listening = TestClientOptions(server_.endpoint(), directory_.File("device.db"));
  listening.engine.live_updates = true;  // only the stream's poke can make it pull
  listening.engine.live_retry_max_ms = 300;
  auto device = OpenClient(std::move(listening));
  ASSERT_NE(device, nullptr);
  ASSERT_TRUE(device->SyncNow().ok());

  std::promise<void> arrived;
  std::atomic<bool> seen{false};
  const auto id = device->AddEventListener([&](const Event& event) {
    auto* changed = std::get_if<DocumentsChangedEvent>(&event);
    if (!changed || !changed->remote) return;
    for (const DocumentId& document : changed->documents) {
      if (document.key == "reading" && !seen.exchange(true)) arrived.set_value();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the stream is open
  const auto start = std::chrono::steady_clock::now();
  auto pushed = AdminPush(kAdminSecret, "alice", AdminPushBody(1, "reading", Json{{"mmol", 5.4}}));
  ASSERT_TRUE(pushed);
  ASSERT_EQ(pushed->status, 200) << pushed->body;
  ASSERT_EQ(arrived.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the device's live stream brought no admin write";
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2));
  device->RemoveListener(id);
  EXPECT_EQ(*device->Get("docs", "reading"), std::optional<Json>(Json{{"mmol", 5.4}}));
  EXPECT_EQ(ReadServer(server_.port()).documents.at({"docs", "reading"}).state.value,
            (Json{{"mmol", 5.4}}));
}

// The request log names the admin route, the user and the status, never
// a credential: neither the admin secret nor a user's token refused there.
TEST(AdminEndpoint, NoTokenReachesTheLog) {
  TempDir directory;
  std::ofstream(directory.File("admin.txt")) << kAdminSecret << "\n";
  const std::string log = directory.File("server.log");
  {
    ServerProcess server("token-alice alice\n", {"--admin-token-file", directory.File("admin.txt")},
                         log);
    HttpClient http("127.0.0.1", server.port());
    for (const std::string token : {kAdminSecret, "token-alice"}) {
      auto answer = http.Post("/v1/admin/users/alice/push", Bearer(token), AdminPushBody(1, "k", 1),
                              "application/json");
      ASSERT_TRUE(answer);
    }
  }
  std::ifstream file(log);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("POST /v1/admin/users/alice/push 200"), std::string::npos) << text;
  EXPECT_NE(text.find("POST /v1/admin/users/alice/push 401"), std::string::npos) << text;
  EXPECT_EQ(text.find(kAdminSecret), std::string::npos) << text;
  EXPECT_EQ(text.find("token-alice"), std::string::npos) << text;
}

// ferry-server refuses to start, saying why and without quoting the
// secret, for an admin secret that is short or is also a user's token, and
// for a webhook URL that is not http or https.
TEST(AdminEndpoint, TheServerRefusesABadSecretOrWebhookUrlAtStart) {
  TempDir directory;
  std::ofstream(directory.File("tokens.txt")) << "token-alice-0123456789 alice\n";
  std::ofstream(directory.File("short.txt")) << "short\n";
  std::ofstream(directory.File("user.txt")) << "token-alice-0123456789\n";
  struct Refusal {
    std::vector<std::string> flags;
    std::string reason;
  };
  const Refusal refusals[] = {
      {{"--admin-token-file", directory.File("short.txt")}, "at least 16 characters"},
      {{"--admin-token-file", directory.File("user.txt")}, "also a user's token"},
      {{"--admin-token-file", directory.File("missing.txt")}, "cannot read"},
      {{"--webhook-url", "ftp://127.0.0.1/hook"}, "http:// or https://"},
      {{"--webhook-url", "http://127.0.0.1:9/hook", "--webhook-token-file",
        directory.File("short.txt")},
       "at least 16 characters"},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.reason);
    std::vector<std::string> arguments = {FERRY_SERVER_BINARY,
                                          "--tokens",
                                          directory.File("tokens.txt"),
                                          "--db",
                                          directory.File("server.db"),
                                          "--port",
                                          "0",
                                          "--quiet"};
    arguments.insert(arguments.end(), refusal.flags.begin(), refusal.flags.end());
    const Spawned server = Spawn(arguments, directory.File("stderr.log"));
    close(server.stdout_fd);
    int status = 0;
    waitpid(server.pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
    std::ifstream file(directory.File("stderr.log"));
    const std::string text((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(refusal.reason), std::string::npos) << text;
    EXPECT_EQ(text.find("token-alice-0123456789"), std::string::npos) << text;
  }
}

TEST(AdminEndpoint, WithoutTheFlagThereIsNoAdminDoor) {
  ServerProcess server;
  HttpClient http("127.0.0.1", server.port());
  auto refused = http.Post("/v1/admin/users/alice/push", Bearer(kAdminSecret),
                           AdminPushBody(1, "k", 1), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 404);
}

}  // namespace
}  // namespace ferry::testing
