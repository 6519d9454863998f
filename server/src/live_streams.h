// The open /v1/live streams: who has how many (the caps of --max-live-per-user
// and --max-live-streams), and the fan-out of a user's change to that user's
// streams. A stream itself is an HTTP session (http_session.h) that writes
// Server-Sent Events; this registry only counts and notifies.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace ferry::server {

// What a stream does with a change of its user's data.
class LiveSubscriber {
 public:
  virtual ~LiveSubscriber() = default;
  // Called on any thread with the registry's lock released; must not block
  // (a session posts the poke to its own strand).
  virtual void Poke() = 0;
};

enum class LiveAdmission {
  kAdmitted,
  kUserFull,   // the user already holds --max-live-per-user streams
  kTotalFull,  // the server already holds --max-live-streams streams
};

// Thread-safe: streams open and close on I/O threads, pokes come from the
// sync service's listener on any thread.
class LiveStreams {
 public:
  LiveStreams(std::size_t per_user, std::size_t total) : per_user_(per_user), total_(total) {}

  // Counts `subscriber` as one of `user`'s open streams, unless a cap is
  // reached. Each admitted subscriber must be closed exactly once.
  [[nodiscard]] LiveAdmission Open(const std::string& user,
                                   const std::shared_ptr<LiveSubscriber>& subscriber);
  void Close(const std::string& user, const LiveSubscriber* subscriber);

  // Pokes every open stream of `user`. Never blocks on a stream.
  void Poke(const std::string& user);

  [[nodiscard]] std::size_t open() const;
  // `user`'s open streams (/v1/stats shows a user only theirs).
  [[nodiscard]] std::size_t open(const std::string& user) const;

 private:
  const std::size_t per_user_;
  const std::size_t total_;
  struct Entry {
    const LiveSubscriber* address;
    std::weak_ptr<LiveSubscriber> subscriber;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<Entry>> streams_;
  std::size_t open_ = 0;
};

}  // namespace ferry::server
