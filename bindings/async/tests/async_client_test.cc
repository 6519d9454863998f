// ferry::async::AsyncClient against a real ferry-server, with a thread that
// plays the JavaScript thread (one FIFO queue, as a Node thread-safe
// function or React Native's CallInvoker): call order, results after the
// events their call caused, the blocking token and resolver questions, and
// close. Also run under ThreadSanitizer (preset native-tsan).
#include "ferry/async_client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::async {
namespace {

using namespace std::chrono_literals;
using ferry::testing::ServerProcess;
using ferry::testing::TempDir;

// The stand-in for the JavaScript thread: runs what is queued, in order.
class JsThread {
 public:
  JsThread() : thread_([this] { Run(); }) {}
  ~JsThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_one();
    thread_.join();
  }

  Deliver deliver() {
    return [this](std::function<void()> work) { Post(std::move(work)); };
  }
  // Notifies while holding the lock: a poster on another thread (e.g.
  // DeleteLocalData's) must be done with the condition variable before the
  // work can run, since the test may end, and destroy this, as soon as it
  // has (TSan saw the signal race the destructor).
  void Post(std::function<void()> work) {
    std::lock_guard lock(mutex_);
    work_.push_back(std::move(work));
    queued_.notify_one();
  }
  // Runs `work` on this thread and waits for it.
  template <typename Work>
  auto Sync(Work work) -> decltype(work()) {
    std::packaged_task<decltype(work())()> task(std::move(work));
    auto result = task.get_future();
    Post([&task] { task(); });
    return result.get();
  }
  bool OnThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Run() {
    for (;;) {
      std::function<void()> work;
      {
        std::unique_lock lock(mutex_);
        queued_.wait(lock, [this] { return stopping_ || !work_.empty(); });
        if (work_.empty()) return;
        work = std::move(work_.front());
        work_.pop_front();
      }
      work();
    }
  }

  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::function<void()>> work_;
  bool stopping_ = false;
  std::thread thread_;
};

