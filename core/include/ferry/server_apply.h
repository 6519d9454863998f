// The server side of the protocol as a platform-neutral module: applies pushed
// mutations and serves pulls over any Store. ferry-server runs it over SQLite;
// the deterministic simulation runs it as the model server over MemoryStore.
//
// Rules (docs/PROTOCOL.md, "Server semantics"):
// - Each (clientId, seq) takes effect at most once: the server remembers the
//   highest seq processed per client; a seq at or below it answers
//   "duplicate" and changes nothing.
// - Mutations are processed in request order, one user's change log at a time.
// - Conflict: a mutation conflicts when another client changed the document
//   after the mutation's baseVersion. A client's own consecutive writes never
//   conflict with each other, so a client may queue several writes to a
//   document against the same base.
// - Every applied mutation gives the document a new version: the next
//   position in that user's change log.
// - Pull returns the latest state of each document changed after the cursor,
//   in change-log order; deletes are returned as tombstones until purged. A
//   cursor older than the purge horizon, ahead of the user's change log,
//   naming a commit the log does not hold (a restored backup), from another
//   epoch, or not one this server issues, has expired (docs/SERVER.md,
//   "Cursors").
//
// Storage: any ServerStorage (ferry/server_storage.h); the Store constructor
// runs over the core's key-value Store (KvServerStorage).
//
// Threading: as thread-safe as its storage. Over a Store (not thread-safe)
// the host serializes calls; over a thread-safe ServerStorage (ferry-server's
// PostgreSQL backend) any threads may call at once, and the storage
// serialises each user's pushes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/protocol.h"
#include "ferry/server_storage.h"
#include "ferry/store.h"

namespace ferry {

struct ServerStatistics {
  uint64_t mutations_applied = 0;
  uint64_t mutations_duplicate = 0;
  uint64_t mutations_conflict = 0;
  uint64_t mutations_rejected = 0;
};

// Random 64-bit words for commit tags (ServerTransaction::RecordCommit).
// Thread-safe when ServerState is used from several threads.
using RandomSource = std::function<uint64_t()>;

class ServerState {
 public:
  // `epoch` distinguishes this server's change logs from those of an earlier
  // incarnation whose data was lost: cursors from another epoch expire.
  // `random` tags each push's commit, so a cursor from a log the data was
  // later restored over expires: a host whose data may be restored from a
  // backup passes true randomness (ferry-server does). Without it, tags come
  // from a fixed sequence (simulations and tests: reproducible).
  ServerState(Store& store, std::string epoch, ProtocolLimits limits = {},
              RandomSource random = {});
  ServerState(ServerStorage& storage, std::string epoch, ProtocolLimits limits = {},
              RandomSource random = {});

  // Applies one push for `user` in one atomic store commit. Per-mutation
  // problems (invalid value, malformed stamp) reject that mutation only.
  // `server_wall_ms`: the host's wall clock (Unix ms); a mutation stamped
  // more than limits().max_hlc_ahead_ms after it is rejected. nullopt skips
  // that check: for tests and simulations whose clients share the server's
  // clock; a server always passes its clock.
  [[nodiscard]] Result<PushResponse> ApplyPush(
      std::string_view user, const PushRequest& request,
      std::optional<int64_t> server_wall_ms = std::nullopt);

  // kCursorExpired when the cursor is older than the purge horizon, ahead of
  // the user's change log (never issued for it), names a commit the log does
  // not hold (the log it came from was lost to a restore), is from another
  // epoch, or is not a cursor this server issues (the older format too).
  [[nodiscard]] Result<PullResponse> ServePull(std::string_view user, const PullRequest& request);
  // The same page as an encoded response body, built from the stored JSON
  // text without parsing it (what HandleServerRequest sends).
  [[nodiscard]] Result<std::string> ServePullBody(std::string_view user,
                                                  const PullRequest& request);

  // Drops tombstones of deletes at or below `version` and moves the horizon
  // there: cursors older than it expire (410), forcing a full resync.
  [[nodiscard]] Status PurgeTombstones(std::string_view user, Version version);
  // The tombstone horizon for every user: purges through the last version
  // committed before `wall_ms` (Unix ms, the clock ApplyPush was given),
  // and no further than `limit` allows (ServerStorage's).
  [[nodiscard]] Status PurgeTombstonesCommittedBefore(int64_t wall_ms,
                                                      const PurgeLimit& limit = {});

  // The current state of one document (tests and the statistics endpoint).
  [[nodiscard]] Result<ServerDocument> GetDocument(std::string_view user, const DocumentId& id);
  // Highest seq processed for a client, 0 if none.
  [[nodiscard]] Result<uint64_t> LastSeq(std::string_view user, std::string_view client_id);

  // Counts of this process's pushes (not of other instances on one
  // database): every user's together (operators, tests, the simulation).
  ServerStatistics statistics() const;
  // One user's counters: what /v1/stats shows that user, and no other's.
  ServerStatistics StatisticsOf(std::string_view user) const;
  const std::string& epoch() const { return epoch_; }
  const ProtocolLimits& limits() const { return limits_; }

 private:
  struct PushContext;  // one push's request, clock and answer budget (server_apply.cc)
  [[nodiscard]] Status AnswerRepeat(ServerTransaction& txn, PushContext& push,
                                    const Mutation& mutation, PushResult& result);
  [[nodiscard]] Status ApplyMutation(ServerTransaction& txn, PushContext& push, std::size_t index,
                                     Version& head, PushResult& result);

  std::string NewCommitTag();

  std::unique_ptr<ServerStorage> owned_storage_;  // the Store constructor's KvServerStorage
  ServerStorage& storage_;
  std::string epoch_;
  ProtocolLimits limits_;
  RandomSource random_;
  std::mutex tag_mutex_;                 // guards fallback_random_ (pushes of users at once)
  uint64_t fallback_random_;             // splitmix64 state when no RandomSource was given
  mutable std::mutex statistics_mutex_;  // pushes of different users may count at once
  ServerStatistics statistics_;
  std::map<std::string, ServerStatistics, std::less<>> user_statistics_;  // by user
};

// One HTTP exchange against a ServerState, shared by ferry-server and the
// simulation so both speak exactly the same protocol. `target` is the request
// target (path plus query). The caller has already authenticated `user`.
struct ServerHttpResponse {
  int status = 200;
  std::string body;
  // A push applied at least one mutation: the user's change log grew, so
  // their live streams get a poke.
  bool changed = false;
};
// `server_wall_ms` as for ApplyPush.
ServerHttpResponse HandleServerRequest(ServerState& server, std::string_view user,
                                       std::string_view method, std::string_view target,
                                       std::string_view body,
                                       std::optional<int64_t> server_wall_ms = std::nullopt);

}  // namespace ferry
