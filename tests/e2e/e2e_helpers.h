// Shared pieces of the end-to-end tests: opening clients against a real
// ferry-server and reading the server's state over plain HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "ferry/client.h"
#include "ferry/protocol.h"
#include "support/http_client.h"

namespace ferry::testing {

inline ClientOptions TestClientOptions(const std::string& endpoint, const std::string& path,
                                       const std::string& token = "token-alice") {
  ClientOptions options;
  options.endpoint = endpoint;
  options.path = path;
  options.token_provider = [token](bool /*refresh*/) { return token; };
  options.engine.sync_on_local_write = false;  // tests decide when to sync
  options.engine.live_updates = false;         // ...unless a test turns this on
  options.engine.backoff_base_ms = 50;
  options.engine.backoff_max_ms = 400;
  options.engine.request_timeout_ms = 10'000;
  return options;
}

inline std::unique_ptr<Client> OpenClient(ClientOptions options) {
  auto client = Client::Open(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

// Every live document of a user as the server holds it, with its version.
struct ServerView {
  std::map<std::pair<std::string, std::string>, ServerDocument> documents;
  Version head = 0;  // the highest version: how many mutations were applied
};

inline ServerView ReadServer(int port, const std::string& token = "token-alice") {
  ServerView view;
  HttpClient http("127.0.0.1", port);
  std::string cursor;
  while (true) {
    auto result =
        http.Get(EncodePullTarget({cursor, 5000}), {{"Authorization", "Bearer " + token}});
    if (!result || result->status != 200) {
      ADD_FAILURE() << "server pull failed";
      return view;
    }
    auto page = DecodePullResponse(result->body, {});
    if (!page.ok()) {
      ADD_FAILURE() << page.status().ToString();
      return view;
    }
    for (auto& change : page->changes) {
      view.head = std::max(view.head, change.version);
      if (change.state.exists) {
        view.documents[{change.document.collection, change.document.key}] = change;
      }
    }
    cursor = page->cursor;
    if (!page->has_more) return view;
  }
}

// Retries SyncNow until a run completes or the deadline passes; returns the
// runs it saw (the last one completed unless the deadline passed).
inline std::vector<SyncRunRecord> SyncUntilComplete(
    Client& client, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  std::vector<SyncRunRecord> runs;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto run = client.SyncNow();
    if (!run.ok()) {
      ADD_FAILURE() << run.status().ToString();
      return runs;
    }
    runs.push_back(*run);
    if (run->outcome == RunOutcome::kCompleted) return runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "no sync completed before the deadline";
  return runs;
}

// Watches `client` for a remote change of docs/`key`; create it before
// causing the change, so a fast delivery cannot slip past.
class RemoteChangeWatch {
 public:
  RemoteChangeWatch(Client& client, std::string key) : client_(client) {
    id_ = client.AddEventListener([this, key = std::move(key)](const Event& event) {
      auto* changed = std::get_if<DocumentsChangedEvent>(&event);
      if (!changed || !changed->remote) return;
      for (const DocumentId& document : changed->documents) {
        if (document.key == key && !seen_.exchange(true)) arrived_.set_value();
      }
    });
  }
  ~RemoteChangeWatch() { client_.RemoveListener(id_); }
  bool Wait(std::chrono::milliseconds timeout) {
    return future_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  Client& client_;
  Client::ListenerId id_ = 0;
  std::atomic<bool> seen_{false};
  std::promise<void> arrived_;
  std::future<void> future_ = arrived_.get_future();
};

}  // namespace ferry::testing
