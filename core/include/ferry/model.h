// The data model shared by client, server and wire protocol: documents,
// mutations, versions and cursors. Plain values, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ferry/hlc.h"
#include "ferry/json.h"
#include "ferry/status.h"

namespace ferry {

// A server version. Versions are positions in one user's change log, so they
// increase with every applied mutation; 0 means "the document did not exist
// (as far as the writer knew)".
using Version = uint64_t;

// Milliseconds: a duration, or a point on one of the two clocks of Instant
// (engine.h), or wall time.
using TimeMs = int64_t;

// Addresses a document. Both parts are non-empty UTF-8 without NUL bytes (NUL
// separates them in store keys), bounded by the limits below.
struct DocumentId {
  std::string collection;
  std::string key;

  friend bool operator<(const DocumentId& a, const DocumentId& b) {
    return std::tie(a.collection, a.key) < std::tie(b.collection, b.key);
  }
  bool operator==(const DocumentId&) const = default;
};

inline constexpr std::size_t kMaxCollectionBytes = 256;

// Whether `collection` is one of `names` (a scope's lists, the deferrable
// collections).
bool NamesCollection(const std::vector<std::string>& names, std::string_view collection);

// Which collections a pull carries (PROTOCOL.md, "Pull scope"): those in
// `include` (every collection when it is nullopt) that are not in `exclude`.
// A client excludes its upload-only collections and includes its pull scope.
struct CollectionScope {
  std::optional<std::vector<std::string>> include;
  std::vector<std::string> exclude;

  bool everything() const { return !include && exclude.empty(); }
  bool Admits(std::string_view collection) const;
  bool operator==(const CollectionScope&) const = default;
};
// Each name a valid collection name (invalid_argument naming `what` if not).
[[nodiscard]] Status ValidateCollectionScope(const CollectionScope& scope);
// A collection name as ValidateDocumentId checks it; `what` names it in the error.
[[nodiscard]] Status ValidateCollectionName(std::string_view name, std::string_view what);
inline constexpr std::size_t kMaxKeyBytes = 1024;
// A document value larger than this is refused at the write, not at the push.
inline constexpr std::size_t kMaxValueBytes = 1u << 20;
inline constexpr int kMaxValueDepth = 32;

[[nodiscard]] Status ValidateDocumentId(const DocumentId& id);

enum class MutationOp { kPut, kPatch, kDelete };
std::string_view MutationOpName(MutationOp op);
[[nodiscard]] Result<MutationOp> ParseMutationOp(std::string_view name);

// One local write, as carried in the outbox and on the wire.
struct Mutation {
  std::string client_id;
  uint64_t seq = 0;  // per client, strictly increasing; the idempotency key
  MutationOp op = MutationOp::kPut;
  DocumentId document;
  Json value;                // put: the new value; patch: an RFC 7396 patch object
  Version base_version = 0;  // the server version the write was made against
  HlcStamp hlc;
};

// Checks a mutation's op and value: put needs a non-null value, patch an
// object, delete no value; sizes and depth within the limits above. Measuring
// the size serializes the value; `serialized` (optional) receives that text
// so callers that store it do not serialize twice.
[[nodiscard]] Status ValidateMutationValue(MutationOp op, const Json& value,
                                           std::string* serialized = nullptr);

// A document's content at one point: absent (never written or deleted) or a
// JSON value.
struct DocumentState {
  bool exists = false;
  Json value;

  bool operator==(const DocumentState&) const = default;
};

// The one definition of what a mutation does to a document, used by the
// client's local view and by the server, so both compute the same result.
DocumentState ApplyMutation(DocumentState current, MutationOp op, const Json& value);

// A document as the server holds it.
struct ServerDocument {
  DocumentId document;
  Version version = 0;
  DocumentState state;
  // The HLC stamp (HlcStamp::ToString form, whose byte order is the stamp
  // order) of the mutation that produced this version; empty when unknown
  // (a document that never existed, or written before servers kept it).
  // Last-write-wins compares it with the local write's stamp.
  std::string hlc;
};

}  // namespace ferry
