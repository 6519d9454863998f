// Hooks (issue 17): before a push an app keeps, rewrites or refuses each
// write; after a pull it keeps, rewrites or keeps out each change; before a
// run it may postpone it. A hook that throws fails the run and loses nothing.
#include <stdexcept>

#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;
using Kind = HookDecision::Kind;

class HooksTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(MemoryStore& store, uint64_t seed, EngineOptions options = {}) {
    return testing::OpenQuietEngine(store, seed, now_, std::move(options));
  }

  void Put(SyncEngine& engine, const std::string& collection, const std::string& key, Json value) {
    EXPECT_TRUE(engine.HandleLocalWrite(MutationOp::kPut, {collection, key}, value, now_).ok());
  }

  RunTicket Sync(SyncEngine& engine, InlineDriver& driver) {
    now_.wall += 1000;
    now_.monotonic += 1000;
    const RunTicket ticket = engine.HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(engine, now_);
    return ticket;
  }

  std::optional<Json> Get(SyncEngine& engine, const std::string& collection,
                          const std::string& key) {
    auto value = engine.Get({collection, key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  // The record of the run `ticket` names, from the events the driver saw.
  std::optional<SyncRunRecord> RunRecord(InlineDriver& driver, RunTicket ticket) {
    for (const auto& done : driver.EventsOf<SyncCompletedEvent>())
      if (done.run.run_id == ticket) return done.run;
    for (const auto& failed : driver.EventsOf<SyncFailedEvent>())
      if (failed.run.run_id == ticket) return failed.run;
    return std::nullopt;
  }

  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver device_driver_{server_, "alice"}, other_driver_{server_, "alice"};
  MemoryStore device_store_, other_store_;
  std::unique_ptr<SyncEngine> other_ = Open(other_store_, 1);
};

TEST_F(HooksTest, BeforePushPushesTheValueItGivesAndTheLocalViewFollows) {
  EngineOptions options;
  std::vector<Mutation> asked;
  options.before_push = [&](const Mutation& mutation) {
    asked.push_back(mutation);
    if (mutation.document.key != "loud") return HookDecision{};
    return HookDecision{Kind::kReplace, Json{{"text", "HELLO"}}, ""};
  };
  auto device = Open(device_store_, 2, options);
  Put(*device, "notes", "loud", Json{{"text", "hello"}});
  Put(*device, "notes", "quiet", Json{{"text", "hi"}});
  // The first push fails: the retry asks again, with the value the outbox
  // kept, which is the hook's.
  bool failed_once = false;
  device_driver_.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method != "POST" || failed_once) return std::nullopt;
    failed_once = true;
    return HttpResponse{503, "", "", ""};
  };
  Sync(*device, device_driver_);
  EXPECT_EQ(device->status().pending, 2u);
  device.reset();
  device = Open(device_store_, 2, options);
  device_driver_.events.clear();
  Sync(*device, device_driver_);
  ASSERT_EQ(asked.size(), 4u);
  // The rewrite shows here once the server has it: a change event names the
  // document whose view it changed, and only that one.
  std::vector<std::string> changed;
  for (const auto& event : device_driver_.EventsOf<DocumentsChangedEvent>())
    for (const DocumentId& id : event.documents)
      changed.push_back(id.key);
  EXPECT_EQ(changed, (std::vector<std::string>{"loud"}));
  EXPECT_EQ(asked[0].value, Json({{"text", "hello"}}));  // the hook sees the value, not text
  EXPECT_EQ(asked[2].value, Json({{"text", "HELLO"}}));
  Sync(*other_, other_driver_);
  EXPECT_EQ(Get(*other_, "notes", "loud"), Json({{"text", "HELLO"}}));
  EXPECT_EQ(Get(*other_, "notes", "quiet"), Json({{"text", "hi"}}));
  EXPECT_EQ(Get(*device, "notes", "loud"), Json({{"text", "HELLO"}}));
  EXPECT_EQ(device->status().pending, 0u);
}

TEST_F(HooksTest, BeforePushRefusesAWriteIntoADeadLetterWithItsReason) {
  EngineOptions options;
  options.before_push = [](const Mutation& mutation) {
    if (mutation.document.collection != "secrets") return HookDecision{};
    return HookDecision{Kind::kRefuse, {}, "secrets stay on the device"};
  };
  auto device = Open(device_store_, 2, std::move(options));
  Put(*device, "secrets", "s1", Json{{"pin", 1234}});
  Put(*device, "notes", "n1", Json{{"text", "hi"}});
  const RunTicket run = Sync(*device, device_driver_);

  auto failed = device->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].mutation.document.key, "s1");
  EXPECT_EQ((*failed)[0].error, "secrets stay on the device");
  EXPECT_EQ(Get(*device, "secrets", "s1"), std::nullopt);  // out of the view, as a dead letter is
  auto rejected = device_driver_.EventsOf<MutationRejectedEvent>();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].mutation.value, Json({{"pin", 1234}}));
  ASSERT_TRUE(RunRecord(device_driver_, run).has_value());
  EXPECT_EQ(RunRecord(device_driver_, run)->rejected, 1u);
  EXPECT_EQ(RunRecord(device_driver_, run)->outcome, RunOutcome::kCompleted);
  Sync(*other_, other_driver_);
  EXPECT_EQ(Get(*other_, "notes", "n1"), Json({{"text", "hi"}}));
  EXPECT_EQ(Get(*other_, "secrets", "s1"), std::nullopt);
}

