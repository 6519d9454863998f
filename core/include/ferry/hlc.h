// Hybrid logical clock (Kulkarni et al., 2014): timestamps that follow
// physical time when clocks behave and still order causally when they do not.
// Every mutation carries one; conflict strategies compare them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "ferry/status.h"

namespace ferry {

// The client id rule: 1 to 64 of [A-Za-z0-9_-]. A stamp's node is a client
// id; ValidateClientId (protocol.h) gives the reason when this is false.
bool IsValidClientId(std::string_view client_id);

struct HlcStamp {
  int64_t wall_ms = 0;   // milliseconds since the Unix epoch
  uint32_t counter = 0;  // orders stamps within one millisecond
  std::string node;      // the client id; the deterministic tie-break

  // Fixed-width text ("0001700000000000-00002a-node") whose byte order is the
  // stamp order, so stamps sort correctly as strings in stores and on the wire.
  std::string ToString() const;
  [[nodiscard]] static Result<HlcStamp> Parse(std::string_view text);

  // Ordered by (wall_ms, counter, node). Spelled out rather than defaulted
  // with <=>: the libc++ in Emscripten 3.1.6 has no <=> for std::string.
  friend bool operator<(const HlcStamp& a, const HlcStamp& b) {
    return std::tie(a.wall_ms, a.counter, a.node) < std::tie(b.wall_ms, b.counter, b.node);
  }
  friend bool operator>(const HlcStamp& a, const HlcStamp& b) { return b < a; }
  friend bool operator<=(const HlcStamp& a, const HlcStamp& b) { return !(b < a); }
  friend bool operator>=(const HlcStamp& a, const HlcStamp& b) { return !(a < b); }
  bool operator==(const HlcStamp&) const = default;
};

// Not thread-safe: owned by one engine, which is driven from one thread.
class HybridLogicalClock {
 public:
  struct Options {
    // A remote stamp further ahead of our physical clock than this is refused
    // rather than dragging our clock into the future.
    int64_t max_forward_drift_ms = int64_t{24} * 60 * 60 * 1000;
  };

  HybridLogicalClock(std::string node, Options options);
  explicit HybridLogicalClock(std::string node) : HybridLogicalClock(std::move(node), Options{}) {}

  // A stamp greater than every stamp this clock issued or observed.
  // `physical_ms` is the host's wall clock; it may go backwards.
  [[nodiscard]] Result<HlcStamp> Now(int64_t physical_ms);

  // Merges a stamp seen from elsewhere so later Now() calls order after it.
  [[nodiscard]] Status Observe(const HlcStamp& remote, int64_t physical_ms);

  // Restores the clock after a restart; stamps never repeat across restarts
  // because the last issued stamp is persisted and restored here.
  void Restore(const HlcStamp& last);
  const HlcStamp& last() const { return last_; }

 private:
  Options options_;
  HlcStamp last_;
};

}  // namespace ferry
