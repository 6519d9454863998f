#include "ferry/engine.h"

#include <algorithm>
#include <charconv>

#include "keys.h"

namespace ferry {
namespace {

// The client store's key space; each key has one owner that alone reads and
// writes it. Here: engine metadata under "m/" and run history under "h/".
// Outbox (outbox.cc): entries under "o/" and "m/next_seq". Replica
// (replica.cc): server copies under "s/" and the pending overlay under "p/".
constexpr std::string_view kFormatKey = "m/format";
constexpr std::string_view kClientIdKey = "m/client_id";
constexpr std::string_view kHlcKey = "m/hlc";
constexpr std::string_view kCursorKey = "m/cursor";
constexpr std::string_view kResyncKey = "m/resync";
// The pull scope the cursor was obtained under (ScopeText).
constexpr std::string_view kScopeKey = "m/scope";
constexpr std::string_view kStatsKey = "m/stats";
constexpr std::string_view kNextRunKey = "m/next_run";
constexpr std::string_view kLastSyncedKey = "m/last_synced_at";
constexpr std::string_view kHistoryPrefix = "h/";
// Write ids (see HandleLocalWrites): "w/<id>" -> the call's seqs, comma
// separated; "wo/<n>" -> the n-th id recorded, to forget the oldest first.
constexpr std::string_view kWriteIdPrefix = "w/";
constexpr std::string_view kWriteIdOrderPrefix = "wo/";
constexpr std::string_view kNextWriteIdKey = "m/next_write_id";
constexpr std::size_t kMaxWriteIdLength = 64;
// When server copies began to record their sync time (format 2): the copies
// of format 1 count as synced then (local retention).
constexpr std::string_view kCopiesTimedSinceKey = "m/copies_timed_since";
// Version 2 of the client store layout (1 had no sync time in server
// copies; a format-1 store is upgraded at open). A store with a higher
// number was written by a newer Ferry and is refused rather than misread.
constexpr uint64_t kStoreFormat = 2;

// Marks a store as of this format, for a new store and for an upgrade from
// format 1: server copies read either way; from now on they record their
// sync time, and those without one count as synced now.
void StageCurrentFormat(WriteBatch& batch, Instant now) {
  batch.Put(kFormatKey, std::to_string(kStoreFormat));
  batch.Put(kCopiesTimedSinceKey, std::to_string(now.wall));
}

std::string GenerateClientId(std::mt19937_64& random) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id;
  for (int i = 0; i < 20; ++i)
    id += kAlphabet[random() % (sizeof kAlphabet - 1)];
  return id;
}

Status ValidateWriteId(std::string_view id) {
  const bool valid = !id.empty() && id.size() <= kMaxWriteIdLength &&
                     std::all_of(id.begin(), id.end(), [](char c) {
                       return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-';
                     });
  if (valid) return Status::Ok();
  return Status(ErrorCode::kInvalidArgument,
                "a write id is 1 to 64 characters of A-Z, a-z, 0-9, _ and -");
}

CollectionScope ScopeOf(const EngineOptions& options) {
  return CollectionScope{options.pull_collections, options.upload_only};
}

// A stored form of a scope, equal for equal scopes whatever the order of
// the names: a JSON array [include or null, exclude], each list sorted.
std::string ScopeText(CollectionScope scope) {
  Json text = Json::array();
  if (scope.include) {
    std::sort(scope.include->begin(), scope.include->end());
    text.push_back(*scope.include);
  } else {
    text.push_back(nullptr);
  }
  std::sort(scope.exclude.begin(), scope.exclude.end());
  text.push_back(scope.exclude);
  return text.dump();
}

// One table for both directions, so stored statistics and the bindings' JSON
// can never disagree on a name.
constexpr std::pair<const char*, uint64_t SyncStatistics::*> kStatisticsFields[] = {
    {"runsStarted", &SyncStatistics::runs_started},
    {"runsCompleted", &SyncStatistics::runs_completed},
    {"runsFailed", &SyncStatistics::runs_failed},
    {"runsCancelled", &SyncStatistics::runs_cancelled},
    {"mutationsPushed", &SyncStatistics::mutations_pushed},
    {"conflicts", &SyncStatistics::conflicts},
    {"rejected", &SyncStatistics::rejected},
    {"documentsPulled", &SyncStatistics::documents_pulled},
    {"fullResyncs", &SyncStatistics::full_resyncs},
    {"documentsEvicted", &SyncStatistics::documents_evicted},
    {"bytesSent", &SyncStatistics::bytes_sent},
    {"bytesReceived", &SyncStatistics::bytes_received},
};

SyncStatistics DecodeStatistics(const Json& json) {
  SyncStatistics statistics;
  for (const auto& [name, field] : kStatisticsFields) {
    auto found = json.find(name);
    if (found != json.end() && found->is_number_unsigned())
      statistics.*field = found->get<uint64_t>();
  }
  return statistics;
}

std::optional<SyncRunRecord> DecodeRun(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  SyncRunRecord run;
  try {
    run.run_id = json.at("id").get<uint64_t>();
    const std::string reason = json.at("reason").get<std::string>();
    for (int r = 0; r <= static_cast<int>(TriggerReason::kReachable); ++r) {
      if (TriggerReasonName(static_cast<TriggerReason>(r)) == reason) {
        run.reason = static_cast<TriggerReason>(r);
      }
    }
    run.started_at = json.at("startedAt").get<TimeMs>();
    run.finished_at = json.at("finishedAt").get<TimeMs>();
    const std::string outcome = json.at("outcome").get<std::string>();
    run.outcome = outcome == "completed"   ? RunOutcome::kCompleted
                  : outcome == "cancelled" ? RunOutcome::kCancelled
                                           : RunOutcome::kFailed;
    run.pushed = json.at("pushed").get<uint64_t>();
    run.pulled = json.at("pulled").get<uint64_t>();
    run.conflicts = json.at("conflicts").get<uint64_t>();
    run.rejected = json.at("rejected").get<uint64_t>();
    run.error = json.at("error").get<std::string>();
    // Records written before runs had a direction did both.
    if (auto direction = json.find("direction");
        direction != json.end() && direction->is_string()) {
      run.direction =
          ParseSyncDirection(direction->get<std::string>()).value_or(SyncDirection::kBoth);
    }
  } catch (const Json::exception&) {
    // Stored history is informational: a record that does not decode is
    // skipped rather than failing the whole listing.
    return std::nullopt;
  }
  return run;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Every result applied or a duplicate: the answer leaves nothing to resolve,
// dead-letter or push again.
bool SettlesEveryMutation(const std::vector<PushResult>& results) {
  return std::all_of(results.begin(), results.end(), [](const PushResult& result) {
    return result.status == PushResultStatus::kApplied ||
           result.status == PushResultStatus::kDuplicate;
  });
}

Status ErrorForHttpStatus(int status, std::string_view body) {
  const std::string detail = "HTTP " + std::to_string(status) + ": " + DescribeErrorBody(body);
  if (status == 401 || status == 403) return Status(ErrorCode::kUnauthenticated, detail);
  if (status == 408 || status == 429 || status >= 500)
    return Status(ErrorCode::kUnavailable, detail);
  return Status(ErrorCode::kProtocol, detail);
}

}  // namespace

Json SyncRunToJson(const SyncRunRecord& run) {
  return {{"id", run.run_id},
          {"reason", TriggerReasonName(run.reason)},
          {"direction", SyncDirectionName(run.direction)},
          {"startedAt", run.started_at},
          {"finishedAt", run.finished_at},
          {"outcome", RunOutcomeName(run.outcome)},
          {"pushed", run.pushed},
          {"pulled", run.pulled},
          {"conflicts", run.conflicts},
          {"rejected", run.rejected},
          {"error", run.error}};
}

Json SyncStatisticsToJson(const SyncStatistics& statistics) {
  Json json = Json::object();
  for (const auto& [name, field] : kStatisticsFields)
    json[name] = statistics.*field;
  return json;
}

std::string_view SyncStateName(SyncState state) {
  switch (state) {
    case SyncState::kNeverSynced:
      return "never_synced";
    case SyncState::kIdle:
      return "idle";
    case SyncState::kSyncing:
      return "syncing";
    case SyncState::kOffline:
      return "offline";
    case SyncState::kError:
      return "error";
    case SyncState::kAuthError:
      return "auth_error";
  }
  return "unknown";
}

std::string_view SyncDirectionName(SyncDirection direction) {
  switch (direction) {
    case SyncDirection::kBoth:
      return "both";
    case SyncDirection::kPush:
      return "push";
    case SyncDirection::kPull:
      return "pull";
  }
  return "both";
}

std::optional<SyncDirection> ParseSyncDirection(std::string_view name) {
  for (SyncDirection direction : {SyncDirection::kBoth, SyncDirection::kPush, SyncDirection::kPull})
    if (SyncDirectionName(direction) == name) return direction;
  return std::nullopt;
}

std::string_view TriggerReasonName(TriggerReason reason) {
  switch (reason) {
    case TriggerReason::kLocalWrite:
      return "local_write";
    case TriggerReason::kOnline:
      return "online";
    case TriggerReason::kInterval:
      return "interval";
    case TriggerReason::kPoke:
      return "poke";
    case TriggerReason::kManual:
      return "manual";
    case TriggerReason::kBackgroundSync:
      return "background_sync";
    case TriggerReason::kAppStart:
      return "app_start";
    case TriggerReason::kRetry:
      return "retry";
    case TriggerReason::kFollowUp:
      return "follow_up";
    case TriggerReason::kReachable:
      return "reachable";
  }
  return "unknown";
}

std::string_view RunOutcomeName(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kCompleted:
      return "completed";
    case RunOutcome::kFailed:
      return "failed";
    case RunOutcome::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<TimeMs> ParseRetryAfter(std::string_view value, TimeMs now) {
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (auto seconds = keys::ParseDecimal(value)) {
    // Bounded so an absurd header cannot park the client for years.
    constexpr uint64_t kMaxSeconds = uint64_t{24} * 60 * 60;
    return static_cast<TimeMs>(std::min(*seconds, kMaxSeconds)) * 1000;
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (value.size() != 29 || value.substr(25) != " GMT") return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t length) -> std::optional<uint64_t> {
    return keys::ParseDecimal(value.substr(at, length));
  };
  auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
       second = number(23, 2);
  unsigned month = 0;
  for (unsigned m = 0; m < 12; ++m) {
    if (value.substr(8, 3) == kMonths[m]) month = m + 1;
  }
  if (!day || !year || !hour || !minute || !second || month == 0) return std::nullopt;
  const int64_t epoch_seconds =
      DaysFromCivil(static_cast<int64_t>(*year), month, static_cast<unsigned>(*day)) * 86400 +
      static_cast<int64_t>(*hour * 3600 + *minute * 60 + *second);
  return std::max<TimeMs>(0, epoch_seconds * 1000 - now);
}

SyncEngine::SyncEngine(Store& store, EngineOptions options, std::string client_id)
    : store_(store),
      options_(std::move(options)),
      client_id_(std::move(client_id)),
      outbox_(store, client_id_),
      indexes_(options_.indexes),
      replica_(store, outbox_, &indexes_),
      clock_(client_id_),
      random_(options_.random_seed ^ 0x9e3779b97f4a7c15ull),
      pull_scope_(ScopeOf(options_)) {}

Result<std::unique_ptr<SyncEngine>> SyncEngine::Open(Store& store, EngineOptions options,
                                                     Instant now) {
  FERRY_RETURN_IF_ERROR(ValidateCollectionScope(ScopeOf(options)));
  FERRY_RETURN_IF_ERROR(ValidateRetention(options.retention));
  for (const std::string& name : options.deferrable)
    FERRY_RETURN_IF_ERROR(ValidateCollectionName(name, "deferrable"));
  FERRY_RETURN_IF_ERROR(ValidateIndexes(options.indexes));
  FERRY_ASSIGN_OR_RETURN(auto format, store.Get(kFormatKey));
  if (format) {
    auto number = keys::ParseDecimal(*format);
    if (!number) return Status(ErrorCode::kCorruption, "store format marker does not decode");
    if (*number > kStoreFormat) {
      return Status(ErrorCode::kUnsupportedVersion,
                    "store format " + std::to_string(*number) +
                        " was written by a newer Ferry (this build reads format " +
                        std::to_string(kStoreFormat) + ")");
    }
    if (*number < kStoreFormat) {
      WriteBatch upgrade;
      StageCurrentFormat(upgrade, now);
      FERRY_RETURN_IF_ERROR(store.Commit(upgrade));
    }
  }
  FERRY_ASSIGN_OR_RETURN(auto stored_id, store.Get(kClientIdKey));
  std::string client_id;
  if (stored_id) {
    client_id = *stored_id;
    if (!ValidateClientId(client_id).ok()) {
      return Status(ErrorCode::kCorruption, "stored client id is malformed");
    }
  } else {
    std::mt19937_64 random(options.random_seed);
    client_id = GenerateClientId(random);
    WriteBatch batch;
    StageCurrentFormat(batch, now);
    batch.Put(kClientIdKey, client_id);
    FERRY_RETURN_IF_ERROR(store.Commit(batch));
  }
  std::unique_ptr<SyncEngine> engine(new SyncEngine(store, std::move(options), client_id));
  FERRY_RETURN_IF_ERROR(engine->Load(now));
  return engine;
}

Status SyncEngine::Load(Instant now) {
  FERRY_RETURN_IF_ERROR(outbox_.Load());
  if (!outbox_.in_flight().empty()) {
    // A push was unanswered when the store was closed: it may have reached
    // the server, so it counts as an attempt.
    Transaction txn(store_);
    FERRY_RETURN_IF_ERROR(outbox_.StagePushEnded(txn, /*count_attempts=*/true));
    FERRY_RETURN_IF_ERROR(txn.Commit());
  }
  FERRY_ASSIGN_OR_RETURN(auto hlc, store_.Get(kHlcKey));
  if (hlc) {
    auto stamp = HlcStamp::Parse(*hlc);
    if (!stamp.ok()) return Status(ErrorCode::kCorruption, "stored HLC stamp does not decode");
    clock_.Restore(*stamp);
  }
  if (outbox_.newest_hlc()) clock_.Restore(*outbox_.newest_hlc());
  FERRY_ASSIGN_OR_RETURN(auto cursor, store_.Get(kCursorKey));
  cursor_ = cursor.value_or("");
  FERRY_ASSIGN_OR_RETURN(auto resync, store_.Get(kResyncKey));
  resyncing_ = resync.has_value();
  FERRY_RETURN_IF_ERROR(AdoptPullScope());
  FERRY_RETURN_IF_ERROR(AdoptIndexes());
  FERRY_ASSIGN_OR_RETURN(auto stats, store_.Get(kStatsKey));
  if (stats) {
    auto json = ParseJson(*stats);
    if (json.ok() && json->is_object()) statistics_ = DecodeStatistics(*json);
  }
  FERRY_RETURN_IF_ERROR(LoadConflictLog());
  FERRY_RETURN_IF_ERROR(LoadOpenConflicts());
  FERRY_ASSIGN_OR_RETURN(auto next_run, store_.Get(kNextRunKey));
  if (next_run) next_run_id_ = keys::ParseDecimal(*next_run).value_or(1);
  FERRY_ASSIGN_OR_RETURN(auto last_synced, store_.Get(kLastSyncedKey));
  if (last_synced) {
    if (auto at = keys::ParseDecimal(*last_synced)) last_synced_at_ = static_cast<TimeMs>(*at);
  }
  FERRY_ASSIGN_OR_RETURN(auto timed_since, store_.Get(kCopiesTimedSinceKey));
  if (timed_since) {
    if (auto at = keys::ParseDecimal(*timed_since)) copies_timed_since_ = static_cast<TimeMs>(*at);
  }
  if (options_.interval_ms) interval_at_ = now.monotonic + *options_.interval_ms;
  Observe(now);
  ExpireDeadLetters(now);
  // Best effort, as after a run: a record retention cannot read fails the
  // pass, not the open (reading that document reports it).
  ApplyRetention(now).IgnoreError();
  TendLiveStream(now);
  return Status::Ok();
}

// ---------------------------------------------------------------- inputs

Result<uint64_t> SyncEngine::HandleLocalWrite(MutationOp op, const DocumentId& id,
                                              const Json& value, Instant now) {
  const LocalWrite write{op, id, value};
  FERRY_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, HandleLocalWrites({&write, 1}, now));
  return seqs.front();
}

Result<std::vector<uint64_t>> SyncEngine::HandleLocalWrites(std::span<const LocalWrite> writes,
                                                            Instant now,
                                                            std::string_view write_id) {
  Observe(now);
  // Everything is checked before anything is staged: a batch with one bad
  // write is refused whole and leaves no trace.
  std::vector<std::string> value_jsons(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    FERRY_RETURN_IF_ERROR(ValidateDocumentId(writes[i].document));
    FERRY_RETURN_IF_ERROR(ValidateMutationValue(writes[i].op, writes[i].value, &value_jsons[i]));
  }
  FERRY_ASSIGN_OR_RETURN(auto applied, FindWriteId(write_id));
  if (applied) return std::move(*applied);
  if (writes.empty()) return std::vector<uint64_t>{};
  Transaction txn(store_);
  std::vector<uint64_t> seqs;
  seqs.reserve(writes.size());
  std::vector<DocumentId> changed;
  changed.reserve(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const LocalWrite& write = writes[i];
    FERRY_ASSIGN_OR_RETURN(HlcStamp stamp, clock_.Now(now.wall));
    Mutation mutation;
    mutation.client_id = client_id_;
    mutation.seq = outbox_.AllocateSeq();
    mutation.op = write.op;
    mutation.document = write.document;
    mutation.value = write.value;
    mutation.hlc = stamp;
    auto staged = replica_.StageLocalWrite(txn, std::move(mutation), std::move(value_jsons[i]),
                                           /*allow_coalescing=*/true);
    if (!staged.ok()) {
      ReloadAfterStorageFailure();
      return staged.status();
    }
    seqs.push_back(staged->entry.mutation.seq);
    changed.push_back(write.document);
  }
  // The clock is not persisted here: the new outbox entries carry the stamp
  // and Load() restores the clock from the newest one.
  Status committed = StageWriteId(txn, write_id, seqs);
  if (committed.ok()) committed = txn.Commit();
  if (!committed.ok()) {
    ReloadAfterStorageFailure();
    return committed;
  }
  if (run_) run_->push_total += writes.size();
  Emit(DocumentsChangedEvent{std::move(changed), false});
  if (!OnlyDeferrable(writes)) ScheduleLocalWriteSync(now);
  EmitStatusIfChanged();
  return seqs;
}

RunTicket SyncEngine::HandleTrigger(TriggerReason reason, Instant now, SyncDirection direction) {
  Observe(now);
  if (run_) {
    // A run still pushing will also push whatever is pending now and then
    // pull (if it pulls), so it covers a trigger its direction includes; a
    // run already pulling may have missed writes or pokes, so another run
    // follows it.
    const bool covers = run_->direction == SyncDirection::kBoth || run_->direction == direction;
    if (run_->phase == SyncPhase::kPush && covers) return run_->id;
    AskFollowUp(direction);
    return run_->id + 1;
  }
  const RunTicket ticket = next_run_id_;
  StartRun(reason, now, direction);
  EmitStatusIfChanged();
  return ticket;
}

RunTicket SyncEngine::HandleResync(Instant now) {
  Observe(now);
  // A pulled page stashed on a timer is stored first, so its cursor move
  // cannot land after the cursor was forgotten.
  FlushAnswers(now);
  resync_requested_ = true;
  if (run_) {
    AskFollowUp(SyncDirection::kBoth);
    return run_->id + 1;
  }
  const RunTicket ticket = next_run_id_;
  StartRun(TriggerReason::kManual, now);
  EmitStatusIfChanged();
  return ticket;
}

void SyncEngine::AskFollowUp(SyncDirection direction) {
  if (run_->follow_up && *run_->follow_up != direction) direction = SyncDirection::kBoth;
  run_->follow_up = direction;
}

void SyncEngine::HandleResponse(RequestId id, const HttpResponse& response, Instant now) {
  Observe(now);
  FlushAnswers(now);  // an answer is handled after every earlier one
  if (probe_.id == id) {
    HandleProbeResponse(response, now);
    EmitStatusIfChanged();
    return;
  }
  if (!run_ || run_->request != id) return;  // cancelled, timed out or unknown: ignore
  run_->request.reset();
  unreachable_ = response.status == 0 && !response.server_reached;
  if (!unreachable_) StopProbe(/*reset=*/true);  // the server answers: nothing to probe for
  statistics_.bytes_received += response.body.size();
  if (response.status == 401) {
    if (!run_->sent.refresh_credentials) {
      // Tokens expire. The same request once more, with a token the host
      // fetches afresh; the server has not acted on a request it refused.
      HttpRequest again = std::move(run_->sent);
      again.id = next_request_id_++;
      again.refresh_credentials = true;
      statistics_.bytes_sent += again.body.size();
      run_->request = again.id;
      run_->request_deadline = now.monotonic + options_.request_timeout_ms;
      run_->sent = again;
      actions_.push_back(SendRequest{std::move(again)});
      return;
    }
    // Refused twice: retrying on a timer cannot help until the user signs in
    // again. Every write stays queued.
    auth_failed_ = true;
    FailRun(Status(ErrorCode::kUnauthenticated,
                   "the server refused the credentials even after a token refresh (" +
                       ErrorForHttpStatus(response.status, response.body).message() +
                       "); pending writes are kept and sent once a token is accepted"),
            now, std::nullopt, /*retry=*/false);
    EmitStatusIfChanged();
    return;
  }
  if (response.status == 200) auth_failed_ = false;
  if (run_->phase == SyncPhase::kPush) {
    HandlePushResponse(response, now);
  } else {
    HandlePullResponse(response, now);
  }
  TendLiveStream(now);  // an accepted token lets a stream refused after a 401 open again
  EmitStatusIfChanged();
}

void SyncEngine::HandleTimeout(Instant now) {
  Observe(now);
  FlushAnswers(now);
  if (run_ && run_->request && now.monotonic >= run_->request_deadline) {
    const Status timed_out(ErrorCode::kUnavailable, "request timed out");
    if (run_->phase == SyncPhase::kPush) push_sizer_.OnTooSlowOrTooLarge();
    AbortRequest(now, timed_out);
    unreachable_ = true;
    FailRun(timed_out, now);
  }
  if (retry_at_ && now.monotonic >= *retry_at_) {
    retry_at_.reset();
    if (!run_) {
      StartRun(TriggerReason::kRetry, now);
    } else if (run_->direction != SyncDirection::kBoth) {
      AskFollowUp(SyncDirection::kBoth);
    }
  }
  if (debounce_at_ && now.monotonic >= *debounce_at_) {
    debounce_at_.reset();
    if (!run_) {
      StartRun(TriggerReason::kLocalWrite, now);
    } else if (run_->phase == SyncPhase::kPull || run_->direction == SyncDirection::kPull) {
      AskFollowUp(SyncDirection::kBoth);
    }
  }
  if (interval_at_ && now.monotonic >= *interval_at_) {
    interval_at_ = options_.interval_ms
                       ? std::optional<TimeMs>(now.monotonic + *options_.interval_ms)
                       : std::nullopt;
    // Offline, a tick would only record a failed run, and a few hours of
    // them would push every real run out of the history. Declared offline:
    // coming online starts a run. Unreachable: the scheduled retry probes.
    if (!run_ && !retry_at_ && online_) StartRun(TriggerReason::kInterval, now);
  }
  if (dead_letter_check_at_ && now.monotonic >= *dead_letter_check_at_) ExpireDeadLetters(now);
  TendProbe(now);
  TendLiveStream(now);
  EmitStatusIfChanged();
}

void SyncEngine::HandleOnline(bool online, Instant now) {
  Observe(now);
  FlushAnswers(now);
  if (online == online_) return;
  online_ = online;
  // Connectivity changed: a stream reopens at once, without the backoff of
  // failures that happened while the network was gone.
  live_.failures = 0;
  live_.reopen_at.reset();
  StopProbe(/*reset=*/true);  // offline: nothing to probe; online: a run starts now
  if (!online) {
    retry_at_.reset();
    debounce_at_.reset();
    if (run_) {
      AbortRequest(now);
      FailRun(Status(ErrorCode::kUnavailable, "went offline"), now, std::nullopt, false);
    }
  } else {
    consecutive_failures_ = 0;
    if (!run_) StartRun(TriggerReason::kOnline, now);
  }
  TendLiveStream(now);
  EmitStatusIfChanged();
}

void SyncEngine::Cancel(Instant now) {
  Observe(now);
  FlushAnswers(now);
  retry_at_.reset();
  debounce_at_.reset();
  StopProbe(/*reset=*/true);
  if (run_) {
    AbortRequest(now);
    EndRun(RunOutcome::kCancelled, "cancelled", now);
  }
  EmitStatusIfChanged();
}

void SyncEngine::SetInterval(std::optional<TimeMs> interval_ms, Instant now) {
  options_.interval_ms = interval_ms;
  interval_at_ = interval_ms ? std::optional<TimeMs>(now.monotonic + *interval_ms) : std::nullopt;
}

// ---------------------------------------------------------------- outputs

std::optional<Action> SyncEngine::PollAction() {
  if (actions_.empty()) return std::nullopt;
  Action action = std::move(actions_.front());
  actions_.pop_front();
  const auto* event = std::get_if<Event>(&action);
  const auto* changed = event ? std::get_if<DocumentsChangedEvent>(event) : nullptr;
  if (changed != nullptr) {
    ++changes_polled_;
    if (!live_queries_.empty()) RefreshLiveQueries(*changed);
  }
  return action;
}

std::optional<TimeMs> SyncEngine::PollTimeout() const {
  std::optional<TimeMs> earliest;
  const auto consider = [&earliest](std::optional<TimeMs> at) {
    if (at && (!earliest || *at < *earliest)) earliest = at;
  };
  if (run_ && run_->request) consider(run_->request_deadline);
  if (answered_push_) consider(answered_push_->answered_at);  // due at once
  if (pulled_page_) consider(pulled_page_->answered_at);      // due at once
  consider(retry_at_);
  consider(debounce_at_);
  consider(interval_at_);
  consider(dead_letter_check_at_);
  if (!live_.id) consider(live_.reopen_at);
  if (probe_.id) consider(probe_.deadline);
  consider(probe_.at);
  return earliest;
}

// ---------------------------------------------------------------- sync runs

void SyncEngine::ScheduleLocalWriteSync(Instant now) {
  // The first write of a quiet spell sets the deadline; later ones before it
  // ride along, so the run is not pushed back by a steady trickle.
  if (options_.sync_on_local_write && online_ && !debounce_at_) {
    debounce_at_ = now.monotonic + options_.local_write_debounce_ms;
  }
}

void SyncEngine::StartRun(TriggerReason reason, Instant now, SyncDirection direction) {
  // A run covers a scheduled local-write run only if it pushes, and a
  // scheduled retry only if it does both; otherwise they stay due (and ask
  // for a follow-up run if they come due while this one is in flight).
  if (direction != SyncDirection::kPull) debounce_at_.reset();
  if (direction == SyncDirection::kBoth) retry_at_.reset();
  auto allowed = AskBeforeRun(reason, direction);
  // A postponed interval tick leaves no trace, as one while offline does.
  if (allowed.ok() && !*allowed && reason == TriggerReason::kInterval) return;
  Run run;
  run.id = next_run_id_++;
  run.reason = reason;
  run.direction = direction;
  run.started_at = now.wall;
  run.push_total = direction == SyncDirection::kPull ? 0 : outbox_.pending_count();
  run.batch_count_limit = options_.batch.max_count;
  run_ = std::move(run);
  ++statistics_.runs_started;
  Emit(SyncStartedEvent{run_->id, reason, direction});
  if (!allowed.ok()) {
    FailRun(allowed.status(), now);
    return;
  }
  if (!*allowed) {
    EndRun(RunOutcome::kCancelled, "postponed", now);
    return;
  }
  if (!online_) {
    FailRun(Status(ErrorCode::kUnavailable, "offline"), now, std::nullopt, false);
    return;
  }
  if (direction != SyncDirection::kPush && !BeginRequestedResync(now)) return;
  if (direction == SyncDirection::kPull) {
    SendPull(now);
  } else {
    SendNextPush(now);
  }
}

bool SyncEngine::BeginRequestedResync(Instant now) {
  if (!resync_requested_) return true;
  // Recorded before anything is pulled, so a resync interrupted by a crash
  // or a failure starts over (Load, SendPull) instead of being forgotten.
  WriteBatch batch;
  batch.Put(kResyncKey, "1");
  batch.Delete(kCursorKey);
  if (Status committed = store_.Commit(batch); !committed.ok()) {
    FailRun(committed, now);
    return false;
  }
  resync_requested_ = false;
  resyncing_ = true;
  cursor_.clear();
  resync_seen_.clear();
  ++statistics_.full_resyncs;
  return true;
}

void SyncEngine::SendRequestNow(std::string method, std::string target, std::string body,
                                Instant now) {
  HttpRequest request;
  request.id = next_request_id_++;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.timeout_ms = options_.request_timeout_ms;
  statistics_.bytes_sent += request.body.size();
  run_->request = request.id;
  run_->request_deadline = now.monotonic + options_.request_timeout_ms;
  run_->sent = request;
  actions_.push_back(SendRequest{std::move(request)});
}

void SyncEngine::SendNextPush(Instant now) {
  BatchLimits limits = push_batch_limits();
  limits.max_count = std::max<std::size_t>(1, std::min(limits.max_count, run_->batch_count_limit));
  // An answered push not yet committed still has its entries in the outbox.
  const uint64_t after = answered_push_ ? answered_push_->batch.back().mutation.seq : 0;
  std::optional<DeferredEntries> deferred;
  if (DeferringWrites()) deferred.emplace().collections = &options_.deferrable;
  auto batch = outbox_.SelectBatch(limits, after, deferred ? &*deferred : nullptr);
  if (!batch.ok()) {
    FailRun(batch.status(), now);
    return;
  }
  if (batch->empty()) {
    run_->deferred = deferred ? deferred->passed_over.size() : 0;
    FinishPushPhase(now);
    return;
  }
  // Recorded durably before sending: once sent, an entry may be applied at
  // the server, so it must never be coalesced with a later write, even after
  // a crash; and its attempt is counted when the push ends. The before-push
  // hook's answers go in the same commit.
  Transaction txn(store_);
  std::vector<Event> events;
  Status committed = deferred ? MoveDeferredBehind(txn, *deferred, *batch) : Status::Ok();
  if (committed.ok() && options_.before_push) committed = AskBeforePush(txn, *batch, events, now);
  if (committed.ok()) {
    outbox_.StageSending(txn, *batch);
    committed = txn.Commit();
  }
  if (!committed.ok()) {
    ReloadAfterStorageFailure();
    FailRun(committed, now);
    return;
  }
  for (Event& event : events)
    Emit(std::move(event));
  if (batch->empty()) {  // the hook refused every write of it
    ScheduleDeadLetterCheck(now);
    SendNextPush(now);
    return;
  }
  PushRequestWriter request(client_id_);
  run_->push_bytes = 0;
  for (const OutboxEntry& entry : *batch) {
    request.AddMutation(entry.mutation, entry.value_json);
    outbox_.in_flight().insert(entry.mutation.seq);
    run_->push_bytes += entry.value_json.size();
  }
  run_->push_sent_at = now.monotonic;
  run_->batch = std::move(*batch);
  SendRequestNow("POST", std::string(kPushPath), std::move(request).Finish(), now);
}

void SyncEngine::HandlePushResponse(const HttpResponse& response, Instant now) {
  std::vector<OutboxEntry> batch = std::move(run_->batch);
  run_->batch.clear();
  if (response.status == 0) {
    FailRun(Status(ErrorCode::kUnavailable, "network error: " + response.transport_error), now);
    return;
  }
  if (response.status == 413) push_sizer_.OnTooSlowOrTooLarge();
  if (response.status == 200)
    push_sizer_.OnAnswered(batch.size(), run_->push_bytes, now.monotonic - run_->push_sent_at);
  if (response.status != 200) {
    Status error = ErrorForHttpStatus(response.status, response.body);
    if (error.code() != ErrorCode::kProtocol) {
      FailRun(error, now, ParseRetryAfter(response.retry_after, now.wall));
      return;
    }
    // The server refused the request as a whole (400, 413, ...). Halve the
    // batch until the refusal isolates a single mutation, then dead-letter
    // that one so it cannot block the queue behind it.
    if (batch.size() > 1) {
      if (Status ended = EndPushInFlight(now); !ended.ok()) {
        FailRun(ended, now);
        return;
      }
      run_->batch_count_limit = batch.size() / 2;
      SendNextPush(now);
      return;
    }
    Transaction txn(store_);
    ++batch.front().attempts;
    batch.front().last_attempt_at = batch.front().dead_at = now.wall;
    Status staged = replica_.StageDeadLetter(txn, batch.front(), error.message());
    if (staged.ok()) staged = outbox_.StagePushEnded(txn, /*count_attempts=*/false);
    if (!staged.ok() || !(staged = txn.Commit()).ok()) {
      ReloadAfterStorageFailure();
      FailRun(staged, now);
      return;
    }
    ++run_->rejected;
    ++statistics_.rejected;
    Emit(MutationRejectedEvent{batch.front().WithValue(), error.message()});
    Emit(DocumentsChangedEvent{{batch.front().mutation.document}, true});
    ScheduleDeadLetterCheck(now);
    SendNextPush(now);
    return;
  }

  PushRequest sent;
  sent.client_id = client_id_;
  for (const OutboxEntry& entry : batch)
    sent.mutations.push_back(entry.mutation);
  auto decoded = DecodePushResponse(response.body, sent, options_.protocol);
  if (!decoded.ok()) {
    FailRun(decoded.status(), now);
    return;
  }
  if (SettlesEveryMutation(decoded->results)) {
    // Nothing in this answer changes what the next push carries, nor what
    // the server remembers for later pushes (rule 6 keeps no outcome of an
    // applied write): the next push goes out first, and this answer is
    // committed while the server works on it, so the client's and the
    // server's share of each batch overlap (HandleTimeout, due at once, or
    // the next input). Until then the entries stay pending; after a crash
    // they are sent again and answered as duplicates.
    outbox_.in_flight().clear();
    answered_push_ = AnsweredPush{std::move(batch), std::move(decoded->results), now.monotonic};
    SendNextPush(now);
    return;
  }
  if (ApplyPushResults(batch, decoded->results, /*ends_push_on_wire=*/true, now)) SendNextPush(now);
}

bool SyncEngine::ApplyPushResults(const std::vector<OutboxEntry>& batch,
                                  const std::vector<PushResult>& results, bool ends_push_on_wire,
                                  Instant now) {
  const auto fail = [&](const Status& error) {
    ReloadAfterStorageFailure();
    if (!run_) return false;
    AbortRequest(now);  // a push sent after this answer was (see answered_push_)
    FailRun(error, now);
    return false;
  };
  Transaction txn(store_);
  // Answered entries leave the outbox and may take the newest clock stamp
  // with them; the clock is persisted here instead (see Load()).
  txn.Put(kHlcKey, clock_.last().ToString());
  std::vector<Event> events;
  std::vector<DocumentId> changed;
  // Documents whose conflict was resolved in this answer: the resolution took
  // all their pending writes out of the outbox, later results included.
  std::set<DocumentId> resolved;
  // Documents with a conflict answered without the document (the server's
  // answer budget was spent): their writes stay pending, in order, and the
  // next push gets the outcome again with the document.
  std::set<DocumentId> unsettled;
  uint64_t pushed = 0, conflicts = 0, rejected = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const OutboxEntry& entry = batch[i];
    const PushResult& result = results[i];
    if (resolved.contains(entry.mutation.document)) continue;
    if (result.status == PushResultStatus::kConflict && !result.has_current) {
      unsettled.insert(entry.mutation.document);
    }
    if (unsettled.contains(entry.mutation.document)) {
      // Pending still: the push counts as one of its attempts.
      if (Status staged = outbox_.StageAttempt(txn, entry.mutation.seq, {now.wall, {}});
          !staged.ok()) {
        return fail(staged);
      }
      continue;
    }
    Status staged;
    switch (result.status) {
      case PushResultStatus::kApplied: {
        auto applied = replica_.StageApplied(txn, entry, result.previous_version, result.version);
        staged = applied.status();
        // Mostly the view stays: the server holds what the write showed. A
        // before_push hook's rewrite shows only now.
        if (applied.ok() && *applied) changed.push_back(entry.mutation.document);
        ++pushed;
        break;
      }
      case PushResultStatus::kDuplicate:
        // Applied by an earlier delivery whose answer was lost. The document
        // as the server holds it now takes the write's place, so a read
        // before the next pull (or after a failed one) still sees the write.
        // Found by the client crash loop in reliability_tests.
        staged =
            replica_
                .StageRemoved(txn, entry,
                              result.has_current ? std::optional<ServerDocument>(result.current)
                                                 : std::nullopt)
                .status();
        changed.push_back(entry.mutation.document);
        ++pushed;
        break;
      case PushResultStatus::kConflict: {
        auto event = StageConflict(txn, entry, result.current, now);
        if (!event.ok()) {
          staged = event.status();
          break;
        }
        resolved.insert(entry.mutation.document);
        changed.push_back(entry.mutation.document);
        events.push_back(std::move(*event));
        ++conflicts;
        break;
      }
      case PushResultStatus::kRejected: {
        OutboxEntry counted = entry;
        ++counted.attempts;
        counted.last_attempt_at = counted.dead_at = now.wall;
        staged = replica_.StageDeadLetter(txn, std::move(counted), result.error);
        changed.push_back(entry.mutation.document);
        events.push_back(MutationRejectedEvent{entry.WithValue(), result.error});
        ++rejected;
        break;
      }
    }
    if (!staged.ok()) return fail(staged);
  }
  Status committed =
      ends_push_on_wire ? outbox_.StagePushEnded(txn, /*count_attempts=*/false) : Status::Ok();
  if (committed.ok()) committed = txn.Commit();
  if (!committed.ok()) return fail(committed);
  if (run_) {
    run_->pushed += pushed;
    run_->conflicts += conflicts;
    run_->rejected += rejected;
  }
  statistics_.mutations_pushed += pushed;
  statistics_.conflicts += conflicts;
  statistics_.rejected += rejected;
  if (rejected > 0) ScheduleDeadLetterCheck(now);
  for (Event& event : events)
    Emit(std::move(event));
  if (!changed.empty()) Emit(DocumentsChangedEvent{std::move(changed), true});
  EmitProgress();
  return true;
}

void SyncEngine::FlushAnswers(Instant now) {
  FlushAnsweredPush(now);
  FlushPulledPage(now);
}

void SyncEngine::FlushAnsweredPush(Instant now) {
  if (!answered_push_) return;
  AnsweredPush answered = std::move(*answered_push_);
  answered_push_.reset();
  // The push on the wire now, if any, is a later one: its record stays.
  const bool none_on_wire = outbox_.in_flight().empty();
  (void)ApplyPushResults(answered.batch, answered.results, none_on_wire, now);
}

Result<SyncConflictEvent> SyncEngine::StageConflict(Transaction& txn, const OutboxEntry& entry,
                                                    const ServerDocument& current, Instant now) {
  const DocumentId& id = entry.mutation.document;
  const ConflictStrategy strategy = options_.conflicts.For(id.collection);
  const auto value_of = [](const DocumentState& state) {
    return state.exists ? std::optional<Json>(state.value) : std::nullopt;
  };
  ObserveRemoteClock(current.hlc, now);
  ConflictInput input;
  input.document = id;
  input.remote = value_of(current.state);
  input.remote_hlc = current.hlc;
  HlcStamp newest_local = entry.mutation.hlc;
  if (strategy != ConflictStrategy::kServerWins) {
    FERRY_ASSIGN_OR_RETURN(ServerDocument base, replica_.ReadServerCopy(txn, id));
    FERRY_ASSIGN_OR_RETURN(DocumentState local, replica_.ReadView(txn, id));
    FERRY_ASSIGN_OR_RETURN(std::vector<OutboxEntry> pending, replica_.ReadPending(txn, id));
    for (const OutboxEntry& other : pending)
      newest_local = std::max(newest_local, other.mutation.hlc);
    input.base = value_of(base.state);
    input.local = value_of(local);
    input.local_hlc = newest_local.ToString();
  }
  ConflictDecision decision = ferry::ResolveConflict(strategy, input, options_.conflicts.custom);
  if (decision.kept_open) {
    // The local writes leave the outbox with the record that keeps them;
    // the document shows the server's version until a person decides.
    FERRY_RETURN_IF_ERROR(replica_.StageResolution(txn, current, std::nullopt));
    StageOpenConflict(txn, input, strategy, current.version, now.wall);
    return SyncConflictEvent{run_->id, entry.WithValue(), current, std::move(decision.resolution),
                             current.state};
  }
  if (decision.value) {
    // A resolver's value must be a valid document, like any write.
    if (Status valid = ValidateMutationValue(MutationOp::kPut, *decision.value, nullptr);
        !valid.ok()) {
      decision = {input.remote, "custom_failed: " + valid.message()};
    }
  }
  // The local edit won by its stamp: push it even when the server already
  // holds the same value (two deletes), so the server records the newer
  // stamp and later comparisons against this document stay right.
  const bool local_stamp_wins = decision.local_edit_kept && LocalWriteIsNewer(input);
  std::optional<Mutation> resolution;
  if (decision.value != input.remote || local_stamp_wins) {
    Mutation mutation;
    mutation.client_id = client_id_;
    mutation.seq = outbox_.AllocateSeq();
    mutation.document = id;
    mutation.op = decision.value ? MutationOp::kPut : MutationOp::kDelete;
    if (decision.value) mutation.value = *decision.value;
    // The local edit winning keeps the edit's stamp: last write wins is about
    // when the user wrote, not when the conflict was noticed. A merged or
    // custom value is a new write.
    if (decision.local_edit_kept) {
      mutation.hlc = newest_local;
    } else {
      FERRY_ASSIGN_OR_RETURN(mutation.hlc, clock_.Now(now.wall));
    }
    resolution = std::move(mutation);
    ++run_->push_total;
  }
  FERRY_RETURN_IF_ERROR(replica_.StageResolution(txn, current, std::move(resolution)));
  ConflictLogEntry logged;
  logged.at = now.wall;
  logged.document = id;
  logged.strategy = strategy;
  logged.winner = decision.local_edit_kept         ? "local"
                  : decision.value == input.remote ? "server"
                                                   : "new";
  logged.resolution = decision.resolution;
  logged.run_id = run_->id;
  logged.server_version = current.version;
  StageConflictLogEntry(txn, std::move(logged));
  DocumentState resolved;
  if (decision.value) resolved = {true, std::move(*decision.value)};
  return SyncConflictEvent{run_->id, entry.WithValue(), current, std::move(decision.resolution),
                           std::move(resolved)};
}

