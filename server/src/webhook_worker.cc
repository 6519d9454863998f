#include "webhook_worker.h"

#include <algorithm>
#include <cstdio>

#include "webhook_payload.h"

namespace ferry::server {
namespace {

constexpr std::size_t kSweepPage = 500;

bool Acknowledged(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

WebhookWorker::WebhookWorker(DeliveryLog& log, WebhookSender& sender, WebhookSettings settings)
    : log_(log),
      sender_(sender),
      settings_(settings),
      random_(std::random_device()()),
      thread_([this] { Run(); }) {}

WebhookWorker::~WebhookWorker() {
  Stop();
}

void WebhookWorker::Notify(const std::string& user) {
  {
    std::lock_guard lock(mutex_);
    // A user backing off keeps their time; one being delivered goes on.
    auto [due, added] = due_.emplace(user, Due{Clock::now()});
    if (!added) due->second.grew = true;
  }
  wake_.notify_one();
}

void WebhookWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void WebhookWorker::Run() {
  while (!stopping_) {
    const Clock::time_point now = Clock::now();
    if (now >= next_sweep_) {
      Sweep();
      next_sweep_ = Clock::now() + settings_.sweep;
    }
    const std::string user = NextDue(Clock::now());
    if (user.empty()) {
      std::unique_lock lock(mutex_);
      Clock::time_point until = next_sweep_;
      for (const auto& [name, due] : due_)
        until = std::min(until, due.at);
      wake_.wait_until(lock, until, [&] {
        return stopping_.load() || std::any_of(due_.begin(), due_.end(), [](const auto& entry) {
                 return entry.second.at <= Clock::now();
               });
      });
      continue;
    }
    last_served_ = user;
    {
      std::lock_guard lock(mutex_);
      due_[user].grew = false;  // from here on, a Notify means a change this batch may miss
    }
    const Outcome outcome = DeliverBatch(user);
    if (outcome == Outcome::kMore) continue;
    std::lock_guard lock(mutex_);
    const auto found = due_.find(user);
    // Done with this user, unless their log grew while it was read (then
    // read again). The instance holding them gets every notification too.
    if (found != due_.end() && (outcome == Outcome::kHeldElsewhere || !found->second.grew)) {
      due_.erase(found);
    }
  }
}

void WebhookWorker::Sweep() {
  std::string after;
  while (!stopping_) {
    auto users = log_.UsersBehind(after, kSweepPage);
    if (!users.ok()) {
      if (settings_.log) {
        std::fprintf(stderr, "ferry-server: webhook: cannot read the delivery cursors: %s\n",
                     users.status().ToString().c_str());
      }
      return;  // the next sweep tries again
    }
    {
      std::lock_guard lock(mutex_);
      for (const std::string& user : *users)
        due_.emplace(user, Due{Clock::now()});
    }
    if (users->size() < kSweepPage) return;
    after = users->back();
  }
}

std::string WebhookWorker::NextDue(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (due_.empty()) return {};
  // Round robin from the user after the last one served, so one user with
  // a long backlog does not hold the others back.
  auto start = due_.upper_bound(last_served_);
  for (auto it = start; it != due_.end(); ++it) {
    if (it->second.at <= now) return it->first;
  }
  for (auto it = due_.begin(); it != start; ++it) {
    if (it->second.at <= now) return it->first;
  }
  return {};
}

WebhookWorker::Outcome WebhookWorker::DeliverBatch(const std::string& user) {
  auto claim = log_.Claim(user);
  if (!claim.ok()) {
    Failed(user, claim.status().ToString());
    return Outcome::kMore;
  }
  if (!*claim) return Outcome::kHeldElsewhere;
  auto changes = (*claim)->Read(settings_.max_changes);
  if (!changes.ok()) {
    Failed(user, changes.status().ToString());
    return Outcome::kMore;
  }
  if (changes->empty()) {
    failures_.erase(user);
    return Outcome::kUpToDate;
  }
  // Bounded in bytes too: stop before the change that would pass the
  // budget, but always send at least one.
  std::size_t bytes = 0;
  std::size_t count = 0;
  for (; count < changes->size(); ++count) {
    bytes += (*changes)[count].document.value_json.size();
    if (count > 0 && bytes > settings_.max_bytes) break;
  }
  changes->resize(count);
  const Version first = changes->front().document.version;
  const Version last = changes->back().document.version;
  const std::string body = WebhookBody(log_.epoch(), user, *changes);
  // The batch's key: a receiver deduplicating whole requests may use it;
  // each change's own key (in the body) is the one to deduplicate on.
  const std::vector<std::string> headers = {
      "Idempotency-Key: " + WebhookIdempotencyKey(log_.epoch(), user, first) + "-" +
      std::to_string(last)};
  auto status = sender_.Post(body, headers, stopping_);
  if (!status.ok()) {
    Failed(user, status.status().message());
    return Outcome::kMore;
  }
  if (!Acknowledged(*status)) {
    Failed(user, "HTTP " + std::to_string(*status));
    return Outcome::kMore;
  }
  if (Status advanced = (*claim)->Advance(last); !advanced.ok()) {
    // Delivered but not recorded: sent again later, which at least once allows.
    Failed(user, advanced.ToString());
    return Outcome::kMore;
  }
  failures_.erase(user);
  return Outcome::kMore;
}

void WebhookWorker::Failed(const std::string& user, const std::string& why) {
  if (stopping_) return;
  const int failures = ++failures_[user];
  // Exponential, capped, with jitter (half to all of the delay), so many
  // users failing together do not retry in step.
  auto delay = settings_.first_retry;
  for (int i = 1; i < failures && delay < settings_.max_retry; ++i)
    delay *= 2;
  delay = std::min(delay, settings_.max_retry);
  const auto half = delay.count() / 2;
  delay = std::chrono::milliseconds(
      half + static_cast<long long>(random_() % static_cast<uint64_t>(half + 1)));
  {
    std::lock_guard lock(mutex_);
    due_[user].at = Clock::now() + delay;
  }
  if (settings_.log) {
    std::fprintf(stderr, "ferry-server: webhook for user %s failed (%s), retry %d in %.1f s\n",
                 user.c_str(), why.c_str(), failures, static_cast<double>(delay.count()) / 1000);
  }
}

}  // namespace ferry::server
