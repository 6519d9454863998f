// ferry::Client's threading contract, as client.h states it: callbacks run on
// the owner thread without the engine lock, so they may call back into the
// client; the blocking SyncNow refuses to wait on the thread that must carry
// the run out; a slow token provider holds up requests, never writers; the
// client may be destroyed from its own callback.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "e2e/e2e_helpers.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

template <typename T>
bool Ready(std::future<T>& future, milliseconds within = milliseconds(15'000)) {
  return future.wait_for(within) == std::future_status::ready;
}

TEST(ClientCallbacks, PutAndSyncNowWithACallbackWorkFromAListener) {
  ServerProcess server;
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  std::promise<Result<SyncRunRecord>> synced;
  std::atomic<bool> once{false};
  client->Subscribe([&](const DocumentsChangedEvent& changed) {
    if (changed.remote || once.exchange(true)) return;
    // Both from inside the listener, on the owner thread.
    EXPECT_TRUE(client->Put("notes", "from-listener", 2).ok());
    client->SyncNow([&](const Result<SyncRunRecord>& run) { synced.set_value(run); });
  });
  ASSERT_TRUE(client->Put("notes", "first", 1).ok());
  auto future = synced.get_future();
  ASSERT_TRUE(Ready(future)) << "the sync requested from a listener never finished";
  auto run = future.get();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->outcome, RunOutcome::kCompleted) << run->error;
  EXPECT_EQ(run->pushed, 2u);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 2u);
}

TEST(ClientCallbacks, BlockingSyncNowFromAListenerFailsAtOnceInsteadOfDeadlocking) {
  ServerProcess server;
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  std::promise<Status> answered;
  std::atomic<bool> once{false};
  client->Subscribe([&](const DocumentsChangedEvent&) {
    if (once.exchange(true)) return;
    answered.set_value(client->SyncNow().status());
  });
  ASSERT_TRUE(client->Put("notes", "a", 1).ok());
  auto future = answered.get_future();
  ASSERT_TRUE(Ready(future)) << "SyncNow from a listener hung";
  const Status status = future.get();
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("SyncNow(callback)"), std::string::npos) << status.message();
  // The client still works afterwards.
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kCompleted);
}

TEST(ClientCallbacks, SlowTokenProviderDelaysRequestsButNeverWriters) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> asked{0};
  options.token_provider = [&](bool) {
    if (asked++ == 0) released.wait();  // the first request's token takes "forever"
    return std::string("token-alice");
  };
  auto client = OpenClient(std::move(options));
  auto sync = std::async(std::launch::async, [&] { return client->SyncNow(); });
  while (asked == 0)
    std::this_thread::sleep_for(milliseconds(1));
  // The owner thread is inside the token provider now; writers go on.
  const auto started = steady_clock::now();
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(client->Put("notes", "k" + std::to_string(i), i).ok());
  EXPECT_EQ(client->status().pending, 50u);
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(sync.wait_for(milliseconds(0)), std::future_status::ready);
  release.set_value();
  ASSERT_TRUE(Ready(sync));
  ASSERT_TRUE(sync.get().ok());
  SyncUntilComplete(*client);
  EXPECT_EQ(ReadServer(server.port()).documents.size(), 50u);
}

TEST(ClientCallbacks, TokenProviderThatThrowsIsAnAuthErrorAndKeepsTheWrites) {
  ServerProcess server;
  TempDir dir;
  ClientOptions options = TestClientOptions(server.endpoint(), dir.File("a.db"));
  options.token_provider = [](bool) -> std::string { throw std::runtime_error("keychain locked"); };
  auto client = OpenClient(std::move(options));
  ASSERT_TRUE(client->Put("notes", "a", 1).ok());
  auto run = client->SyncNow();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome, RunOutcome::kFailed);
  EXPECT_NE(run->error.find("keychain locked"), std::string::npos) << run->error;
  EXPECT_EQ(client->status().state, SyncState::kAuthError);
  EXPECT_EQ(client->status().pending, 1u);
}

TEST(ClientCallbacks, ClientDestroyedFromItsOwnListener) {
  ServerProcess server;
  TempDir dir;
  auto client = OpenClient(TestClientOptions(server.endpoint(), dir.File("a.db")));
  std::promise<void> destroyed;
  std::atomic<bool> once{false};
  Client* raw = client.get();
  client->Subscribe([&](const DocumentsChangedEvent&) {
    if (once.exchange(true)) return;
    delete raw;  // the owner thread finishes this callback, then ends
    destroyed.set_value();
  });
  (void)client.release();
  ASSERT_TRUE(raw->Put("notes", "a", 1).ok());
  auto future = destroyed.get_future();
  ASSERT_TRUE(Ready(future));
  // The store is released once the owner thread has left the callback (it may
  // still be finishing it): the reopen waits for that, and the write is there.
  ClientOptions again = TestClientOptions(server.endpoint(), dir.File("a.db"));
  again.store.lock_timeout_ms = 10'000;
  auto reopened = OpenClient(std::move(again));
  ASSERT_NE(reopened, nullptr);
  auto value = reopened->Get("notes", "a");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, Json(1));
}

// A server that accepts connections and never answers: a request to it
// stays in flight until the client gives up.
class SilentServer {
 public:
  SilentServer() {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(socket_, 16), 0);
    socklen_t length = sizeof address;
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(socket_); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int socket_ = -1;
  int port_ = 0;
};

TEST(ClientCallbacks, SyncNowWaitersAreReleasedWhenTheClientCloses) {
  SilentServer silent;
  TempDir dir;
  ClientOptions options = TestClientOptions(silent.endpoint(), dir.File("a.db"));
  options.engine.request_timeout_ms = 60'000;
  auto client = OpenClient(std::move(options));
  std::promise<Result<SyncRunRecord>> result;
  client->SyncNow([&](const Result<SyncRunRecord>& run) { result.set_value(run); });
  auto blocking = std::async(std::launch::async, [&] { return client->SyncNow(); });
  std::this_thread::sleep_for(milliseconds(300));  // both wait on the hanging request
  auto future = result.get_future();
  EXPECT_NE(future.wait_for(milliseconds(0)), std::future_status::ready);
  client.reset();
  ASSERT_TRUE(Ready(future, milliseconds(5'000)));
  ASSERT_TRUE(Ready(blocking, milliseconds(5'000)));
  // The run was cancelled by the close: the waiters hear of it, nothing hangs.
  for (Result<SyncRunRecord> run : {future.get(), blocking.get()}) {
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_EQ(run->outcome, RunOutcome::kCancelled);
  }
}

}  // namespace
}  // namespace ferry::testing