Result<std::optional<std::vector<uint64_t>>> SyncEngine::FindWriteId(std::string_view write_id) {
  if (write_id.empty()) return std::optional<std::vector<uint64_t>>();
  FERRY_RETURN_IF_ERROR(ValidateWriteId(write_id));
  FERRY_ASSIGN_OR_RETURN(auto record,
                         store_.Get(std::string(kWriteIdPrefix) + std::string(write_id)));
  if (!record) return std::optional<std::vector<uint64_t>>();
  std::vector<uint64_t> seqs;
  for (std::string_view rest = *record; !rest.empty();) {
    const std::size_t comma = std::min(rest.find(','), rest.size());
    auto seq = keys::ParseDecimal(rest.substr(0, comma));
    if (!seq) return Status(ErrorCode::kCorruption, "stored write id record does not decode");
    seqs.push_back(*seq);
    rest.remove_prefix(std::min(comma + 1, rest.size()));
  }
  return std::optional(std::move(seqs));
}

Status SyncEngine::StageWriteId(Transaction& txn, std::string_view write_id,
                                std::span<const uint64_t> seqs) {
  if (write_id.empty()) return Status::Ok();
  std::string record;
  for (uint64_t seq : seqs)
    record += (record.empty() ? "" : ",") + std::to_string(seq);
  FERRY_ASSIGN_OR_RETURN(auto next_text, txn.Get(kNextWriteIdKey));
  const uint64_t next = next_text ? keys::ParseDecimal(*next_text).value_or(0) : 0;
  txn.Put(std::string(kWriteIdPrefix) + std::string(write_id), record);
  txn.Put(std::string(kWriteIdOrderPrefix) + keys::OrderedNumber(next), write_id);
  txn.Put(kNextWriteIdKey, std::to_string(next + 1));
  // Ids are numbered in order and forgotten oldest first, so the remembered
  // ones are the numbers [oldest, next]: forget all but the newest `limit`.
  std::optional<uint64_t> oldest;
  FERRY_RETURN_IF_ERROR(store_.ScanPrefix(kWriteIdOrderPrefix, [&](std::string_view key, auto) {
    oldest = keys::ParseOrderedNumber(key.substr(kWriteIdOrderPrefix.size()));
    return false;
  }));
  const uint64_t remembered = next + 1 - std::min(oldest.value_or(next), next);
  if (remembered <= options_.write_id_limit) return Status::Ok();
  uint64_t excess = remembered - options_.write_id_limit;
  return store_.ScanPrefix(kWriteIdOrderPrefix, [&](std::string_view key, std::string_view id) {
    txn.Delete(key);
    txn.Delete(std::string(kWriteIdPrefix) + std::string(id));
    return --excess > 0;
  });
}

