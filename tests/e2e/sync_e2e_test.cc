// End to end over loopback: real ferry-server processes, real libcurl
// clients with SQLite stores, and a fault-injecting proxy between them.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "e2e/e2e_helpers.h"
#include "support/fault_proxy.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/test_certificates.h"

namespace ferry::testing {
namespace {

TEST(SyncEndToEnd, OfflineWritesReachTheServerExactlyOnceWhenOnline) {
  ServerProcess server;
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  client->SetOnline(false);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(client->Put("notes", "n" + std::to_string(i), Json{{"i", i}}).ok());
  }
  EXPECT_EQ(client->status().state, SyncState::kOffline);
  EXPECT_EQ(client->status().pending, 500u);
  auto offline_run = client->SyncNow();
  ASSERT_TRUE(offline_run.ok());
  EXPECT_EQ(offline_run->outcome, RunOutcome::kFailed);

  client->SetOnline(true);
  SyncUntilComplete(*client);
  EXPECT_EQ(client->status().pending, 0u);
  ServerView view = ReadServer(server.port());
  EXPECT_EQ(view.documents.size(), 500u);
  EXPECT_EQ(view.head, 500u);  // 500 mutations applied, none twice
  const auto n123 = std::make_pair(std::string("notes"), std::string("n123"));
  EXPECT_EQ(view.documents[n123].state.value, (Json{{"i", 123}}));
}

TEST(SyncEndToEnd, TwoClientsConverge) {
  ServerProcess server;
  TempDir dir;
  auto a = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  auto b = OpenClient(TestClientOptions(server.endpoint(), dir.File("b.db")));
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(a->Put("todo", "a" + std::to_string(i), Json{{"by", "a"}}).ok());
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(b->Put("todo", "b" + std::to_string(i), Json{{"by", "b"}}).ok());
  ASSERT_TRUE(a->Put("todo", "shared", Json{{"title", "from a"}}).ok());
  SyncUntilComplete(*a);
  ASSERT_TRUE(b->Patch("todo", "shared", Json{{"done", true}}).ok());  // b never saw it: conflict
  SyncUntilComplete(*b);
  SyncUntilComplete(*a);
  auto scan_a = a->Scan("todo");
  auto scan_b = b->Scan("todo");
  ASSERT_TRUE(scan_a.ok() && scan_b.ok());
  EXPECT_EQ(scan_a->size(), 81u);
  EXPECT_EQ(*scan_a, *scan_b);
  EXPECT_EQ(b->statistics().conflicts, 1u);
  auto shared = b->Get("todo", "shared");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(*shared, (Json{{"title", "from a"}}));  // server wins
}

TEST(SyncEndToEnd, ServerKilledAndRestartedMidSyncLosesAndDuplicatesNothing) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  options.engine.batch.max_count = 50;  // many round trips, so the kill lands mid-sync
  auto client = OpenClient(options);
  constexpr int kWrites = 3000;
  for (int i = 0; i < kWrites; ++i)
    ASSERT_TRUE(client->Put("docs", "d" + std::to_string(i), Json{{"i", i}}).ok());

  std::promise<void> first_progress;
  std::atomic<bool> signalled{false};
  client->AddEventListener([&](const Event& event) {
    if (std::holds_alternative<SyncProgressEvent>(event) && !signalled.exchange(true))
      first_progress.set_value();
  });
  auto sync = std::async(std::launch::async, [&] { return client->SyncNow(); });
  first_progress.get_future().wait();
  server.Kill();
  auto interrupted = sync.get();
  ASSERT_TRUE(interrupted.ok());
  EXPECT_EQ(interrupted->outcome, RunOutcome::kFailed);
  EXPECT_GT(client->status().pending, 0u);
  server.Start();  // same port, same database
  SyncUntilComplete(*client);
  EXPECT_EQ(client->status().pending, 0u);
  ServerView view = ReadServer(server.port());
  EXPECT_EQ(view.documents.size(), static_cast<std::size_t>(kWrites));
  EXPECT_EQ(view.head, static_cast<Version>(kWrites));
}

