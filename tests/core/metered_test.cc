// Metered mode (issue 17): while the connection is metered, runs the engine
// starts itself leave the writes of deferrable collections for later; a run
// the app asks for, or the end of the metered spell, pushes them. Writes
// pushed ahead of deferred ones move those behind them (new seqs), so the
// server's high-water mark never takes a deferred write for a repeat.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

class MeteredTest : public ::testing::Test {
 protected:
  MeteredTest() { options_.deferrable = {"readings"}; }

  std::unique_ptr<SyncEngine> Open(MemoryStore& store, uint64_t seed) {
    return testing::OpenQuietEngine(store, seed, now_, options_);
  }

  void Put(SyncEngine& engine, const std::string& collection, const std::string& key, Json value) {
    EXPECT_TRUE(engine.HandleLocalWrite(MutationOp::kPut, {collection, key}, value, now_).ok());
  }

  void Sync(SyncEngine& engine, InlineDriver& driver, TriggerReason reason) {
    now_.wall += 1000;
    now_.monotonic += 1000;
    engine.HandleTrigger(reason, now_);
    driver.Pump(engine, now_);
  }

  std::optional<Json> Get(SyncEngine& engine, const std::string& collection,
                          const std::string& key) {
    auto value = engine.Get({collection, key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  // Each pending write as "collection/key", in seq order.
  std::vector<std::string> Pending(SyncEngine& engine) {
    auto pending = engine.PendingMutations(0, 100);
    EXPECT_TRUE(pending.ok());
    std::vector<std::string> listed;
    for (const OutboxEntry& entry : pending.ok() ? *pending : std::vector<OutboxEntry>{}) {
      listed.push_back(entry.mutation.document.collection + "/" + entry.mutation.document.key);
    }
    return listed;
  }

  EngineOptions options_;
  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver device_driver_{server_, "alice"}, other_driver_{server_, "alice"};
  MemoryStore device_store_, other_store_;
  std::unique_ptr<SyncEngine> other_ = testing::OpenQuietEngine(other_store_, 1, now_);
};

TEST_F(MeteredTest, BackgroundRunsLeaveDeferrableWritesAndAManualRunPushesThemAll) {
  auto device = Open(device_store_, 2);
  device->HandleMetered(true, now_);
  Put(*device, "readings", "r1", 1);
  Put(*device, "notes", "n1", "first");
  Put(*device, "readings", "r2", 2);
  Put(*device, "notes", "n2", "second");
  Sync(*device, device_driver_, TriggerReason::kInterval);
  // The notes went; the readings wait, behind them, and no follow-up run
  // came for them.
  EXPECT_EQ(Pending(*device), (std::vector<std::string>{"readings/r1", "readings/r2"}));
  auto pending = device->PendingMutations(0, 10);
  ASSERT_TRUE(pending.ok());
  const uint64_t moved_to = (*pending)[0].mutation.seq;
  EXPECT_GT(moved_to, 4u);
  EXPECT_EQ(device_driver_.EventsOf<SyncStartedEvent>().size(), 1u);
  EXPECT_EQ(Get(*device, "readings", "r1"), Json(1));  // the local view is unchanged

  Sync(*device, device_driver_, TriggerReason::kManual);
  EXPECT_TRUE(Pending(*device).empty());
  Sync(*other_, other_driver_, TriggerReason::kManual);
  // Applied, not taken for repeats of seqs below the notes' ones.
  EXPECT_EQ(Get(*other_, "readings", "r1"), Json(1));
  EXPECT_EQ(Get(*other_, "readings", "r2"), Json(2));
  EXPECT_EQ(Get(*other_, "notes", "n2"), Json("second"));
}

TEST_F(MeteredTest, LeavingTheMeteredConnectionPushesWhatWaited) {
  auto device = Open(device_store_, 2);
  device->HandleMetered(true, now_);
  Put(*device, "readings", "r1", 1);
  Put(*device, "notes", "n1", "note");
  Sync(*device, device_driver_, TriggerReason::kLocalWrite);
  EXPECT_EQ(Pending(*device), std::vector<std::string>{"readings/r1"});
  Put(*device, "readings", "r2", 2);
  Sync(*device, device_driver_, TriggerReason::kRetry);
  EXPECT_EQ(Pending(*device), (std::vector<std::string>{"readings/r1", "readings/r2"}));

  now_.monotonic += 10;
  device->HandleMetered(false, now_);
  device_driver_.Pump(*device, now_);
  EXPECT_TRUE(Pending(*device).empty());
  const auto started = device_driver_.EventsOf<SyncStartedEvent>();
  ASSERT_FALSE(started.empty());
  EXPECT_EQ(started.back().reason, TriggerReason::kOnline);
  Sync(*other_, other_driver_, TriggerReason::kManual);
  EXPECT_EQ(Get(*other_, "readings", "r2"), Json(2));
}

TEST_F(MeteredTest, AWriteAPushAlreadyCarriedKeepsItsPlace) {
  auto device = Open(device_store_, 2);
  Put(*device, "readings", "r1", 1);
  // A push carries it and gets no answer: the server may hold it already.
  device_driver_.fault = [](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method == "POST") return HttpResponse{0, "", "", "connection reset"};
    return std::nullopt;
  };
  Sync(*device, device_driver_, TriggerReason::kManual);
  device_driver_.fault = nullptr;
  device->HandleMetered(true, now_);
  Put(*device, "readings", "r2", 2);
  Sync(*device, device_driver_, TriggerReason::kRetry);
  EXPECT_EQ(Pending(*device), std::vector<std::string>{"readings/r2"});
  Sync(*other_, other_driver_, TriggerReason::kManual);
  EXPECT_EQ(Get(*other_, "readings", "r1"), Json(1));
}

TEST_F(MeteredTest, ALocalWriteToDeferrableCollectionsAloneStartsNoRun) {
  options_.sync_on_local_write = true;
  options_.live_updates = false;
  options_.random_seed = 2;
  auto opened = SyncEngine::Open(device_store_, options_, now_);
  ASSERT_TRUE(opened.ok());
  SyncEngine& device = **opened;
  device.HandleMetered(true, now_);
  Put(device, "readings", "r1", 1);
  EXPECT_EQ(device.PollTimeout(), std::nullopt);  // no debounced run is due
  Put(device, "notes", "n1", "note");
  EXPECT_NE(device.PollTimeout(), std::nullopt);
}

TEST_F(MeteredTest, DeferrableNamesAreChecked) {
  options_.deferrable = {""};
  auto opened = SyncEngine::Open(device_store_, options_, now_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry
