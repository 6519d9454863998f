// Where the owner thread waits for an answer from the JavaScript thread (a
// token, a conflict's resolution): until it comes, a deadline passes, or the
// client starts closing, whichever is first. Closing answers every wait at
// once, so ferry_client_close never waits on a JavaScript thread that may be
// the one closing.
//
// Threading: Await on the owner thread; the reply and Close from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace ferry::async {

class AnswerGate : public std::enable_shared_from_this<AnswerGate> {
 public:
  // Calls `ask(reply)` (which must hand the question to the JS thread and
  // return), then waits. nullopt: the deadline passed or the client closes.
  // The reply may come from any thread, late or never; a late one is dropped.
  template <typename Answer>
  std::optional<Answer> Await(const std::function<void(std::function<void(Answer)>)>& ask,
                              std::chrono::milliseconds deadline) {
    auto slot = std::make_shared<std::optional<Answer>>();
    {
      std::lock_guard lock(mutex_);
      if (closing_) return std::nullopt;
    }
    std::weak_ptr<AnswerGate> gate = weak_from_this();
    ask([gate, slot](Answer answer) {
      if (auto alive = gate.lock()) alive->Fill(*slot, std::move(answer));
    });
    std::unique_lock lock(mutex_);
    answered_.wait_for(lock, deadline, [&] { return slot->has_value() || closing_; });
    return std::move(*slot);
  }

  // Every wait ends now, and every later one at once.
  void Close() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    answered_.notify_all();
  }

 private:
  template <typename Answer>
  void Fill(std::optional<Answer>& slot, Answer answer) {
    {
      std::lock_guard lock(mutex_);
      if (!slot) slot = std::move(answer);
    }
    answered_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable answered_;
  bool closing_ = false;
};

}  // namespace ferry::async
