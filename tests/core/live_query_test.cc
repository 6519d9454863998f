// Live queries (issue 18, live_query.h): a page kept one change at a time
// equals the query run again after every change, and its diffs say exactly
// what differs; the engine delivers a page first and then after each change
// that alters it (local writes, pulls), none for changes that cannot.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "ferry/engine.h"
#include "ferry/live_query.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

Query Parse(const std::string& text) {
  auto query = QueryFromText(text);
  EXPECT_TRUE(query.ok()) << text << ": " << query.status().ToString();
  return query.ok() ? *query : Query{};
}

std::vector<std::string> Keys(const QueryPage& page) {
  std::vector<std::string> keys;
  for (const auto& document : page.documents)
    keys.push_back(document.first);
  return keys;
}

std::vector<std::string> Without(std::vector<std::string> keys,
                                 const std::vector<std::string>& gone) {
  std::erase_if(keys, [&](const std::string& key) {
    return std::find(gone.begin(), gone.end(), key) != gone.end();
  });
  return keys;
}

// The longest common subsequence's length, computed plainly.
std::size_t CommonLength(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<std::size_t>> best(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j)
      best[i][j] =
          a[i - 1] == b[j - 1] ? best[i - 1][j - 1] + 1 : std::max(best[i - 1][j], best[i][j - 1]);
  return best[a.size()][b.size()];
}

// A diff from `before` to `after` says exactly what differs.
void ExpectDiff(const QueryPage& before, const QueryPage& after, const QueryDiff& diff) {
  const std::vector<std::string> old_keys = Keys(before), new_keys = Keys(after);
  std::vector<std::string> added, removed;
  for (const auto& key : new_keys)
    if (std::find(old_keys.begin(), old_keys.end(), key) == old_keys.end()) added.push_back(key);
  for (const auto& key : old_keys)
    if (std::find(new_keys.begin(), new_keys.end(), key) == new_keys.end()) removed.push_back(key);
  EXPECT_EQ(diff.added, added);
  EXPECT_EQ(diff.removed, removed);
  // Both pages without added, removed and moved are one sequence, and no
  // fewer moves would do.
  const auto old_common = Without(old_keys, removed), new_common = Without(new_keys, added);
  EXPECT_EQ(Without(old_common, diff.moved), Without(new_common, diff.moved));
  EXPECT_EQ(diff.moved.size(), new_common.size() - CommonLength(old_common, new_common));
  // Changed: exactly the documents in both whose value differs.
  for (const auto& document : after.documents) {
    const std::string& key = document.first;
    const auto old = std::find_if(before.documents.begin(), before.documents.end(),
                                  [&](const auto& entry) { return entry.first == key; });
    const bool differs = old != before.documents.end() && old->second != document.second;
    const bool listed =
        std::find(diff.changed.begin(), diff.changed.end(), key) != diff.changed.end();
    EXPECT_EQ(listed, differs) << key;
  }
}

const char* const kShapes[] = {
    R"({"collection":"c"})",
    R"({"collection":"c","where":{"path":"g","eq":1}})",
    R"({"collection":"c","orderBy":[{"path":"n"}],"limit":4})",
    R"({"collection":"c","where":{"path":"n","gte":2},"orderBy":[{"path":"n","desc":true}],
        "limit":3})",
    R"({"collection":"c","where":{"or":[{"path":"g","eq":0},{"path":"n","lt":3}]},
        "orderBy":[{"path":"g"},{"path":"n","desc":true}],"limit":5})",
};

