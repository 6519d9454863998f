// Conflict resolution: what a client does when the server answers `conflict`
// to one of its writes because the document changed under it.
//
// The server is the point where writes are ordered, so resolution happens on
// the client whose write conflicted: it decides a value from the base (the
// server document its pending writes were made against), its local view and
// the server's current document, and pushes that value as a new write
// against the current version (or keeps the server's document). Every other
// replica then pulls the result, so all converge on one state.
//
// Pure functions and plain data; the engine calls them on its own thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/json.h"
#include "ferry/model.h"
#include "ferry/status.h"

namespace ferry {

enum class ConflictStrategy {
  kServerWins,     // keep the server's document; the local writes are dropped (and reported)
  kClientWins,     // the local view replaces the server's document
  kLastWriteWins,  // the newer of the two by HLC; ties broken by client id inside the stamp
  kMerge,          // field-level three-way merge; fields changed on both sides: last write wins
  kCustom,         // the application's ConflictResolver decides
  // The conflict stays open for a person to resolve: kept with base, local
  // and remote (SyncEngine::Conflicts), the server's document shown
  // meanwhile, resolved later with SyncEngine::ResolveConflict.
  kManual,
};

// "serverWins", "clientWins", "lastWriteWins", "merge", "custom", "manual".
std::string_view ConflictStrategyName(ConflictStrategy strategy);
std::optional<ConflictStrategy> ParseConflictStrategy(std::string_view name);

// A document's three states; nullopt means absent (never written or deleted).
struct ConflictInput {
  DocumentId document;
  std::optional<Json> base;    // the server's document the local writes were made against
  std::optional<Json> local;   // base with every pending local write applied
  std::optional<Json> remote;  // what the server holds now
  std::string local_hlc;       // the newest pending local write's stamp (HlcStamp text)
  std::string remote_hlc;      // the stamp of the write that produced `remote`; "" if unknown
};

// Returns the resolved document, or nullopt to delete it. An error keeps the
// server's document (as kServerWins would) and is reported in the event;
// DeferResolution() keeps the conflict open, as kManual does, for the app to
// resolve later (an asynchronous resolver: a JavaScript promise).
using ConflictResolver = std::function<Result<std::optional<Json>>(const ConflictInput&)>;

// A resolver's "not now". A status rather than a third kind of result, so
// every resolver keeps the one signature the bindings already implement.
Status DeferResolution();
bool IsDeferredResolution(const Status& status);

struct ConflictPolicy {
  ConflictStrategy default_strategy = ConflictStrategy::kServerWins;
  std::map<std::string, ConflictStrategy, std::less<>> collections;  // per-collection overrides
  ConflictResolver custom;  // used by kCustom; without one, kCustom acts as kServerWins

  ConflictStrategy For(std::string_view collection) const;
};

struct ConflictDecision {
  std::optional<Json> value;  // nullopt: the document is deleted
  // What was decided, for SyncConflictEvent: "server_wins", "client_wins",
  // "last_write_wins_local", "last_write_wins_remote", "merged", "custom",
  // "custom_failed: <message>" (the server's document was kept), or, for a
  // conflict kept open, "manual" or "deferred" (a custom resolver's).
  std::string resolution;
  // The local edit itself won (client_wins, last_write_wins_local): it is
  // pushed again with its own stamp, not a new one.
  bool local_edit_kept = false;
  // Nothing decided: the conflict stays open (kManual, or a deferred custom
  // resolver) and `value` is the interim view, the server's document.
  bool kept_open = false;
};

// Whether the local side is newer by HLC. A remote side without a stamp
// (written before servers kept one) counts as newer: the server keeps it.
bool LocalWriteIsNewer(const ConflictInput& input);

// Field-level three-way merge of JSON objects. For every field: equal on both
// sides, or changed on one side only, gives that value; changed differently on
// both gives the value of the side `local_wins` names, except that objects
// changed on both sides are merged field by field again. An absent field is a
// value like any other ("removed"), so a removal on one side is kept.
Json MergeObjects(const Json& base, const Json& local, const Json& remote, bool local_wins);

// Decides a conflict with `strategy`. kMerge merges when local and remote are
// both objects (an absent or non-object base counts as {}); a delete against an
// edit, or non-object documents, fall back to last write wins.
ConflictDecision ResolveConflict(ConflictStrategy strategy, const ConflictInput& input,
                                 const ConflictResolver& custom);

}  // namespace ferry
