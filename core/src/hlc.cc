#include "ferry/hlc.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <tuple>

namespace ferry {
namespace {

constexpr int kWallDigits = 16;
constexpr int kCounterDigits = 6;
constexpr uint32_t kMaxCounter = 0xFFFFFF;  // what six hex digits hold

}  // namespace

std::string HlcStamp::ToString() const {
  char buffer[kWallDigits + kCounterDigits + 3];
  std::snprintf(buffer, sizeof buffer, "%016" PRId64 "-%06" PRIx32 "-", wall_ms, counter);
  return std::string(buffer) + node;
}

Result<HlcStamp> HlcStamp::Parse(std::string_view text) {
  const auto bad = [&] {
    return Status(ErrorCode::kProtocol,
                  "malformed HLC stamp '" + std::string(text.substr(0, 64)) + "'");
  };
  if (text.size() < kWallDigits + kCounterDigits + 2 || text[kWallDigits] != '-' ||
      text[kWallDigits + 1 + kCounterDigits] != '-') {
    return bad();
  }
  HlcStamp stamp;
  const char* wall_begin = text.data();
  const char* wall_end = wall_begin + kWallDigits;
  auto [wall_ptr, wall_error] = std::from_chars(wall_begin, wall_end, stamp.wall_ms);
  if (wall_error != std::errc() || wall_ptr != wall_end || stamp.wall_ms < 0) return bad();
  const char* counter_begin = wall_end + 1;
  const char* counter_end = counter_begin + kCounterDigits;
  auto [counter_ptr, counter_error] =
      std::from_chars(counter_begin, counter_end, stamp.counter, 16);
  if (counter_error != std::errc() || counter_ptr != counter_end) return bad();
  // The node is a client id, so it follows the client id rule: stamps are
  // written into JSON and server records without escaping. Found by
  // fuzz_protocol: a tab inside a stamp decoded, then re-encoded to invalid JSON.
  const std::string_view node = text.substr(kWallDigits + kCounterDigits + 2);
  if (!IsValidClientId(node)) return bad();
  stamp.node = std::string(node);
  return stamp;
}

bool IsValidClientId(std::string_view client_id) {
  if (client_id.empty() || client_id.size() > 64) return false;
  return std::all_of(client_id.begin(), client_id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

HybridLogicalClock::HybridLogicalClock(std::string node, Options options) : options_(options) {
  last_.node = std::move(node);
}

Result<HlcStamp> HybridLogicalClock::Now(int64_t physical_ms) {
  if (physical_ms > last_.wall_ms) {
    last_.wall_ms = physical_ms;
    last_.counter = 0;
  } else {
    if (last_.counter == kMaxCounter) {
      return Status(ErrorCode::kInternal, "HLC counter overflow within one millisecond");
    }
    ++last_.counter;
  }
  return last_;
}

Status HybridLogicalClock::Observe(const HlcStamp& remote, int64_t physical_ms) {
  if (remote.wall_ms > physical_ms + options_.max_forward_drift_ms) {
    return Status(ErrorCode::kProtocol, "remote HLC stamp is too far in the future");
  }
  const int64_t wall = std::max({last_.wall_ms, remote.wall_ms, physical_ms});
  uint32_t counter = 0;
  if (wall == last_.wall_ms && wall == remote.wall_ms) {
    counter = std::max(last_.counter, remote.counter) + 1;
  } else if (wall == last_.wall_ms) {
    counter = last_.counter + 1;
  } else if (wall == remote.wall_ms) {
    counter = remote.counter + 1;
  }
  if (counter > kMaxCounter) {
    return Status(ErrorCode::kInternal, "HLC counter overflow within one millisecond");
  }
  last_.wall_ms = wall;
  last_.counter = counter;
  return Status::Ok();
}

void HybridLogicalClock::Restore(const HlcStamp& last) {
  if (std::tie(last.wall_ms, last.counter) > std::tie(last_.wall_ms, last_.counter)) {
    last_.wall_ms = last.wall_ms;
    last_.counter = last.counter;
  }
}

}  // namespace ferry
