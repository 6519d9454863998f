// /metrics of a real ferry-server: the operator's credential, Prometheus'
// text format, and counters that move with the requests served.
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "ferry/protocol.h"
#include "support/http_client.h"
#include "support/postgres_process.h"
#include "support/push_bodies.h"
#include "support/server_backends.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

constexpr const char* kOperatorToken = "operator-token-0123456789";

HttpHeaders Auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string PushBody(uint64_t seq) {
  return PutBody("c1", seq, "k" + std::to_string(seq), Json{{"n", seq}});
}

// Every sample of an exposition ("name{labels}" -> value), failing the test
// on any line that is neither a sample nor a # HELP / # TYPE comment.
std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    const std::size_t space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    EXPECT_TRUE(name.find('{') == std::string::npos || name.back() == '}') << line;
    try {
      samples[name] = std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
      ADD_FAILURE() << "not a number: " << line;
    }
  }
  return samples;
}

// On both backends: the mutation counters count what the backend's apply
// reports, and no database error may show on a healthy one.
class ServerMetricsTest : public BackendTest {
 protected:
  static std::string TokenFile(const TempDir& dir) {
    std::ofstream(dir.File("metrics-token")) << kOperatorToken << "\n";
    return dir.File("metrics-token");
  }

  std::map<std::string, double> Scrape() {
    auto answer = http_.Get("/metrics", Auth(kOperatorToken));
    EXPECT_TRUE(answer && answer->status == 200);
    if (!answer || answer->status != 200) return {};
    EXPECT_EQ(answer->header("Content-Type").find("text/plain; version=0.0.4"), 0u);
    return ParseExposition(answer->body);
  }

  TempDir dir_;
  ServerProcess server_{"token-alice alice\n",
                        BackendFlags({"--metrics-token-file", TokenFile(dir_)})};
  HttpClient http_{"127.0.0.1", server_.port()};
};

INSTANTIATE_TEST_SUITE_P(Backends, ServerMetricsTest, kBothBackends, BackendName);

