#include "ferry/outbox.h"

#include <algorithm>

#include "json_scan.h"
#include "keys.h"

namespace ferry {
namespace {

constexpr std::string_view kOutboxPrefix = "o/";
constexpr std::string_view kNextSeqKey = "m/next_seq";
// "<highest seq ever sent>", then " <first> <last>" while a push carrying the
// pending entries in [first, last] is unanswered (see StageSending).
constexpr std::string_view kPushedKey = "m/pushed";
// The first byte of a stored entry says its state, so Load() counts entries
// without decoding JSON.
constexpr char kPendingMark = 'P';
constexpr char kDeadMark = 'D';

std::string EntryKey(uint64_t seq) {
  return std::string(kOutboxPrefix) + keys::OrderedNumber(seq);
}

}  // namespace

// Stored form: a state mark, a small JSON header, a newline, then the value
// as compact JSON. Compact JSON never contains a raw newline, so the first
// newline ends the header; the value is never re-serialized, e.g. when only
// the attempt count changes.
std::string EncodeOutboxEntry(const OutboxEntry& entry) {
  // Built by hand rather than through a Json object: this runs once per local
  // write and per attempt, and the allocations showed in profiles.
  const Mutation& m = entry.mutation;
  std::string bytes(1, entry.dead ? kDeadMark : kPendingMark);
  bytes += "{\"op\":\"";
  bytes += MutationOpName(m.op);
  bytes += "\",\"c\":";
  AppendJsonString(bytes, m.document.collection);
  bytes += ",\"k\":";
  AppendJsonString(bytes, m.document.key);
  bytes += ",\"b\":" + std::to_string(m.base_version) + ",\"h\":\"" + m.hlc.ToString() +
           "\",\"a\":" + std::to_string(entry.attempts);
  // Optional members (issue 17), absent when unknown, so an entry that
  // never had an attempt is stored exactly as before. Ferry versions that do
  // not know them read the header with ParsedHeader, which ignores them.
  if (entry.last_attempt_at > 0) bytes += ",\"t\":" + std::to_string(entry.last_attempt_at);
  if (entry.dead && entry.dead_at > 0) bytes += ",\"d\":" + std::to_string(entry.dead_at);
  if (entry.dead || !entry.error.empty()) {
    bytes += ",\"e\":";
    bytes += DumpJson(entry.error);  // free text from a server: may need repair
  }
  bytes += "}\n";
  if (m.op != MutationOp::kDelete) {
    bytes += entry.value_json.empty() ? DumpJson(m.value) : entry.value_json;
  }
  return bytes;
}

namespace {

// The fields of an entry's JSON header.
struct Header {
  std::string op, collection, key, hlc;
  uint64_t base_version = 0, attempts = 0;
  std::optional<std::string> error;
  uint64_t last_attempt_at = 0, dead_at = 0;  // optional members: absent is 0
};

// The header exactly as EncodeOutboxEntry writes it, read without a JSON DOM:
// SelectBatch decodes every entry it sends, and nlohmann's parse was most of
// its time. nullopt for any other form, which ParsedHeader reads instead.
std::optional<Header> ScannedHeader(std::string_view text) {
  JsonScanner scan(text);
  Header h;
  auto op = scan.Consume("{\"op\":") ? scan.String() : std::nullopt;
  auto c = op && scan.Consume(",\"c\":") ? scan.String() : std::nullopt;
  auto k = c && scan.Consume(",\"k\":") ? scan.String() : std::nullopt;
  auto b = k && scan.Consume(",\"b\":") ? scan.Unsigned() : std::nullopt;
  auto hlc = b && scan.Consume(",\"h\":") ? scan.String() : std::nullopt;
  auto a = hlc && scan.Consume(",\"a\":") ? scan.Unsigned() : std::nullopt;
  if (!a) return std::nullopt;
  if (scan.Consume(",\"t\":")) {
    auto t = scan.Unsigned();
    if (!t) return std::nullopt;
    h.last_attempt_at = *t;
  }
  if (scan.Consume(",\"d\":")) {
    auto d = scan.Unsigned();
    if (!d) return std::nullopt;
    h.dead_at = *d;
  }
  if (scan.Consume(",\"e\":")) {
    h.error = scan.String();
    if (!h.error) return std::nullopt;
  }
  if (!scan.Consume("}") || !scan.AtEnd()) return std::nullopt;
  h.op = std::move(*op);
  h.collection = std::move(*c);
  h.key = std::move(*k);
  h.hlc = std::move(*hlc);
  h.base_version = *b;
  h.attempts = *a;
  return h;
}

// Any JSON object with the header's fields, in any order or spacing.
std::optional<Header> ParsedHeader(std::string_view text) {
  auto json = ParseJson(text);
  if (!json.ok() || !json->is_object()) return std::nullopt;
  const Json& j = *json;
  auto op = j.find("op");
  auto c = j.find("c");
  auto k = j.find("k");
  auto b = j.find("b");
  auto h = j.find("h");
  auto a = j.find("a");
  if (op == j.end() || !op->is_string() || c == j.end() || !c->is_string() || k == j.end() ||
      !k->is_string() || b == j.end() || !b->is_number_unsigned() || h == j.end() ||
      !h->is_string() || a == j.end() || !a->is_number_unsigned()) {
    return std::nullopt;
  }
  Header header{op->get<std::string>(),
                c->get<std::string>(),
                k->get<std::string>(),
                h->get<std::string>(),
                b->get<uint64_t>(),
                a->get<uint64_t>(),
                std::nullopt,
                0,
                0};
  if (auto e = j.find("e"); e != j.end() && e->is_string()) header.error = e->get<std::string>();
  // The optional times: absent is 0; present, they must be times.
  const auto time = [&j](const char* name, uint64_t& out) {
    auto member = j.find(name);
    if (member == j.end()) return true;
    if (!member->is_number_unsigned()) return false;
    out = member->get<uint64_t>();
    return true;
  };
  if (!time("t", header.last_attempt_at) || !time("d", header.dead_at)) return std::nullopt;
  return header;
}

}  // namespace

Result<OutboxEntry> DecodeOutboxEntry(std::string_view client_id, uint64_t seq,
                                      std::string_view bytes, bool parse_value) {
  const auto corrupt = [seq](std::string_view why) {
    return Status(ErrorCode::kCorruption,
                  "outbox entry " + std::to_string(seq) + " " + std::string(why));
  };
  if (bytes.empty() || (bytes[0] != kPendingMark && bytes[0] != kDeadMark)) {
    return corrupt("has an unknown state mark");
  }
  const std::size_t newline = bytes.find('\n');
  if (newline == std::string_view::npos) return corrupt("has no header");
  const std::string_view header_text = bytes.substr(1, newline - 1);
  std::optional<Header> header = ScannedHeader(header_text);
  if (!header) header = ParsedHeader(header_text);
  if (!header) return corrupt("does not decode");
  if (header->attempts > UINT32_MAX || header->last_attempt_at > INT64_MAX ||
      header->dead_at > INT64_MAX) {
    return corrupt("does not decode");
  }
  const std::string_view value_json = bytes.substr(newline + 1);
  OutboxEntry entry;
  entry.dead = bytes[0] == kDeadMark;
  Mutation& m = entry.mutation;
  m.client_id = std::string(client_id);
  m.seq = seq;
  auto parsed_op = ParseMutationOp(header->op);
  if (!parsed_op.ok()) return corrupt("has an unknown op");
  m.op = *parsed_op;
  m.document = {std::move(header->collection), std::move(header->key)};
  m.base_version = header->base_version;
  auto hlc = HlcStamp::Parse(header->hlc);
  if (!hlc.ok()) return corrupt("has a malformed HLC stamp");
  m.hlc = std::move(*hlc);
  entry.attempts = static_cast<uint32_t>(header->attempts);
  entry.last_attempt_at = static_cast<int64_t>(header->last_attempt_at);
  entry.dead_at = static_cast<int64_t>(header->dead_at);
  if (m.op != MutationOp::kDelete) {
    if (value_json.empty()) return corrupt("has no value");
    if (parse_value) {
      auto value = ParseJson(value_json);
      if (!value.ok()) return corrupt("has a value that does not decode");
      m.value = std::move(*value);
    }
    entry.value_json = std::string(value_json);
  }
  if (header->error) entry.error = std::move(*header->error);
  return entry;
}

Status Outbox::Load() {
  auto stored = store_.Get(kNextSeqKey);
  FERRY_RETURN_IF_ERROR(stored.status());
  next_seq_ = 1;
  if (stored->has_value()) {
    auto parsed = keys::ParseDecimal(**stored);
    if (!parsed || *parsed == 0) return Status(ErrorCode::kCorruption, "next seq does not decode");
    next_seq_ = *parsed;
  }
  FERRY_ASSIGN_OR_RETURN(auto pushed, store_.Get(kPushedKey));
  FERRY_RETURN_IF_ERROR(LoadPushed(pushed.value_or("")));
  pending_count_ = 0;
  dead_seqs_.clear();
  uint64_t highest = 0;
  std::string newest;
  Status failure;
  FERRY_RETURN_IF_ERROR(
      store_.ScanPrefix(kOutboxPrefix, [&](std::string_view key, std::string_view value) {
        auto seq = keys::ParseOrderedNumber(key.substr(kOutboxPrefix.size()));
        if (!seq || value.empty()) {
          failure = Status(ErrorCode::kCorruption, "outbox key or entry does not decode");
          return false;
        }
        highest = *seq;
        newest.assign(value);
        Count(value[0], *seq);
        const bool unanswered = *seq >= unanswered_first_ && *seq <= unanswered_last_;
        if (value[0] != kDeadMark && unanswered) in_flight_.insert(*seq);
        return true;
      }));
  FERRY_RETURN_IF_ERROR(failure);
  // Local writes do not persist the counter (it would cost every write a
  // third row); the newest entry bounds it instead. Removals persist it, so
  // a seq that left the outbox is never handed out again.
  if (highest >= next_seq_) next_seq_ = highest + 1;
  newest_hlc_.reset();
  if (!newest.empty()) {
    FERRY_ASSIGN_OR_RETURN(OutboxEntry entry, DecodeOutboxEntry(client_id_, highest, newest));
    newest_hlc_ = entry.mutation.hlc;
  }
  loaded_next_seq_ = next_seq_;
  highest_staged_ = 0;
  return Status::Ok();
}

Status Outbox::LoadPushed(std::string_view record) {
  in_flight_.clear();
  unanswered_first_ = 1;
  unanswered_last_ = 0;  // an empty range
  sent_through_ = 0;
  if (record.empty()) return Status::Ok();
  std::vector<uint64_t> numbers;
  for (std::string_view rest = record; !rest.empty();) {
    const std::size_t space = std::min(rest.find(' '), rest.size());
    auto number = keys::ParseDecimal(rest.substr(0, space));
    if (!number) return Status(ErrorCode::kCorruption, "push record does not decode");
    numbers.push_back(*number);
    rest.remove_prefix(std::min(space + 1, rest.size()));
  }
  if (numbers.size() != 1 && numbers.size() != 3) {
    return Status(ErrorCode::kCorruption, "push record does not decode");
  }
  sent_through_ = numbers[0];
  if (numbers.size() == 3) {
    unanswered_first_ = numbers[1];
    unanswered_last_ = numbers[2];
  }
  return Status::Ok();
}

void Outbox::StageSending(Transaction& txn, const std::vector<OutboxEntry>& batch) {
  if (batch.empty()) return;
  const uint64_t first = batch.front().mutation.seq;
  const uint64_t last = batch.back().mutation.seq;
  sent_through_ = std::max(sent_through_, last);
  txn.Put(kPushedKey,
          std::to_string(sent_through_) + ' ' + std::to_string(first) + ' ' + std::to_string(last));
}

Status Outbox::StageAttempt(Transaction& txn, uint64_t seq, const Attempt& attempt) {
  return CountAttempt(txn, seq, attempt).status();
}

Result<std::optional<OutboxEntry>> Outbox::CountAttempt(Transaction& txn, uint64_t seq,
                                                        const Attempt& attempt) {
  FERRY_ASSIGN_OR_RETURN(auto entry, Read(txn, seq));
  if (!entry || entry->dead) return std::optional<OutboxEntry>();
  ++entry->attempts;
  if (attempt.at > 0) entry->last_attempt_at = attempt.at;
  if (!attempt.error.empty()) entry->error = attempt.error;
  FERRY_RETURN_IF_ERROR(StagePut(txn, *entry));
  return entry;
}

Result<std::vector<OutboxEntry>> Outbox::StageFailedPush(Transaction& txn, const Attempt& attempt) {
  std::vector<OutboxEntry> counted;
  for (uint64_t seq : in_flight_) {
    FERRY_ASSIGN_OR_RETURN(auto entry, CountAttempt(txn, seq, attempt));
    if (entry) counted.push_back(std::move(*entry));
  }
  txn.Put(kPushedKey, std::to_string(sent_through_));
  in_flight_.clear();
  return counted;
}

Status Outbox::StagePushEnded(Transaction& txn, bool count_attempts) {
  if (count_attempts) return StageFailedPush(txn, {}).status();
  txn.Put(kPushedKey, std::to_string(sent_through_));
  in_flight_.clear();
  return Status::Ok();
}

Result<std::optional<OutboxEntry>> Outbox::Read(Transaction& txn, uint64_t seq) {
  FERRY_ASSIGN_OR_RETURN(auto stored, txn.Get(EntryKey(seq)));
  if (!stored) return std::optional<OutboxEntry>();
  FERRY_ASSIGN_OR_RETURN(OutboxEntry entry, DecodeOutboxEntry(client_id_, seq, *stored));
  return std::optional<OutboxEntry>(std::move(entry));
}

Result<char> Outbox::StagedMark(Transaction& txn, uint64_t seq) {
  const bool never_staged = seq >= loaded_next_seq_ && seq > highest_staged_;
  highest_staged_ = std::max(highest_staged_, seq);
  if (never_staged) return char{0};  // a new write: bulk imports skip a read per entry
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.Get(EntryKey(seq)));
  if (!stored || stored->empty()) return char{0};
  return (*stored)[0];
}