void SyncEngine::ObserveRemoteClock(const std::string& hlc, Instant now) {
  if (hlc.empty()) return;
  // A stamp that does not parse or runs too far ahead is ignored: it only
  // orders later local writes, it never blocks a sync.
  if (auto stamp = HlcStamp::Parse(hlc); stamp.ok()) (void)clock_.Observe(*stamp, now.wall);
}

void SyncEngine::FinishPushPhase(Instant now) {
  if (run_->direction != SyncDirection::kPush) {
    SendPull(now);
    return;
  }
  // A push-only run ends here; its last answer, if stashed, counts in its
  // record, so it is committed first (a failure there fails the run).
  FlushAnsweredPush(now);
  if (run_) CompleteRun(now);
}

void SyncEngine::SendPull(Instant now) {
  if (run_->phase != SyncPhase::kPull) {
    run_->phase = SyncPhase::kPull;
    // A resync interrupted by a crash or failure starts over: the set of
    // documents seen so far is not persisted.
    if (resyncing_) {
      cursor_.clear();
      resync_seen_.clear();
    }
  }
  SendPullPage(cursor_, now);
}

Status SyncEngine::AdoptPullScope() {
  const std::string scope = ScopeText(pull_scope_);
  FERRY_ASSIGN_OR_RETURN(auto stored, store_.Get(kScopeKey));
  // A store that never pulled had the default scope (every collection).
  if (scope == stored.value_or(ScopeText({}))) return Status::Ok();
  WriteBatch batch;
  batch.Put(kScopeKey, scope);
  // The old cursor says nothing about a collection that joined the scope,
  // and the documents that left it must go: a full resync does both
  // (FinishResync forgets what it did not see, keeping pending writes).
  if (!cursor_.empty() || resyncing_) {
    batch.Put(kResyncKey, "1");
    batch.Delete(kCursorKey);
    resyncing_ = true;
    cursor_.clear();
  }
  return store_.Commit(batch);
}