// What reached the JS thread, in order: "event <json>" and "<label> <code>".
class Journal {
 public:
  void Add(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  // Index of the first line containing `needle` at or after `from`; -1 if none.
  int Find(const std::string& needle, int from = 0) {
    std::lock_guard lock(mutex_);
    for (int i = from; i < static_cast<int>(lines_.size()); ++i) {
      if (lines_[i].find(needle) != std::string::npos) return i;
    }
    return -1;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class AsyncClientTest : public ::testing::Test {
 protected:
  ~AsyncClientTest() override {
    js_.Sync([this] {
      clients_.clear();  // destroyed on the JS thread, as hosts do
      return 0;
    });
  }

  // Opens a client on the JS thread; its events go to the journal.
  AsyncClient& Open(OpenOptions options, Callbacks callbacks = {}) {
    if (!callbacks.on_event)
      callbacks.on_event = [this](const std::string& json) {
        EXPECT_TRUE(js_.OnThread());
        journal_.Add("event " + json);
      };
    AsyncClient* client = js_.Sync([&] {
      clients_.push_back(std::make_unique<AsyncClient>(js_.deliver(), std::move(callbacks)));
      return clients_.back().get();
    });
    Result opened = Await([&](Completion done) { client->Open(options, done); });
    EXPECT_TRUE(opened.ok()) << opened.message;
    EXPECT_FALSE(opened.text.empty());
    return *client;
  }

  OpenOptions Options(const std::string& name, std::string endpoint = "") {
    OpenOptions options;
    options.path = directory_.File(name + ".db");
    options.endpoint = endpoint.empty() ? server_.endpoint() : endpoint;
    options.sync_on_local_write = false;
    options.live_updates = false;
    options.request_timeout_ms = 5000;
    return options;
  }

  // Makes a call on the JS thread and waits for its result (delivered on
  // the JS thread, and journaled there as "<label> <code>").
  Result Await(const std::function<void(Completion)>& call, const std::string& label = "done") {
    auto result = std::make_shared<std::promise<Result>>();
    js_.Post([&, result] {
      call([this, result, label](Result outcome) {
        EXPECT_TRUE(js_.OnThread());
        journal_.Add(label + " " + outcome.code_name());
        result->set_value(std::move(outcome));
      });
    });
    return result->get_future().get();
  }

  static Callbacks WithToken(std::string token) {
    Callbacks callbacks;
    callbacks.get_token = [token](bool, TokenReply reply) {
      reply({TokenAnswer::Kind::kToken, token});
    };
    return callbacks;
  }

  ServerProcess server_;
  TempDir directory_;
  Journal journal_;
  JsThread js_;
  std::vector<std::unique_ptr<AsyncClient>> clients_;  // JS thread only
};

std::string PutOne(const std::string& key, int value) {
  return R"([{"op":"put","collection":"notes","key":")" + key + R"(","value":)" +
         std::to_string(value) + "}]";
}

TEST_F(AsyncClientTest, CallsRunInCallOrder) {
  AsyncClient& client = Open(Options("order"));
  auto write = std::make_shared<std::promise<Result>>();
  auto read = std::make_shared<std::promise<Result>>();
  js_.Post([&] {
    // Both calls are queued before either runs: the read must see the write.
    client.Write(PutOne("k", 7), [write](Result r) { write->set_value(r); });
    client.Get("notes", "k", [read](Result r) { read->set_value(r); });
  });
  EXPECT_TRUE(write->get_future().get().ok());
  Result value = read->get_future().get();
  ASSERT_TRUE(value.ok()) << value.message;
  EXPECT_TRUE(value.has_text);
  EXPECT_EQ(value.text, "7");
  Result missing = Await([&](Completion done) { client.Get("notes", "none", done); });
  EXPECT_TRUE(missing.ok());
  EXPECT_FALSE(missing.has_text);
}

TEST_F(AsyncClientTest, EventsACallCausedArriveBeforeItsCompletion) {
  AsyncClient& client = Open(Options("events"));
  for (int i = 1; i <= 20; ++i) {
    const std::string label = "write" + std::to_string(i);
    ASSERT_TRUE(
        Await([&](Completion done) { client.Write(PutOne("k" + std::to_string(i), i), done); },
              label)
            .ok());
    const int completion = journal_.Find(label + " ok");
    const int status = journal_.Find("\"pending\":" + std::to_string(i) + ",");
    const int change = journal_.Find("\"key\":\"k" + std::to_string(i) + "\"");
    ASSERT_GE(status, 0) << "write " << i;
    ASSERT_GE(change, 0) << "write " << i;
    EXPECT_LT(status, completion) << "write " << i;
    EXPECT_LT(change, completion) << "write " << i;
  }
}

TEST_F(AsyncClientTest, SyncNowDeliversTheRunAfterItsEvents) {
  AsyncClient& client = Open(Options("sync"), WithToken("token-alice"));
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("s", 1), done); }).ok());
  Result run = Await([&](Completion done) { client.SyncNow(FERRY_SYNC_BOTH, done); }, "sync");
  ASSERT_TRUE(run.ok()) << run.message;
  EXPECT_NE(run.text.find("\"outcome\":\"completed\""), std::string::npos) << run.text;
  const int completed = journal_.Find("\"type\":\"sync.completed\"");
  ASSERT_GE(completed, 0);
  EXPECT_LT(completed, journal_.Find("sync ok"));
  Result report = Await([&](Completion done) { client.Report(5, done); });
  EXPECT_NE(report.text.find("\"pending\":0"), std::string::npos) << report.text;
  EXPECT_NE(report.text.find("\"history\":[{"), std::string::npos) << report.text;
}

TEST_F(AsyncClientTest, APushOnlyRunAndAResyncAnswerWithTheirRuns) {
  AsyncClient& client = Open(Options("direction"), WithToken("token-alice"));
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("d", 1), done); }).ok());
  Result pushed = Await([&](Completion done) { client.SyncNow(FERRY_SYNC_PUSH, done); });
  ASSERT_TRUE(pushed.ok()) << pushed.message;
  EXPECT_NE(pushed.text.find("\"direction\":\"push\""), std::string::npos) << pushed.text;
  Result resync = Await([&](Completion done) { client.Resync(done); });
  ASSERT_TRUE(resync.ok()) << resync.message;
  EXPECT_NE(resync.text.find("\"direction\":\"both\""), std::string::npos) << resync.text;
  Result bad = Await([&](Completion done) { client.SyncNow(7, done); });
  EXPECT_EQ(bad.code, FERRY_INVALID_ARGUMENT) << bad.message;
}

TEST_F(AsyncClientTest, ErrorsCarryTheCApiCodeName) {
  AsyncClient& client = Open(Options("errors"));
  Result bad = Await([&](Completion done) { client.Write("[{\"op\":\"put\"", done); });
  EXPECT_EQ(bad.code, FERRY_INVALID_ARGUMENT);
  EXPECT_STREQ(bad.code_name(), "invalid_argument");
  EXPECT_FALSE(bad.message.empty());
  Result unknown = Await([&](Completion done) { client.DiscardFailedMutation(99, done); });
  EXPECT_STREQ(unknown.code_name(), "not_found");
  // The same store twice: busy.
  Result busy;
  js_.Sync([&] {
    clients_.push_back(std::make_unique<AsyncClient>(js_.deliver(), Callbacks{}));
    return 0;
  });
  AsyncClient* second = clients_.back().get();
  busy = Await([&](Completion done) { second->Open(Options("errors"), done); });
  EXPECT_STREQ(busy.code_name(), "busy");
}

