#include "sync_service.h"

#include <chrono>
#include <random>

#include "ferry/json.h"
#include "storage_backends.h"

namespace ferry::server {

Result<std::unique_ptr<SyncService>> OpenSyncService(const StorageSettings& settings) {
  if (!settings.postgres_url.empty()) return OpenPostgresSyncService(settings);
  return OpenSqliteSyncService(settings);
}

std::string NewEpoch() {
  std::random_device random;
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string epoch;
  for (int i = 0; i < 10; ++i)
    epoch += kDigits[random() % 36];
  return epoch;
}

uint64_t RandomWord() {
  // One generator per thread, seeded from the system's entropy.
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }()};
  return generator();
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ServerHttpResponse HandleWithState(ServerState& state, std::string_view user,
                                   std::string_view method, std::string_view target,
                                   std::string_view body) {
  if (target.substr(0, target.find('?')) != "/v1/stats") {
    // The server's clock: a push stamped too far ahead of it is rejected.
    return HandleServerRequest(state, user, method, target, body, WallClockMs());
  }
  const ServerStatistics statistics = state.StatisticsOf(user);  // never another user's
  return {200, DumpJson(Json{{"mutationsApplied", statistics.mutations_applied},
                             {"mutationsDuplicate", statistics.mutations_duplicate},
                             {"mutationsConflict", statistics.mutations_conflict},
                             {"mutationsRejected", statistics.mutations_rejected}})};
}

}  // namespace ferry::server