// Random writes and deletes over 16 keys, applied to the live page and
// checked against the query run on all documents, with a diff taken now and
// then; pages start from the first and (when there is one) the second page.
TEST(LiveQueryTest, APageKeptChangeByChangeEqualsTheQueryRunAgain) {
  for (const char* shape : kShapes) {
    for (uint32_t seed = 1; seed <= 40; ++seed) {
      std::mt19937 random(seed);
      std::map<std::string, Json> documents;
      const auto value = [&] { return Json{{"g", random() % 3}, {"n", random() % 8}}; };
      for (int i = 0; i < 10; ++i)
        documents["k" + std::to_string(random() % 16)] = value();
      const auto all = [&] {
        return std::vector<std::pair<std::string, Json>>(documents.begin(), documents.end());
      };
      Query query = Parse(shape);
      if (seed % 2 == 0) {
        auto first = QueryPageOf(query, all());
        ASSERT_TRUE(first.ok());
        query.after = first->next;  // the second page, or the first when there is one only
      }
      auto started = QueryPageOf(LiveQuery::Lookahead(query), all());
      ASSERT_TRUE(started.ok());
      auto live = LiveQuery::Start(query, *started);
      ASSERT_TRUE(live.ok());
      QueryPage delivered;
      const auto first = live->TakeUpdate();
      ASSERT_NE(first, nullptr);
      ExpectDiff(delivered, first->page, first->diff);
      delivered = first->page;
      // Fill from the store as it is now, which may be ahead of the changes
      // applied so far, as the engine's store is when it polls one change
      // event while the next is waiting.
      const auto fill = [&] {
        if (auto rest = live->FillQuery()) {
          auto answer = QueryPageOf(*rest, all());
          ASSERT_TRUE(answer.ok());
          live->Fill(std::move(*answer));
        }
      };
      for (int step = 0; step < 60; ++step) {
        // One to three changes, applied in two parts with a fill after each.
        std::vector<std::string> changed;
        for (std::size_t n = 1 + random() % 3; n > 0; --n) {
          changed.push_back("k" + std::to_string(random() % 16));
          if (random() % 4 == 0) {
            documents.erase(changed.back());
          } else {
            documents[changed.back()] = value();
          }
        }
        const std::size_t split = random() % (changed.size() + 1);
        for (std::size_t i = 0; i < changed.size(); ++i) {
          const auto found = documents.find(changed[i]);
          live->Apply(changed[i], found == documents.end() ? nullptr : &found->second);
          if (i + 1 == split) fill();
        }
        fill();
        auto expected = QueryPageOf(query, all());
        ASSERT_TRUE(expected.ok());
        ASSERT_EQ(live->page().documents, expected->documents) << shape << " seed " << seed;
        ASSERT_EQ(live->page().next, expected->next) << shape << " seed " << seed;
        if (random() % 3 == 0) {
          // An update exactly when the page (documents or next) changed.
          const auto update = live->TakeUpdate();
          const QueryPage now = live->page();
          ASSERT_EQ(update != nullptr,
                    now.documents != delivered.documents || now.next != delivered.next);
          if (update) {
            EXPECT_EQ(update->page.documents, now.documents);
            EXPECT_EQ(update->page.next, now.next);
            ExpectDiff(delivered, update->page, update->diff);
            delivered = update->page;
          }
        }
      }
    }
  }
}

TEST(LiveQueryTest, AChangeBeyondTheCollectionOrTheFilterLeavesThePageAlone) {
  auto live = LiveQuery::Start(Parse(R"({"collection":"c","where":{"path":"g","eq":1}})"),
                               QueryPage{{{"a", Json{{"g", 1}}}}, ""});
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->TakeUpdate()->diff.added, (std::vector<std::string>{"a"}));
  const Json other{{"g", 2}};
  live->Apply("b", &other);
  live->Apply("c", nullptr);
  const Json same{{"g", 1}};
  live->Apply("a", &same);  // written again as it was
  EXPECT_FALSE(live->FillQuery().has_value());
  EXPECT_EQ(live->TakeUpdate(), nullptr);
  // A cursor the query did not give is refused.
  Query bad = Parse(R"({"collection":"c"})");
  bad.after = "not a cursor";
  EXPECT_EQ(LiveQuery::Start(bad, {}).status().code(), ErrorCode::kInvalidArgument);
}

// A member leaving a page with more after it costs a read of what follows
// the window, not the page again: the query after its last document, for
// as many as it lacks.
TEST(LiveQueryTest, AMemberLeavingAsksOnlyForTheDocumentsAfterTheWindow) {
  const Query query = Parse(R"({"collection":"c","orderBy":[{"path":"n"}],"limit":2})");
  std::vector<std::pair<std::string, Json>> documents;
  for (int n = 0; n < 5; ++n)
    documents.emplace_back("k" + std::to_string(n), Json{{"n", n}});
  auto started = QueryPageOf(LiveQuery::Lookahead(query), documents);
  ASSERT_TRUE(started.ok());
  auto live = LiveQuery::Start(query, *started);  // k0 k1, and k2 held
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(live->FillQuery().has_value());
  live->Apply("k0", nullptr);
  documents.erase(documents.begin());
  const auto rest = live->FillQuery();
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->limit, 1u);
  auto answer = QueryPageOf(*rest, documents);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(Keys(*answer), (std::vector<std::string>{"k3"}));
  live->Fill(std::move(*answer));
  EXPECT_EQ(Keys(live->page()), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(live->TakeUpdate()->diff.added, (std::vector<std::string>{"k1", "k2"}));
}

class EngineLiveQueryTest : public ::testing::Test {
 protected:
  void Put(SyncEngine& engine, const std::string& collection, const std::string& key, Json value) {
    ASSERT_TRUE(engine.HandleLocalWrite(MutationOp::kPut, {collection, key}, value, now_).ok());
  }
  // The events the engine has for the host now.
  std::vector<Event> Drain(SyncEngine& engine) {
    driver_.events.clear();
    driver_.Pump(engine, now_);
    return driver_.events;
  }
  void Sync(SyncEngine& engine) {
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver_.Pump(engine, now_);
  }

  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_{server_, "alice"};
};

// Pointers into `events`, which must outlive them.
std::vector<const QueryChangedEvent*> PagesIn(const std::vector<Event>& events) {
  std::vector<const QueryChangedEvent*> pages;
  for (const Event& event : events)
    if (const auto* page = std::get_if<QueryChangedEvent>(&event)) pages.push_back(page);
  return pages;
}