TEST(SyncEndToEnd, ServerFaultsAreRetriedAndNothingIsLostOrAppliedTwice) {
  ServerProcess server;
  FaultProxy proxy(server.port());
  TempDir dir;
  ClientOptions options = TestClientOptions(proxy.endpoint(), dir.File("a.db"));
  options.engine.batch.max_count = 20;
  // The retry's delay is drawn from [0, cap]: with the helpers' 50 ms cap it
  // could start (and change the state) before the status below is read.
  options.engine.backoff_base_ms = 60'000;
  options.engine.backoff_max_ms = 60'000;
  auto client = OpenClient(options);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(client->Put("docs", "d" + std::to_string(i), Json{{"i", i}}).ok());

  // Each fault kind fails one run: the client reports the error state, keeps
  // every write, and the next attempt resumes.
  const std::pair<FaultProxy::Fault, std::string> faults[] = {
      {FaultProxy::Fault::kServerError, "HTTP 500"},
      {FaultProxy::Fault::kTooManyRequests, "HTTP 429"},
      {FaultProxy::Fault::kGarbage, "push response"},
      {FaultProxy::Fault::kAnswerLost, "HTTP 502"},
  };
  for (const auto& [fault, expected_error] : faults) {
    proxy.Inject(fault);
    auto run = client->SyncNow();
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->outcome, RunOutcome::kFailed);
    EXPECT_NE(run->error.find(expected_error), std::string::npos) << run->error;
    SyncStatus status = client->status();
    EXPECT_EQ(status.state, SyncState::kError);
    EXPECT_FALSE(status.last_error.empty());
    EXPECT_TRUE(status.next_retry_at.has_value());
    ASSERT_TRUE(client->Put("docs", "extra" + std::to_string(static_cast<int>(fault)), 1).ok());
  }
  SyncUntilComplete(*client);
  EXPECT_EQ(client->status().pending, 0u);
  EXPECT_EQ(client->status().state, SyncState::kIdle);
  ServerView view = ReadServer(server.port());
  EXPECT_EQ(view.documents.size(), 104u);
  EXPECT_EQ(view.head, 104u);  // the lost answer's batch was re-sent and deduplicated
  auto history = client->History(10);
  ASSERT_TRUE(history.ok());
  EXPECT_GE(history->size(), 5u);
}

TEST(SyncEndToEnd, RetriesHappenWithoutANewWriteOrCall) {
  ServerProcess server;
  FaultProxy proxy(server.port());
  TempDir dir;
  auto client = OpenClient(TestClientOptions(proxy.endpoint(), dir.File("a.db")));
  ASSERT_TRUE(client->Put("docs", "only", 1).ok());
  proxy.Inject(FaultProxy::Fault::kServerError, 3);
  std::promise<SyncRunRecord> completed;
  std::atomic<bool> done{false};
  client->AddEventListener([&](const Event& event) {
    if (auto* run = std::get_if<SyncCompletedEvent>(&event); run && !done.exchange(true))
      completed.set_value(run->run);
  });
  auto first = client->SyncNow();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->outcome, RunOutcome::kFailed);
  auto future = completed.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(future.get().reason, TriggerReason::kRetry);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 1u);
}