// Every entry that is not dead counts as pending, in Load() as here.
void Outbox::Count(char mark, uint64_t seq) {
  if (mark == kDeadMark) {
    dead_seqs_.insert(seq);
  } else {
    ++pending_count_;
  }
}

void Outbox::Uncount(char mark, uint64_t seq) {
  if (mark == 0) return;  // nothing was there
  if (mark == kDeadMark) {
    dead_seqs_.erase(seq);
  } else if (pending_count_ > 0) {
    // Never below zero, even if the count was off before (a failed commit
    // whose staged changes were counted, until the next Load()).
    --pending_count_;
  }
}

Mutation OutboxEntry::WithValue() const {
  Mutation parsed = mutation;
  if (parsed.op != MutationOp::kDelete && parsed.value.is_null()) {
    if (auto value = ParseJson(value_json); value.ok()) parsed.value = std::move(*value);
  }
  return parsed;
}

Status Outbox::StagePut(Transaction& txn, const OutboxEntry& entry) {
  FERRY_ASSIGN_OR_RETURN(const char previous, StagedMark(txn, entry.mutation.seq));
  std::string bytes = EncodeOutboxEntry(entry);
  const char mark = bytes[0];
  txn.Put(EntryKey(entry.mutation.seq), bytes);
  Uncount(previous, entry.mutation.seq);
  Count(mark, entry.mutation.seq);
  return Status::Ok();
}

