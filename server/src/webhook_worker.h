// The outbound webhook: delivers every user's applied changes to the app's
// backend, at least once, in per-user version order, from the change log and
// a delivery cursor per user kept in the server's database
// (docs/SERVER.md, "Outbound webhook").
//
// Threading: one thread of its own does every delivery, so a slow or down
// backend never holds an I/O thread or the request pool. Notify may be
// called from any thread and never blocks for long.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "webhook_log.h"
#include "webhook_sender.h"

namespace ferry::server {

struct WebhookSettings {
  std::size_t max_changes = 100;                // per request
  std::size_t max_bytes = 1024 * 1024;          // of values per request (one change may exceed it)
  std::chrono::milliseconds first_retry{500};   // doubles after each failure...
  std::chrono::milliseconds max_retry{60'000};  // ...up to this, with jitter
  // How often every user's cursor is compared with the log: catches
  // changes whose notification was lost (another instance's, or before a
  // restart).
  std::chrono::milliseconds sweep{10'000};
  bool log = true;  // a line on stderr for each failed delivery
};

class WebhookWorker {
 public:
  // `log` and `sender` must outlive the worker. Starts the thread, which
  // first sweeps every user (so a restart resumes at each cursor).
  WebhookWorker(DeliveryLog& log, WebhookSender& sender, WebhookSettings settings);
  ~WebhookWorker();  // Stop()
  WebhookWorker(const WebhookWorker&) = delete;
  WebhookWorker& operator=(const WebhookWorker&) = delete;

  // `user`'s change log grew: deliver soon (after any backoff under way).
  void Notify(const std::string& user);
  // Aborts a request in flight (its batch stays undelivered, so it is sent
  // again after a restart) and joins the thread. Idempotent.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  void Run();
  void Sweep();
  enum class Outcome {
    kMore,           // delivered a batch or failed (a retry is scheduled): go on
    kUpToDate,       // nothing above the cursor
    kHeldElsewhere,  // another instance is delivering this user (and learns of new changes too)
  };
  // Delivers one batch of `user`'s.
  Outcome DeliverBatch(const std::string& user);
  void Failed(const std::string& user, const std::string& why);
  // The next user due at `now` after the last one served, round robin; empty if none.
  std::string NextDue(Clock::time_point now);

  DeliveryLog& log_;
  WebhookSender& sender_;
  const WebhookSettings settings_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  // A user to deliver: when, and whether the log grew since the current
  // delivery of theirs began (its read may have missed that change).
  struct Due {
    Clock::time_point at;
    bool grew = false;
  };
  std::map<std::string, Due> due_;  // guarded by mutex_
  // The worker thread's alone:
  std::map<std::string, int> failures_;  // consecutive failures per user (backoff)
  std::string last_served_;
  Clock::time_point next_sweep_{};
  std::mt19937_64 random_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace ferry::server
