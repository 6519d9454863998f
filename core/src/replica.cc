#include "ferry/replica.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "keys.h"

namespace ferry {
namespace {

// Key layout and stored forms (values are compact JSON after the newline):
//   s/<collection>\0<key>  server copy  "<version> <exists:0|1> <synced at>\n<value>"
//                          (store format 1 had no sync time: "<version> <exists>")
//   p/<collection>\0<key>  overlay      "<exists:0|1> <seq>,<seq>,...\n<view>"
constexpr std::string_view kServerPrefix = "s/";
constexpr std::string_view kOverlayPrefix = "p/";

std::string ServerKey(const DocumentId& id) {
  return std::string(kServerPrefix) + keys::DocumentSuffix(id);
}
std::string OverlayKey(const DocumentId& id) {
  return std::string(kOverlayPrefix) + keys::DocumentSuffix(id);
}

Status Corrupt(std::string_view what) {
  return Status(ErrorCode::kCorruption, std::string(what) + " does not decode");
}

// Splits "<header>\n<body>"; nullopt without a newline.
std::optional<std::pair<std::string_view, std::string_view>> SplitRecord(std::string_view bytes) {
  const std::size_t newline = bytes.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  return std::make_pair(bytes.substr(0, newline), bytes.substr(newline + 1));
}

std::optional<Json> Visible(const DocumentState& state) {
  if (!state.exists) return std::nullopt;
  return state.value;
}

}  // namespace

Result<DocumentState> Replica::Parse(const StoredState& state) {
  if (!state.exists) return DocumentState{};
  auto value = ParseJson(state.json);
  if (!value.ok()) return Corrupt("stored document value");
  return DocumentState{true, std::move(*value)};
}

Result<Replica::StoredState> Replica::ApplyStored(const StoredState& state, MutationOp op,
                                                  std::string value_json, const Json* value) {
  switch (op) {
    case MutationOp::kPut:
      return StoredState{true, std::move(value_json)};
    case MutationOp::kDelete:
      return StoredState{};
    case MutationOp::kPatch:
      break;
  }
  FERRY_ASSIGN_OR_RETURN(DocumentState before, Parse(state));
  std::optional<Json> parsed;
  if (value == nullptr) {
    FERRY_ASSIGN_OR_RETURN(DocumentState patch, Parse({true, std::move(value_json)}));
    parsed = std::move(patch.value);
    value = &*parsed;
  }
  return StoredState{true, DumpJson(ApplyMutation(std::move(before), op, *value).value)};
}

Result<Replica::Copy> Replica::ReadCopy(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(ServerKey(id)));
  if (!stored) return Copy{};
  return DecodeCopy(*stored);
}

Result<Replica::Copy> Replica::DecodeCopy(std::string_view stored) {
  auto parts = SplitRecord(stored);
  if (!parts) return Corrupt("server copy");
  auto [header, body] = *parts;
  const std::size_t space = header.find(' ');
  auto version = keys::ParseDecimal(header.substr(0, space));
  std::string_view exists =
      space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  std::optional<uint64_t> synced_at = 0;
  if (const std::size_t second = exists.find(' '); second != std::string_view::npos) {
    synced_at = keys::ParseDecimal(exists.substr(second + 1));
    exists = exists.substr(0, second);
  }
  if (!version || !synced_at || (exists != "0" && exists != "1") ||
      (exists == "1") == body.empty()) {
    return Corrupt("server copy");
  }
  return Copy{*version, {exists == "1", std::string(body)}, static_cast<TimeMs>(*synced_at)};
}

Status Replica::StageIndexes(Transaction& txn, const DocumentId& id, const StoredState& before,
                             const StoredState& after) {
  if (before == after) return Status::Ok();
  FERRY_ASSIGN_OR_RETURN(DocumentState old_state, Parse(before));
  FERRY_ASSIGN_OR_RETURN(DocumentState new_state, Parse(after));
  indexes_->StageChange(txn, id, old_state.exists ? &old_state.value : nullptr,
                        new_state.exists ? &new_state.value : nullptr);
  return Status::Ok();
}

Status Replica::StageCopyIndexes(Transaction& txn, const DocumentId& id, const StoredState& after) {
  // The server copy is the view only while no overlay covers it.
  if (!Indexed(id)) return Status::Ok();
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, id));
  if (overlay) return Status::Ok();
  FERRY_ASSIGN_OR_RETURN(Copy before, ReadCopy(txn, id));
  return StageIndexes(txn, id, before.state, after);
}