TEST_F(EngineLiveQueryTest, PagesFollowLocalWritesAndPullsAndStopWhenUnsubscribed) {
  MemoryStore store;
  auto engine = testing::OpenQuietEngine(store, 1, now_);
  Put(*engine, "tasks", "t1", {{"due", 3}, {"open", true}});
  Put(*engine, "tasks", "t2", {{"due", 1}, {"open", true}});
  Drain(*engine);
  const Query query = Parse(
      R"({"collection":"tasks","where":{"path":"open","eq":true},"orderBy":[{"path":"due"}]})");
  const Status subscribed = engine->SubscribeQuery(7, query);
  ASSERT_TRUE(subscribed.ok()) << subscribed.ToString();
  // An id in use, or 0, is refused.
  EXPECT_EQ(engine->SubscribeQuery(7, query).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->SubscribeQuery(0, query).code(), ErrorCode::kInvalidArgument);
  auto events = Drain(*engine);
  ASSERT_EQ(PagesIn(events).size(), 1u);
  EXPECT_EQ(PagesIn(events)[0]->query, 7u);
  EXPECT_EQ(Keys(PagesIn(events)[0]->update->page), (std::vector<std::string>{"t2", "t1"}));
  EXPECT_EQ(PagesIn(events)[0]->update->diff.added, (std::vector<std::string>{"t2", "t1"}));

  // Another collection, and a document the filter keeps out: no page.
  Put(*engine, "notes", "n1", {{"open", true}});
  Put(*engine, "tasks", "t3", {{"due", 0}, {"open", false}});
  EXPECT_TRUE(PagesIn(Drain(*engine)).empty());

  // A local write that moves t1 first: the page follows its change event.
  Put(*engine, "tasks", "t1", {{"due", 0}, {"open", true}});
  events = Drain(*engine);
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<DocumentsChangedEvent>(events[0]));
  const auto* moved = std::get_if<QueryChangedEvent>(&events[1]);
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(Keys(moved->update->page), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(moved->update->diff.changed, (std::vector<std::string>{"t1"}));
  EXPECT_EQ(moved->update->diff.moved.size(), 1u);

  // Another device's write arrives by a pull.
  Sync(*engine);
  MemoryStore other_store;
  auto other = testing::OpenQuietEngine(other_store, 2, now_);
  Put(*other, "tasks", "t9", {{"due", 0.5}, {"open", true}});
  Sync(*other);
  Drain(*engine);
  driver_.events.clear();
  Sync(*engine);
  const auto pulled = PagesIn(driver_.events);
  ASSERT_EQ(pulled.size(), 1u);
  EXPECT_EQ(Keys(pulled[0]->update->page), (std::vector<std::string>{"t1", "t9", "t2"}));
  EXPECT_EQ(pulled[0]->update->diff.added, (std::vector<std::string>{"t9"}));

  EXPECT_TRUE(engine->UnsubscribeQuery(7));
  EXPECT_FALSE(engine->UnsubscribeQuery(7));
  Put(*engine, "tasks", "t2", {{"due", 5}, {"open", true}});
  EXPECT_TRUE(PagesIn(Drain(*engine)).empty());
}

TEST_F(EngineLiveQueryTest, AFirstPageComesBeforeAnyChangeAndHoldsEarlierOnes) {
  MemoryStore store;
  auto engine = testing::OpenQuietEngine(store, 1, now_);
  // A change event still queued when the query is subscribed: the first page
  // holds it already, and nothing precedes that page.
  Put(*engine, "tasks", "a", {{"n", 1}});
  ASSERT_TRUE(engine->SubscribeQuery(1, Parse(R"({"collection":"tasks","limit":1})")).ok());
  Put(*engine, "tasks", "a", {{"n", 2}});
  Put(*engine, "tasks", "0", {{"n", 0}});  // takes the one place
  const auto events = Drain(*engine);
  const auto pages = PagesIn(events);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0]->update->page.documents,
            (std::vector<std::pair<std::string, Json>>{{"a", Json{{"n", 1}}}}));
  EXPECT_EQ(pages[1]->update->diff.changed, (std::vector<std::string>{"a"}));
  EXPECT_EQ(Keys(pages[2]->update->page), (std::vector<std::string>{"0"}));
  EXPECT_EQ(pages[2]->update->diff.removed, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(pages[2]->update->page.next.empty());

  // Deleting the one on the page brings the next one in: the query runs again.
  ASSERT_TRUE(engine->HandleLocalWrite(MutationOp::kDelete, {"tasks", "0"}, Json(), now_).ok());
  const auto later = Drain(*engine);
  const auto refilled = PagesIn(later);
  ASSERT_EQ(refilled.size(), 1u);
  EXPECT_EQ(Keys(refilled[0]->update->page), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(refilled[0]->update->page.next.empty());

  Query bad = Parse(R"({"collection":"tasks"})");
  bad.after = "{}";
  EXPECT_EQ(engine->SubscribeQuery(2, bad).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry
