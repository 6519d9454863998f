// EngineHost: what every runtime gets from the one shared host layer.
#include "ferry/engine_host.h"

#include <gtest/gtest.h>

#include "ferry/store_memory.h"

namespace ferry {
namespace {

constexpr TimeMs kStart = 1'700'000'000'000;

class EngineHostTest : public ::testing::Test {
 protected:
  // Syncs only when asked, so each test sees just the requests it makes.
  static EngineOptions Manual() {
    EngineOptions options;
    options.sync_on_local_write = false;
    return options;
  }

  // A fresh store, engine and host; live updates off unless `live`.
  EngineHost& Open(HostOptions host = {}, EngineOptions engine = Manual(), bool live = false) {
    engine.random_seed = 5;
    engine.live_updates = live;
    if (host.endpoint.empty()) host.endpoint = "https://sync.example.com//";
    host.log = [this](LogLevel, const std::string& line) { log_.push_back(line); };
    host_.reset();
    store_ = std::make_unique<MemoryStore>();
    auto opened = SyncEngine::Open(*store_, engine, now_);
    EXPECT_TRUE(opened.ok());
    host_ = std::make_unique<EngineHost>(std::move(*opened), std::move(host), now_);
    return *host_;
  }

  template <typename T>
  std::vector<T> Take() {
    std::vector<T> found;
    for (HostTask& task : host_->TakeTasks()) {
      if (auto* delivery = std::get_if<Delivery>(&task)) EngineHost::Deliver(*delivery);
      if (auto* typed = std::get_if<T>(&task)) found.push_back(std::move(*typed));
    }
    return found;
  }

  static HostOptions WithTokens() {
    HostOptions options;
    options.has_token_provider = true;
    return options;
  }

  static std::optional<std::string> Header(const OutgoingRequest& request, std::string_view name) {
    for (const auto& [header, value] : request.headers) {
      if (header == name) return value;
    }
    return std::nullopt;
  }

  Instant now_{1'000, kStart};
  std::unique_ptr<MemoryStore> store_;
  std::unique_ptr<EngineHost> host_;
  std::vector<std::string> log_;
};

TEST_F(EngineHostTest, RequestsCarryTheProtocolHeadersAndANormalisedUrl) {
  EngineHost& host = Open();
  host.RequestSync(TriggerReason::kManual, now_, nullptr);
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), 1u);
  const OutgoingRequest& push = started[0].request;
  EXPECT_EQ(push.url, "https://sync.example.com/v1/pull?limit=1000");
  EXPECT_EQ(Header(push, "Accept"), "application/json");
  EXPECT_EQ(Header(push, "Ferry-Protocol"), "1");
  EXPECT_FALSE(Header(push, "Authorization")) << "no token provider, no Authorization";
  EXPECT_FALSE(Header(push, "Content-Type")) << "a GET has no body";
  EXPECT_EQ(push.timeout_ms, 30'000);
  EXPECT_FALSE(push.stream);
}

TEST_F(EngineHostTest, ARequestWaitsForItsTokenWhichGoesIntoAuthorization) {
  EngineHost& host = Open(WithTokens());
  ASSERT_TRUE(host.engine().HandleLocalWrite(MutationOp::kPut, {"n", "a"}, 1, now_).ok());
  host.RequestSync(TriggerReason::kManual, now_, nullptr);
  auto need = Take<NeedToken>();
  ASSERT_EQ(need.size(), 1u);
  EXPECT_FALSE(need[0].refresh);
  host.HandleToken(need[0].id + 1000, "stray", now_);  // unknown ids are ignored
  host.HandleToken(need[0].id, "secret-token", now_);
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(Header(started[0].request, "Authorization"), "Bearer secret-token");
  EXPECT_EQ(Header(started[0].request, "Content-Type"), "application/json");
  EXPECT_EQ(started[0].request.method, "POST");
  for (const std::string& line : log_)
    EXPECT_EQ(line.find("secret-token"), std::string::npos) << line;
}

TEST_F(EngineHostTest, RefusedTokenIsFetchedAfreshThenAFailingProviderIsAnAuthError) {
  EngineHost& host = Open(WithTokens());
  host.RequestSync(TriggerReason::kManual, now_, nullptr);
  auto need = Take<NeedToken>();
  ASSERT_EQ(need.size(), 1u);
  host.HandleToken(need[0].id, "expired", now_);
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), 1u);
  host.HandleTransferDone(started[0].request.id, {401, "", "", ""}, now_);
  need = Take<NeedToken>();
  ASSERT_EQ(need.size(), 1u);
  EXPECT_TRUE(need[0].refresh) << "after a 401 the provider is asked for a fresh token";
  host.HandleTokenFailure(need[0].id, "keychain locked", now_);
  (void)Take<Delivery>();
  EXPECT_EQ(host.engine().status().state, SyncState::kAuthError);
  EXPECT_NE(host.engine().status().last_error.find("keychain locked"), std::string::npos);
}

