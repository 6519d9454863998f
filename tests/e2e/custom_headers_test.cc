// Custom request headers end to end: a native client over libcurl sends the
// app's headers with every request (push, pull and the live stream) to a
// recording stand-in for ferry-server, and refuses bad ones at open.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <unistd.h>

#include "e2e/e2e_helpers.h"
#include "ferry/protocol.h"
#include "support/http_test_server.h"

namespace ferry::testing {
namespace {

// Answers the protocol minimally (every mutation applied, empty pulls, a
// live stream that says hello and ends) and notes which paths arrived with
// the expected X-API-Key.
class RecordingServer {
 public:
  explicit RecordingServer(std::string expected_key)
      : expected_key_(std::move(expected_key)),
        server_([this](const HttpTestRequest& request) { return Answer(request); }) {}

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  // Paths ("/v1/push", ...) seen with the key, and without it.
  std::set<std::string> with_key() {
    std::lock_guard lock(mutex_);
    return with_key_;
  }
  std::set<std::string> without_key() {
    std::lock_guard lock(mutex_);
    return without_key_;
  }

 private:
  HttpTestReply Answer(const HttpTestRequest& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    {
      std::lock_guard lock(mutex_);
      (request.header("X-API-Key") == expected_key_ ? with_key_ : without_key_).insert(path);
    }
    if (path == "/v1/live")
      return {200, {{"Content-Type", "text/event-stream"}}, "event: hello\ndata: {}\n\n"};
    if (path == "/v1/push") return Reply(200, Applied(request.body));
    return Reply(200, EncodePullResponse({{}, "c1", false, std::nullopt}));
  }

  static std::string Applied(const std::string& body) {
    auto push = DecodePushRequest(body, ProtocolLimits{});
    PushResponse response;
    if (!push.ok()) return "{}";
    Version version = 0;
    for (const Mutation& mutation : push->mutations) {
      PushResult applied;
      applied.seq = mutation.seq;
      applied.version = ++version;
      response.results.push_back(std::move(applied));
    }
    return EncodePushResponse(response);
  }

  static HttpTestReply Reply(int status, std::string body) {
    return {status, {{"Content-Type", "application/json"}}, std::move(body)};
  }

  std::string expected_key_;
  std::mutex mutex_;
  std::set<std::string> with_key_;
  std::set<std::string> without_key_;
  HttpTestServer server_;  // last: stops before the members it records into
};

std::string TempStore(const std::string& name) {
  const auto path =
      std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  return path.string();
}

TEST(CustomHeaders, GoWithPushPullAndTheLiveStream) {
  RecordingServer server("key-123");
  ClientOptions options = TestClientOptions(server.endpoint(), TempStore("headers"));
  options.headers = {{"X-API-Key", "key-123"}};
  options.engine.live_updates = true;
  std::vector<std::string> log;
  std::mutex log_mutex;
  options.log = [&](LogLevel, const std::string& line) {
    std::lock_guard lock(log_mutex);
    log.push_back(line);
  };
  auto client = OpenClient(options);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Put("notes", "a", Json{{"text", "hi"}}).ok());
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->outcome, RunOutcome::kCompleted) << run->error;
  // The live stream's greeting may start a run that pushes the write before
  // this one does: either way it went up (and with the key, checked below).
  EXPECT_EQ(client->status().pending, 0u);
  for (int waited = 0; waited < 5000 && server.with_key().count("/v1/live") == 0; waited += 20)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  client.reset();
  EXPECT_EQ(server.with_key(), (std::set<std::string>{"/v1/live", "/v1/pull", "/v1/push"}));
  EXPECT_TRUE(server.without_key().empty());
  std::lock_guard lock(log_mutex);
  for (const std::string& line : log)
    EXPECT_EQ(line.find("key-123"), std::string::npos) << "a header value is never logged";
}

TEST(CustomHeaders, BadHeadersAreRefusedAtOpenWithoutQuotingTheValue) {
  const std::string path = TempStore("bad-headers");
  ClientOptions options = TestClientOptions("http://127.0.0.1:9", path);
  options.headers = {{"X-API-Key", "secret-value\r\nX-Injected: 1"}};
  auto opened = Client::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(opened.status().message().find("secret-value"), std::string::npos);
  options.headers = {{"Authorization", "ApiKey secret-value"}};
  opened = Client::Open(options);
  EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument) << "a token provider is set";
  options.token_provider = nullptr;
  opened = Client::Open(options);
  EXPECT_TRUE(opened.ok()) << "without one, Authorization is the app's: "
                           << opened.status().ToString();
}

}  // namespace
}  // namespace ferry::testing