Status Replica::StageCopy(Transaction& txn, const DocumentId& id, const Copy& copy) {
  FERRY_RETURN_IF_ERROR(StageCopyIndexes(txn, id, copy.state));
  std::string bytes = std::to_string(copy.version) + (copy.state.exists ? " 1 " : " 0 ");
  bytes += std::to_string(std::max<TimeMs>(time_, 0));
  bytes += '\n';
  bytes += copy.state.json;
  txn.Put(ServerKey(id), bytes);
  return Status::Ok();
}

Status Replica::StageDropCopy(Transaction& txn, const DocumentId& id) {
  FERRY_RETURN_IF_ERROR(StageCopyIndexes(txn, id, StoredState{}));
  txn.Delete(ServerKey(id));
  return Status::Ok();
}

Result<std::optional<Replica::Overlay>> Replica::ReadOverlay(Transaction& txn,
                                                             const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(OverlayKey(id)));
  if (!stored) return std::optional<Overlay>();
  auto parts = SplitRecord(*stored);
  if (!parts) return Corrupt("overlay");
  auto [header, body] = *parts;
  if (header.size() < 3 || (header[0] != '0' && header[0] != '1') || header[1] != ' ') {
    return Corrupt("overlay");
  }
  Overlay overlay;
  overlay.view = {header[0] == '1', std::string(body)};
  if (overlay.view.exists == body.empty()) return Corrupt("overlay");
  std::string_view seqs = header.substr(2);
  while (!seqs.empty()) {
    const std::size_t comma = seqs.find(',');
    auto seq = keys::ParseDecimal(seqs.substr(0, comma));
    if (!seq) return Corrupt("overlay");
    overlay.seqs.push_back(*seq);
    seqs = comma == std::string_view::npos ? std::string_view() : seqs.substr(comma + 1);
  }
  if (overlay.seqs.empty()) return Corrupt("overlay");
  return std::optional<Overlay>(std::move(overlay));
}

Status Replica::StageOverlay(Transaction& txn, const DocumentId& id,
                             const std::optional<Overlay>& overlay) {
  const bool dropped = !overlay || overlay->seqs.empty();
  if (Indexed(id)) {
    FERRY_ASSIGN_OR_RETURN(StoredState before, ReadStoredView(txn, id));
    StoredState after;
    if (dropped) {
      FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
      after = std::move(copy.state);
    } else {
      after = overlay->view;
    }
    FERRY_RETURN_IF_ERROR(StageIndexes(txn, id, before, after));
  }
  if (dropped) {
    txn.Delete(OverlayKey(id));
    return Status::Ok();
  }
  std::string bytes(overlay->view.exists ? "1 " : "0 ");
  for (std::size_t i = 0; i < overlay->seqs.size(); ++i) {
    if (i > 0) bytes += ',';
    bytes += std::to_string(overlay->seqs[i]);
  }
  bytes += '\n';
  bytes += overlay->view.json;
  txn.Put(OverlayKey(id), bytes);
  return Status::Ok();
}

Result<Replica::StoredState> Replica::ReadStoredView(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto overlay, ReadOverlay(txn, id));
  if (overlay) return std::move(overlay->view);
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
  return std::move(copy.state);
}

Result<ServerDocument> Replica::ReadServerCopy(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
  FERRY_ASSIGN_OR_RETURN(DocumentState state, Parse(copy.state));
  return ServerDocument{id, copy.version, std::move(state), {}};
}

Result<std::pair<Version, std::string>> Replica::ReadServerCopyJson(Transaction& txn,
                                                                    const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
  return std::pair{copy.version, copy.state.exists ? std::move(copy.state.json) : "null"};
}

Result<DocumentState> Replica::ReadView(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(StoredState view, ReadStoredView(txn, id));
  return Parse(view);
}

Result<std::optional<Json>> Replica::Get(const DocumentId& id) {
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(DocumentState state, ReadView(txn, id));
  return Visible(state);
}

Result<std::vector<std::pair<std::string, Json>>> Replica::Scan(std::string_view collection,
                                                                std::string_view key_prefix,
                                                                std::size_t limit) {
  std::string suffix(collection);
  suffix += '\0';
  suffix += key_prefix;
  const std::size_t key_offset = collection.size() + 1;

  // Overlays first: there are few (one per document with pending writes), and
  // they take precedence over server copies.
  std::map<std::string, StoredState, std::less<>> overlays;
  Status failure;
  FERRY_RETURN_IF_ERROR(store_.ScanPrefix(
      std::string(kOverlayPrefix) + suffix, [&](std::string_view key, std::string_view) {
        auto id = keys::ParseDocumentSuffix(key.substr(kOverlayPrefix.size()));
        if (!id) {
          failure = Corrupt("overlay key");
          return false;
        }
        Transaction txn(store_);
        auto overlay = ReadOverlay(txn, *id);
        if (!overlay.ok()) {
          failure = overlay.status();
          return false;
        }
        overlays.emplace(id->key, std::move(overlay->value().view));
        return true;
      }));
  FERRY_RETURN_IF_ERROR(failure);

  std::vector<std::pair<std::string, Json>> results;
  const auto full = [&] { return limit != 0 && results.size() >= limit; };
  const auto emit = [&](std::string_view key, const StoredState& state) {
    if (!state.exists) return true;
    auto parsed = Parse(state);
    if (!parsed.ok()) {
      failure = parsed.status();
      return false;
    }
    results.emplace_back(std::string(key), std::move(parsed->value));
    return true;
  };
  auto next_overlay = overlays.begin();
  FERRY_RETURN_IF_ERROR(store_.ScanPrefix(
      std::string(kServerPrefix) + suffix, [&](std::string_view key, std::string_view) {
        std::string_view document_key = key.substr(kServerPrefix.size() + key_offset);
        for (; next_overlay != overlays.end() && next_overlay->first < document_key && !full();
             ++next_overlay) {
          if (!emit(next_overlay->first, next_overlay->second)) return false;
        }
        if (full()) return false;
        if (next_overlay != overlays.end() && next_overlay->first == document_key) {
          const bool ok = emit(next_overlay->first, next_overlay->second);
          ++next_overlay;
          return ok && !full();
        }
        Transaction txn(store_);
        auto copy = ReadCopy(txn, {std::string(collection), std::string(document_key)});
        if (!copy.ok()) {
          failure = copy.status();
          return false;
        }
        return emit(document_key, copy->state) && !full();
      }));
  FERRY_RETURN_IF_ERROR(failure);
  for (; next_overlay != overlays.end() && !full(); ++next_overlay) {
    if (!emit(next_overlay->first, next_overlay->second)) break;
  }
  FERRY_RETURN_IF_ERROR(failure);
  return results;
}

Result<Replica::LocalWrite> Replica::StageLocalWrite(Transaction& txn, Mutation mutation,
                                                     std::string value_json,
                                                     bool allow_coalescing) {
  if (mutation.op != MutationOp::kDelete && value_json.empty())
    value_json = DumpJson(mutation.value);
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, mutation.document));
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, mutation.document));
  mutation.base_version = copy.version;
  Overlay updated = overlay ? *overlay : Overlay{copy.state, {}};

  LocalWrite result;
  result.entry.mutation = mutation;
  result.entry.value_json = value_json;
  if (allow_coalescing && overlay && outbox_.NeverSent(overlay->seqs.back())) {
    FERRY_ASSIGN_OR_RETURN(auto previous, outbox_.Read(txn, overlay->seqs.back()));
    // Only an entry that was never sent may change: a sent one may already be
    // applied at the server, and changing it would apply a different write.
    if (previous && !previous->dead && previous->attempts == 0) {
      if (auto combined = CoalesceMutations(previous->mutation, mutation)) {
        FERRY_RETURN_IF_ERROR(outbox_.StageRemove(txn, *previous));
        updated.seqs.pop_back();
        // A later put or delete keeps its own text; a merged value is new.
        if (combined->op == MutationOp::kDelete) {
          result.entry.value_json.clear();
        } else if (!(combined->op == mutation.op && mutation.op == MutationOp::kPut)) {
          result.entry.value_json = DumpJson(combined->value);
        }
        result.entry.mutation = std::move(*combined);
        result.replaced_seq = previous->mutation.seq;
      }
    }
  }
  // The view after this write is the previous view with this write applied,
  // whether or not it was coalesced: the combined mutation means the same.
  FERRY_ASSIGN_OR_RETURN(
      updated.view, ApplyStored(updated.view, mutation.op, std::move(value_json), &mutation.value));
  updated.seqs.push_back(result.entry.mutation.seq);
  FERRY_RETURN_IF_ERROR(outbox_.StagePut(txn, result.entry));
  FERRY_RETURN_IF_ERROR(StageOverlay(txn, mutation.document, updated));
  return result;
}

Result<bool> Replica::Recompute(Transaction& txn, const DocumentId& id,
                                const std::vector<uint64_t>& seqs, const StoredState& before) {
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
  Overlay overlay{copy.state, {}};
  std::optional<DocumentState> view;  // parsed lazily: most rebuilds replay nothing
  for (uint64_t seq : seqs) {
    FERRY_ASSIGN_OR_RETURN(auto entry, outbox_.Read(txn, seq));
    if (!entry || entry->dead) continue;
    if (!view) {
      FERRY_ASSIGN_OR_RETURN(DocumentState parsed, Parse(copy.state));
      view = std::move(parsed);
    }
    view = ApplyMutation(std::move(*view), entry->mutation.op, entry->mutation.value);
    overlay.seqs.push_back(seq);
  }
  if (view) overlay.view = {view->exists, view->exists ? DumpJson(view->value) : std::string()};
  FERRY_RETURN_IF_ERROR(StageOverlay(txn, id, overlay));
  return !(before == overlay.view);
}

Result<bool> Replica::StageApplied(Transaction& txn, const OutboxEntry& entry,
                                   Version previous_version, Version version) {
  const Mutation& m = entry.mutation;
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, m.document));
  if (copy.version == previous_version) {
    // Batches carry values as text only (Outbox::SelectBatch): no parsed value.
    FERRY_ASSIGN_OR_RETURN(
        copy.state,
        ApplyStored(copy.state, m.op,
                    entry.value_json.empty() ? DumpJson(m.value) : entry.value_json, nullptr));
    copy.version = version;
    FERRY_RETURN_IF_ERROR(StageCopy(txn, m.document, copy));
  }
  return StageRemoved(txn, entry, std::nullopt);
}

Result<bool> Replica::StageRemoved(Transaction& txn, const OutboxEntry& entry,
                                   const std::optional<ServerDocument>& server_document) {
  if (server_document) {
    FERRY_RETURN_IF_ERROR(StageServerCopyIfNewer(txn, *server_document));
  }
  FERRY_RETURN_IF_ERROR(outbox_.StageRemove(txn, entry));
  return RecomputeWithout(txn, entry.mutation);
}

Result<std::vector<OutboxEntry>> Replica::ReadPending(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, id));
  std::vector<OutboxEntry> pending;
  if (!overlay) return pending;
  for (uint64_t seq : overlay->seqs) {
    FERRY_ASSIGN_OR_RETURN(auto entry, outbox_.Read(txn, seq));
    if (entry && !entry->dead) pending.push_back(std::move(*entry));
  }
  return pending;
}

Status Replica::StageResolution(Transaction& txn, const ServerDocument& server_document,
                                std::optional<Mutation> resolution) {
  const DocumentId& id = server_document.document;
  FERRY_RETURN_IF_ERROR(StageServerCopyIfNewer(txn, server_document));
  FERRY_ASSIGN_OR_RETURN(std::vector<OutboxEntry> pending, ReadPending(txn, id));
  for (const OutboxEntry& entry : pending)
    FERRY_RETURN_IF_ERROR(outbox_.StageRemove(txn, entry));
  FERRY_RETURN_IF_ERROR(StageOverlay(txn, id, std::nullopt));
  if (!resolution) return Status::Ok();
  return StageLocalWrite(txn, std::move(*resolution), std::string(), /*allow_coalescing=*/false)
      .status();
}

Status Replica::StageServerCopyIfNewer(Transaction& txn, const ServerDocument& server_document) {
  const DocumentId& id = server_document.document;
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
  if (server_document.version > copy.version) {
    const DocumentState& state = server_document.state;
    return StageCopy(txn, id,
                     {server_document.version,
                      {state.exists, state.exists ? DumpJson(state.value) : std::string()},
                      time_});
  }
  return Status::Ok();
}

Result<bool> Replica::RecomputeWithout(Transaction& txn, const Mutation& leaving) {
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, leaving.document));
  if (!overlay) {
    FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, leaving.document));
    return Recompute(txn, leaving.document, {}, copy.state);
  }
  std::erase(overlay->seqs, leaving.seq);
  return Recompute(txn, leaving.document, overlay->seqs, overlay->view);
}

Status Replica::StageDeadLetter(Transaction& txn, OutboxEntry entry, std::string error) {
  entry.dead = true;
  entry.error = std::move(error);
  FERRY_RETURN_IF_ERROR(outbox_.StagePut(txn, entry));
  return RecomputeWithout(txn, entry.mutation).status();
}

Status Replica::StageRenumber(Transaction& txn, const OutboxEntry& entry, uint64_t new_seq) {
  FERRY_RETURN_IF_ERROR(outbox_.StageRemove(txn, entry));
  OutboxEntry moved = entry;
  moved.mutation.seq = new_seq;
  FERRY_RETURN_IF_ERROR(outbox_.StagePut(txn, moved));
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, entry.mutation.document));
  if (!overlay) return Status(ErrorCode::kCorruption, "a pending write has no overlay");
  // In place: the caller moves every deferred entry, in seq order, and the
  // document's earlier entries (sent ones) stay before them, so the list
  // stays ascending.
  std::replace(overlay->seqs.begin(), overlay->seqs.end(), entry.mutation.seq, new_seq);
  return StageOverlay(txn, entry.mutation.document, overlay);
}

Result<OutboxEntry> Replica::StageRetry(Transaction& txn, const OutboxEntry& dead, uint64_t new_seq,
                                        const HlcStamp& hlc) {
  FERRY_RETURN_IF_ERROR(outbox_.StageRemove(txn, dead));
  Mutation mutation = dead.mutation;
  mutation.seq = new_seq;
  mutation.hlc = hlc;
  FERRY_ASSIGN_OR_RETURN(LocalWrite write,
                         StageLocalWrite(txn, std::move(mutation), dead.value_json, false));
  return write.entry;
}

Result<bool> Replica::StageRemoteChange(Transaction& txn, const PulledChange& change, bool resync) {
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, change.document));
  if (!resync && change.version <= copy.version) return false;
  const Copy updated{change.version, {change.exists, change.value_json}, time_};
  if (resync && updated.version == copy.version && updated.state == copy.state) return false;
  FERRY_RETURN_IF_ERROR(StageCopy(txn, change.document, updated));
  // Only a document with a pending write has an overlay (Recompute drops it
  // with the last one), so with none pending an initial sync skips a lookup
  // per change: 18% of its instructions.
  if (outbox_.pending_count() == 0 && outbox_.dead_count() == 0) {
    return !(copy.state == updated.state);
  }
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, change.document));
  if (!overlay) return !(copy.state == updated.state);
  return Recompute(txn, change.document, overlay->seqs, overlay->view);
}

Result<bool> Replica::StageForget(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, id));
  if (overlay) {
    txn.Delete(ServerKey(id));  // under the overlay: the view is recomputed next
    return Recompute(txn, id, overlay->seqs, overlay->view);
  }
  FERRY_ASSIGN_OR_RETURN(Copy copy, ReadCopy(txn, id));
  FERRY_RETURN_IF_ERROR(StageDropCopy(txn, id));
  return copy.state.exists;
}

Result<std::vector<Replica::SyncedCopy>> Replica::ListEvictable(std::string_view collection) {
  std::string suffix(collection);
  suffix += '\0';
  // Documents with pending writes have an overlay: few, and never evicted.
  // Both scans run in key order, so one walks the other's keys along.
  std::vector<std::string> pending;
  FERRY_RETURN_IF_ERROR(store_.ScanPrefix(
      std::string(kOverlayPrefix) + suffix, [&](std::string_view key, std::string_view) {
        pending.emplace_back(key.substr(kOverlayPrefix.size() + suffix.size()));
        return true;
      }));
  std::size_t next_pending = 0;
  std::vector<SyncedCopy> copies;
  Status failure;
  FERRY_RETURN_IF_ERROR(store_.ScanPrefix(
      std::string(kServerPrefix) + suffix, [&](std::string_view key, std::string_view stored) {
        std::string_view document_key = key.substr(kServerPrefix.size() + suffix.size());
        while (next_pending < pending.size() && pending[next_pending] < document_key)
          ++next_pending;
        if (next_pending < pending.size() && pending[next_pending] == document_key) return true;
        auto copy = DecodeCopy(stored);
        if (!copy.ok()) {
          failure = copy.status();
          return false;
        }
        copies.push_back({std::string(document_key), copy->synced_at});
        return true;
      }));
  FERRY_RETURN_IF_ERROR(failure);
  return copies;
}

Result<Replica::Eviction> Replica::StageEvict(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, id));
  if (overlay) return Eviction::kNothing;
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(ServerKey(id)));
  if (!stored) return Eviction::kNothing;
  FERRY_ASSIGN_OR_RETURN(Copy copy, DecodeCopy(*stored));
  FERRY_RETURN_IF_ERROR(StageDropCopy(txn, id));
  return copy.state.exists ? Eviction::kDocument : Eviction::kTombstone;
}

Status Replica::ForEachServerCopy(const std::function<bool(const DocumentId&)>& visit) {
  Status failure;
  FERRY_RETURN_IF_ERROR(
      store_.ScanPrefix(kServerPrefix, [&](std::string_view key, std::string_view) {
        auto id = keys::ParseDocumentSuffix(key.substr(kServerPrefix.size()));
        if (!id) {
          failure = Corrupt("server copy key");
          return false;
        }
        return visit(*id);
      }));
  return failure;
}

}  // namespace ferry