TEST_F(EngineHostTest, ATokenWithAControlCharacterNeverBecomesAHeaderAndIsAnAuthError) {
  const std::vector<std::string> tokens = {"abc\r\nX-Injected: 1", std::string("abc\0def", 7),
                                           "tab\there", "del\x7f"};
  for (const std::string& token : tokens) {
    EngineHost& host = Open(WithTokens());
    ASSERT_TRUE(host.engine().HandleLocalWrite(MutationOp::kPut, {"n", "a"}, 1, now_).ok());
    host.RequestSync(TriggerReason::kManual, now_, nullptr);
    for (int attempt = 0; attempt < 2; ++attempt) {  // the first token, then a refreshed one
      auto need = Take<NeedToken>();
      ASSERT_EQ(need.size(), 1u) << "attempt " << attempt;
      EXPECT_EQ(need[0].refresh, attempt == 1);
      host.HandleToken(need[0].id, token, now_);
    }
    EXPECT_TRUE(Take<StartTransfer>().empty()) << "nothing is sent with such a token";
    EXPECT_EQ(host.engine().status().state, SyncState::kAuthError);
    EXPECT_EQ(host.engine().status().pending, 1u) << "the write is kept";
    EXPECT_NE(host.engine().status().last_error.find("control character"), std::string::npos)
        << host.engine().status().last_error;
    EXPECT_EQ(host.engine().status().last_error.find(token), std::string::npos);
    for (const std::string& line : log_)
      EXPECT_EQ(line.find(token), std::string::npos) << "the token is never logged";
  }
}

TEST_F(EngineHostTest, CustomHeadersGoWithEveryRequestTheLiveStreamIncluded) {
  HostOptions options = WithTokens();
  options.headers = {{"X-API-Key", "key-secret-1"}, {"X-Tenant", "blue"}};
  EngineHost& host = Open(options, Manual(), /*live=*/true);
  ASSERT_TRUE(host.engine().HandleLocalWrite(MutationOp::kPut, {"n", "a"}, 1, now_).ok());
  host.engine().HandleOnline(true, now_);
  host.RequestSync(TriggerReason::kManual, now_, nullptr);
  auto need = Take<NeedToken>();
  ASSERT_FALSE(need.empty());
  for (const NeedToken& token : need)
    host.HandleToken(token.id, "bearer-secret", now_);
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), need.size());
  bool saw_stream = false;
  for (const StartTransfer& transfer : started) {
    const OutgoingRequest& request = transfer.request;
    saw_stream = saw_stream || request.stream;
    EXPECT_EQ(Header(request, "X-API-Key"), "key-secret-1") << request.url;
    EXPECT_EQ(Header(request, "X-Tenant"), "blue") << request.url;
    EXPECT_EQ(Header(request, "Authorization"), "Bearer bearer-secret") << "beside the token";
  }
  EXPECT_TRUE(saw_stream) << "the live stream was opened and carries them too";
  for (const std::string& line : log_)
    EXPECT_EQ(line.find("key-secret-1"), std::string::npos) << "never logged: " << line;
}

TEST_F(EngineHostTest, AnAuthorizationOfTheAppsOwnReplacesTheBearerToken) {
  HostOptions options;
  options.headers = {{"Authorization", "ApiKey abc"}};
  ASSERT_TRUE(CheckCustomHeaders(options.headers, /*has_token_provider=*/false).ok());
  EngineHost& host = Open(options);
  host.RequestSync(TriggerReason::kManual, now_, nullptr);
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(Header(started[0].request, "Authorization"), "ApiKey abc");
}

