// ferry-server as a black box over HTTP: authentication, isolation between
// users, limits and malformed input, gzip bodies, live pokes, CORS for pages
// on other origins, and the files of --static.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <initializer_list>
#include <memory>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "ferry/gzip_zlib.h"
#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/push_bodies.h"
#include "support/server_backends.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

std::string PushBody(const std::string& client_id, uint64_t seq, const std::string& key, Json value,
                     Version base = 0) {
  return PutBody(client_id, seq, key, std::move(value), base);
}

HttpHeaders Auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// On both backends: what the server answers depends on what its storage
// keeps (users apart, counts, stamps, limits, the epoch) and, for live
// pokes, on how a write reaches the streams (PostgreSQL's NOTIFY).
class ServerTest : public BackendTest {
 protected:
  HttpResult Push(const std::string& token, const std::string& body) {
    return http_.Post("/v1/push", Auth(token), body, "application/json");
  }
  HttpResult PushGzip(const std::string& token, const std::string& gzipped_body) {
    HttpHeaders headers = Auth(token);
    headers.emplace("Content-Encoding", "gzip");
    return http_.Post("/v1/push", headers, gzipped_body, "application/json");
  }
  HttpResult Pull(const std::string& token, const std::string& query = "") {
    return http_.Get("/v1/pull" + query, Auth(token));
  }

  ServerProcess server_{"token-alice alice\ntoken-alice-2 alice\ntoken-bob bob\n",
                        BackendFlags({"--max-body-bytes", "65536", "--max-batch", "10"})};
  HttpClient http_{"127.0.0.1", server_.port()};
};

INSTANTIATE_TEST_SUITE_P(Backends, ServerTest, kBothBackends, BackendName);