TEST(SyncEndToEnd, OversizedMutationIsDeadLetteredAndCanBeRetriedOrDiscarded) {
  ServerProcess server("token-alice alice\n", {"--max-body-bytes", "4096"});
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  ASSERT_TRUE(client->Put("docs", "small", 1).ok());
  ASSERT_TRUE(client->Put("docs", "huge", Json{{"blob", std::string(10'000, 'x')}}).ok());
  ASSERT_TRUE(client->Put("docs", "after", 2).ok());
  auto run = SyncUntilComplete(*client).back();
  EXPECT_EQ(run.rejected, 1u);
  EXPECT_EQ(client->status().failed, 1u);
  auto failed = client->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().mutation.document.key, "huge");
  EXPECT_NE(failed->front().error.find("413"), std::string::npos) << failed->front().error;
  ServerView view = ReadServer(server.port());
  EXPECT_EQ(view.documents.size(), 2u);  // the queue behind it was not blocked

  auto retried = client->RetryFailedMutation(failed->front().mutation.seq);
  ASSERT_TRUE(retried.ok());
  SyncUntilComplete(*client);
  auto again = client->FailedMutations();
  ASSERT_TRUE(again.ok() && again->size() == 1u);
  ASSERT_TRUE(client->DiscardFailedMutation(again->front().mutation.seq).ok());
  EXPECT_EQ(client->status().failed, 0u);
  EXPECT_EQ(client->status().pending, 0u);
}

TEST(SyncEndToEnd, ExpiredTokenIsRefreshedOnceAndTheSyncCompletes) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  // The app's cached token has expired; asked to refresh, it fetches a new one.
  std::atomic<int> asked{0}, refreshes{0};
  options.token_provider = [&](bool refresh) -> std::string {
    ++asked;
    if (!refresh) return "expired-token-123";
    ++refreshes;
    return "token-alice";
  };
  std::vector<std::string> log;
  std::mutex log_mutex;
  options.log = [&](LogLevel, const std::string& line) {
    std::lock_guard lock(log_mutex);
    log.push_back(line);
  };
  auto client = OpenClient(std::move(options));
  ASSERT_TRUE(client->Put("docs", "a", 1).ok());
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kCompleted) << run->error;
  EXPECT_EQ(client->status().pending, 0u);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 1u);
  EXPECT_EQ(refreshes.load(), 2);  // the push and the pull were each refused once
  EXPECT_EQ(asked.load(), 4);
  client.reset();
  for (const std::string& line : log) {
    EXPECT_EQ(line.find("expired-token-123"), std::string::npos) << line;
    EXPECT_EQ(line.find("token-alice"), std::string::npos) << line;
  }
}

TEST(SyncEndToEnd, TokenRefusedAfterARefreshIsAnAuthErrorThatKeepsEveryWrite) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  std::atomic<bool> signed_in{false};
  options.token_provider = [&](bool) { return signed_in ? "token-alice" : "not-a-token"; };
  auto client = OpenClient(std::move(options));
  ASSERT_TRUE(client->Put("docs", "a", 1).ok());
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kFailed);
  EXPECT_NE(run->error.find("refused the credentials even after a token refresh"),
            std::string::npos)
      << run->error;
  EXPECT_EQ(run->error.find("not-a-token"), std::string::npos) << run->error;
  SyncStatus status = client->status();
  EXPECT_EQ(status.state, SyncState::kAuthError);
  EXPECT_EQ(status.pending, 1u);
  EXPECT_FALSE(status.next_retry_at.has_value());  // no retry loop against a refused token

  signed_in = true;  // the user signs in again
  run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kCompleted) << run->error;
  EXPECT_EQ(client->status().state, SyncState::kIdle);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 1u);
}

TEST(SyncEndToEnd, LargePushBodiesTravelGzipCompressed) {
  ServerProcess server;
  FaultProxy proxy(server.port());
  TempDir dir;
  auto client = OpenClient(TestClientOptions(proxy.endpoint(), dir.File("a.db")));
  ASSERT_TRUE(client->Put("docs", "small", 1).ok());
  ASSERT_TRUE(client->SyncNow().ok());  // a body under 1 KB goes plain
  std::vector<LocalWrite> writes;
  for (int i = 0; i < 200; ++i)
    writes.push_back(
        {MutationOp::kPut,
         {"docs", "d" + std::to_string(i)},
         Json{{"title", "note " + std::to_string(i)}, {"body", std::string(100, 'x')}}});
  ASSERT_TRUE(client->Write(std::move(writes)).ok());
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kCompleted) << run->error;
  EXPECT_EQ(proxy.post_encodings(), (std::vector<std::string>{"", "gzip"}));
  ServerView view = ReadServer(server.port());
  EXPECT_EQ(view.documents.size(), 201u);
  EXPECT_EQ(view.documents.at({"docs", "d199"}).state.value.at("title"), "note 199");
}

