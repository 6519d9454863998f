// DeliveryLog over the embedded backend's key-value store (SqliteStore): the
// cursor of each user is one key, "webhook/<user>", beside the user's data
// ("u/<user>\0...", laid out by core/src/server_storage_kv.cc), and changes
// are read through KvServerStorage like a pull. One process owns the file,
// so a claim needs no lock beyond the store's mutex.
#include <charconv>

#include "ferry/server_storage_kv.h"
#include "webhook_log.h"

namespace ferry::server {
namespace {

constexpr std::string_view kUsersPrefix = "u/";

std::string CursorKey(std::string_view user) {
  return "webhook/" + std::string(user);
}

// A stored decimal number; 0 when absent.
Result<uint64_t> ReadNumber(Store& store, const std::string& key) {
  FERRY_ASSIGN_OR_RETURN(auto stored, store.Get(key));
  if (!stored) return uint64_t{0};
  uint64_t number = 0;
  const auto [end, error] =
      std::from_chars(stored->data(), stored->data() + stored->size(), number);
  if (error != std::errc() || end != stored->data() + stored->size()) {
    return Status(ErrorCode::kCorruption, "a stored number does not decode: " + key);
  }
  return number;
}

std::string HeadKey(std::string_view user) {
  std::string key(kUsersPrefix);
  key += user;
  key += '\0';
  key += "m/head";
  return key;
}

class KvDeliveryClaim final : public DeliveryClaim {
 public:
  KvDeliveryClaim(Store& store, std::mutex& mutex, std::string user, Version cursor)
      : store_(store), mutex_(mutex), user_(std::move(user)), cursor_(cursor) {}

  Version cursor() const override { return cursor_; }

  Result<std::vector<PendingChange>> Read(std::size_t max_changes) override {
    std::vector<PendingChange> changes;
    std::lock_guard lock(mutex_);
    KvServerStorage storage(store_);
    FERRY_RETURN_IF_ERROR(
        storage.ReadChanges(user_, ChangeQuery{cursor_, false, max_changes},
                            [&changes](const DocumentId& id, const StoredDocument& document) {
                              changes.push_back({id, document});
                              return true;
                            }));
    return changes;
  }

  Status Advance(Version version) override {
    std::lock_guard lock(mutex_);
    return store_.Put(CursorKey(user_), std::to_string(version));
  }

 private:
  Store& store_;
  std::mutex& mutex_;
  const std::string user_;
  const Version cursor_;
};

class KvDeliveryLog final : public DeliveryLog {
 public:
  KvDeliveryLog(Store& store, std::mutex& mutex, std::string epoch)
      : store_(store), mutex_(mutex), epoch_(std::move(epoch)) {}

  const std::string& epoch() const override { return epoch_; }

  // Skips from user to user: one seek per user, not a read of every document.
  Result<std::vector<std::string>> UsersBehind(std::string_view after, std::size_t limit) override {
    std::vector<std::string> users;
    const std::string end = PrefixEnd(kUsersPrefix);
    std::string begin(kUsersPrefix);
    if (!after.empty()) begin = PrefixEnd(begin + std::string(after) + '\0');
    std::lock_guard lock(mutex_);
    while (users.size() < limit) {
      std::string first;
      FERRY_RETURN_IF_ERROR(
          store_.Scan(begin, end, [&first](std::string_view key, std::string_view) {
            first = std::string(key);
            return false;
          }));
      if (first.empty()) break;
      const std::size_t nul = first.find('\0', kUsersPrefix.size());
      if (nul == std::string::npos) {
        return Status(ErrorCode::kCorruption, "a server key names no user");
      }
      std::string user = first.substr(kUsersPrefix.size(), nul - kUsersPrefix.size());
      FERRY_ASSIGN_OR_RETURN(const uint64_t head, ReadNumber(store_, HeadKey(user)));
      FERRY_ASSIGN_OR_RETURN(const uint64_t cursor, ReadNumber(store_, CursorKey(user)));
      begin = PrefixEnd(first.substr(0, nul + 1));
      if (head > cursor) users.push_back(std::move(user));
    }
    return users;
  }

  Result<std::unique_ptr<DeliveryClaim>> Claim(const std::string& user) override {
    std::lock_guard lock(mutex_);
    FERRY_ASSIGN_OR_RETURN(const uint64_t cursor, ReadNumber(store_, CursorKey(user)));
    return std::unique_ptr<DeliveryClaim>(
        std::make_unique<KvDeliveryClaim>(store_, mutex_, user, cursor));
  }

 private:
  Store& store_;
  std::mutex& mutex_;
  const std::string epoch_;
};

}  // namespace

Result<Version> KvDeliveredThrough(Store& store, std::string_view user) {
  return ReadNumber(store, CursorKey(user));
}

std::unique_ptr<DeliveryLog> NewKvDeliveryLog(Store& store, std::mutex& mutex, std::string epoch) {
  return std::make_unique<KvDeliveryLog>(store, mutex, std::move(epoch));
}

}  // namespace ferry::server
