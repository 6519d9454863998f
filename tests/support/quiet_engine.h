// Opens a SyncEngine for a core test that drives every sync itself: no sync
// after local writes and no live stream, so only the test's triggers and
// timeouts make requests. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "ferry/engine.h"

namespace ferry::testing {

// `seed` makes the client id: two devices in one test need two seeds.
inline std::unique_ptr<SyncEngine> OpenQuietEngine(Store& store, uint64_t seed, Instant now,
                                                   EngineOptions options = {}) {
  options.random_seed = seed;
  options.sync_on_local_write = false;
  options.live_updates = false;
  auto engine = SyncEngine::Open(store, options, now);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  return engine.ok() ? std::move(*engine) : nullptr;
}

}  // namespace ferry::testing