TEST(SyncEndToEnd, LiveUpdatesBringAnotherClientsWriteWithoutAnySyncCall) {
  ServerProcess server;
  TempDir dir;
  auto a = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  ClientOptions listening = TestClientOptions(server.endpoint(), dir.File("b.db"));
  listening.engine.live_updates =
      true;  // no interval, no local writes: only the stream can wake it
  listening.engine.live_retry_max_ms = 300;
  auto b = OpenClient(std::move(listening));
  for (int i = 0; i < 3; ++i) {
    const std::string key = "live" + std::to_string(i);
    RemoteChangeWatch watch(*b, key);
    ASSERT_TRUE(a->Put("docs", key, i).ok());
    ASSERT_TRUE(a->SyncNow().ok());
    ASSERT_TRUE(watch.Wait(std::chrono::seconds(10))) << key;
    EXPECT_EQ(*b->Get("docs", key), std::optional<Json>(i));
  }

  // The server goes away and comes back: the stream reconnects by itself.
  server.Stop();
  server.Start();
  RemoteChangeWatch watch(*b, "after-restart");
  ASSERT_TRUE(a->Put("docs", "after-restart", 1).ok());
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_TRUE(watch.Wait(std::chrono::seconds(10)));
}

// Every byte of a file, for searching.
std::string FileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

TEST(SyncEndToEnd, TokensNeverAppearInLogsStoredFilesErrorsOrEvents) {
  const std::string good = "secret-token-4242", bad = "secret-wrong-777";
  ServerProcess server(good + " alice\n");
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"), good);
  std::atomic<bool> use_bad{false};
  options.token_provider = [&](bool) { return use_bad ? bad : good; };
  std::vector<std::string> seen;  // log lines and every event's text
  std::mutex seen_mutex;
  options.log = [&](LogLevel, const std::string& line) {
    std::lock_guard lock(seen_mutex);
    seen.push_back(line);
  };
  auto client = OpenClient(std::move(options));
  client->AddEventListener([&](const Event& event) {
    std::string text;
    if (auto* failed = std::get_if<SyncFailedEvent>(&event)) text = failed->run.error;
    if (auto* status = std::get_if<StatusChangedEvent>(&event)) text = status->status.last_error;
    if (auto* completed = std::get_if<SyncCompletedEvent>(&event)) text = completed->run.error;
    std::lock_guard lock(seen_mutex);
    seen.push_back(text);
  });
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(client->Put("docs", "d" + std::to_string(i), Json{{"i", i}}).ok());
  ASSERT_EQ(client->SyncNow()->outcome, RunOutcome::kCompleted);
  use_bad = true;  // refused twice: an auth error with a message
  ASSERT_TRUE(client->Put("docs", "later", 1).ok());
  auto refused = client->SyncNow();
  ASSERT_EQ(refused->outcome, RunOutcome::kFailed);
  auto history = client->History(10);
  ASSERT_TRUE(history.ok());
  const std::string last_error = client->status().last_error;
  client.reset();  // closes the store (everything it persisted is on disk), stops listeners
  std::lock_guard lock(seen_mutex);
  seen.push_back(refused->error);
  seen.push_back(last_error);
  for (const SyncRunRecord& run : *history)
    seen.push_back(run.error);
  ASSERT_GT(seen.size(), 5u);
  for (const std::string& text : seen) {
    EXPECT_EQ(text.find(good), std::string::npos) << text;
    EXPECT_EQ(text.find(bad), std::string::npos) << text;
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string bytes = FileBytes(entry.path());
    EXPECT_EQ(bytes.find(good), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find(bad), std::string::npos) << entry.path();
    ++files;
  }
  EXPECT_GT(files, 0);
}

