#include "ferry/replica.h"

#include <algorithm>
#include <map>

#include "keys.h"

namespace ferry {
namespace {

// Key layout:
//   s/<collection>\0<key>  server copy  {"v":version,"x":value}  (no "x": deleted)
//   p/<collection>\0<key>  overlay      {"e":exists,"x":value,"q":[seq,...]}
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

Result<ServerDocument> DecodeServerCopy(const DocumentId& id, std::string_view bytes) {
  auto json = ParseJson(bytes);
  if (!json.ok() || !json->is_object()) return Corrupt("server copy");
  auto v = json->find("v");
  if (v == json->end() || !v->is_number_unsigned()) return Corrupt("server copy");
  ServerDocument document{id, v->get<Version>(), {}};
  if (auto x = json->find("x"); x != json->end()) document.state = {true, *x};
  return document;
}

std::optional<Json> Visible(const DocumentState& state) {
  if (!state.exists) return std::nullopt;
  return state.value;
}

}  // namespace

Result<std::optional<Replica::Overlay>> Replica::ReadOverlay(Transaction& txn,
                                                             const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(OverlayKey(id)));
  if (!stored) return std::optional<Overlay>();
  auto json = ParseJson(*stored);
  if (!json.ok() || !json->is_object()) return Corrupt("overlay");
  auto e = json->find("e");
  auto q = json->find("q");
  if (e == json->end() || !e->is_boolean() || q == json->end() || !q->is_array()) {
    return Corrupt("overlay");
  }
  Overlay overlay;
  overlay.view.exists = e->get<bool>();
  if (auto x = json->find("x"); x != json->end()) overlay.view.value = *x;
  for (const Json& seq : *q) {
    if (!seq.is_number_unsigned()) return Corrupt("overlay");
    overlay.seqs.push_back(seq.get<uint64_t>());
  }
  return std::optional<Overlay>(std::move(overlay));
}

void Replica::StageOverlay(Transaction& txn, const DocumentId& id,
                           const std::optional<Overlay>& overlay) {
  if (!overlay || overlay->seqs.empty()) {
    txn.Delete(OverlayKey(id));
    return;
  }
  Json json = {{"e", overlay->view.exists}, {"q", overlay->seqs}};
  if (overlay->view.exists) json["x"] = overlay->view.value;
  txn.Put(OverlayKey(id), DumpJson(json));
}

void Replica::StageServerCopy(Transaction& txn, const ServerDocument& document) {
  Json json = {{"v", document.version}};
  if (document.state.exists) json["x"] = document.state.value;
  txn.Put(ServerKey(document.document), DumpJson(json));
}

Result<ServerDocument> Replica::ReadServerCopy(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(ServerKey(id)));
  if (!stored) return ServerDocument{id, 0, {}};
  return DecodeServerCopy(id, *stored);
}

Result<DocumentState> Replica::ReadView(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(auto overlay, ReadOverlay(txn, id));
  if (overlay) return overlay->view;
  FERRY_ASSIGN_OR_RETURN(ServerDocument copy, ReadServerCopy(txn, id));
  return copy.state;
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
  std::map<std::string, DocumentState, std::less<>> overlays;
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
        overlays.emplace(id->key, overlay->value().view);
        return true;
      }));
  FERRY_RETURN_IF_ERROR(failure);

  std::vector<std::pair<std::string, Json>> results;
  auto next_overlay = overlays.begin();
  const auto full = [&] { return limit != 0 && results.size() >= limit; };
  const auto emit_overlays_before = [&](std::string_view key) {
    for (; next_overlay != overlays.end() && next_overlay->first < key && !full(); ++next_overlay) {
      if (next_overlay->second.exists)
        results.emplace_back(next_overlay->first, next_overlay->second.value);
    }
  };
  FERRY_RETURN_IF_ERROR(store_.ScanPrefix(
      std::string(kServerPrefix) + suffix, [&](std::string_view key, std::string_view value) {
        std::string_view document_key = key.substr(kServerPrefix.size() + key_offset);
        emit_overlays_before(document_key);
        if (full()) return false;
        if (next_overlay != overlays.end() && next_overlay->first == document_key) {
          if (next_overlay->second.exists)
            results.emplace_back(next_overlay->first, next_overlay->second.value);
          ++next_overlay;
          return !full();
        }
        auto copy = DecodeServerCopy({std::string(collection), std::string(document_key)}, value);
        if (!copy.ok()) {
          failure = copy.status();
          return false;
        }
        if (copy->state.exists)
          results.emplace_back(std::string(document_key), std::move(copy->state.value));
        return !full();
      }));
  FERRY_RETURN_IF_ERROR(failure);
  for (; next_overlay != overlays.end() && !full(); ++next_overlay) {
    if (next_overlay->second.exists)
      results.emplace_back(next_overlay->first, next_overlay->second.value);
  }
  return results;
}

Result<Replica::LocalWrite> Replica::StageLocalWrite(Transaction& txn, Mutation mutation,
                                                     bool allow_coalescing) {
  FERRY_ASSIGN_OR_RETURN(ServerDocument copy, ReadServerCopy(txn, mutation.document));
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, mutation.document));
  mutation.base_version = copy.version;
  Overlay updated = overlay ? *overlay : Overlay{copy.state, {}};

  LocalWrite result;
  result.entry.mutation = mutation;
  if (allow_coalescing && overlay && !overlay->seqs.empty() &&
      !outbox_.in_flight().contains(overlay->seqs.back())) {
    FERRY_ASSIGN_OR_RETURN(auto previous, outbox_.Read(txn, overlay->seqs.back()));
    // Only an entry that was never sent may change: a sent one may already be
    // applied at the server, and changing it would apply a different write.
    if (previous && !previous->dead && previous->attempts == 0) {
      if (auto combined = CoalesceMutations(previous->mutation, mutation)) {
        outbox_.StageRemove(txn, *previous);
        updated.seqs.pop_back();
        result.entry.mutation = std::move(*combined);
        result.replaced_seq = previous->mutation.seq;
      }
    }
  }
  // The view after this write is the previous view with this write applied,
  // whether or not it was coalesced: the combined mutation means the same.
  updated.view = ApplyMutation(std::move(updated.view), mutation.op, mutation.value);
  updated.seqs.push_back(result.entry.mutation.seq);
  outbox_.StagePut(txn, result.entry, nullptr);
  StageOverlay(txn, mutation.document, updated);
  return result;
}

Result<bool> Replica::Recompute(Transaction& txn, const DocumentId& id,
                                std::vector<uint64_t> seqs) {
  FERRY_ASSIGN_OR_RETURN(DocumentState before, ReadView(txn, id));
  FERRY_ASSIGN_OR_RETURN(ServerDocument copy, ReadServerCopy(txn, id));
  Overlay overlay{copy.state, {}};
  for (uint64_t seq : seqs) {
    FERRY_ASSIGN_OR_RETURN(auto entry, outbox_.Read(txn, seq));
    if (!entry || entry->dead) continue;
    overlay.view =
        ApplyMutation(std::move(overlay.view), entry->mutation.op, entry->mutation.value);
    overlay.seqs.push_back(seq);
  }
  const bool changed = !(before == overlay.view);
  StageOverlay(txn, id, overlay);
  return changed;
}

Status Replica::StageApplied(Transaction& txn, const OutboxEntry& entry, Version previous_version,
                             Version version) {
  const Mutation& m = entry.mutation;
  FERRY_ASSIGN_OR_RETURN(ServerDocument copy, ReadServerCopy(txn, m.document));
  if (copy.version == previous_version) {
    copy.state = ApplyMutation(std::move(copy.state), m.op, m.value);
    copy.version = version;
    StageServerCopy(txn, copy);
  }
  return StageRemoved(txn, entry, std::nullopt);
}

Status Replica::StageRemoved(Transaction& txn, const OutboxEntry& entry,
                             const std::optional<ServerDocument>& server_document) {
  const DocumentId& id = entry.mutation.document;
  if (server_document) {
    FERRY_ASSIGN_OR_RETURN(ServerDocument copy, ReadServerCopy(txn, id));
    if (server_document->version > copy.version) StageServerCopy(txn, *server_document);
  }
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, id));
  outbox_.StageRemove(txn, entry);
  std::vector<uint64_t> seqs = overlay ? overlay->seqs : std::vector<uint64_t>{};
  std::erase(seqs, entry.mutation.seq);
  return Recompute(txn, id, std::move(seqs)).status();
}

Status Replica::StageDeadLetter(Transaction& txn, OutboxEntry entry, std::string error) {
  const OutboxEntry previous = entry;
  entry.dead = true;
  entry.error = std::move(error);
  outbox_.StagePut(txn, entry, &previous);
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, entry.mutation.document));
  std::vector<uint64_t> seqs = overlay ? overlay->seqs : std::vector<uint64_t>{};
  std::erase(seqs, entry.mutation.seq);
  return Recompute(txn, entry.mutation.document, std::move(seqs)).status();
}

Result<OutboxEntry> Replica::StageRetry(Transaction& txn, const OutboxEntry& dead, uint64_t new_seq,
                                        const HlcStamp& hlc) {
  outbox_.StageRemove(txn, dead);
  Mutation mutation = dead.mutation;
  mutation.seq = new_seq;
  mutation.hlc = hlc;
  FERRY_ASSIGN_OR_RETURN(LocalWrite write, StageLocalWrite(txn, std::move(mutation), false));
  return write.entry;
}

Result<bool> Replica::StageRemoteChange(Transaction& txn, const ServerDocument& change) {
  FERRY_ASSIGN_OR_RETURN(ServerDocument copy, ReadServerCopy(txn, change.document));
  if (change.version <= copy.version) return false;
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, change.document));
  if (!overlay) {
    StageServerCopy(txn, change);
    return !(copy.state == change.state);
  }
  StageServerCopy(txn, change);
  return Recompute(txn, change.document, overlay->seqs);
}

Result<bool> Replica::StageForget(Transaction& txn, const DocumentId& id) {
  FERRY_ASSIGN_OR_RETURN(std::optional<Overlay> overlay, ReadOverlay(txn, id));
  FERRY_ASSIGN_OR_RETURN(DocumentState before, ReadView(txn, id));
  txn.Delete(ServerKey(id));
  if (overlay) return Recompute(txn, id, overlay->seqs);
  return before.exists;
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