TEST_F(HooksTest, AReplacementThatIsNoDocumentIsRefusedWithTheReason) {
  EngineOptions options;
  options.before_push = [](const Mutation&) {
    return HookDecision{Kind::kReplace, Json(), ""};  // null is no document
  };
  auto device = Open(device_store_, 2, std::move(options));
  Put(*device, "notes", "n1", Json{{"text", "hi"}});
  Sync(*device, device_driver_);
  auto failed = device->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_NE((*failed)[0].error.find("before_push replaced it"), std::string::npos);
}

TEST_F(HooksTest, AHookThatThrowsFailsTheRunAndLosesNothing) {
  EngineOptions options;
  options.before_push = [](const Mutation&) -> HookDecision {
    throw std::runtime_error("bug in the app");
  };
  auto device = Open(device_store_, 2, std::move(options));
  Put(*device, "notes", "n1", Json{{"text", "hi"}});
  const RunTicket run = Sync(*device, device_driver_);
  auto record = RunRecord(device_driver_, run);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->outcome, RunOutcome::kFailed);
  EXPECT_NE(record->error.find("before_push threw: bug in the app"), std::string::npos);
  EXPECT_EQ(device->status().pending, 1u);

  device.reset();
  device = Open(device_store_, 2);
  Sync(*device, device_driver_);
  Sync(*other_, other_driver_);
  EXPECT_EQ(Get(*other_, "notes", "n1"), Json({{"text", "hi"}}));
}

TEST_F(HooksTest, AfterPullRewritesOrKeepsOutAChangeAndStoresDeletions) {
  Put(*other_, "contacts", "a", Json{{"name", "Ann"}, {"ssn", "x"}});
  Put(*other_, "contacts", "b", Json{{"name", "Bob"}});
  Put(*other_, "contacts", "c", Json{{"name", "Cy"}});
  Sync(*other_, other_driver_);
  EngineOptions options;
  int asked = 0;
  options.after_pull = [&](const DocumentId& id, const Json& value) {
    ++asked;
    if (id.key == "b") return HookDecision{Kind::kRefuse, {}, ""};
    Json kept = value;
    kept.erase("ssn");
    return HookDecision{Kind::kReplace, std::move(kept), ""};
  };
  auto device = Open(device_store_, 2, std::move(options));
  Sync(*device, device_driver_);
  EXPECT_EQ(Get(*device, "contacts", "a"), Json({{"name", "Ann"}}));
  EXPECT_EQ(Get(*device, "contacts", "b"), std::nullopt);
  EXPECT_EQ(Get(*device, "contacts", "c"), Json({{"name", "Cy"}}));
  EXPECT_EQ(asked, 3);

  ASSERT_TRUE(other_->HandleLocalWrite(MutationOp::kDelete, {"contacts", "c"}, Json(), now_).ok());
  Sync(*other_, other_driver_);
  Sync(*device, device_driver_);
  EXPECT_EQ(asked, 3);  // a deletion is stored without asking
  EXPECT_EQ(Get(*device, "contacts", "c"), std::nullopt);
}

TEST_F(HooksTest, BeforeRunPostponesRunsUntilItLetsThemThrough) {
  EngineOptions options;
  bool foreground = false;
  std::vector<TriggerReason> asked;
  options.before_run = [&](TriggerReason reason, SyncDirection) {
    asked.push_back(reason);
    return foreground;
  };
  options.interval_ms = 60'000;
  auto device = Open(device_store_, 2, std::move(options));
  device_driver_.events.clear();
  asked.clear();
  Put(*device, "notes", "n1", Json{{"text", "hi"}});
  const RunTicket postponed = Sync(*device, device_driver_);
  auto record = RunRecord(device_driver_, postponed);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->outcome, RunOutcome::kCancelled);
  EXPECT_EQ(record->error, "postponed");
  EXPECT_EQ(device->status().pending, 1u);

  // An interval tick the hook postpones starts no run at all.
  const std::size_t started = device_driver_.EventsOf<SyncStartedEvent>().size();
  now_.wall += 61'000;
  now_.monotonic += 61'000;
  device->HandleTimeout(now_);
  device_driver_.Pump(*device, now_);
  EXPECT_EQ(asked.back(), TriggerReason::kInterval);
  EXPECT_EQ(device_driver_.EventsOf<SyncStartedEvent>().size(), started);

  foreground = true;
  const RunTicket run = Sync(*device, device_driver_);
  ASSERT_TRUE(RunRecord(device_driver_, run).has_value());
  EXPECT_EQ(RunRecord(device_driver_, run)->outcome, RunOutcome::kCompleted);
  EXPECT_EQ(device->status().pending, 0u);
}

}  // namespace
}  // namespace ferry