TEST_F(AsyncClientTest, TokenIsAskedOnTheJsThreadAndMayAnswerLater) {
  std::atomic<int> asked = 0;
  Callbacks callbacks;
  callbacks.get_token = [&](bool, TokenReply reply) {
    EXPECT_TRUE(js_.OnThread());
    ++asked;
    // Answered later from another thread, as a promise would.
    std::thread([reply] {
      std::this_thread::sleep_for(20ms);
      reply({TokenAnswer::Kind::kToken, "token-alice"});
    }).detach();
  };
  AsyncClient& client = Open(Options("token"), std::move(callbacks));
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("t", 1), done); }).ok());
  Result run = Await([&](Completion done) { client.SyncNow(FERRY_SYNC_BOTH, done); });
  EXPECT_NE(run.text.find("\"outcome\":\"completed\""), std::string::npos) << run.text;
  EXPECT_GE(asked.load(), 1);
}

TEST_F(AsyncClientTest, TokenFailureIsAnAuthErrorWithItsMessage) {
  Callbacks callbacks;
  callbacks.get_token = [](bool, TokenReply reply) {
    reply({TokenAnswer::Kind::kFailed, "session gone"});
  };
  AsyncClient& client = Open(Options("token-failure"), std::move(callbacks));
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("t", 1), done); }).ok());
  Result run = Await([&](Completion done) { client.SyncNow(FERRY_SYNC_BOTH, done); });
  EXPECT_NE(run.text.find("\"outcome\":\"failed\""), std::string::npos) << run.text;
  EXPECT_NE(run.text.find("session gone"), std::string::npos) << run.text;
  Result report = Await([&](Completion done) { client.Report(1, done); });
  EXPECT_NE(report.text.find("\"state\":\"auth_error\""), std::string::npos) << report.text;
}

TEST_F(AsyncClientTest, CloseAnswersAWaitingTokenRequestAtOnce) {
  auto asked = std::make_shared<std::promise<void>>();
  Callbacks callbacks;
  callbacks.get_token = [asked](bool, TokenReply) { asked->set_value(); };  // never answers
  OpenOptions options = Options("token-close");
  options.answer_deadline_ms = 60000;
  AsyncClient& client = Open(options, std::move(callbacks));
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("t", 1), done); }).ok());
  auto run = std::make_shared<std::promise<Result>>();
  js_.Post([&, run] { client.SyncNow(FERRY_SYNC_BOTH, [run](Result r) { run->set_value(r); }); });
  asked->get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  Result closed = Await([&](Completion done) { client.Close(done); }, "close");
  EXPECT_TRUE(closed.ok()) << closed.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  Result ended = run->get_future().get();
  EXPECT_TRUE(ended.ok());
  EXPECT_EQ(ended.text.find("\"outcome\":\"completed\""), std::string::npos) << ended.text;
}