TEST_P(ServerTest, HealthNeedsNoToken) {
  auto result = http_.Get("/v1/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST_P(ServerTest, RequestsWithoutOrWithAWrongTokenAreRefused) {
  auto none = http_.Get("/v1/pull");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->header("WWW-Authenticate"), "Bearer");
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

TEST_P(ServerTest, OneUserCanNeverReadOrChangeAnothersDocuments) {
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

TEST_P(ServerTest, StatsShowTheCallingUsersCountsOnly) {
  ASSERT_EQ(Push("token-alice", PushBody("c1", 1, "a", 1))->status, 200);
  ASSERT_EQ(Push("token-alice", PushBody("c1", 2, "b", 2))->status, 200);
  ASSERT_EQ(Push("token-bob", PushBody("c2", 1, "a", 1))->status, 200);
  const auto applied = [this](const std::string& token) {
    auto stats = http_.Get("/v1/stats", Auth(token));
    EXPECT_TRUE(stats && stats->status == 200);
    auto json = ParseJson(stats ? stats->body : "{}");
    return json.ok() ? json->value("mutationsApplied", uint64_t{999}) : uint64_t{999};
  };
  EXPECT_EQ(applied("token-alice"), 2u);
  EXPECT_EQ(applied("token-alice-2"), 2u) << "per user, not per token";
  EXPECT_EQ(applied("token-bob"), 1u);

  // liveListeners: the calling user's open streams, not the server's.
  const auto listeners = [this](const std::string& token) {
    auto stats = http_.Get("/v1/stats", Auth(token));
    auto json = ParseJson(stats ? stats->body : "{}");
    return json.ok() ? json->value("liveListeners", -1) : -1;
  };
  auto stream = std::async(std::launch::async, [this] {
    HttpClient client("127.0.0.1", server_.port());
    client.set_read_timeout(std::chrono::seconds(5));
    std::string received;
    client.GetStream("/v1/live", Auth("token-alice"), [&](std::string_view data) {
      received.append(data);
      return received.find("event: poke") == std::string::npos;  // ends at the poke
    });
  });
  for (int i = 0; i < 50 && listeners("token-alice") != 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(listeners("token-alice"), 1);
  EXPECT_EQ(listeners("token-alice-2"), 1);
  EXPECT_EQ(listeners("token-bob"), 0) << "alice's stream is not bob's";
  ASSERT_EQ(Push("token-alice", PushBody("c1", 3, "c", 3))->status, 200);  // pokes, ends it
  stream.wait();
}

TEST_P(ServerTest, AStampFarAheadOfTheServersClockIsRejected) {
  // The server checks stamps against its own wall clock (an hour at most
  // ahead of it): one from the year 9999 must not win every later write.
  Mutation m;
  m.client_id = "c1";
  m.seq = 1;
  m.op = MutationOp::kPut;
  m.document = {"docs", "future"};
  m.value = 1;
  m.hlc = {253'402'300'799'000, 0, "c1"};
  auto push = Push("token-alice", EncodePushRequest({"c1", {m}}));
  ASSERT_TRUE(push);
  ASSERT_EQ(push->status, 200) << push->body;
  EXPECT_NE(push->body.find("\"rejected\""), std::string::npos) << push->body;
  EXPECT_NE(push->body.find("ahead of the server's clock"), std::string::npos) << push->body;
  auto pulled = Pull("token-alice");
  ASSERT_TRUE(pulled);
  auto view = DecodePullResponse(pulled->body, {});
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->changes.empty());
}

TEST_P(ServerTest, OversizedBodiesAndBatchesAreRefusedWith413) {
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

TEST_P(ServerTest, MalformedBodiesAreRefusedWith4xx) {
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
  // Never issued by the server: 410, so the client resyncs (a 400 is retried forever).
  auto bad_cursor = Pull("token-alice", "?cursor=%3Cscript%3E");
  ASSERT_TRUE(bad_cursor);
  EXPECT_EQ(bad_cursor->status, 410);
  auto old_cursor = Pull("token-alice", "?cursor=other-epoch.5");
  ASSERT_TRUE(old_cursor);
  EXPECT_EQ(old_cursor->status, 410);
  // The server is still healthy afterwards.
  auto health = http_.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// A form upload is no push: refused as such, not a 5xx that clients retry.
TEST_P(ServerTest, MultipartPushIsRefusedWith415) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"push\"\r\n\r\n" +
                           PushBody("c1", 1, "k", 1) + "\r\n--b--\r\n";
  auto result =
      http_.Post("/v1/push", Auth("token-alice"), body, "multipart/form-data; boundary=b");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 415) << result->body;
  auto pull = Pull("token-alice");
  ASSERT_TRUE(pull);
  auto view = DecodePullResponse(pull->body, {});
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->changes.empty());
}

TEST_P(ServerTest, ReadyAnswersBesideHealthWithoutAToken) {
  auto ready = http_.Get("/v1/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(ready->body.find("ready"), std::string::npos) << ready->body;
}

// HEAD gets GET's headers and no body, and the kept-alive connection still
// reads the next answer right.
TEST_P(ServerTest, HeadGetsTheHeadersOnly) {
  http_.set_keep_alive(true);
  for (int i = 0; i < 2; ++i) {
    auto head = http_.Head("/v1/health");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_TRUE(head->body.empty());
    EXPECT_EQ(head->header("Content-Length"), "15");
    auto get = http_.Get("/v1/health");
    ASSERT_TRUE(get);
    EXPECT_EQ(get->body, "{\"status\":\"ok\"}");
  }
}

TEST_P(ServerTest, AcceptsGzipRequestBodies) {
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

// A gzip bomb: 60 KB on the wire that inflate to 60 MB. cpp-httplib, which
// served ferry-server's HTTP then, checked the body limit against the wire
// bytes only; before ferry-server counted the inflated bytes itself, this
// cost it the whole 60 MB before the refusal.
TEST_P(ServerTest, GzipBombIsRefusedBeforeItCostsMemory) {
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

TEST_P(ServerTest, LiveStreamPokesListenersOfTheSameUserOnly) {
  std::promise<std::string> alice_saw, bob_saw;
  auto listen = [this](const std::string& token, std::promise<std::string>& saw) {
    return std::async(std::launch::async, [this, token, &saw] {
      HttpClient client("127.0.0.1", server_.port());
      client.set_read_timeout(std::chrono::seconds(5));
      std::string stream;
      bool reported = false;
      client.GetStream("/v1/live", Auth(token), [&](std::string_view data) {
        stream.append(data);
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

// SQLite only: its file reopened after a crash. On PostgreSQL the same story
// is PostgresServersTest.AKilledInstanceLosesNoAcknowledgedWriteAndAnotherServesThem.
TEST(SqliteServer, KilledServerReopensItsStoreWithEveryAcknowledgedWrite) {
  ServerProcess server;
  HttpClient http("127.0.0.1", server.port());
  for (uint64_t i = 1; i <= 20; ++i) {
    auto result = http.Post("/v1/push", Auth("token-alice"),
                            PushBody("c1", i, "k" + std::to_string(i), Json(static_cast<int>(i))),
                            "application/json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
  }
  server.Kill();
  server.Start();
  HttpClient again("127.0.0.1", server.port());
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
    HttpClient http("127.0.0.1", server.port());
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

// --- CORS -----------------------------------------------------------------

constexpr const char* kDevOrigin = "http://localhost:5173";

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Whether a comma-separated header value names `item` (any case).
bool Lists(const std::string& list, const std::string& item) {
  return Lower(list).find(Lower(item)) != std::string::npos;
}

HttpHeaders WithOrigin(HttpHeaders headers, const std::string& origin) {
  headers.emplace("Origin", origin);
  return headers;
}

// What a browser sends before a cross-origin push: the method and the
// non-safelisted headers the client will send.
HttpHeaders PreflightHeaders(const std::string& origin, const std::string& method) {
  return {{"Origin", origin},
          {"Access-Control-Request-Method", method},
          {"Access-Control-Request-Headers",
           "authorization,content-encoding,content-type,ferry-protocol"}};
}

void ExpectAllowedOrigin(const HttpResponse& response, const std::string& origin) {
  EXPECT_EQ(response.header("Access-Control-Allow-Origin"), origin);
  EXPECT_EQ(response.header_count("Access-Control-Allow-Origin"), 1u);
  EXPECT_TRUE(Lists(response.header("Vary"), "Origin"));
  EXPECT_TRUE(Lists(response.header("Access-Control-Expose-Headers"), "Retry-After"));
  EXPECT_FALSE(response.has_header("Access-Control-Allow-Credentials"));
}

void ExpectNoCors(const HttpResponse& response) {
  EXPECT_FALSE(response.has_header("Access-Control-Allow-Origin"));
  EXPECT_FALSE(response.has_header("Access-Control-Allow-Methods"));
  EXPECT_FALSE(response.has_header("Access-Control-Allow-Headers"));
  EXPECT_FALSE(response.has_header("Access-Control-Expose-Headers"));
}

class CorsTest : public ::testing::Test {
 protected:
  ServerProcess server_{"token-alice alice\n",
                        {"--cors-origin", kDevOrigin, "--cors-origin", "http://127.0.0.1:5173"}};
  HttpClient http_{"127.0.0.1", server_.port()};
};

TEST_F(CorsTest, PreflightFromAnAllowedOriginAllowsWhatTheClientSends) {
  const std::pair<const char*, const char*> requests[] = {
      {"/v1/push", "POST"}, {"/v1/pull", "GET"}, {"/v1/live", "GET"}};
  for (const auto& [path, method] : requests) {
    for (const std::string origin : {kDevOrigin, "http://127.0.0.1:5173"}) {
      auto result = http_.Options(path, PreflightHeaders(origin, method));
      ASSERT_TRUE(result);
      EXPECT_EQ(result->status, 204) << path;
      ExpectAllowedOrigin(*result, origin);
      const std::string methods = result->header("Access-Control-Allow-Methods");
      EXPECT_TRUE(Lists(methods, "GET") && Lists(methods, "POST")) << methods;
      const std::string headers = result->header("Access-Control-Allow-Headers");
      for (const char* header :
           {"Authorization", "Content-Type", "Content-Encoding", "Ferry-Protocol"}) {
        EXPECT_TRUE(Lists(headers, header)) << header << " missing from " << headers;
      }
      EXPECT_GT(std::atoi(result->header("Access-Control-Max-Age").c_str()), 0);
    }
  }
}

TEST_F(CorsTest, AnswersToAnAllowedOriginCarryItErrorsIncluded) {
  const HttpHeaders alice = WithOrigin(Auth("token-alice"), kDevOrigin);
  auto push = http_.Post("/v1/push", alice,
                         PushBody("c1", 1, "big", Json{{"text", std::string(4000, 'x')}}),
                         "application/json");
  ASSERT_TRUE(push);
  EXPECT_EQ(push->status, 200);
  ExpectAllowedOrigin(*push, kDevOrigin);
  // A gzip answer varies by both; one Vary header says so.
  HttpHeaders gzip_pull = alice;
  gzip_pull.emplace("Accept-Encoding", "gzip");
  auto pull = http_.Get("/v1/pull", gzip_pull);
  ASSERT_TRUE(pull);
  EXPECT_EQ(pull->status, 200);
  EXPECT_EQ(pull->header("Content-Encoding"), "gzip");
  ExpectAllowedOrigin(*pull, kDevOrigin);
  EXPECT_EQ(pull->header_count("Vary"), 1u);
  EXPECT_TRUE(Lists(pull->header("Vary"), "Accept-Encoding"));
  // Errors: the page must be able to read them to tell a bad token from a
  // network failure.
  auto unauthenticated = http_.Get("/v1/pull", WithOrigin({}, kDevOrigin));
  ASSERT_TRUE(unauthenticated);
  EXPECT_EQ(unauthenticated->status, 401);
  ExpectAllowedOrigin(*unauthenticated, kDevOrigin);
  auto malformed = http_.Post("/v1/push", alice, "{", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  ExpectAllowedOrigin(*malformed, kDevOrigin);
  auto unknown = http_.Get("/v1/nothing-here", alice);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  ExpectAllowedOrigin(*unknown, kDevOrigin);
}

TEST_F(CorsTest, LiveStreamCarriesTheAllowedOrigin) {
  HttpClient client("127.0.0.1", server_.port());
  client.set_read_timeout(std::chrono::seconds(5));
  std::string stream;
  auto head = client.GetStream("/v1/live", WithOrigin(Auth("token-alice"), kDevOrigin),
                               [&](std::string_view data) {
                                 stream.append(data);
                                 // enough: stop
                                 return stream.find("event: hello") == std::string::npos;
                               });
  ASSERT_TRUE(head);
  EXPECT_NE(stream.find("event: hello"), std::string::npos);
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  ExpectAllowedOrigin(*head, kDevOrigin);
}

TEST_F(CorsTest, OtherOriginsGetNoCorsHeaders) {
  for (const std::string origin :
       {"http://evil.example", "http://localhost:5174", "https://localhost:5173", "null"}) {
    auto preflight = http_.Options("/v1/push", PreflightHeaders(origin, "POST"));
    ASSERT_TRUE(preflight);
    EXPECT_EQ(preflight->status, 204) << origin;  // the plain answer: the browser refuses it
    ExpectNoCors(*preflight);
    auto pull = http_.Get("/v1/pull", WithOrigin(Auth("token-alice"), origin));
    ASSERT_TRUE(pull);
    EXPECT_EQ(pull->status, 200);
    ExpectNoCors(*pull);
    EXPECT_TRUE(Lists(pull->header("Vary"), "Origin"));  // caches keep origins apart
  }
  auto no_origin = http_.Get("/v1/pull", Auth("token-alice"));
  ASSERT_TRUE(no_origin);
  ExpectNoCors(*no_origin);
}

// Without --cors-origin nothing changes but the preflight: a plain 204
// instead of a 404 that looked like a wrong URL.
TEST_P(ServerTest, WithoutCorsOriginsAPreflightIsAPlain204) {
  auto preflight = http_.Options("/v1/push", PreflightHeaders(kDevOrigin, "POST"));
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_TRUE(Lists(preflight->header("Allow"), "POST"));
  ExpectNoCors(*preflight);
  auto pull = http_.Get("/v1/pull", WithOrigin(Auth("token-alice"), kDevOrigin));
  ASSERT_TRUE(pull);
  EXPECT_EQ(pull->status, 200);
  ExpectNoCors(*pull);
  EXPECT_FALSE(Lists(pull->header("Vary"), "Origin"));
}

// ferry-server exits with status 2 (usage) for each of `values` of `flag`.
void ExpectRefusedValues(const char* flag, std::initializer_list<const char*> values) {
  TempDir dir;
  std::ofstream(dir.File("tokens.txt")) << "token-alice alice\n";
  for (const char* value : values) {
    const Spawned server = Spawn({FERRY_SERVER_BINARY, "--tokens", dir.File("tokens.txt"), "--db",
                                  dir.File("server.db"), "--port", "0", "--quiet", flag, value},
                                 dir.File("stderr.log"));
    close(server.stdout_fd);
    int status = 0;
    waitpid(server.pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << flag << " " << value;
  }
}

TEST(ServerArguments, CorsOriginMustBeAnExactOrigin) {
  ExpectRefusedValues("--cors-origin", {"*", "null", "localhost:5173", "http://localhost:5173/",
                                        "http://localhost:5173/app", ""});
}

// An app's custom header (issue 17: an X-API-Key scheme) is allowed in
// preflight only when named; the headers the clients always send stay.
TEST(CorsAllowHeader, PreflightAllowsTheNamedHeadersBesideTheClientsOwn) {
  ServerProcess server("token-alice alice\n", {"--cors-origin", kDevOrigin, "--cors-allow-header",
                                               "X-API-Key", "--cors-allow-header", "X-Tenant"});
  HttpClient http("127.0.0.1", server.port());
  auto result = http.Options("/v1/push", PreflightHeaders(kDevOrigin, "POST"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 204);
  const std::string headers = result->header("Access-Control-Allow-Headers");
  for (const char* header :
       {"Authorization", "Content-Type", "Ferry-Protocol", "X-API-Key", "X-Tenant"}) {
    EXPECT_TRUE(Lists(headers, header)) << header << " missing from " << headers;
  }
}

TEST(CorsAllowHeader, WithoutTheFlagOnlyTheClientsOwnHeadersAreAllowed) {
  ServerProcess server("token-alice alice\n", {"--cors-origin", kDevOrigin});
  HttpClient http("127.0.0.1", server.port());
  auto result = http.Options("/v1/push", PreflightHeaders(kDevOrigin, "POST"));
  ASSERT_TRUE(result);
  EXPECT_FALSE(Lists(result->header("Access-Control-Allow-Headers"), "X-API-Key"));
}

TEST(ServerArguments, CorsAllowHeaderMustBeAHeaderName) {
  ExpectRefusedValues("--cors-allow-header", {"", "X-API-Key, Cookie", "X API Key", "X-Key:1"});
}

TEST(ServerLog, NamesTheOriginOfARefusedPreflight) {
  TempDir dir;
  const std::string log_path = dir.File("server.log");
  {
    ServerProcess server("token-alice alice\n", {"--cors-origin", kDevOrigin}, log_path);
    HttpClient http("127.0.0.1", server.port());
    ASSERT_TRUE(http.Options("/v1/push", PreflightHeaders("http://localhost:3000", "POST")));
    ASSERT_TRUE(http.Options("/v1/push", PreflightHeaders(kDevOrigin, "POST")));
  }
  std::ifstream file(log_path);
  const std::string log((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("origin http://localhost:3000 not allowed: see --cors-origin"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("origin " + std::string(kDevOrigin) + " not allowed"), std::string::npos);
}

// --- --static DIR -----------------------------------------------------------

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
}

// About the size of ferry's wasm, compressible as code is: few distinct bytes.
std::string FakeWasm() {
  std::string wasm("\0asm\1\0\0\0", 8);
  std::mt19937 random(13);
  while (wasm.size() < 419 * 1024)
    wasm += static_cast<char>("\x00\x01\x20\x41\x7f\x0b\x10\x21"[random() % 8]);
  return wasm;
}

std::string FakeScript(const std::string& name) {
  std::string script;
  for (int i = 0; i < 500; ++i)
    script += "export const " + name + std::to_string(i) + " = () => " + std::to_string(i) + ";\n";
  return script;
}

HttpHeaders Accepting(const std::string& encoding, const std::string& accept = "*/*") {
  return {{"Accept-Encoding", encoding}, {"Accept", accept}};
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path root = dir_.path() / "public";
    WriteFile(root / "index.html",
              "<!doctype html><title>todo</title><script src=/app.js></script>");
    WriteFile(root / "assets/ferry_wasm-Bx_9-aQ1.wasm", FakeWasm());
    WriteFile(root / "assets/index-BX3k9aQ1.js", FakeScript("a"));
    WriteFile(root / "worker.mjs", FakeScript("w"));
    WriteFile(root / "main.4f3c2a1b.js", FakeScript("m"));
    for (const char* name : {"sw.js", "files.json", "manifest.webmanifest", "apple-touch-icon.png",
                             "my-long-filename.js", "report-20240101.pdf", "assets/logo.svg"}) {
      WriteFile(root / name, "unhashed");
    }
    WriteFile(root / "style.css", FakeScript("s"));
    WriteFile(root / "style.css.gz", *GzipZlib(FakeScript("s"), 1));
    // A stale precompressed file: older than the file, and old content.
    WriteFile(root / "old.css", FakeScript("new"));
    WriteFile(root / "old.css.gz", *GzipZlib(FakeScript("old"), 1));
    std::filesystem::last_write_time(
        root / "old.css.gz",
        std::filesystem::last_write_time(root / "old.css") - std::chrono::hours(1));
    WriteFile(dir_.path() / "secret.txt", "top-secret-marker");
    root_ = root;
    server_ = std::make_unique<ServerProcess>("token-alice alice\n",
                                              std::vector<std::string>{"--static", root.string()});
    http_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  HttpResult Fetch(const std::string& path, const HttpHeaders& headers, bool decompress = true) {
    http_->set_decompress(decompress);
    return http_->Get(path, headers);
  }

  TempDir dir_;
  std::filesystem::path root_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(StaticFilesTest, CompressibleFilesGoGzippedAndDecompressToTheExactFile) {
  for (const char* path : {"/assets/ferry_wasm-Bx_9-aQ1.wasm", "/assets/index-BX3k9aQ1.js",
                           "/worker.mjs", "/style.css"}) {
    const std::string file = ReadAll(root_.string() + path);
    auto raw = Fetch(path, Accepting("gzip, deflate, br"), false);
    ASSERT_TRUE(raw);
    ASSERT_EQ(raw->status, 200) << path;
    EXPECT_EQ(raw->header("Content-Encoding"), "gzip") << path;
    EXPECT_TRUE(Lists(raw->header("Vary"), "Accept-Encoding")) << path;
    EXPECT_LT(raw->body.size(), file.size() / 2) << path;
    auto decoded = Fetch(path, Accepting("gzip, deflate, br"));
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(decoded->body == file) << path << " does not decompress to the file";
  }
}

TEST_F(StaticFilesTest, ContentTypesAreWhatModulesAndWasmStreamingNeed) {
  const std::pair<const char*, const char*> expected[] = {
      {"/assets/ferry_wasm-Bx_9-aQ1.wasm", "application/wasm"},
      {"/assets/index-BX3k9aQ1.js", "text/javascript"},
      {"/worker.mjs", "text/javascript"},
      {"/style.css", "text/css"},
      {"/files.json", "application/json"},
      {"/assets/logo.svg", "image/svg+xml"},
      {"/index.html", "text/html; charset=utf-8"}};
  for (const auto& [path, type] : expected) {
    for (const char* encoding : {"gzip", "identity"}) {
      auto result = Fetch(path, Accepting(encoding));
      ASSERT_TRUE(result);
      EXPECT_EQ(result->status, 200) << path;
      EXPECT_EQ(result->header("Content-Type"), type) << path << " " << encoding;
    }
  }
}

TEST_F(StaticFilesTest, WithoutGzipInAcceptEncodingFilesGoAsTheyAre) {
  const std::string wasm = ReadAll(root_ / "assets/ferry_wasm-Bx_9-aQ1.wasm");
  for (const char* encoding : {"identity", "gzip;q=0, br", "br", "*;q=0"}) {
    auto result = Fetch("/assets/ferry_wasm-Bx_9-aQ1.wasm", Accepting(encoding), false);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    EXPECT_FALSE(result->has_header("Content-Encoding")) << encoding;
    EXPECT_TRUE(result->body == wasm) << encoding;
    EXPECT_TRUE(Lists(result->header("Vary"), "Accept-Encoding"));
  }
  auto image = Fetch("/apple-touch-icon.png", Accepting("gzip"), false);  // not compressible
  ASSERT_TRUE(image);
  EXPECT_FALSE(image->has_header("Content-Encoding"));
  EXPECT_EQ(image->body, "unhashed");
}

TEST_F(StaticFilesTest, AFreshPrecompressedFileIsSentAndAStaleOneIgnored) {
  // The server compresses at another level, so its own answer would differ.
  ASSERT_NE(*GzipZlib(FakeScript("s"), 6), *GzipZlib(FakeScript("s"), 1));
  auto fresh = Fetch("/style.css", Accepting("gzip"), false);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->header("Content-Encoding"), "gzip");
  EXPECT_TRUE(fresh->body == ReadAll(root_ / "style.css.gz"));
  auto stale = Fetch("/old.css", Accepting("gzip"));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->header("Content-Encoding"), "gzip");
  EXPECT_TRUE(stale->body == FakeScript("new"));
}

// Files compressed on the fly are cached, but only while unchanged: a file
// rewritten with content of the same size is told apart by its time.
TEST_F(StaticFilesTest, AChangedFileIsCompressedAgain) {
  const std::filesystem::path file = root_ / "worker.mjs";
  auto before = Fetch("/worker.mjs", Accepting("gzip"));
  ASSERT_TRUE(before);
  EXPECT_EQ(before->body, FakeScript("w"));
  const auto modified = std::filesystem::last_write_time(file);
  ASSERT_EQ(FakeScript("v").size(), FakeScript("w").size());
  WriteFile(file, FakeScript("v"));
  std::filesystem::last_write_time(file, modified + std::chrono::seconds(1));
  auto after = Fetch("/worker.mjs", Accepting("gzip"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->header("Content-Encoding"), "gzip");
  EXPECT_TRUE(after->body == FakeScript("v"));
  WriteFile(file, FakeScript("longer"));  // another size
  auto again = Fetch("/worker.mjs", Accepting("gzip"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->body == FakeScript("longer"));
}

TEST_F(StaticFilesTest, HashedAssetsAreImmutableAndEverythingElseRevalidates) {
  for (const char* path :
       {"/assets/ferry_wasm-Bx_9-aQ1.wasm", "/assets/index-BX3k9aQ1.js", "/main.4f3c2a1b.js"}) {
    auto result = Fetch(path, Accepting("gzip"));
    ASSERT_TRUE(result);
    EXPECT_EQ(result->header("Cache-Control"), "public, max-age=31536000, immutable") << path;
  }
  for (const char* path : {"/", "/index.html", "/sw.js", "/files.json", "/manifest.webmanifest",
                           "/apple-touch-icon.png", "/my-long-filename.js", "/report-20240101.pdf",
                           "/worker.mjs", "/style.css"}) {
    auto result = Fetch(path, Accepting("gzip"));
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << path;
    EXPECT_EQ(result->header("Cache-Control"), "no-cache") << path;
  }
}

TEST_F(StaticFilesTest, PageRoutesGetIndexHtmlAndMissingFilesStay404) {
  const std::string index = ReadAll(root_ / "index.html");
  const char* html = "text/html,application/xhtml+xml,*/*;q=0.8";  // a navigation
  for (const char* path : {"/todos/42", "/settings", "/"}) {
    auto page = Fetch(path, Accepting("gzip", html));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200) << path;
    EXPECT_EQ(page->body, index) << path;
    EXPECT_EQ(page->header("Cache-Control"), "no-cache") << path;
  }
  auto missing_asset = Fetch("/assets/missing-AbC12345.js", Accepting("gzip", html));
  ASSERT_TRUE(missing_asset);
  EXPECT_EQ(missing_asset->status, 404);
  auto not_a_page = Fetch("/todos/42", Accepting("gzip", "application/json"));
  ASSERT_TRUE(not_a_page);
  EXPECT_EQ(not_a_page->status, 404);
  auto api = Fetch("/v1/nothing-here", Accepting("gzip", html));
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 404);
  EXPECT_NE(api->body.find("not_found"), std::string::npos) << api->body;
  auto health = Fetch("/v1/health", Accepting("gzip", html));  // the API still answers
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(StaticFilesTest, PathsOutsideTheDirectoryAreRefused) {
  for (const char* path :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/..%2fsecret.txt", "/assets/..%2F..%2Fsecret.txt", "/..%5csecret.txt",
        "/%252e%252e/secret.txt", "/./../secret.txt", "/..", "/../", "/%2e%2e"}) {
    auto result = Fetch(path, Accepting("identity", "text/html"));
    ASSERT_TRUE(result) << path;
    EXPECT_GE(result->status, 400) << path;
    EXPECT_LT(result->status, 500) << path;
    EXPECT_EQ(result->body.find("top-secret-marker"), std::string::npos) << path;
    EXPECT_EQ(result->body.find("<title>todo"), std::string::npos) << path << ": no fallback";
  }
}

// The holes found in --static: a NUL that cut the name short, symlinks
// leading out of the folder, hidden files, and answers a browser could sniff.
TEST_F(StaticFilesTest, NulDotfilesAndSymlinksOutOfTheFolderAreRefused) {
  WriteFile(root_ / "file", "nul-cut-marker");
  WriteFile(root_ / ".env", "dotfile-marker");
  WriteFile(root_ / ".git/config", "dotfile-marker");
  std::filesystem::create_symlink(dir_.path() / "secret.txt", root_ / "link.txt");
  std::filesystem::create_directory_symlink(dir_.path(), root_ / "outside");
  std::filesystem::create_symlink("index.html", root_ / "alias.html");  // inside: fine
  for (const char* path : {"/file%00.html", "/file%00", "/.env", "/.git/config", "/%2eenv",
                           "/link.txt", "/outside/secret.txt", "/file%0a.html"}) {
    auto result = Fetch(path, Accepting("identity", "text/html"));
    ASSERT_TRUE(result) << path;
    EXPECT_GE(result->status, 400) << path;
    EXPECT_LT(result->status, 500) << path;
    for (const char* marker : {"nul-cut-marker", "dotfile-marker", "top-secret-marker"})
      EXPECT_EQ(result->body.find(marker), std::string::npos) << path;
  }
  auto alias = Fetch("/alias.html", Accepting("identity"));
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->status, 200);
  EXPECT_EQ(alias->body, ReadAll(root_ / "index.html"));
  for (const char* path :
       {"/alias.html", "/assets/index-BX3k9aQ1.js", "/missing.js", "/v1/health"}) {
    auto result = Fetch(path, Accepting("gzip"));
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->header("X-Content-Type-Options"), "nosniff") << path;
  }
}

}  // namespace
}  // namespace ferry::testing