TEST(SyncEndToEnd, TlsIsVerifiedByDefault) {
  TempDir dir;
  const TestCertificates tls = MakeCertificates(dir);
  ServerProcess server("token-alice alice\n",
                       {"--tls-cert", tls.certificate, "--tls-key", tls.key});
  ASSERT_EQ(server.endpoint().rfind("https://127.0.0.1:", 0), 0u) << server.endpoint();

  // The CA that signed the server's certificate: accepted.
  ClientOptions trusting = TestClientOptions(server.endpoint(), dir.File("trusting.db"));
  trusting.transport.ca_bundle_path = tls.ca;
  auto client = OpenClient(trusting);
  ASSERT_TRUE(client->Put("docs", "over-tls", 1).ok());
  const auto runs = SyncUntilComplete(*client, std::chrono::seconds(10));
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs.back().outcome, RunOutcome::kCompleted);
  EXPECT_EQ(runs.size(), 1u);

  // The system's CA store (the default), another CA, or the right CA with a
  // host name the certificate does not name: refused, and the write is kept.
  struct Refusal {
    std::string name, ca, endpoint;
  };
  const std::string localhost = "https://localhost:" + std::to_string(server.port());
  const Refusal refusals[] = {{"default CA store", "", server.endpoint()},
                              {"another CA", tls.other_ca, server.endpoint()},
                              {"wrong host name", tls.ca, localhost}};
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.name);
    ClientOptions options = TestClientOptions(refusal.endpoint, dir.File(refusal.name + ".db"));
    options.transport.ca_bundle_path = refusal.ca;
    // A retry drawn from [0, 50 ms] could change the state before it is
    // read below; a long cap keeps the failed run's state in view.
    options.engine.backoff_base_ms = 60'000;
    options.engine.backoff_max_ms = 60'000;
    auto refused = OpenClient(options);
    ASSERT_TRUE(refused->Put("docs", "refused", 1).ok());
    auto run = refused->SyncNow();
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->outcome, RunOutcome::kFailed);
    EXPECT_TRUE(run->error.find("certificate") != std::string::npos ||
                run->error.find("SSL") != std::string::npos)
        << run->error;
    EXPECT_EQ(refused->status().pending, 1u);
    // The server was reached: an error to fix, not "offline".
    EXPECT_EQ(refused->status().state, SyncState::kError);
  }
  // Only the trusting client's write reached the server.
  HttpClient https("127.0.0.1", server.port());
  https.set_tls_ca(tls.ca);
  auto pulled = https.Get("/v1/pull", {{"Authorization", "Bearer token-alice"}});
  ASSERT_TRUE(pulled);
  EXPECT_EQ(pulled->status, 200);
  EXPECT_NE(pulled->body.find("over-tls"), std::string::npos);
  EXPECT_EQ(pulled->body.find("\"refused\""), std::string::npos);
}

TEST(SyncEndToEnd, UnreachableServerIsReportedOfflineAndRetried) {
  TempDir dir;
  // Nothing listens on this port: connections are refused at once.
  ClientOptions options = TestClientOptions("http://127.0.0.1:9", dir.File("a.db"));
  // A retry far off: with the tests' 50 ms it could start before status()
  // below on a loaded machine, and the status would say syncing.
  options.engine.backoff_base_ms = options.engine.backoff_max_ms = 600'000;
  auto client = OpenClient(std::move(options));
  ASSERT_TRUE(client->Put("docs", "a", 1).ok());
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kFailed);
  EXPECT_NE(run->error.find("network error"), std::string::npos) << run->error;
  SyncStatus status = client->status();
  EXPECT_EQ(status.state, SyncState::kOffline);
  EXPECT_TRUE(status.next_retry_at.has_value());
  EXPECT_EQ(status.pending, 1u);
}