TEST_P(ServerMetricsTest, OnlyTheOperatorsCredentialReadsMetrics) {
  auto none = http_.Get("/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto user = http_.Get("/metrics", Auth("token-alice"));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->status, 401) << "a user's token must not read every user's traffic";
  auto almost = http_.Get("/metrics", Auth(std::string(kOperatorToken) + "x"));
  ASSERT_TRUE(almost);
  EXPECT_EQ(almost->status, 401);
  auto operator_answer = http_.Get("/metrics", Auth(kOperatorToken));
  ASSERT_TRUE(operator_answer);
  EXPECT_EQ(operator_answer->status, 200);
}

TEST_P(ServerMetricsTest, CountersHistogramsAndGaugesMoveWithTheRequests) {
  auto before = Scrape();
  const std::string push_ok = "ferry_http_requests_total{route=\"push\",status=\"200\"}";
  const std::string pull_ok = "ferry_http_requests_total{route=\"pull\",status=\"200\"}";
  const std::string unauthenticated = "ferry_http_requests_total{route=\"pull\",status=\"401\"}";
  const std::string applied = "ferry_mutations_total{outcome=\"applied\"}";
  const std::string duplicate = "ferry_mutations_total{outcome=\"duplicate\"}";
  const std::string push_latency = "ferry_http_request_duration_seconds_count{route=\"push\"}";
  EXPECT_EQ(before[applied], 0);
  EXPECT_EQ(before["ferry_live_streams"], 0);
  EXPECT_EQ(before["ferry_database_errors_total"], 0);

  for (uint64_t seq = 1; seq <= 3; ++seq) {
    auto push = http_.Post("/v1/push", Auth("token-alice"), PushBody(seq), "application/json");
    ASSERT_TRUE(push && push->status == 200);
  }
  auto again = http_.Post("/v1/push", Auth("token-alice"), PushBody(1), "application/json");
  ASSERT_TRUE(again && again->status == 200);
  auto pull = http_.Get("/v1/pull", Auth("token-alice"));
  ASSERT_TRUE(pull && pull->status == 200);
  auto refused = http_.Get("/v1/pull", Auth("wrong"));
  ASSERT_TRUE(refused && refused->status == 401);

  // A live stream, held open while the next scrape runs.
  std::atomic<bool> done = false;
  std::promise<void> opened;
  auto listener = std::async(std::launch::async, [&] {
    HttpClient client("127.0.0.1", server_.port());
    client.set_read_timeout(std::chrono::seconds(1));
    bool first = true;
    while (!done) {
      client.GetStream("/v1/live", Auth("token-alice"), [&](std::string_view) {
        if (first) opened.set_value();
        first = false;
        return !done;
      });
    }
  });
  ASSERT_EQ(opened.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);

  auto after = Scrape();
  EXPECT_EQ(after[push_ok] - before[push_ok], 4);
  EXPECT_EQ(after[pull_ok] - before[pull_ok], 1);
  EXPECT_EQ(after[unauthenticated] - before[unauthenticated], 1);
  EXPECT_EQ(after[applied], 3);
  EXPECT_EQ(after[duplicate], 1);
  EXPECT_EQ(after[push_latency] - before[push_latency], 4);
  EXPECT_EQ(after["ferry_http_request_duration_seconds_bucket{route=\"push\",le=\"+Inf\"}"],
            after[push_latency]);
  EXPECT_LE(after["ferry_http_request_duration_seconds_bucket{route=\"push\",le=\"0.001\"}"],
            after["ferry_http_request_duration_seconds_bucket{route=\"push\",le=\"10\"}"]);
  EXPECT_GT(after["ferry_http_request_duration_seconds_sum{route=\"push\"}"], 0);
  EXPECT_EQ(after["ferry_live_streams"], 1);
  EXPECT_EQ(after["ferry_database_errors_total"], 0);
  done = true;
  listener.wait();
}

// Refusals the connection layer makes before a request reaches the pool
// are counted too: an operator sees clients hitting the limits.
TEST(ServerMetrics, RefusalsAtTheConnectionAreCounted) {
  TempDir dir;
  std::ofstream(dir.File("metrics-token")) << kOperatorToken << "\n";
  ServerProcess server("token-alice alice\n",
                       {"--metrics-token-file", dir.File("metrics-token"), "--max-header-bytes",
                        "2048", "--max-body-bytes", "1000", "--max-live-per-user", "1"});
  HttpClient http("127.0.0.1", server.port());
  HttpHeaders huge = Auth("token-alice");
  huge.emplace("X-Padding", std::string(4096, 'x'));
  auto too_large_head = http.Get("/v1/pull", huge);
  ASSERT_TRUE(too_large_head);
  EXPECT_EQ(too_large_head->status, 431);
  auto too_large_body =
      HttpClient("127.0.0.1", server.port())
          .Post("/v1/push", Auth("token-alice"), std::string(2000, ' '), "application/json");
  ASSERT_TRUE(too_large_body);
  EXPECT_EQ(too_large_body->status, 413);

  std::atomic<bool> done = false;
  std::promise<void> opened;
  auto listener = std::async(std::launch::async, [&] {
    HttpClient client("127.0.0.1", server.port());
    bool first = true;
    client.GetStream("/v1/live", Auth("token-alice"), [&](std::string_view) {
      if (first) opened.set_value();
      first = false;
      return !done;
    });
  });
  ASSERT_EQ(opened.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto second_stream = HttpClient("127.0.0.1", server.port()).Get("/v1/live", Auth("token-alice"));
  ASSERT_TRUE(second_stream);
  EXPECT_EQ(second_stream->status, 429);

  auto page = HttpClient("127.0.0.1", server.port()).Get("/metrics", Auth(kOperatorToken));
  ASSERT_TRUE(page && page->status == 200);
  auto samples = ParseExposition(page->body);
  // Refused while its head is read, a request has no route yet (Beast
  // refuses a Content-Length over the limit before the head is complete).
  const auto count = [&](const std::string& route, int status) {
    return samples["ferry_http_requests_total{route=\"" + route + "\",status=\"" +
                   std::to_string(status) + "\"}"];
  };
  EXPECT_EQ(count("none", 431) + count("pull", 431), 1) << page->body;
  EXPECT_EQ(count("none", 413) + count("push", 413), 1) << page->body;
  EXPECT_EQ(count("live", 429), 1) << page->body;
  done = true;
  // The stream ends at the next event; a push pokes it.
  (void)HttpClient("127.0.0.1", server.port())
      .Post("/v1/push", Auth("token-alice"), PushBody(1), "application/json");
  listener.wait();
}

// A database that fails requests: PostgreSQL loses the table every push
// and pull needs (as a botched migration or a revoked grant would).
TEST(ServerMetrics, DatabaseErrorsAreCounted) {
  PostgresProcess postgres;
  if (!postgres.unavailable().empty()) GTEST_SKIP() << postgres.unavailable();
  TempDir dir;
  std::ofstream(dir.File("metrics-token")) << kOperatorToken << "\n";
  ServerProcess server("token-alice alice\n", {"--postgres", postgres.url(), "--metrics-token-file",
                                               dir.File("metrics-token")});
  HttpClient http("127.0.0.1", server.port());
  const auto errors = [&] {
    auto answer = http.Get("/metrics", Auth(kOperatorToken));
    EXPECT_TRUE(answer && answer->status == 200);
    return answer ? ParseExposition(answer->body)["ferry_database_errors_total"] : -1;
  };
  auto pushed = http.Post("/v1/push", Auth("token-alice"), PushBody(1), "application/json");
  ASSERT_TRUE(pushed && pushed->status == 200);
  EXPECT_EQ(errors(), 0);
  ASSERT_EQ(postgres.RunClient({"psql", postgres.url(), "-q", "-c",
                                "ALTER TABLE ferry_users RENAME TO ferry_users_gone"}),
            0);
  auto failed = http.Post("/v1/push", Auth("token-alice"), PushBody(2), "application/json");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(errors(), 1);
  auto answer = http.Get("/metrics", Auth(kOperatorToken));
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->body.find("ferry_http_requests_total{route=\"push\",status=\"500\"} 1"),
            std::string::npos)
      << answer->body;
}

TEST(ServerMetrics, WithoutACredentialThereIsNoMetricsEndpoint) {
  ServerProcess server("token-alice alice\n");
  HttpClient http("127.0.0.1", server.port());
  auto answer = http.Get("/metrics", Auth("token-alice"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
}

}  // namespace
}  // namespace ferry::testing