Status Outbox::StageRemove(Transaction& txn, const OutboxEntry& entry) {
  FERRY_ASSIGN_OR_RETURN(const char previous, StagedMark(txn, entry.mutation.seq));
  txn.Delete(EntryKey(entry.mutation.seq));
  txn.Put(kNextSeqKey, std::to_string(next_seq_));
  Uncount(previous, entry.mutation.seq);
  return Status::Ok();
}

Result<std::vector<OutboxEntry>> Outbox::SelectBatch(const BatchLimits& limits, uint64_t after_seq,
                                                     DeferredEntries* deferred) {
  std::vector<OutboxEntry> batch;
  std::size_t bytes = 0;
  Status failure;
  FERRY_RETURN_IF_ERROR(
      store_.Scan(EntryKey(after_seq + 1), PrefixEnd(kOutboxPrefix),
                  [&](std::string_view key, std::string_view value) {
                    if (!value.empty() && value[0] == kDeadMark) return true;
                    const bool full = batch.size() >= limits.max_count ||
                                      (!batch.empty() && bytes + value.size() > limits.max_bytes);
                    if (full && !deferred) return false;
                    auto seq = keys::ParseOrderedNumber(key.substr(kOutboxPrefix.size()));
                    if (!seq) {
                      failure = Status(ErrorCode::kCorruption, "outbox key does not decode");
                      return false;
                    }
                    auto entry = DecodeOutboxEntry(client_id_, *seq, value);
                    if (!entry.ok()) {
                      failure = entry.status();
                      return false;
                    }
                    if (deferred && Defers(*deferred, *entry)) {
                      deferred->passed_over.push_back(std::move(*entry));
                      return true;
                    }
                    if (full) return true;  // listing the rest of the deferred ones
                    bytes += value.size();
                    batch.push_back(std::move(*entry));
                    return true;
                  }));
  FERRY_RETURN_IF_ERROR(failure);
  return batch;
}