TEST(Client, CancelStopsAnInFlightSyncAndKeepsEveryWrite) {
  ServerProcess server;
  FaultProxy proxy(server.port());
  TempDir dir;
  auto client = OpenClient(TestClientOptions(proxy.endpoint(), dir.File("a.db")));
  ASSERT_TRUE(client->Put("docs", "a", 1).ok());
  proxy.Inject(FaultProxy::Fault::kHang);
  auto sync = std::async(std::launch::async, [&] { return client->SyncNow(); });
  while (proxy.requests() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto cancelled_at = std::chrono::steady_clock::now();
  client->Cancel();
  auto run = sync.get();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, std::chrono::seconds(2));
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kCancelled);
  EXPECT_EQ(client->status().pending, 1u);
  EXPECT_FALSE(client->status().next_retry_at.has_value());
  SyncUntilComplete(*client);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 1u);
}

TEST(Client, BackgroundSyncRunsOnItsIntervalWithoutCalls) {
  ServerProcess server;
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  ASSERT_TRUE(client->Put("docs", "a", 1).ok());
  std::promise<TriggerReason> started;
  std::atomic<bool> seen{false};
  client->AddEventListener([&](const Event& event) {
    if (auto* run = std::get_if<SyncStartedEvent>(&event); run && !seen.exchange(true))
      started.set_value(run->reason);
  });
  client->StartBackgroundSync(200);
  auto future = started.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get(), TriggerReason::kInterval);
  for (int i = 0; i < 100 && client->status().pending > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(client->status().pending, 0u);
  client->StopBackgroundSync();
}

TEST(Client, ConcurrentCallersFromManyThreadsLoseNothing) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  options.engine.sync_on_local_write = true;  // syncs run while the threads write
  options.engine.local_write_debounce_ms = 5;
  auto client = OpenClient(options);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&client, t] {
      for (int i = 0; i < 250; ++i) {
        EXPECT_TRUE(client->Put("docs", "t" + std::to_string(t) + "-" + std::to_string(i), i).ok());
        if (i % 50 == 0) (void)client->status();
      }
    });
  }
  for (auto& writer : writers)
    writer.join();
  SyncUntilComplete(*client);
  EXPECT_EQ(client->status().pending, 0u);
  ServerView view = ReadServer(server.port());
  EXPECT_EQ(view.documents.size(), 1000u);
  EXPECT_EQ(view.head, 1000u);
}

TEST(Client, SubscribersSeeLocalAndRemoteChanges) {
  ServerProcess server;
  TempDir dir;
  auto a = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  auto b = OpenClient(TestClientOptions(server.endpoint(), dir.File("b.db")));
  std::mutex mutex;
  std::vector<std::pair<std::string, bool>> seen;
  b->Subscribe([&](const DocumentsChangedEvent& event) {
    std::lock_guard lock(mutex);
    for (const auto& id : event.documents)
      seen.emplace_back(id.key, event.remote);
  });
  ASSERT_TRUE(b->Put("docs", "mine", 1).ok());
  ASSERT_TRUE(a->Put("docs", "theirs", 2).ok());
  SyncUntilComplete(*a);
  SyncUntilComplete(*b);
  std::lock_guard lock(mutex);
  EXPECT_NE(std::find(seen.begin(), seen.end(), std::make_pair(std::string("mine"), false)),
            seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), std::make_pair(std::string("theirs"), true)),
            seen.end());
}