void SyncEngine::SendPullPage(const std::string& cursor, Instant now) {
  PullRequest request{cursor, options_.pull_page_size, pull_scope_};
  SendRequestNow("GET", EncodePullTarget(request), "", now);
}

void SyncEngine::HandlePullResponse(const HttpResponse& response, Instant now) {
  if (response.status == 0) {
    FailRun(Status(ErrorCode::kUnavailable, "network error: " + response.transport_error), now);
    return;
  }
  if (response.status == 410) {
    if (cursor_.empty()) {
      FailRun(Status(ErrorCode::kProtocol, "server expired a pull from the beginning"), now);
      return;
    }
    // The cursor expired: pull everything again, keep pending writes, and
    // afterwards forget documents the server no longer has.
    resync_requested_ = true;
    if (BeginRequestedResync(now)) SendPull(now);
    return;
  }
  if (response.status != 200) {
    FailRun(ErrorForHttpStatus(response.status, response.body), now,
            ParseRetryAfter(response.retry_after, now.wall));
    return;
  }
  auto decoded = DecodePullPage(response.body, options_.protocol);
  if (!decoded.ok()) {
    FailRun(decoded.status(), now);
    return;
  }
  if (!decoded->has_more) {
    if (!ApplyPulledPage(*decoded, now)) return;
    if (resyncing_) {
      if (Status finished = FinishResync(); !finished.ok()) {
        FailRun(finished, now);
        return;
      }
    }
    CompleteRun(now);
    return;
  }
  if (decoded->changes.empty() && decoded->cursor == cursor_) {
    FailRun(Status(ErrorCode::kProtocol, "server reported more changes but made no progress"), now);
    return;
  }
  // The next page goes out first, and this one is stored while the server
  // reads that one (HandleTimeout, due at once, or the next input): otherwise
  // the two take turns and a pull costs the sum of both sides' work. If this
  // page then fails to commit, the run fails and the request is abandoned.
  SendPullPage(decoded->cursor, now);
  pulled_page_ = PulledPage{std::move(*decoded), now.monotonic};
}

void SyncEngine::FlushPulledPage(Instant now) {
  if (!pulled_page_) return;
  PulledPage page = std::move(*pulled_page_);
  pulled_page_.reset();
  // Not stored, so the cursor has not moved: a later run asks for it again.
  if (!run_) return;
  (void)ApplyPulledPage(page.page, now);
}

bool SyncEngine::ApplyPulledPage(const PullPage& page, Instant now) {
  Transaction txn(store_);
  std::vector<DocumentId> changed;
  // Later local writes must order after every write pulled here (text order
  // is stamp order, so one parse per page).
  std::string newest_remote;
  for (const PulledChange& change : page.changes)
    newest_remote = std::max(newest_remote, change.hlc);
  ObserveRemoteClock(newest_remote, now);
  if (!newest_remote.empty()) txn.Put(kHlcKey, clock_.last().ToString());
  for (const PulledChange& pulled : page.changes) {
    // The after-pull hook may rewrite a change or keep it out of the store.
    PulledChange rewritten;
    const PulledChange* stored = &pulled;
    if (options_.after_pull) {
      rewritten = pulled;
      auto keep = AskAfterPull(rewritten);
      if (!keep.ok()) {
        ReloadAfterStorageFailure();
        FailRun(keep.status(), now);
        return false;
      }
      if (resyncing_) resync_seen_.insert(pulled.document);  // kept as it was
      if (!*keep) continue;
      stored = &rewritten;
    }
    const PulledChange& change = *stored;
    auto view_changed = replica_.StageRemoteChange(txn, change, resyncing_);
    if (!view_changed.ok()) {
      ReloadAfterStorageFailure();
      FailRun(view_changed.status(), now);
      return false;
    }
    if (*view_changed) changed.push_back(change.document);
    if (resyncing_) resync_seen_.insert(change.document);
  }
  txn.Put(kCursorKey, page.cursor);
  if (Status committed = txn.Commit(); !committed.ok()) {
    ReloadAfterStorageFailure();
    FailRun(committed, now);
    return false;
  }
  cursor_ = page.cursor;
  run_->pulled += page.changes.size();
  run_->pull_total = !page.has_more   ? run_->pulled
                     : page.remaining ? run_->pulled + *page.remaining
                                      : 0;
  statistics_.documents_pulled += page.changes.size();
  if (!changed.empty()) Emit(DocumentsChangedEvent{std::move(changed), true});
  EmitProgress();
  return true;
}

Status SyncEngine::FinishResync() {
  std::vector<DocumentId> gone;
  FERRY_RETURN_IF_ERROR(replica_.ForEachServerCopy([&](const DocumentId& id) {
    if (!resync_seen_.contains(id)) gone.push_back(id);
    return true;
  }));
  Transaction txn(store_);
  std::vector<DocumentId> changed;
  for (const DocumentId& id : gone) {
    FERRY_ASSIGN_OR_RETURN(const bool view_changed, replica_.StageForget(txn, id));
    if (view_changed) changed.push_back(id);
  }
  txn.Delete(kResyncKey);
  FERRY_RETURN_IF_ERROR(txn.Commit());
  resyncing_ = false;
  resync_seen_.clear();
  if (!changed.empty()) Emit(DocumentsChangedEvent{std::move(changed), true});
  return Status::Ok();
}

void SyncEngine::CompleteRun(Instant now) {
  StopProbe(/*reset=*/true);
  last_synced_at_ = now.wall;
  consecutive_failures_ = 0;
  last_run_failed_ = false;
  last_error_.clear();
  std::optional<SyncDirection> follow_up = run_->follow_up;
  // Writes that arrived while the run was pulling are pushed by a follow-up
  // run now rather than waiting for the next trigger; a pull-only run was
  // asked not to push them, and writes it deferred wait for their turn.
  const std::size_t waiting = DeferringWrites() ? run_->deferred : 0;
  if (run_->direction != SyncDirection::kPull && outbox_.pending_count() > waiting &&
      follow_up.value_or(SyncDirection::kPull) == SyncDirection::kPull) {
    follow_up = SyncDirection::kBoth;
  }
  EndRun(RunOutcome::kCompleted, "", now);
  // Retention failing evicts nothing this time; the run stands.
  ApplyRetention(now).IgnoreError();
  if (options_.interval_ms) interval_at_ = now.monotonic + *options_.interval_ms;
  if (follow_up) StartRun(TriggerReason::kFollowUp, now, *follow_up);
}