TEST_F(AsyncClientTest, CustomResolverDecidesOnTheJsThread) {
  AsyncClient& a = Open(Options("resolver-a"), WithToken("token-alice"));
  Callbacks callbacks = WithToken("token-alice");
  std::string seen;
  callbacks.resolve_conflict = [&](const std::string& input) {
    EXPECT_TRUE(js_.OnThread());
    seen = input;
    return std::string(R"({"value":{"n":18}})");
  };
  OpenOptions options = Options("resolver-b");
  options.conflicts_json = R"({"default":"custom"})";
  AsyncClient& b = Open(options, std::move(callbacks));
  const auto put = [&](AsyncClient& client, int n) {
    const std::string write =
        R"([{"op":"put","collection":"c","key":"k","value":{"n":)" + std::to_string(n) + "}}]";
    ASSERT_TRUE(Await([&](Completion done) { client.Write(write, done); }).ok());
  };
  const auto sync = [&](AsyncClient& client) {
    return Await([&](Completion done) { client.SyncNow(FERRY_SYNC_BOTH, done); });
  };
  put(a, 10);
  sync(a);
  sync(b);
  put(a, 13);
  sync(a);
  put(b, 15);
  EXPECT_NE(sync(b).text.find("\"conflicts\":1"), std::string::npos);
  EXPECT_NE(seen.find(R"("local":{"n":15})"), std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("remote":{"n":13})"), std::string::npos) << seen;
  sync(b);
  sync(a);
  EXPECT_EQ(Await([&](Completion done) { a.Get("c", "k", done); }).text, R"({"n":18})");
  EXPECT_GE(journal_.Find("\"resolution\":\"custom\""), 0);
}

TEST_F(AsyncClientTest, NothingIsDeliveredAfterClose) {
  OpenOptions options = Options("close", "http://127.0.0.1:9");  // nothing listens there
  options.sync_on_local_write = true;                            // writes start syncs...
  options.interval_ms = 10;                                      // ...and so does a timer
  AsyncClient& client = Open(options);
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("c", 1), done); }).ok());
  auto run = std::make_shared<std::promise<Result>>();
  js_.Post([&, run] { client.SyncNow(FERRY_SYNC_BOTH, [run](Result r) { run->set_value(r); }); });
  Result closed = Await([&](Completion done) { client.Close(done); }, "close");
  EXPECT_TRUE(closed.ok());
  EXPECT_TRUE(run->get_future().get().ok());  // settled before the close's completion
  const std::size_t delivered = journal_.lines().size();
  EXPECT_EQ(journal_.lines().back(), "close ok");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(journal_.lines().size(), delivered);
  // A call after close settles, with a clear code.
  Result late = Await([&](Completion done) { client.Get("notes", "c", done); }, "late");
  EXPECT_STREQ(late.code_name(), "invalid_handle");
  EXPECT_STREQ(Await([&](Completion done) { client.Close(done); }).code_name(), "invalid_handle");
}

TEST_F(AsyncClientTest, DestroyingWithoutCloseClosesAndDeliversNothing) {
  OpenOptions options = Options("destroyed", "http://127.0.0.1:9");
  options.interval_ms = 10;
  Open(options);
  js_.Sync([this] {
    clients_.clear();
    return 0;
  });
  const std::size_t delivered = journal_.lines().size();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(journal_.lines().size(), delivered);
  // The store is free again.
  Open(Options("destroyed"));
}

TEST_F(AsyncClientTest, HostTransportCarriesRequestsThroughTheJsThread) {
  std::vector<uint64_t> sent;
  AsyncClient* carrier = nullptr;
  Callbacks callbacks;
  callbacks.send_request = [&](HttpRequest request) {
    EXPECT_TRUE(js_.OnThread());
    EXPECT_EQ(request.method, "POST");
    EXPECT_NE(request.url.find("/v1/push"), std::string::npos);
    sent.push_back(request.id);
    carrier->CompleteRequest(request.id, 0, "", "", "no network here");
  };
  OpenOptions options = Options("host", "http://host.invalid");
  options.host_transport = true;
  callbacks.on_event = [this](const std::string& json) { journal_.Add("event " + json); };
  js_.Sync([&] {
    clients_.push_back(std::make_unique<AsyncClient>(js_.deliver(), std::move(callbacks)));
    carrier = clients_.back().get();
    return 0;
  });
  ASSERT_TRUE(Await([&](Completion done) { carrier->Open(options, done); }).ok());
  ASSERT_TRUE(Await([&](Completion done) { carrier->Write(PutOne("h", 1), done); }).ok());
  Result run = Await([&](Completion done) { carrier->SyncNow(FERRY_SYNC_BOTH, done); });
  EXPECT_NE(run.text.find("no network here"), std::string::npos) << run.text;
  EXPECT_FALSE(js_.Sync([&] { return sent.empty(); }));
  Result report = Await([&](Completion done) { carrier->Report(1, done); });
  EXPECT_NE(report.text.find("\"state\":\"offline\""), std::string::npos) << report.text;
}

TEST_F(AsyncClientTest, DeleteLocalDataRunsOffTheJsThread) {
  AsyncClient& client = Open(Options("deleted"));
  ASSERT_TRUE(Await([&](Completion done) { client.Write(PutOne("d", 1), done); }).ok());
  Result busy = Await(
      [&](Completion done) { DeleteLocalData(Options("deleted").path, js_.deliver(), done); });
  EXPECT_STREQ(busy.code_name(), "busy");
  ASSERT_TRUE(Await([&](Completion done) { client.Close(done); }).ok());
  Result deleted = Await(
      [&](Completion done) { DeleteLocalData(Options("deleted").path, js_.deliver(), done); });
  EXPECT_TRUE(deleted.ok()) << deleted.message;
}

}  // namespace
}  // namespace ferry::async