TEST(Client, WritesAreDurableWhenTheCallReturns) {
  ServerProcess server;
  TempDir dir;
  const std::string path = dir.File("a.db");
  std::string client_id;
  {
    auto client = OpenClient(TestClientOptions(server.endpoint(), path));
    client_id = client->client_id();
    ASSERT_TRUE(client->Put("docs", "a", Json{{"v", 1}}).ok());
    ASSERT_TRUE(client->Patch("docs", "a", Json{{"w", 2}}).ok());
    ASSERT_TRUE(client->Put("docs", "b", 3).ok());
    ASSERT_TRUE(client->Remove("docs", "b").ok());
  }
  auto reopened = OpenClient(TestClientOptions(server.endpoint(), path));
  EXPECT_EQ(reopened->client_id(), client_id);
  auto a = reopened->Get("docs", "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (Json{{"v", 1}, {"w", 2}}));
  auto b = reopened->Get("docs", "b");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
}

TEST(Client, DeleteLocalDataSignsOut) {
  ServerProcess server;
  TempDir dir;
  const std::string path = dir.File("a.db");
  std::string first_id;
  {
    auto client = OpenClient(TestClientOptions(server.endpoint(), path));
    first_id = client->client_id();
    ASSERT_TRUE(client->Put("docs", "secret", 1).ok());
  }
  ASSERT_TRUE(Client::DeleteLocalData(path).ok());
  auto fresh = OpenClient(TestClientOptions(server.endpoint(), path));
  auto secret = fresh->Get("docs", "secret");
  ASSERT_TRUE(secret.ok());
  EXPECT_FALSE(secret->has_value());
  EXPECT_EQ(fresh->status().pending, 0u);
  EXPECT_NE(fresh->client_id(), first_id);
}

// Two clients on one store would hand out the same client id and seqs, and
// the server would drop one's writes as duplicates (issue 12).
TEST(Client, SecondClientOnOneStoreFailsClearlyAndTheFirstKeepsWorking) {
  TempDir dir;
  const std::string path = dir.File("a.db");
  auto first = OpenClient(TestClientOptions("http://127.0.0.1:9", path));
  ASSERT_TRUE(first->Put("docs", "a", 1).ok());
  auto second = Client::Open(TestClientOptions("http://127.0.0.1:9", path));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kBusy);
  EXPECT_NE(second.status().message().find("in use by another client"), std::string::npos)
      << second.status().message();
  EXPECT_EQ(Client::DeleteLocalData(path).code(), ErrorCode::kBusy);
  ASSERT_TRUE(first->Put("docs", "b", 2).ok());
  EXPECT_EQ(first->status().pending, 2u);
}

// A damaged store file is the app's data: Ferry reports it and never
// "repairs" it by starting over, which would drop the unsynced writes in it.
TEST(Client, DamagedStoreFileIsAClearErrorAndIsLeftAsItWas) {
  TempDir dir;
  const auto read_file = [](const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  const std::string garbage = dir.File("garbage.db");
  std::ofstream(garbage, std::ios::binary) << std::string(8192, 'x');
  auto opened = Client::Open(TestClientOptions("http://127.0.0.1:9", garbage));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kCorruption) << opened.status().ToString();
  EXPECT_EQ(read_file(garbage), std::string(8192, 'x'));

  // A real store cut in half: an error at open or from the first read that
  // meets the missing pages; never a crash, and the file stays as it is.
  const std::string cut = dir.File("cut.db");
  {
    auto client = OpenClient(TestClientOptions("http://127.0.0.1:9", cut));
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(client->Put("notes", "n" + std::to_string(i), std::string(100, 'n')).ok());
  }
  std::filesystem::remove(cut + "-wal");  // as a copy that missed the WAL would be
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  const std::string damaged = read_file(cut);
  {
    auto reopened = Client::Open(TestClientOptions("http://127.0.0.1:9", cut));
    if (reopened.ok()) {
      auto scan = (*reopened)->Scan("notes");
      ASSERT_FALSE(scan.ok()) << "read " << scan->size() << " notes from half a file";
      EXPECT_EQ(scan.status().code(), ErrorCode::kCorruption) << scan.status().ToString();
    } else {
      EXPECT_EQ(reopened.status().code(), ErrorCode::kCorruption);
    }
  }
  EXPECT_EQ(read_file(cut), damaged);
}

TEST(Client, InvalidArgumentsAreErrorsNotCrashes) {
  ServerProcess server;
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  EXPECT_EQ(client->Put("", "k", 1).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->Put("c", std::string("a\0b", 3), 1).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->Patch("c", "k", Json::array()).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->Put("c", "k", Json()).code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Client::Open(TestClientOptions("", dir.File("b.db"))).ok());
  EXPECT_FALSE(Client::Open(TestClientOptions(server.endpoint(), "/nonexistent/dir/x.db")).ok());
}

}  // namespace
}  // namespace ferry::testing
