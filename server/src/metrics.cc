#include "metrics.h"

#include <cstdio>

namespace ferry::server {

void Metrics::CountRequest(std::string_view route, int status, std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
  auto found = latency_.find(route);
  if (found == latency_.end()) found = latency_.emplace(std::string(route), Histogram{}).first;
  Histogram& histogram = found->second;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++histogram.buckets[i];
      break;
    }
  }
  ++histogram.count;
  histogram.sum_seconds += seconds;
}

void Metrics::CountRefusal(std::string_view route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
}

void Metrics::CountDatabaseError() {
  std::lock_guard lock(mutex_);
  ++database_errors_;
}

std::string_view Metrics::RouteOf(std::string_view path) {
  static constexpr std::string_view kRoutes[] = {"push",   "pull",  "live",   "stats",
                                                 "health", "ready", "metrics"};
  if (path == "/metrics") return "metrics";
  if (!path.starts_with("/v1/")) return "static";
  for (std::string_view route : kRoutes) {
    if (path.substr(4) == route) return route;
  }
  return "other_api";
}

namespace {

// A number as Prometheus reads it (shortest form that round-trips).
std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

std::string Metrics::Render() const {
  std::string out;
  const ServerStatistics mutations = gauges_.mutations ? gauges_.mutations() : ServerStatistics{};
  const std::size_t live = gauges_.live_streams ? gauges_.live_streams() : 0;
  std::lock_guard lock(mutex_);

  Header(out, "ferry_http_requests_total", "counter",
         "HTTP requests answered, by route and status.");
  for (const auto& [key, count] : requests_) {
    out += "ferry_http_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }

  Header(out, "ferry_http_request_duration_seconds", "histogram",
         "Time from a complete request to its answer, by route.");
  for (const auto& [route, histogram] : latency_) {
    const std::string series = "ferry_http_request_duration_seconds";
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += histogram.buckets[i];
      out += series + "_bucket{route=\"" + route + "\",le=\"" + Number(kBuckets[i]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += series + "_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
           std::to_string(histogram.count) + "\n";
    out += series + "_sum{route=\"" + route + "\"} " + Number(histogram.sum_seconds) + "\n";
    out += series + "_count{route=\"" + route + "\"} " + std::to_string(histogram.count) + "\n";
  }

  Header(out, "ferry_live_streams", "gauge", "Open /v1/live streams.");
  out += "ferry_live_streams " + std::to_string(live) + "\n";

  Header(out, "ferry_mutations_total", "counter",
         "Pushed mutations processed by this process, by outcome.");
  for (const auto& [outcome, count] :
       {std::pair<const char*, uint64_t>{"applied", mutations.mutations_applied},
        {"duplicate", mutations.mutations_duplicate},
        {"conflict", mutations.mutations_conflict},
        {"rejected", mutations.mutations_rejected}}) {
    out += std::string("ferry_mutations_total{outcome=\"") + outcome + "\"} " +
           std::to_string(count) + "\n";
  }

  Header(out, "ferry_database_errors_total", "counter",
         "Requests the database failed (storage errors and failed readiness checks).");
  out += "ferry_database_errors_total " + std::to_string(database_errors_) + "\n";
  return out;
}

}  // namespace ferry::server
