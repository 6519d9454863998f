#include "live_streams.h"

#include <algorithm>

namespace ferry::server {

LiveAdmission LiveStreams::Open(const std::string& user,
                                const std::shared_ptr<LiveSubscriber>& subscriber) {
  std::lock_guard lock(mutex_);
  if (open_ >= total_) return LiveAdmission::kTotalFull;
  std::vector<Entry>& streams = streams_[user];
  if (streams.size() >= per_user_) {
    if (streams.empty()) streams_.erase(user);  // a cap of 0: keep no empty entry
    return LiveAdmission::kUserFull;
  }
  streams.push_back({subscriber.get(), subscriber});
  ++open_;
  return LiveAdmission::kAdmitted;
}

void LiveStreams::Close(const std::string& user, const LiveSubscriber* subscriber) {
  std::lock_guard lock(mutex_);
  auto found = streams_.find(user);
  if (found == streams_.end()) return;
  std::vector<Entry>& streams = found->second;
  const std::size_t before = streams.size();
  // By address: the subscriber may be closing from its destructor, when its
  // weak_ptr no longer locks.
  std::erase_if(streams, [subscriber](const Entry& entry) { return entry.address == subscriber; });
  open_ -= before - streams.size();
  if (streams.empty()) streams_.erase(found);
}

void LiveStreams::Poke(const std::string& user) {
  std::vector<std::shared_ptr<LiveSubscriber>> targets;
  {
    std::lock_guard lock(mutex_);
    auto found = streams_.find(user);
    if (found == streams_.end()) return;
    for (const Entry& entry : found->second) {
      if (auto alive = entry.subscriber.lock()) targets.push_back(std::move(alive));
    }
  }
  for (const std::shared_ptr<LiveSubscriber>& target : targets)
    target->Poke();
}

std::size_t LiveStreams::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::size_t LiveStreams::open(const std::string& user) const {
  std::lock_guard lock(mutex_);
  auto found = streams_.find(user);
  return found == streams_.end() ? 0 : found->second.size();
}

}  // namespace ferry::server
