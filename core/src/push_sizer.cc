#include "ferry/push_sizer.h"

#include <algorithm>

namespace ferry {

PushSizer::PushSizer(BatchLimits ceiling, int64_t target_ms)
    : ceiling_(ceiling), current_(ceiling), target_ms_(std::max<int64_t>(1, target_ms)) {
  ceiling_.max_count = std::max<std::size_t>(1, ceiling_.max_count);
  ceiling_.max_bytes = std::max<std::size_t>(1, ceiling_.max_bytes);
  floor_.max_count = std::min(kFloorCount, ceiling_.max_count);
  floor_.max_bytes = std::min(kFloorBytes, ceiling_.max_bytes);
  current_ = ceiling_;
}

void PushSizer::OnAnswered(std::size_t count, std::size_t bytes, int64_t latency_ms) {
  latency_ms = std::max<int64_t>(1, latency_ms);
  if (latency_ms > target_ms_) {
    Scale(std::max(0.5, static_cast<double>(target_ms_) / static_cast<double>(latency_ms)));
    return;
  }
  const bool filled = count >= current_.max_count || bytes * 2 >= current_.max_bytes;
  if (filled && latency_ms * 2 <= target_ms_) {
    Scale(std::min(2.0, static_cast<double>(target_ms_) / static_cast<double>(latency_ms)));
  }
}

void PushSizer::OnTooSlowOrTooLarge() {
  Scale(0.5);
}

void PushSizer::Scale(double factor) {
  const auto scaled = [factor](std::size_t value, std::size_t low, std::size_t high) {
    const double next = std::min(static_cast<double>(value) * factor, static_cast<double>(high));
    // Growth by at least one, so a limit of 1 can grow again.
    const std::size_t rounded = factor > 1 ? std::max(value + 1, static_cast<std::size_t>(next))
                                           : static_cast<std::size_t>(next);
    return std::clamp(rounded, low, high);
  };
  current_.max_count = scaled(current_.max_count, floor_.max_count, ceiling_.max_count);
  current_.max_bytes = scaled(current_.max_bytes, floor_.max_bytes, ceiling_.max_bytes);
}

}  // namespace ferry