// An entry that went out once keeps its seq and its place: the server may
// have applied it.
bool Outbox::Defers(const DeferredEntries& deferred, const OutboxEntry& entry) const {
  return entry.attempts == 0 && NeverSent(entry.mutation.seq) &&
         NamesCollection(*deferred.collections, entry.mutation.document.collection);
}

// Reads the entries dead_seqs_ names, in seq order like a scan. The set can
// name more than the store holds after a failed commit (until Load()), so an
// entry that is gone or no longer dead is skipped.
Result<std::vector<OutboxEntry>> Outbox::ListDead() {
  std::vector<OutboxEntry> dead;
  for (const uint64_t seq : dead_seqs_) {
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_.Get(EntryKey(seq)));
    if (!stored) continue;
    FERRY_ASSIGN_OR_RETURN(OutboxEntry entry, DecodeOutboxEntry(client_id_, seq, *stored));
    if (entry.dead) dead.push_back(std::move(entry));
  }
  return dead;
}

std::optional<Mutation> CoalesceMutations(const Mutation& earlier, const Mutation& later) {
  Mutation combined = later;
  combined.base_version = earlier.base_version;
  switch (later.op) {
    case MutationOp::kPut:
    case MutationOp::kDelete:
      // A put or delete overwrites whatever came before.
      return combined;
    case MutationOp::kPatch:
      switch (earlier.op) {
        case MutationOp::kPut:
          // put(v) then patch(p) is put(v with p applied).
          combined.op = MutationOp::kPut;
          combined.value = ApplyMergePatch(earlier.value, later.value);
          return combined;
        case MutationOp::kDelete:
          // The document is absent, so the patch builds it from {}.
          combined.op = MutationOp::kPut;
          combined.value = ApplyMergePatch(Json::object(), later.value);
          return combined;
        case MutationOp::kPatch: {
          auto patch = ComposeMergePatches(earlier.value, later.value);
          if (!patch) return std::nullopt;
          combined.value = std::move(*patch);
          return combined;
        }
      }
  }
  return std::nullopt;
}

}  // namespace ferry