TEST(CustomHeaders, HeadersFerryOwnsBadNamesAndBadValuesAreRefusedWithoutTheValue) {
  const std::vector<RequestHeaders> refused = {
      {{"Accept", "x"}},
      {{"ferry-protocol", "2"}},
      {{"CONTENT-TYPE", "text/plain"}},
      {{"Content-Encoding", "br"}},
      {{"Content-Length", "1"}},
      {{"Host", "evil.example.com"}},
      {{"", "x"}},
      {{"X Key", "x"}},
      {{"X-Key:", "x"}},
      {{"X-Key", "secret-value\r\nX-Injected: 1"}},
      {{"X-Key", "secret-value\nmore"}},
      {{"X-Key", std::string("secret-value\0", 13)}},
      {{"X-Key", "a"}, {"x-key", "b"}},
  };
  for (const RequestHeaders& headers : refused) {
    const Status status = CheckCustomHeaders(headers, /*has_token_provider=*/false);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << headers[0].first;
    EXPECT_EQ(status.message().find("secret-value"), std::string::npos) << status.message();
  }
  const Status authorization = CheckCustomHeaders({{"authorization", "Basic x"}}, true);
  EXPECT_EQ(authorization.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(authorization.message().find("token provider"), std::string::npos);
  EXPECT_TRUE(
      CheckCustomHeaders({{"X-API-Key", "a\tb"}, {"Authorization", "Basic x"}}, false).ok());
  EXPECT_TRUE(CheckCustomHeaders({{"X-API-Key", "k"}}, true).ok());
  EXPECT_TRUE(CheckCustomHeaders({}, true).ok());
}

TEST_F(EngineHostTest, APlainHttpEndpointToAHostNotLoopbackIsWarnedOfOnce) {
  const auto warnings = [this](const std::string& endpoint) {
    log_.clear();
    HostOptions options;
    options.endpoint = endpoint;
    EngineHost& host = Open(options);
    (void)Take<Delivery>();
    host.RequestSync(TriggerReason::kManual, now_, nullptr);
    (void)Take<Delivery>();
    return std::count_if(log_.begin(), log_.end(), [](const std::string& line) {
      return line.find("plain http://") != std::string::npos;
    });
  };
  EXPECT_EQ(warnings("http://sync.example.com"), 1);
  EXPECT_EQ(warnings("HTTP://10.0.0.5:8080/app"), 1);
  EXPECT_EQ(warnings("http://[2001:db8::1]:80"), 1);
  EXPECT_EQ(warnings("http://localhost.example.com"), 1);
  EXPECT_EQ(warnings("http://127.0.0.1.example.com"), 1);
  EXPECT_EQ(warnings("https://sync.example.com"), 0);
  EXPECT_EQ(warnings("http://127.0.0.1:8080"), 0);
  EXPECT_EQ(warnings("http://localhost:8080/app"), 0);
  EXPECT_EQ(warnings("http://app.localhost"), 0);
  EXPECT_EQ(warnings("http://[::1]:8080"), 0);
  EXPECT_EQ(warnings("http://user:secret@sync.example.com"), 1);
  for (const std::string& line : log_)
    EXPECT_EQ(line.find("secret"), std::string::npos)
        << "a password in the URL is not logged: " << line;
  // What hosts that print it themselves ask for is the line logged.
  EXPECT_EQ(std::count(log_.begin(), log_.end(),
                       CleartextEndpointWarning("http://user:secret@sync.example.com").value()),
            1);
  EXPECT_EQ(CleartextEndpointWarning("http://localhost:8080"), std::nullopt);
}

TEST_F(EngineHostTest, BodiesAboveTheThresholdAreMarkedForGzipOnlyWhereTheRuntimeCanGzip) {
  for (bool can_gzip : {true, false}) {
    HostOptions options;
    options.gzip_above_bytes = 100;
    options.can_gzip = can_gzip;
    EngineHost& host = Open(options);
    std::vector<LocalWrite> writes;
    for (int i = 0; i < 20; ++i)
      writes.push_back({MutationOp::kPut, {"n", "k" + std::to_string(i)}, Json("0123456789")});
    ASSERT_TRUE(host.engine().HandleLocalWrites(writes, now_).ok());
    host.RequestSync(TriggerReason::kManual, now_, nullptr);
    auto started = Take<StartTransfer>();
    ASSERT_EQ(started.size(), 1u);
    OutgoingRequest& push = started[0].request;
    EXPECT_EQ(push.gzip_body, can_gzip);
    EXPECT_EQ(Header(push, "Content-Encoding").has_value(), can_gzip);
    push.SendUncompressed();
    EXPECT_FALSE(push.gzip_body);
    EXPECT_FALSE(Header(push, "Content-Encoding"));
  }
}

TEST_F(EngineHostTest, WaitersHearOfTheRunThatCoversThemAndOfTheClose) {
  EngineHost& host = Open();
  std::vector<Result<SyncRunRecord>> results;
  host.RequestSync(TriggerReason::kManual, now_,
                   [&](const Result<SyncRunRecord>& run) { results.push_back(run); });
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), 1u);
  host.HandleTransferDone(started[0].request.id, {503, "busy", "", ""}, now_);
  (void)Take<Delivery>();
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->outcome, RunOutcome::kFailed);

  host.RequestSync(TriggerReason::kManual, now_,
                   [&](const Result<SyncRunRecord>& run) { results.push_back(run); });
  for (HostTask& task : host.Close(now_)) {
    if (auto* delivery = std::get_if<Delivery>(&task)) EngineHost::Deliver(*delivery);
  }
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[1].ok()) << "a close is a cancelled run, never an error";
  EXPECT_EQ(results[1]->outcome, RunOutcome::kCancelled);
}

