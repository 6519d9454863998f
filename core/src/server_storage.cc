#include "ferry/server_storage.h"

#include <algorithm>

namespace ferry {

Status CheckCursor(const PullPageQuery& query, const LogMark& mark,
                   const std::function<Result<std::string>(Version)>& tag_of) {
  // Tombstones above max(after, cursor_horizon) were all there when the
  // holder read on from there; a purge since may have dropped some.
  if (std::max(query.after, query.cursor_horizon) < mark.horizon) {
    return Status(ErrorCode::kCursorExpired, "cursor is older than the tombstone horizon");
  }
  // Never issued for this log (2^64-1 would also wrap a scan's start to 0),
  // or never issued at all: the server issues a position at or below the
  // head it read, and a horizon it had reached, which never goes down.
  if (query.after > mark.head || query.cursor_head > mark.head || query.after > query.cursor_head ||
      query.cursor_horizon > mark.horizon) {
    return Status(ErrorCode::kCursorExpired, "cursor is ahead of the change log");
  }
  FERRY_ASSIGN_OR_RETURN(const std::string tag, tag_of(query.cursor_head));
  if (tag != query.cursor_tag) {
    return Status(ErrorCode::kCursorExpired,
                  "cursor names a commit this change log does not hold (restored from a backup?)");
  }
  return Status::Ok();
}

Result<Version> LimitPurge(const PurgeLimit& limit, std::string_view user, Version version) {
  if (!limit) return version;
  FERRY_ASSIGN_OR_RETURN(const Version most, limit(user));
  return std::min(version, most);
}

}  // namespace ferry
