// Live queries (live_query.h): subscribing, and keeping each page current
// as the DocumentsChangedEvents that change it are polled. Refreshing at
// the poll, not at the emit, reads the store once the handler that changed
// it has committed, and a refresh of several changes reads each document
// once, as it is then.
#include <unordered_map>

#include "ferry/engine.h"

namespace ferry {

Result<uint64_t> SyncEngine::SubscribeQuery(const Query& query) {
  FERRY_ASSIGN_OR_RETURN(QueryPage answer, RunQuery(LiveQuery::Lookahead(query)));
  FERRY_ASSIGN_OR_RETURN(LiveQuery live, LiveQuery::Start(query, std::move(answer)));
  const uint64_t id = next_live_query_++;
  QueryDiff diff = live.TakeDiff();
  Emit(QueryChangedEvent{id, live.page(), std::move(diff)});
  live_queries_.emplace(id, LiveQueryState{std::move(live), changes_emitted_});
  return id;
}

bool SyncEngine::UnsubscribeQuery(uint64_t id) {
  return live_queries_.erase(id) > 0;
}

void SyncEngine::RefreshLiveQueries(const DocumentsChangedEvent& changed) {
  // Each document's view, read once for every query of its collection.
  std::unordered_map<const DocumentId*, Result<std::optional<Json>>> views;
  const auto view_of = [&](const DocumentId& id) -> const Result<std::optional<Json>>& {
    auto found = views.find(&id);
    if (found == views.end()) found = views.emplace(&id, replica_.Get(id)).first;
    return found->second;
  };
  std::vector<Event> pages;
  for (auto& [id, state] : live_queries_) {
    if (state.since >= changes_polled_) continue;  // its first page is newer
    LiveQuery& live = state.live;
    bool kept = !state.stale;
    for (const DocumentId& document : changed.documents) {
      if (!kept) break;
      if (document.collection != live.query().collection) continue;
      const auto& view = view_of(document);
      kept = view.ok() && live.Apply(document.key, *view ? &**view : nullptr);
    }
    if (!kept) {
      auto answer = RunQuery(LiveQuery::Lookahead(live.query()));
      // Kept stale, to run again at the next change: the store failed.
      state.stale = !answer.ok();
      if (state.stale) continue;
      live.Reset(std::move(*answer));
    }
    QueryDiff diff = live.TakeDiff();
    if (!diff.empty()) pages.emplace_back(QueryChangedEvent{id, live.page(), std::move(diff)});
  }
  // Next out of PollAction, in the order of their ids.
  for (auto page = pages.rbegin(); page != pages.rend(); ++page)
    actions_.emplace_front(std::move(*page));
}

}  // namespace ferry