TEST_F(EngineHostTest, AWaiterWhoseRunNeverStartedHearsOfACancelledRunAtTheClose) {
  EngineHost& host = Open();
  std::vector<Result<SyncRunRecord>> results;
  const auto record = [&](const Result<SyncRunRecord>& run) { results.push_back(run); };
  const RunTicket running = host.RequestSync(TriggerReason::kManual, now_, record);
  ASSERT_EQ(Take<StartTransfer>().size(), 1u);  // in flight, unanswered
  // A write after the run started needs the next run: this waiter's.
  ASSERT_TRUE(host.engine().HandleLocalWrite(MutationOp::kPut, {"n", "a"}, 1, now_).ok());
  const RunTicket queued = host.RequestSync(TriggerReason::kPoke, now_, record);
  ASSERT_GT(queued, running);
  for (HostTask& task : host.Close(now_)) {
    if (auto* delivery = std::get_if<Delivery>(&task)) EngineHost::Deliver(*delivery);
  }
  ASSERT_EQ(results.size(), 2u);
  for (const auto& run : results) {
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_EQ(run->outcome, RunOutcome::kCancelled);
  }
  EXPECT_EQ(results[0]->run_id, running);
  EXPECT_EQ(results[1]->run_id, queued);
  EXPECT_EQ(results[1]->reason, TriggerReason::kPoke);
  EXPECT_EQ(results[1]->pushed, 0u);
  EXPECT_NE(results[1]->error.find("closed before this sync started"), std::string::npos);
}

TEST_F(EngineHostTest, ListenersThatThrowAreLoggedAndTheOthersStillHear) {
  EngineHost& host = Open();
  int heard = 0;
  host.AddListener([](const Event&) { throw std::runtime_error("bad listener"); });
  const ListenerId second = host.AddListener([&](const Event&) { ++heard; });
  ASSERT_TRUE(host.engine().HandleLocalWrite(MutationOp::kPut, {"n", "a"}, 1, now_).ok());
  (void)Take<Delivery>();
  EXPECT_GT(heard, 0);
  EXPECT_NE(
      std::find(log_.begin(), log_.end(), "an event listener threw; the exception was dropped"),
      log_.end());
  host.RemoveListener(second);
  const int before = heard;
  ASSERT_TRUE(host.engine().HandleLocalWrite(MutationOp::kPut, {"n", "b"}, 2, now_).ok());
  (void)Take<Delivery>();
  EXPECT_EQ(heard, before);
}

TEST_F(EngineHostTest, AppStartSyncsOnlyWhenTheEngineSyncsOnItsOwn) {
  EngineOptions manual;
  manual.sync_on_local_write = false;
  Open({}, manual);
  EXPECT_TRUE(Take<StartTransfer>().empty());
  Open({}, EngineOptions{});
  EXPECT_EQ(Take<StartTransfer>().size(), 1u) << "the app-start sync";
}

TEST_F(EngineHostTest, TheLiveStreamAsksForAnEventStreamAndItsEndGoesToTheEngine) {
  EngineOptions engine;
  engine.sync_on_local_write = false;
  HostOptions options;
  options.endpoint = "http://h";
  Open(options, engine, /*live=*/true);
  auto started = Take<StartTransfer>();
  ASSERT_EQ(started.size(), 1u);
  const OutgoingRequest& live = started[0].request;
  EXPECT_TRUE(live.stream);
  EXPECT_EQ(live.url, "http://h/v1/live");
  EXPECT_EQ(Header(live, "Accept"), "text/event-stream");
  EXPECT_EQ(live.timeout_ms, 0);
  host_->HandleStreamData(live.id, "event: hello\n\n", now_);
  EXPECT_TRUE(host_->engine().live_connected());
  host_->HandleTransferDone(live.id, {0, "", "", "reset"}, now_);
  EXPECT_FALSE(host_->engine().live_connected());
  EXPECT_TRUE(host_->PollTimeout().has_value()) << "a reconnect is scheduled";
}

}  // namespace
}  // namespace ferry