void SyncEngine::FailRun(const Status& error, Instant now, std::optional<TimeMs> retry_after,
                         bool retry) {
  EndPushInFlight(now, error).IgnoreError();
  // A failed run leaves no request behind: a pull page asked for ahead
  // (HandlePullResponse) is abandoned with it.
  AbortRequest(now, error);
  last_run_failed_ = true;
  last_error_ = error.ToString();
  EndRun(RunOutcome::kFailed, last_error_, now);
  if (retry && online_) {
    ++consecutive_failures_;
    TimeMs delay = BackoffDelay();
    if (retry_after) delay = std::max(delay, *retry_after);
    retry_at_ = now.monotonic + delay;
    if (unreachable_) ScheduleProbe(now);
  }
}

void SyncEngine::EndRun(RunOutcome outcome, const std::string& error, Instant now) {
  SyncRunRecord record;
  record.run_id = run_->id;
  record.reason = run_->reason;
  record.direction = run_->direction;
  record.started_at = run_->started_at;
  record.finished_at = now.wall;
  record.outcome = outcome;
  record.pushed = run_->pushed;
  record.pulled = run_->pulled;
  record.conflicts = run_->conflicts;
  record.rejected = run_->rejected;
  record.error = error;
  run_.reset();
  EndPushInFlight(now).IgnoreError();
  switch (outcome) {
    case RunOutcome::kCompleted:
      ++statistics_.runs_completed;
      break;
    case RunOutcome::kFailed:
      ++statistics_.runs_failed;
      break;
    case RunOutcome::kCancelled:
      ++statistics_.runs_cancelled;
      break;
  }
  // History and statistics are informational: if persisting them fails the
  // run's outcome stands (the sync state itself was committed already).
  WriteBatch batch;
  batch.Put(std::string(kHistoryPrefix) + keys::OrderedNumber(record.run_id),
            DumpJson(SyncRunToJson(record)));
  if (record.run_id > options_.history_limit) {
    batch.Delete(std::string(kHistoryPrefix) +
                 keys::OrderedNumber(record.run_id - options_.history_limit));
  }
  batch.Put(kStatsKey, DumpJson(SyncStatisticsToJson(statistics_)));
  batch.Put(kNextRunKey, std::to_string(next_run_id_));
  if (last_synced_at_) batch.Put(kLastSyncedKey, std::to_string(*last_synced_at_));
  store_.Commit(batch).IgnoreError();
  if (outcome == RunOutcome::kCompleted) {
    Emit(SyncCompletedEvent{std::move(record)});
  } else {
    Emit(SyncFailedEvent{std::move(record)});
  }
}

void SyncEngine::StageStatistics(Transaction& txn, const SyncStatistics& statistics) {
  txn.Put(kStatsKey, DumpJson(SyncStatisticsToJson(statistics)));
}

void SyncEngine::AbortRequest(Instant now, const Status& failure) {
  if (run_ && run_->request) {
    actions_.push_back(CancelRequest{*run_->request});
    run_->request.reset();
  }
  EndPushInFlight(now, failure).IgnoreError();
}

Status SyncEngine::EndPushInFlight(Instant now, const Status& failure) {
  if (outbox_.in_flight().empty()) return Status::Ok();
  Transaction txn(store_);
  const std::string error = failure.ok() ? std::string() : failure.ToString();
  auto counted = outbox_.StageFailedPush(txn, {now.wall, error});
  Status ended = counted.status();
  // Only a push that got no answer settling it for a passing reason counts
  // toward the cap: an auth failure or a broken store is no fault of the
  // write, and dead-lettering it would lose it for nothing.
  const bool transient = failure.code() == ErrorCode::kUnavailable;
  if (ended.ok() && transient && options_.max_attempts) {
    ended = StageAttemptCap(txn, *counted, error, now);
  }
  if (ended.ok()) ended = txn.Commit();
  if (ended.ok()) {
    // StageAttemptCap left the dead-lettered entries in `counted`.
    if (!transient || !options_.max_attempts || counted->empty()) return ended;
    std::vector<DocumentId> changed;
    for (const OutboxEntry& entry : *counted) {
      if (run_) ++run_->rejected;
      ++statistics_.rejected;
      changed.push_back(entry.mutation.document);
      Emit(MutationRejectedEvent{entry.WithValue(), entry.error});
    }
    Emit(DocumentsChangedEvent{std::move(changed), true});
    ScheduleDeadLetterCheck(now);
    return ended;
  }
  // The record stays in the store, so the next Load counts the attempt; the
  // entries stay unmergeable meanwhile (Outbox::NeverSent is false for them).
  ReloadAfterStorageFailure();
  outbox_.in_flight().clear();
  return ended;
}

TimeMs SyncEngine::BackoffDelay() {
  const uint32_t exponent = std::min<uint32_t>(consecutive_failures_ - 1, 30);
  const TimeMs cap =
      std::min<TimeMs>(options_.backoff_max_ms, options_.backoff_base_ms << exponent);
  std::uniform_int_distribution<TimeMs> jitter(1, std::max<TimeMs>(1, cap));
  return jitter(random_);
}

// ---------------------------------------------------------------- live stream

void SyncEngine::HandleStreamData(RequestId id, std::string_view bytes, Instant now) {
  Observe(now);
  if (live_.id != id) return;  // closed by us: late chunks are harmless
  statistics_.bytes_received += bytes.size();
  while (!bytes.empty() && live_.id == id) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (live_.line.size() + piece.size() > options_.live_max_line_bytes) {
      // Not an event stream (or a hostile one): drop it and try again later.
      CloseLiveStream();
      ++live_.failures;
      ScheduleLiveReconnect(now);
      break;
    }
    live_.line.append(piece);
    if (newline == std::string_view::npos) break;
    bytes.remove_prefix(newline + 1);
    std::string line = std::move(live_.line);
    live_.line.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    HandleStreamLine(line, now);
  }
  EmitStatusIfChanged();
}

// One line of Server-Sent Events: fields accumulate until a blank line
// dispatches the event. Only the event name matters to Ferry.
void SyncEngine::HandleStreamLine(std::string_view line, Instant now) {
  if (line.empty()) {
    const std::string event = std::move(live_.event_name);
    live_.event_name.clear();
    if (event == "hello") {
      live_.greeted = true;
      live_.failures = 0;
      live_.refresh_credentials = false;
    }
    // "hello": catch up on what happened while we were not listening.
    if (event == "hello" || event == "poke") (void)HandleTrigger(TriggerReason::kPoke, now);
    return;
  }
  constexpr std::string_view kEventField = "event:";
  if (line.substr(0, kEventField.size()) != kEventField) return;  // data, id, comments
  line.remove_prefix(kEventField.size());
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  live_.event_name = line;
}

void SyncEngine::HandleStreamEnd(RequestId id, const HttpResponse& response, Instant now) {
  Observe(now);
  if (live_.id != id) return;
  live_.id.reset();
  // A stream that was greeted worked for a while: start the backoff afresh.
  if (live_.greeted) live_.failures = 0;
  live_.greeted = false;
  ++live_.failures;
  if (response.status == 401) live_.refresh_credentials = true;
  ScheduleLiveReconnect(now);
  TendLiveStream(now);
  EmitStatusIfChanged();
}

void SyncEngine::ScheduleLiveReconnect(Instant now) {
  const uint32_t exponent = std::min<uint32_t>(live_.failures, 16);
  const TimeMs cap =
      std::min<TimeMs>(options_.live_retry_max_ms, options_.live_retry_base_ms << exponent);
  std::uniform_int_distribution<TimeMs> jitter(cap / 2, std::max<TimeMs>(cap / 2, cap));
  live_.reopen_at = now.monotonic + jitter(random_);
}

void SyncEngine::TendLiveStream(Instant now) {
  const bool wanted = options_.live_updates && online_ && !auth_failed_;
  if (!wanted) {
    CloseLiveStream();
    live_.reopen_at.reset();  // no deadline for a stream nobody wants
    return;
  }
  if (live_.id) return;
  if (live_.reopen_at && now.monotonic < *live_.reopen_at) return;
  live_.reopen_at.reset();
  HttpRequest request;
  request.id = next_request_id_++;
  request.method = "GET";
  request.target = std::string(kLivePath);
  request.timeout_ms = 0;
  request.refresh_credentials = live_.refresh_credentials;
  live_.id = request.id;
  live_.greeted = false;
  live_.line.clear();
  live_.event_name.clear();
  actions_.push_back(OpenStream{std::move(request)});
}

void SyncEngine::CloseLiveStream() {
  if (!live_.id) return;
  actions_.push_back(CloseStream{*live_.id});
  live_.id.reset();
  live_.greeted = false;
  live_.line.clear();
  live_.event_name.clear();
}

