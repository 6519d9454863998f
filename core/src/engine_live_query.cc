// Live queries (live_query.h): subscribing, and keeping each page current
// as the DocumentsChangedEvents that change it are polled. Refreshing at
// the poll, not at the emit, reads the store once the handler that changed
// it has committed, and a refresh of several changes reads each document
// once, as it is then.
#include <memory>
#include <optional>
#include <vector>

#include "ferry/engine.h"

namespace ferry {

Status SyncEngine::SubscribeQuery(uint64_t id, const Query& query) {
  if (id == 0 || live_queries_.contains(id)) {
    return Status(ErrorCode::kInvalidArgument,
                  "live query id " + std::to_string(id) + " is 0 or in use");
  }
  FERRY_ASSIGN_OR_RETURN(QueryPage answer, RunQuery(LiveQuery::Lookahead(query)));
  FERRY_ASSIGN_OR_RETURN(LiveQuery live, LiveQuery::Start(query, std::move(answer)));
  // The first update always comes: nothing was delivered before it.
  Emit(QueryChangedEvent{id, live.TakeUpdate()});
  live_queries_.emplace(id, LiveQueryState{std::move(live), changes_emitted_});
  return Status::Ok();
}

bool SyncEngine::UnsubscribeQuery(uint64_t id) {
  return live_queries_.erase(id) > 0;
}

void SyncEngine::RefreshLiveQueries(const DocumentsChangedEvent& changed) {
  // Each document's view, read once for every query of its collection.
  std::vector<std::optional<Result<std::optional<Json>>>> views(changed.documents.size());
  const auto view_of = [&](std::size_t i) -> const Result<std::optional<Json>>& {
    if (!views[i]) views[i] = replica_.Get(changed.documents[i]);
    return *views[i];
  };
  std::vector<Event> pages;
  for (auto& [id, state] : live_queries_) {
    if (state.since >= changes_polled_) continue;  // its first page is newer
    LiveQuery& live = state.live;
    for (std::size_t i = 0; !state.stale && i < changed.documents.size(); ++i) {
      const DocumentId& document = changed.documents[i];
      if (document.collection != live.query().collection) continue;
      const auto& view = view_of(i);
      state.stale = !view.ok();
      if (!state.stale) live.Apply(document.key, *view ? &**view : nullptr);
    }
    // Kept stale, to run again at the next change, while the store fails.
    if (state.stale) {
      auto answer = RunQuery(LiveQuery::Lookahead(live.query()));
      state.stale = !answer.ok();
      if (state.stale) continue;
      live.Reset(std::move(*answer));
    } else if (auto rest = live.FillQuery()) {
      auto answer = RunQuery(*rest);
      state.stale = !answer.ok();
      if (state.stale) continue;
      live.Fill(std::move(*answer));
    }
    if (auto update = live.TakeUpdate())
      pages.emplace_back(QueryChangedEvent{id, std::move(update)});
  }
  // Next out of PollAction, in the order of their ids.
  for (auto page = pages.rbegin(); page != pages.rend(); ++page)
    actions_.emplace_front(std::move(*page));
}

}  // namespace ferry
