// PushSizer: the push batch size, adapted to the network the answers show
// (EngineOptions::adaptive_batch). Part of the engine; no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ferry/outbox.h"

namespace ferry {

class PushSizer {
 public:
  // The fewest writes and bytes a push is cut down to: small enough to get
  // through a poor link within a request timeout, large enough that the
  // per-request overhead stays small. Never above the ceiling.
  static constexpr std::size_t kFloorCount = 10;
  static constexpr std::size_t kFloorBytes = std::size_t{16} * 1024;

  // `ceiling`: the configured limits (EngineOptions::batch), never exceeded.
  // `target_ms`: how long one push should take at most. Starts at the
  // ceiling: a good network never pays for the adaptation.
  PushSizer(BatchLimits ceiling, int64_t target_ms);

  // The limits for the next push.
  BatchLimits limits() const { return current_; }

  // A push of `count` writes and `bytes` bytes of values was answered after
  // `latency_ms`. Slower than the target: shrink in proportion (at most
  // halving at once). Well within it and the push filled the current
  // limits: grow (at most doubling), since a small push says nothing of
  // how a large one would fare.
  void OnAnswered(std::size_t count, std::size_t bytes, int64_t latency_ms);
  // A push got no answer within the request timeout, or the server refused
  // it as too large (413): halve.
  void OnTooSlowOrTooLarge();

  BatchLimits floor() const { return floor_; }

 private:
  void Scale(double factor);

  BatchLimits ceiling_;
  BatchLimits floor_;
  BatchLimits current_;
  int64_t target_ms_;
};

}  // namespace ferry