void SyncEngine::ReloadAfterStorageFailure() {
  // The in-memory counters may have moved for staged changes that never
  // committed; the store is the truth.
  std::set<uint64_t> in_flight = outbox_.in_flight();
  outbox_.Load().IgnoreError();
  outbox_.in_flight() = std::move(in_flight);
  LoadOpenConflicts().IgnoreError();
}

void SyncEngine::Emit(Event event) {
  if (std::holds_alternative<DocumentsChangedEvent>(event)) ++changes_emitted_;
  actions_.push_back(std::move(event));
}

void SyncEngine::EmitProgress() {
  if (!run_) return;
  const uint64_t done = run_->pushed + run_->conflicts + run_->rejected;
  Emit(SyncProgressEvent{run_->id, run_->phase, run_->pushed, done,
                         std::max(run_->push_total, done), run_->pulled, run_->pull_total});
}

void SyncEngine::EmitStatusIfChanged() {
  SyncStatus current = status();
  if (last_status_emitted_ && *last_status_emitted_ == current) return;
  last_status_emitted_ = current;
  Emit(StatusChangedEvent{std::move(current)});
}

// ---------------------------------------------------------------- queries

SyncStatus SyncEngine::status() const {
  SyncStatus status;
  if (run_) {
    status.state = SyncState::kSyncing;
  } else if (!online_) {
    status.state = SyncState::kOffline;
  } else if (auth_failed_) {
    status.state = SyncState::kAuthError;
  } else if (last_run_failed_) {
    // Retries go on with backoff either way; a network that gives no answer
    // is reported as being offline, not as a fault of the app or the server.
    status.state = unreachable_ ? SyncState::kOffline : SyncState::kError;
  } else if (!last_synced_at_) {
    status.state = SyncState::kNeverSynced;
  } else {
    status.state = SyncState::kIdle;
  }
  status.pending = outbox_.pending_count();
  status.failed = outbox_.dead_count();
  status.last_synced_at = last_synced_at_;
  // Only an error state carries an error: apps show last_error as a fault,
  // and being offline (or retrying) is not one. history() keeps every run's.
  if (status.state == SyncState::kError || status.state == SyncState::kAuthError)
    status.last_error = last_error_;
  if (retry_at_) status.next_retry_at = *retry_at_ + wall_minus_monotonic_;
  return status;
}

Result<std::optional<Json>> SyncEngine::Get(const DocumentId& id) {
  FERRY_RETURN_IF_ERROR(ValidateDocumentId(id));
  return replica_.Get(id);
}

Result<std::vector<std::pair<std::string, Json>>> SyncEngine::Scan(std::string_view collection,
                                                                   std::string_view key_prefix,
                                                                   std::size_t limit) {
  FERRY_RETURN_IF_ERROR(ValidateDocumentId({std::string(collection), "x"}));
  return replica_.Scan(collection, key_prefix, limit);
}

Status SyncEngine::StageAttemptCap(Transaction& txn, std::vector<OutboxEntry>& counted,
                                   const std::string& error, Instant now) {
  std::vector<OutboxEntry> capped;
  for (OutboxEntry& entry : counted) {
    if (entry.attempts < *options_.max_attempts) continue;
    entry.dead_at = now.wall;
    FERRY_RETURN_IF_ERROR(replica_.StageDeadLetter(txn, entry, error));
    entry.dead = true;
    entry.error = error;
    capped.push_back(std::move(entry));
  }
  counted = std::move(capped);
  return Status::Ok();
}

void SyncEngine::ScheduleDeadLetterCheck(Instant now) {
  if (!options_.dead_letter_max_age_ms) return;
  const TimeMs due = now.monotonic + *options_.dead_letter_max_age_ms;
  if (!dead_letter_check_at_ || due < *dead_letter_check_at_) dead_letter_check_at_ = due;
}

void SyncEngine::ExpireDeadLetters(Instant now) {
  dead_letter_check_at_.reset();
  if (!options_.dead_letter_max_age_ms || outbox_.dead_count() == 0) return;
  const TimeMs max_age = *options_.dead_letter_max_age_ms;
  auto dead = outbox_.ListDead();
  if (!dead.ok()) {
    dead_letter_check_at_ = now.monotonic + max_age;  // try again later
    return;
  }
  Transaction txn(store_);
  Status staged;
  bool changed = false;
  std::optional<TimeMs> next;  // wall time the next one comes of age
  for (OutboxEntry& entry : *dead) {
    if (entry.dead_at <= 0) {
      // Dead-lettered by a Ferry that kept no time: its age counts from now.
      entry.dead_at = now.wall;
      if (staged.ok()) staged = outbox_.StagePut(txn, entry);
      changed = true;
    }
    const TimeMs expires = entry.dead_at + max_age;
    if (expires <= now.wall) {
      if (staged.ok()) staged = outbox_.StageRemove(txn, entry);
      changed = true;
    } else if (!next || expires < *next) {
      next = expires;
    }
  }
  // A removed entry may have held the newest clock stamp (see Load()).
  if (changed) txn.Put(kHlcKey, clock_.last().ToString());
  if (staged.ok() && changed) staged = txn.Commit();
  if (!staged.ok()) {
    ReloadAfterStorageFailure();
    dead_letter_check_at_ = now.monotonic + max_age;
    return;
  }
  if (next) dead_letter_check_at_ = now.monotonic + (*next - now.wall);
}

Result<std::vector<OutboxEntry>> SyncEngine::PendingMutations(uint64_t after_seq,
                                                              std::size_t limit) {
  // A batch without a byte limit is exactly a page of the pending writes.
  constexpr std::size_t kDefaultPage = 100;
  BatchLimits page;
  page.max_count = limit == 0 ? kDefaultPage : limit;
  page.max_bytes = SIZE_MAX;
  return outbox_.SelectBatch(page, after_seq);
}

Status SyncEngine::ClearHistory(bool keep_latest) {
  return DeletePrefix(store_, kHistoryPrefix, keep_latest ? 1 : 0);  // keys are in run order
}

Result<std::vector<SyncRunRecord>> SyncEngine::History(std::size_t limit) {
  std::vector<SyncRunRecord> runs;
  FERRY_RETURN_IF_ERROR(
      store_.ScanPrefix(kHistoryPrefix, [&](std::string_view, std::string_view value) {
        auto json = ParseJson(value);
        if (json.ok()) {
          if (auto run = DecodeRun(*json)) runs.push_back(std::move(*run));
        }
        return true;
      }));
  std::reverse(runs.begin(), runs.end());
  if (runs.size() > limit) runs.resize(limit);
  return runs;
}

Result<std::vector<OutboxEntry>> SyncEngine::FailedMutations() {
  return outbox_.ListDead();
}

Result<uint64_t> SyncEngine::RetryFailedMutation(uint64_t seq, Instant now,
                                                 std::string_view write_id) {
  FERRY_ASSIGN_OR_RETURN(auto applied, FindWriteId(write_id));
  if (applied) {
    if (applied->size() != 1) return Status(ErrorCode::kCorruption, "write id record mismatch");
    return applied->front();
  }
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(auto entry, outbox_.Read(txn, seq));
  if (!entry || !entry->dead) {
    return Status(ErrorCode::kNotFound, "no failed mutation with seq " + std::to_string(seq));
  }
  FERRY_ASSIGN_OR_RETURN(HlcStamp stamp, clock_.Now(now.wall));
  auto retried = replica_.StageRetry(txn, *entry, outbox_.AllocateSeq(), stamp);
  Status committed = retried.ok()
                         ? StageWriteId(txn, write_id, std::span(&retried->mutation.seq, 1))
                         : retried.status();
  if (committed.ok()) {
    txn.Put(kHlcKey, stamp.ToString());
    committed = txn.Commit();
  }
  if (!committed.ok()) {
    ReloadAfterStorageFailure();
    return committed;
  }
  Emit(DocumentsChangedEvent{{entry->mutation.document}, false});
  ScheduleLocalWriteSync(now);
  EmitStatusIfChanged();
  return retried->mutation.seq;
}

Status SyncEngine::DiscardFailedMutation(uint64_t seq, Instant, std::string_view write_id) {
  FERRY_ASSIGN_OR_RETURN(auto applied, FindWriteId(write_id));
  if (applied) return Status::Ok();
  Transaction txn(store_);
  FERRY_ASSIGN_OR_RETURN(auto entry, outbox_.Read(txn, seq));
  if (!entry || !entry->dead) {
    return Status(ErrorCode::kNotFound, "no failed mutation with seq " + std::to_string(seq));
  }
  Status staged = outbox_.StageRemove(txn, *entry);
  // The removed entry may have held the newest clock stamp (see Load()).
  txn.Put(kHlcKey, clock_.last().ToString());
  Status committed = staged.ok() ? StageWriteId(txn, write_id, {}) : staged;
  if (committed.ok()) committed = txn.Commit();
  if (!committed.ok()) {
    ReloadAfterStorageFailure();
    return committed;
  }
  EmitStatusIfChanged();
  return Status::Ok();
}

}  // namespace ferry
