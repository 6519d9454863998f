// Metered mode of SyncEngine (issue 17; EngineOptions::deferrable): while
// the host says the connection is metered, the runs the engine starts
// itself leave the writes of deferrable collections for later.
//
// The server keeps one high-water mark of seqs per client (rule 1 of
// docs/PROTOCOL.md): once a push carries seq n, every seq below n is a
// repeat to it. So a push that goes ahead of deferred writes first gives
// them new seqs above its own, in the commit that records the push; they
// keep their order among themselves, and a document's writes all belong to
// one collection, so its order is kept too. Only writes no push ever
// carried are deferred: one that may have reached the server keeps its seq
// and goes in order.
#include <algorithm>

#include "ferry/engine.h"

namespace ferry {

void SyncEngine::HandleMetered(bool metered, Instant now) {
  Observe(now);
  FlushAnswers(now);
  if (metered == metered_) return;
  metered_ = metered;
  // Writes left for later may go now. A run in progress pushes them in its
  // next batch, or asks for a follow-up run (CompleteRun).
  if (!metered && !run_ && online_ && outbox_.pending_count() > 0) {
    StartRun(TriggerReason::kOnline, now);
  }
  EmitStatusIfChanged();
}

bool SyncEngine::DeferringWrites() const {
  return metered_ && !options_.deferrable.empty() && run_ && run_->reason != TriggerReason::kManual;
}

bool SyncEngine::OnlyDeferrable(std::span<const LocalWrite> writes) const {
  if (!metered_ || options_.deferrable.empty()) return false;
  return std::all_of(writes.begin(), writes.end(), [&](const LocalWrite& write) {
    return NamesCollection(options_.deferrable, write.document.collection);
  });
}

Status SyncEngine::MoveDeferredBehind(Transaction& txn, const DeferredEntries& deferred,
                                      const std::vector<OutboxEntry>& batch) {
  if (batch.empty() || deferred.passed_over.empty() ||
      deferred.passed_over.front().mutation.seq > batch.back().mutation.seq) {
    return Status::Ok();  // nothing deferred lies below what goes now
  }
  // Every deferred entry moves, not only those below the batch: a document's
  // later writes must stay behind its earlier ones.
  for (const OutboxEntry& entry : deferred.passed_over) {
    FERRY_RETURN_IF_ERROR(replica_.StageRenumber(txn, entry, outbox_.AllocateSeq()));
  }
  return Status::Ok();
}

}  // namespace ferry
