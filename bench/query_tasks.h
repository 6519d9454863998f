// What query_bench.cc and live_query_bench.cc share: the tasks both write
// (so their figures describe the same collection) and the statistics of
// their samples.
#pragma once

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ferry/json.h"

namespace ferry::bench {

// A task of about 200 bytes: 100 projects, due dates over 2026 as strings,
// priorities 0-4, three states.
inline Json Task(std::mt19937& random, int i) {
  static const char* const kStates[] = {"open", "blocked", "done"};
  char due[16];
  std::snprintf(due, sizeof due, "2026-%02u-%02u", static_cast<unsigned>(random() % 12 + 1),
                static_cast<unsigned>(random() % 28 + 1));
  return Json{{"project", "p" + std::to_string(random() % 100)},
              {"due", due},
              {"priority", static_cast<int>(random() % 5)},
              {"state", kStates[random() % 3]},
              {"title", "Task number " + std::to_string(i) + " of the benchmark"},
              {"notes", std::string(90, 'n')}};
}

inline std::string TaskKey(int i) {
  char key[16];
  std::snprintf(key, sizeof key, "t%07d", i);
  return key;
}

// Statistics of a run's samples; 0 for none.
inline double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1))];
}
inline double Median(const std::vector<double>& samples) {
  return Percentile(samples, 0.5);
}
inline double Min(const std::vector<double>& samples) {
  return samples.empty() ? 0 : *std::min_element(samples.begin(), samples.end());
}
inline double Max(const std::vector<double>& samples) {
  return samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
}

}  // namespace ferry::bench
