// ferry-server's Prometheus metrics: what an operator graphs and alerts on
// (request rates, errors and latency by route, live streams, mutations
// applied, database errors), rendered in Prometheus' text format at
// /metrics for the operator's credential (--metrics-token-file).
//
// Threading: thread-safe; counting is a short lock (a request pool thread
// at a time), rendering takes the same lock.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "ferry/server_apply.h"

namespace ferry::server {

// Values read when /metrics is rendered rather than counted as they happen.
struct MetricsGauges {
  std::function<std::size_t()> live_streams;
  // This process's pushes' outcomes, every user together.
  std::function<ServerStatistics()> mutations;
};

class Metrics {
 public:
  explicit Metrics(MetricsGauges gauges) : gauges_(std::move(gauges)) {}

  // One answered request: `route` is one of a fixed set (RouteOf), so the
  // series stay few whatever paths clients send.
  void CountRequest(std::string_view route, int status, std::chrono::nanoseconds latency);
  // An answer the connection layer made before the request reached the
  // pool (408 and 431 for the head, 413 by Content-Length, 429 for a live
  // stream over its cap, 400 for a malformed head): counted with the
  // requests, not timed. `route` is RouteOf's, or "none" when the head was
  // never read whole.
  void CountRefusal(std::string_view route, int status);
  // The database failed a request (a 5xx from storage, or readiness).
  void CountDatabaseError();

  // The label for a request path: push, pull, live, stats, health, ready,
  // metrics, other_api (an unknown /v1 path) or static.
  static std::string_view RouteOf(std::string_view path);

  // Everything, in Prometheus' text exposition format (version 0.0.4).
  [[nodiscard]] std::string Render() const;

 private:
  // Upper bounds in seconds: a push of a few mutations on SQLite takes a
  // millisecond or two, a large page or a contended PostgreSQL row lock
  // hundreds.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};  // not cumulative; Render sums
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  const MetricsGauges gauges_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // by (route, status)
  std::map<std::string, Histogram, std::less<>> latency_;     // by route
  uint64_t database_errors_ = 0;
};

}  // namespace ferry::server
