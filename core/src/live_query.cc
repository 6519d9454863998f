// A query's page kept current one changed document at a time; see
// live_query.h.
#include "ferry/live_query.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

namespace ferry {
namespace {

// Which of `sequence` (distinct numbers) lie on one of its longest
// increasing subsequences: the documents that kept their order.
std::vector<bool> OnLongestIncreasing(const std::vector<std::size_t>& sequence) {
  std::vector<std::size_t> tails;  // tails[n]: index ending the best run of length n + 1
  std::vector<std::size_t> previous(sequence.size(), sequence.size());
  for (std::size_t i = 0; i < sequence.size(); ++i) {
    const auto at = std::lower_bound(
        tails.begin(), tails.end(), sequence[i],
        [&](std::size_t tail, std::size_t value) { return sequence[tail] < value; });
    if (at != tails.begin()) previous[i] = *(at - 1);
    if (at == tails.end()) {
      tails.push_back(i);
    } else {
      *at = i;
    }
  }
  std::vector<bool> kept(sequence.size(), false);
  for (std::size_t i = tails.empty() ? sequence.size() : tails.back(); i < sequence.size();
       i = previous[i]) {
    kept[i] = true;
  }
  return kept;
}

// The keys that differ from `before` to `after` (see QueryDiff).
QueryDiff Diff(const std::vector<std::pair<std::string, Json>>& before,
               const std::vector<std::pair<std::string, Json>>& after) {
  QueryDiff diff;
  // Ordered maps, not hash tables: the wasm build has their code already.
  std::map<std::string_view, std::size_t> before_at;
  for (std::size_t i = 0; i < before.size(); ++i)
    before_at.emplace(before[i].first, i);
  std::vector<bool> kept(before.size(), false);
  // The documents in both pages, in the new order, by their old places.
  std::vector<std::size_t> old_places;
  for (const auto& [key, value] : after) {
    const auto found = before_at.find(key);
    if (found == before_at.end()) {
      diff.added.push_back(key);
      continue;
    }
    kept[found->second] = true;
    old_places.push_back(found->second);
    if (before[found->second].second != value) diff.changed.push_back(key);
  }
  for (std::size_t i = 0; i < before.size(); ++i)
    if (!kept[i]) diff.removed.push_back(before[i].first);
  const std::vector<bool> in_order = OnLongestIncreasing(old_places);
  for (std::size_t i = 0; i < old_places.size(); ++i)
    if (!in_order[i]) diff.moved.push_back(before[old_places[i]].first);
  return diff;
}

}  // namespace

Query LiveQuery::Lookahead(const Query& query) {
  Query lookahead = query;
  if (lookahead.limit != 0) ++lookahead.limit;
  return lookahead;
}

Result<LiveQuery> LiveQuery::Start(Query query, QueryPage answer) {
  auto owned = std::make_unique<const Query>(std::move(query));
  FERRY_ASSIGN_OR_RETURN(QueryOrder order, QueryOrder::Of(*owned));
  return LiveQuery(std::move(owned), std::move(order), std::move(answer));
}

LiveQuery::LiveQuery(std::unique_ptr<const Query> query, QueryOrder order, QueryPage answer)
    : query_(std::move(query)), order_(std::move(order)) {
  Reset(std::move(answer));
}

std::size_t LiveQuery::Shown() const {
  return query_->limit == 0 ? window_.size() : std::min(window_.size(), query_->limit);
}

QueryPage LiveQuery::page() const {
  QueryPage page;
  page.documents.assign(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(Shown()));
  if (Shown() < window_.size()) {
    const auto& [last_key, last_value] = page.documents.back();
    page.next = order_.CursorAfter(last_key, last_value);
  }
  return page;
}

void LiveQuery::Apply(const std::string& key, const Json* value) {
  const bool admitted = value != nullptr && order_.Admits(key, *value);
  if (keys_.contains(key)) {
    const auto found = std::find_if(window_.begin(), window_.end(),
                                    [&](const auto& document) { return document.first == key; });
    if (admitted && found->second == *value) return;
    touched_ = true;
    window_.erase(found);
    keys_.erase(key);
  }
  if (!admitted) return;
  const std::size_t at = PlaceOf(key, *value);
  // Past the end of a window with more behind it: the documents between
  // are not known here, and the window does not change.
  if (at < window_.size() || complete_) Insert(at, key, *value);
}

std::optional<Query> LiveQuery::FillQuery() const {
  const std::size_t wanted = query_->limit + 1;  // the page and one more
  if (complete_ || window_.size() >= wanted) return std::nullopt;
  Query rest = *query_;  // the query's own cursor, for an empty window
  if (!window_.empty())
    rest.after = order_.CursorAfter(window_.back().first, window_.back().second);
  rest.limit = wanted - window_.size();
  return rest;
}

void LiveQuery::Fill(QueryPage answer) {
  for (auto& document : answer.documents) {
    if (keys_.contains(document.first)) continue;
    keys_.insert(document.first);
    window_.push_back(std::move(document));
  }
  complete_ = answer.next.empty();
  touched_ = true;
}

std::size_t LiveQuery::PlaceOf(const std::string& key, const Json& value) const {
  const auto at = std::upper_bound(
      window_.begin(), window_.end(), key, [&](const std::string&, const auto& document) {
        return order_.Compare(key, value, document.first, document.second) < 0;
      });
  return static_cast<std::size_t>(at - window_.begin());
}

void LiveQuery::Insert(std::size_t at, const std::string& key, const Json& value) {
  window_.emplace(window_.begin() + static_cast<std::ptrdiff_t>(at), key, value);
  keys_.insert(key);
  touched_ = true;
  if (query_->limit == 0 || window_.size() <= query_->limit + 1) return;
  // A full window gained one: its last is known to follow, no longer held.
  keys_.erase(window_.back().first);
  window_.pop_back();
  complete_ = false;
}

void LiveQuery::Reset(QueryPage answer) {
  touched_ = true;
  window_ = std::move(answer.documents);
  complete_ = answer.next.empty();
  keys_.clear();
  for (const auto& document : window_)
    keys_.insert(document.first);
}

std::shared_ptr<const QueryUpdate> LiveQuery::TakeUpdate() {
  if (!touched_) return nullptr;  // the common case: a change it did not see
  touched_ = false;
  QueryPage now = page();
  static const std::vector<std::pair<std::string, Json>> kNothing;
  QueryDiff diff = Diff(delivered_ ? delivered_->page.documents : kNothing, now.documents);
  // No diff: the same documents, values and order.
  if (delivered_ && diff.empty() && delivered_->page.next == now.next) return nullptr;
  delivered_ = std::make_shared<const QueryUpdate>(QueryUpdate{std::move(now), std::move(diff)});
  return delivered_;
}

}  // namespace ferry
