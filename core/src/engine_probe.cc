// The reachability probe of SyncEngine (see EngineOptions::reachability_probe):
// after a run fails without an HTTP answer, a cheap GET /v1/health on a short
// backoff of its own finds the server again long before the run backoff,
// which grows to minutes, would have retried.
#include <algorithm>

#include "ferry/engine.h"

namespace ferry {

void SyncEngine::ScheduleProbe(Instant now) {
  if (!options_.reachability_probe || !online_ || run_ || !retry_at_) return;
  if (probe_.id || probe_.at) return;  // already on its way
  const uint32_t exponent = std::min<uint32_t>(probe_.failures, 16);
  const TimeMs base = std::max<TimeMs>(1, options_.probe_base_ms);
  const TimeMs cap = std::max<TimeMs>(1, std::min<TimeMs>(options_.probe_max_ms, base << exponent));
  // Equal jitter: never sooner than half the cap, so a dead network is not
  // hammered, yet clients that lost the server together come back spread out.
  std::uniform_int_distribution<TimeMs> jitter(std::max<TimeMs>(1, cap / 2), cap);
  const TimeMs at = now.monotonic + jitter(random_);
  // The retry comes first anyway: its run finds out, and schedules a probe
  // again if it fails the same way.
  if (at >= *retry_at_) return;
  probe_.at = at;
}

void SyncEngine::SendProbe(Instant now) {
  probe_.at.reset();
  HttpRequest request;
  request.id = next_request_id_++;
  request.method = "GET";
  request.target = std::string(kHealthPath);
  request.timeout_ms = options_.probe_timeout_ms;
  probe_.id = request.id;
  probe_.deadline = now.monotonic + options_.probe_timeout_ms;
  actions_.push_back(SendRequest{std::move(request)});
}

void SyncEngine::TendProbe(Instant now) {
  if (probe_.id && now.monotonic >= probe_.deadline) {
    actions_.push_back(CancelRequest{*probe_.id});
    probe_.id.reset();
    ++probe_.failures;
    ScheduleProbe(now);
  }
  if (probe_.at && now.monotonic >= *probe_.at) {
    probe_.at.reset();
    // A run that started meanwhile (the retry, a trigger) finds out itself.
    if (!run_ && retry_at_ && online_) SendProbe(now);
  }
}

void SyncEngine::HandleProbeResponse(const HttpResponse& response, Instant now) {
  probe_.id.reset();
  // Any HTTP answer means the path to the server works again (health needs
  // no credentials, so even a refusal says so); the run that follows finds
  // out the rest. Only no answer at all keeps probing.
  if (response.status == 0 && !response.server_reached) {
    ++probe_.failures;
    ScheduleProbe(now);
    return;
  }
  probe_.failures = 0;
  probe_.at.reset();
  if (!online_) return;
  // The stream's reconnect backoff grew over the same outage.
  live_.failures = 0;
  live_.reopen_at.reset();
  if (!run_ && retry_at_) StartRun(TriggerReason::kReachable, now);
  TendLiveStream(now);
}

void SyncEngine::StopProbe(bool reset) {
  if (probe_.id) actions_.push_back(CancelRequest{*probe_.id});
  probe_.id.reset();
  probe_.at.reset();
  if (reset) probe_.failures = 0;
}

void SyncEngine::HandleNetworkChanged(Instant now) {
  Observe(now);
  FlushAnswers(now);
  if (!online_) return;
  live_.failures = 0;
  live_.reopen_at.reset();
  const bool waiting_out_network_failure = !run_ && retry_at_ && unreachable_;
  if (waiting_out_network_failure) {
    if (!options_.reachability_probe) {
      StartRun(TriggerReason::kRetry, now);
    } else if (!probe_.id) {
      probe_.failures = 0;
      SendProbe(now);
    }
  }
  TendLiveStream(now);
  EmitStatusIfChanged();
}

}  // namespace ferry
