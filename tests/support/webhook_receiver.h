// A webhook receiver for end-to-end tests: an HTTP server on loopback in the
// test process that records every delivery ferry-server POSTs to it and
// answers as the test says (2xx, a failure, or no answer for a while).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ferry/json.h"
#include "support/http_test_server.h"

namespace ferry::testing {

struct ReceivedChange {
  std::string collection;
  std::string key;
  uint64_t version = 0;
  bool deleted = false;
  Json value;
  std::string hlc;
  std::string client_id;
  std::string idempotency_key;
};

struct ReceivedDelivery {
  std::string user;
  std::string epoch;
  std::vector<ReceivedChange> changes;
  int answered = 0;  // the status the receiver gave
  std::string authorization;
  std::string idempotency_header;
  bool overlapped = false;  // another delivery of this user was in progress
};

class WebhookReceiver {
 public:
  // With a certificate and key (PEM files), it serves HTTPS.
  explicit WebhookReceiver(const std::string& certificate = "", const std::string& key = "")
      : server_([this](const HttpTestRequest& request) { return Receive(request); }, certificate,
                key) {}
  ~WebhookReceiver() { Release(); }  // then server_ waits for the handlers

  std::string url() const {
    return std::string(server_.tls() ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(server_.port()) + "/hook";
  }

  // The next `count` deliveries are answered 500.
  void FailNext(int count) {
    std::lock_guard lock(mutex_);
    fail_next_ = count;
  }
  // Every delivery is answered 503 until called with false.
  void FailAll(bool fail) {
    std::lock_guard lock(mutex_);
    fail_all_ = fail;
  }
  // Every delivery of `user` is answered 500.
  void FailUser(const std::string& user) {
    std::lock_guard lock(mutex_);
    failing_user_ = user;
  }
  // Deliveries wait `delay` before answering (to widen overlap windows).
  void Delay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_ = delay;
  }
  // Deliveries get no answer until Release (or 30 s).
  void Hang() {
    std::lock_guard lock(mutex_);
    hang_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      hang_ = false;
    }
    changed_.notify_all();
  }

  // Each connection ends right after its answer, unannounced, as with a
  // receiver whose keep-alive timeout is shorter than the gap between
  // deliveries.
  void CloseIdleConnections(bool close) { server_.CloseAfterEachAnswer(close); }
  // How many connections ferry-server opened to the receiver.
  int connections() const { return server_.connections(); }

  std::vector<ReceivedDelivery> deliveries() const {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }

  // Waits until `done(deliveries)` holds, checking on every delivery.
  bool WaitUntil(const std::function<bool(const std::vector<ReceivedDelivery>&)>& done,
                 std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(deliveries_); });
  }

 private:
  HttpTestReply Receive(const HttpTestRequest& request) {
    if (request.method != "POST" || request.target != "/hook") return {404, {}, ""};
    ReceivedDelivery delivery;
    delivery.authorization = request.header("Authorization");
    delivery.idempotency_header = request.header("Idempotency-Key");
    auto body = ParseJson(request.body);
    if (body.ok() && body->is_object()) {
      delivery.user = body->value("user", "");
      delivery.epoch = body->value("epoch", "");
      for (const Json& change : body->value("changes", Json::array())) {
        ReceivedChange received;
        received.collection = change.value("collection", "");
        received.key = change.value("key", "");
        received.version = change.value("version", uint64_t{0});
        received.deleted = change.value("deleted", false);
        received.value = change.contains("value") ? change.at("value") : Json();
        received.hlc = change.value("hlc", "");
        received.client_id = change.value("clientId", "");
        received.idempotency_key = change.value("idempotencyKey", "");
        delivery.changes.push_back(std::move(received));
      }
    }
    std::unique_lock lock(mutex_);
    delivery.overlapped = in_flight_[delivery.user]++ > 0;
    if (hang_) {
      changed_.wait_for(lock, std::chrono::seconds(30), [this] { return !hang_; });
    }
    if (const auto delay = delay_; delay.count() > 0) {
      lock.unlock();
      std::this_thread::sleep_for(delay);
      lock.lock();
    }
    if (fail_all_) {
      delivery.answered = 503;
    } else if (delivery.user == failing_user_) {
      delivery.answered = 500;
    } else if (fail_next_ > 0) {
      --fail_next_;
      delivery.answered = 500;
    } else {
      delivery.answered = 200;
    }
    --in_flight_[delivery.user];
    HttpTestReply reply{delivery.answered, {{"Content-Type", "application/json"}}, "{}"};
    deliveries_.push_back(std::move(delivery));
    changed_.notify_all();
    return reply;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ReceivedDelivery> deliveries_;
  std::map<std::string, int> in_flight_;
  int fail_next_ = 0;
  bool fail_all_ = false;
  std::string failing_user_;
  bool hang_ = false;
  std::chrono::milliseconds delay_{0};
  // Last: destroyed first, so no delivery is being handled while the members
  // above go.
  HttpTestServer server_;
};

}  // namespace ferry::testing
