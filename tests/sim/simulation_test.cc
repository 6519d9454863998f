// Deterministic simulation: several SyncEngines and the model server
// (ServerState over MemoryStore), a fake clock, random local writes and
// injected faults. Everything random flows from one seed, so a failing seed
// replays exactly:
//
//   FERRY_SIM_SEED=1234 FERRY_SIM_SEEDS=1 ./simulation_tests
//
// Faults: offline windows, requests lost before the server, responses lost
// after the server applied them, duplicated deliveries, 5xx and 429 storms
// with Retry-After, hanging requests (client timeouts), and client crashes
// with restart over the same store at random points. Every client holds the
// live stream open (the engine's own SSE reading and reconnect backoff): the
// model server pokes every open stream after a push applied something, and
// faults refuse or drop streams, lose pokes and delay them.
//
// After each run: every write is applied at the server at most once and in
// per-client seq order; every write to a client's own documents is applied or
// was coalesced into a later write, and the server holds exactly what the
// client wrote last; every client converges to the server's state; nothing is
// left pending or failed. Convergence is reached through live updates alone:
// after the faults stop, one last write's poke must bring every client to the
// server's state with no manual sync.
//
// Documents in "shared" are written by every client, so they conflict; a
// second test runs the simulation under each conflict strategy. Under last
// write wins it also checks the outcome: each shared document ends with the
// write that has the highest HLC stamp of all the server ever received.
// Under manual, a person resolves the open conflicts now and then (keeping
// either side, a new value or a delete), crashes or not; those left open
// must show the server's document as the remote side.
#include <cstdlib>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/server_apply.h"
#include "ferry/store_memory.h"

namespace ferry {
namespace {

constexpr TimeMs kEpoch = 1'700'000'000'000;
constexpr TimeMs kWriteWindowMs = 40'000;
constexpr int kClients = 3;
constexpr int kOwnDocs = 6;
constexpr int kSharedDocs = 4;
const std::string kUser = "sim-user";

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text ? std::strtoull(text, nullptr, 10) : fallback;
}

// What the faults actually did, summed over seeds: a run that injected
// nothing would prove nothing, so the test asserts these are non-zero.
struct FaultTally {
  uint64_t writes = 0;
  uint64_t crashes = 0;
  uint64_t outages = 0;
  uint64_t lost_requests = 0;
  uint64_t lost_answers = 0;
  uint64_t duplicated_deliveries = 0;
  uint64_t storm_answers = 0;
  uint64_t garbage_answers = 0;
  uint64_t server_duplicates = 0;
  uint64_t conflicts = 0;
  uint64_t pokes_delivered = 0;
  uint64_t pokes_lost = 0;
  uint64_t streams_refused = 0;
  uint64_t streams_dropped = 0;
  uint64_t blackouts = 0;            // the server unreachable for every client a while
  uint64_t probes = 0;               // reachability probes sent
  uint64_t runs_by_probe = 0;        // runs an answered probe started
  uint64_t resolved_by_hand = 0;     // open conflicts settled by ResolveConflict
  uint64_t runs_postponed = 0;       // by the before_run hook
  uint64_t writes_hooked = 0;        // writes the before_push hook rewrote
  uint64_t metered_spells = 0;       // a client's connection turned metered
  uint64_t runs_leaving_writes = 0;  // runs that completed metered with writes deferred
  uint64_t query_checks = 0;         // indexed queries compared with scans mid-run
  uint64_t live_pages = 0;           // live query pages delivered
};

class Simulation {
 public:
  Simulation(uint64_t seed, FaultTally& tally,
             ConflictStrategy shared_strategy = ConflictStrategy::kServerWins, bool hooks = false,
             bool metered = false)
      : random_(seed),
        tally_(tally),
        shared_strategy_(shared_strategy),
        hooks_(hooks),
        metered_(metered) {}

  // Returns an empty string on success, else what went wrong.
  std::string Run() {
    for (int i = 0; i < kClients; ++i) {
      clients_.push_back(std::make_unique<Client>());
      clients_.back()->index = i;
      if (std::string error = OpenEngine(*clients_.back()); !error.empty()) return error;
    }
    for (auto& client : clients_) {
      ScheduleNextWrite(*client);
      ScheduleNextManualRun(*client);
      ScheduleNextOutage(*client);
      ScheduleNextCrash(*client);
      if (shared_strategy_ == ConflictStrategy::kManual) ScheduleNextResolution(*client);
      if (metered_) ScheduleNextMeteredSpell(*client);
      ScheduleNextQueryCheck(*client);
    }
    ScheduleNextStorm();
    ScheduleNextBlackout();
    RunUntil(kWriteWindowMs);
    if (!failure_.empty()) return failure_;

    // Quiesce: faults off, everyone online; retries and live streams settle.
    // Then one last write: its poke alone must bring every client up to date.
    faults_ = false;
    storm_until_ = 0;
    blackout_until_ = 0;
    for (auto& client : clients_) {
      if (!client->engine) OpenEngine(*client);
      client->online = true;
      client->engine->HandleOnline(true, kEpoch + now_);
      client->metered = false;
      client->engine->HandleMetered(false, kEpoch + now_);
      // An interval run could be in flight when the state is checked.
      client->engine->SetInterval(std::nullopt, kEpoch + now_);
      Drain(*client);
    }
    RunUntil(now_ + 2 * 60'000);
    Write(*clients_.front(), /*own=*/true);
    RunUntil(now_ + 2 * 60'000);
    if (!failure_.empty()) return failure_;
    tally_.server_duplicates += server_.statistics().mutations_duplicate;
    tally_.conflicts += server_.statistics().mutations_conflict;
    if (std::string error = Check(); !error.empty()) return "through live updates: " + error;
    return "";
  }

 private:
  struct Client {
    int index = 0;
    std::unique_ptr<MemoryStore> store = std::make_unique<MemoryStore>();
    std::unique_ptr<SyncEngine> engine;
    uint64_t generation = 0;          // bumps on crash: answers to older requests are lost
    std::optional<RequestId> stream;  // the live stream the server holds open
    bool online = true;
    bool metered = false;  // the host's word, given again to a reopened engine
    std::string client_id;
    // Model of the client's own documents: what it wrote last.
    std::map<std::string, DocumentState> own_model;
    // Seqs the engine returned for writes to each own document, in order.
    std::map<std::string, std::vector<uint64_t>> own_seqs;
    // The last page of each live query (kLiveQueries[i] has id i + 1).
    std::vector<std::optional<QueryPage>> live_pages;
  };

  // Live queries every client keeps from each open: their pages must always
  // be what the query gives when run again (CheckLiveQueries).
  static constexpr const char* kLiveQueries[] = {
      R"({"collection":"shared","orderBy":[{"path":"n"}],"limit":2})",
      R"({"collection":"shared","where":{"path":"n","gte":20,"lt":70},"orderBy":[{"path":"n","desc":true}],"limit":3})",
      R"({"collection":"own","where":{"path":"n","lt":50}})"};

  struct Pending {
    TimeMs at;
    uint64_t order;
    std::function<void()> run;
    bool operator>(const Pending& other) const {
      return std::tie(at, order) > std::tie(other.at, other.order);
    }
  };

  void At(TimeMs delay, std::function<void()> run) {
    queue_.push({now_ + delay, next_order_++, std::move(run)});
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }
  TimeMs Between(TimeMs low, TimeMs high) {
    return std::uniform_int_distribution<TimeMs>(low, high)(random_);
  }

  void RunUntil(TimeMs end) {
    while (!queue_.empty() && queue_.top().at <= end && failure_.empty()) {
      Pending next = queue_.top();
      queue_.pop();
      now_ = std::max(now_, next.at);
      next.run();
    }
    now_ = std::max(now_, std::min(end, queue_.empty() ? end : queue_.top().at));
  }

  void Fail(std::string what) {
    if (failure_.empty()) failure_ = std::move(what);
  }

  std::string OpenEngine(Client& client) {
    EngineOptions options;
    options.random_seed = random_();
    options.request_timeout_ms = 3000;
    options.backoff_base_ms = 200;
    options.backoff_max_ms = 10'000;
    options.batch.max_count = 1 + random_() % 20;
    options.pull_page_size = 1 + random_() % 10;
    options.conflicts.collections["shared"] = shared_strategy_;
    options.live_updates = true;
    options.live_retry_base_ms = 200;
    options.live_retry_max_ms = 5'000;
    // Some clients also sync on an interval, which must never start a run
    // while the client is declared offline (see Drain).
    if (random_() % 2 == 0) options.interval_ms = Between(1000, 6000);
    // Deterministic on its inputs, as a resolver must be: the larger value by
    // its JSON text; a delete loses to any value.
    options.conflicts.custom = [](const ConflictInput& in) -> Result<std::optional<Json>> {
      if (!in.local || !in.remote) return in.local ? in.local : in.remote;
      return in.local->dump() > in.remote->dump() ? in.local : in.remote;
    };
    if (hooks_) {
      options.before_run = [this](TriggerReason, SyncDirection) {
        const bool postpone = faults_ && Chance(0.2);
        tally_.runs_postponed += postpone ? 1 : 0;
        return !postpone;
      };
      options.before_push = [this](const Mutation& mutation) {
        if (mutation.document.collection != "own" || mutation.op == MutationOp::kDelete)
          return HookDecision{};
        ++tally_.writes_hooked;
        return HookDecision{HookDecision::Kind::kReplace, Hooked(mutation.value), ""};
      };
    }
    // Metered: each client's own documents are deferrable.
    if (metered_) options.deferrable = {"own"};
    // Indexes, declared one of two ways at each open: a reopen with the
    // other declarations rebuilds what changed from whatever state the
    // crash left (CheckQueries compares every index with a scan).
    options.indexes = {{"shared", "by_n", {{"n"}}}, {"own", "", {{"n"}}}};
    if (Chance(0.5)) {
      options.indexes[0].paths = {{"nested", "x"}, {"n"}};
      options.indexes.push_back({"shared", "by_f0", {{"f0"}}});
    }
    client.stream.reset();  // a crash took the old connection with it
    auto engine = SyncEngine::Open(*client.store, options, kEpoch + now_);
    if (!engine.ok())
      return "client " + std::to_string(client.index) +
             " failed to open: " + engine.status().ToString();
    client.engine = std::move(*engine);
    client.client_id = client.engine->client_id();
    client.live_pages.assign(std::size(kLiveQueries), std::nullopt);
    for (std::size_t i = 0; i < std::size(kLiveQueries); ++i) {
      if (Status subscribed = client.engine->SubscribeQuery(i + 1, *QueryFromText(kLiveQueries[i]));
          !subscribed.ok())
        return "a live query was refused: " + subscribed.ToString();
    }
    if (!client.online) client.engine->HandleOnline(false, kEpoch + now_);
    if (client.metered) client.engine->HandleMetered(true, kEpoch + now_);
    client.engine->HandleTrigger(TriggerReason::kAppStart, kEpoch + now_);
    Drain(client);
    return "";
  }

  // Carries out the engine's actions and re-arms its timer.
  void Drain(Client& client) {
    if (!client.engine) return;
    while (auto action = client.engine->PollAction()) {
      if (auto* send = std::get_if<SendRequest>(&*action)) {
        Transmit(client, send->request);
      } else if (auto* open = std::get_if<OpenStream>(&*action)) {
        Connect(client, open->request);
      } else if (auto* close = std::get_if<CloseStream>(&*action)) {
        if (client.stream == close->id) client.stream.reset();
      } else if (auto* event = std::get_if<Event>(&*action)) {
        if (auto* started = std::get_if<SyncStartedEvent>(event);
            started && started->reason == TriggerReason::kInterval && !client.online) {
          Fail("an interval tick started a run while the client was offline");
        }
        if (auto* started = std::get_if<SyncStartedEvent>(event);
            started && started->reason == TriggerReason::kReachable) {
          ++tally_.runs_by_probe;
        }
        if (auto* done = std::get_if<SyncCompletedEvent>(event);
            done && client.metered && done->run.reason != TriggerReason::kManual &&
            client.engine->status().pending > 0) {
          ++tally_.runs_leaving_writes;
        }
        if (auto* page = std::get_if<QueryChangedEvent>(event)) TakeLivePage(client, *page);
        if (auto* conflict = std::get_if<SyncConflictEvent>(event);
            conflict && conflict->local.document.collection == "own") {
          Fail("conflict on a document only one client writes: " + conflict->local.document.key);
        }
      }
    }
    if (auto deadline = client.engine->PollTimeout()) {
      const uint64_t generation = client.generation;
      At(std::max<TimeMs>(0, *deadline - kEpoch - now_), [this, &client, generation] {
        if (client.generation != generation || !client.engine) return;
        auto due = client.engine->PollTimeout();
        if (due && *due <= kEpoch + now_) {
          client.engine->HandleTimeout(kEpoch + now_);
          Drain(client);
        }
      });
    }
  }

  void Deliver(Client& client, uint64_t generation, RequestId id, HttpResponse response,
               TimeMs delay) {
    At(delay, [this, &client, generation, id, response = std::move(response)] {
      if (client.generation != generation || !client.engine) return;  // the client crashed
      client.engine->HandleResponse(id, response, kEpoch + now_);
      Drain(client);
    });
  }

  HttpResponse ServerAnswer(const HttpRequest& request) {
    const uint64_t applied_before = server_.statistics().mutations_applied;
    ServerHttpResponse answer = HandleServerRequest(server_, kUser, request.method, request.target,
                                                    request.body, kEpoch + now_);
    if (request.method == "POST" && answer.status == 200) RecordApplied(request, answer.body);
    if (server_.statistics().mutations_applied != applied_before) PokeStreams();
    return {answer.status, answer.body, "", ""};
  }

  // --- The live stream ----------------------------------------------------
  // Opening: refused now and then, else greeted with "hello" after a delay.
  void Connect(Client& client, const HttpRequest& request) {
    const uint64_t generation = client.generation;
    const RequestId id = request.id;
    if (faults_ && (now_ < blackout_until_ || Chance(0.1))) {
      ++tally_.streams_refused;
      At(Between(1, 300), [this, &client, generation, id] {
        if (client.generation != generation || !client.engine) return;
        client.engine->HandleStreamEnd(id, {Chance(0.5) ? 503 : 0, "", "", ""}, kEpoch + now_);
        Drain(client);
      });
      return;
    }
    client.stream = id;
    SendOnStream(client, generation, id, "event: hello\ndata: {}\n\n", Between(1, 300));
  }

  // After a push applied something, every open stream hears of it; faults
  // lose pokes, delay them and drop streams.
  void PokeStreams() {
    for (auto& client : clients_) {
      if (!client->stream) continue;
      const uint64_t generation = client->generation;
      const RequestId id = *client->stream;
      if (faults_ && Chance(0.05)) {
        ++tally_.streams_dropped;
        client->stream.reset();
        At(Between(1, 300), [this, &client = *client, generation, id] {
          if (client.generation != generation || !client.engine) return;
          client.engine->HandleStreamEnd(id, {0, "", "", "connection reset"}, kEpoch + now_);
          Drain(client);
        });
      } else if (faults_ && Chance(0.1)) {
        ++tally_.pokes_lost;
      } else {
        const TimeMs delay = faults_ && Chance(0.2) ? Between(500, 5000) : Between(1, 150);
        SendOnStream(*client, generation, id, "event: poke\ndata: {}\n\n", delay);
      }
    }
  }

  // Delivers `text` on the stream, in two chunks cut at a random place.
  void SendOnStream(Client& client, uint64_t generation, RequestId id, std::string text,
                    TimeMs delay) {
    At(delay, [this, &client, generation, id, text = std::move(text)] {
      if (client.generation != generation || !client.engine || client.stream != id) return;
      if (text.find("poke") != std::string::npos) ++tally_.pokes_delivered;
      const std::size_t cut = static_cast<std::size_t>(Between(0, text.size()));
      client.engine->HandleStreamData(id, std::string_view(text).substr(0, cut), kEpoch + now_);
      client.engine->HandleStreamData(id, std::string_view(text).substr(cut), kEpoch + now_);
      Drain(client);
    });
  }

  void RecordApplied(const HttpRequest& request, const std::string& body) {
    auto sent = DecodePushRequest(request.body, {});
    if (!sent.ok()) return Fail("client sent an undecodable push: " + sent.status().ToString());
    auto response = DecodePushResponse(body, *sent, {});
    if (!response.ok())
      return Fail("server sent an undecodable answer: " + response.status().ToString());
    for (std::size_t i = 0; i < sent->mutations.size(); ++i) {
      const Mutation& mutation = sent->mutations[i];
      if (mutation.document.collection == "shared") {
        Newest& newest = newest_shared_[mutation.document.key];
        const std::string hlc = mutation.hlc.ToString();
        if (hlc > newest.hlc) newest = {hlc, mutation.op, mutation.value};
      }
      if (response->results[i].status != PushResultStatus::kApplied) continue;
      auto& log = applied_[sent->client_id];
      const uint64_t seq = sent->mutations[i].seq;
      if (!log.empty() && log.back() >= seq) {
        return Fail("client " + sent->client_id + " seq " + std::to_string(seq) +
                    " applied after seq " + std::to_string(log.back()) +
                    " (twice or out of order)");
      }
      log.push_back(seq);
    }
  }

  void Transmit(Client& client, const HttpRequest& request) {
    const uint64_t generation = client.generation;
    const TimeMs there = Between(1, 150);
    const TimeMs back = Between(1, 150);
    if (request.target == kHealthPath) ++tally_.probes;
    if (faults_ && now_ < blackout_until_) {
      // The server is down: every connection is refused at once.
      return Deliver(client, generation, request.id, {0, "", "", "connection refused"}, there);
    }
    if (faults_ && now_ < storm_until_) {
      HttpResponse storm = Chance(0.5)
                               ? HttpResponse{503, "storm", "", ""}
                               : HttpResponse{429, "slow down", std::to_string(Between(0, 2)), ""};
      ++tally_.storm_answers;
      return Deliver(client, generation, request.id, storm, there + back);
    }
    if (faults_ && Chance(0.04)) {
      ++tally_.lost_requests;  // lost on the way: the client's timeout fires
      return;
    }
    if (faults_ && Chance(0.03)) {
      ++tally_.lost_requests;
      return Deliver(client, generation, request.id, {0, "", "", "connection refused"}, there);
    }
    At(there, [this, &client, generation, request, back] {
      HttpResponse answer = ServerAnswer(request);
      if (faults_ && Chance(0.03)) {
        // A duplicated delivery reaches the server again later.
        ++tally_.duplicated_deliveries;
        At(Between(1, 5000), [this, request] { ServerAnswer(request); });
      }
      if (faults_ && Chance(0.05)) {
        // Applied, but the answer is lost: a reset, or silence until timeout.
        ++tally_.lost_answers;
        if (Chance(0.5))
          Deliver(client, generation, request.id, {0, "", "", "connection reset"}, back);
        return;
      }
      if (faults_ && Chance(0.02)) {
        ++tally_.garbage_answers;
        answer = {200, "{\"results\":[{\"garbage\":", "", ""};
      }
      Deliver(client, generation, request.id, std::move(answer), back);
    });
  }

  void ScheduleNextWrite(Client& client) {
    At(Between(20, 600), [this, &client] {
      if (now_ >= kWriteWindowMs) return;
      if (client.engine) Write(client, Chance(0.6));
      ScheduleNextWrite(client);
    });
  }

  // What an app asks for by hand (issue 17): a sync in one direction or
  // both, or a forced full resync, at any moment (a run may be in flight).
  void ScheduleNextManualRun(Client& client) {
    At(Between(1000, 10000), [this, &client] {
      if (now_ >= kWriteWindowMs) return;
      if (client.engine) {
        const int pick = static_cast<int>(Between(0, 3));
        if (pick == 3) {
          (void)client.engine->HandleResync(kEpoch + now_);
        } else {
          (void)client.engine->HandleTrigger(TriggerReason::kManual, kEpoch + now_,
                                             static_cast<SyncDirection>(pick));
        }
        Drain(client);
      }
      ScheduleNextManualRun(client);
    });
  }

  // A person settles the open conflicts with either side, a new value or a
  // delete; each answer is a local write that must be accepted.
  void ScheduleNextResolution(Client& client) {
    At(Between(1000, 8000), [this, &client] {
      if (now_ >= kWriteWindowMs) return;
      if (client.engine) {
        auto open = client.engine->Conflicts();
        if (!open.ok()) return Fail("listing open conflicts failed: " + open.status().ToString());
        for (const OpenConflict& conflict : *open) {
          const int pick = static_cast<int>(Between(0, 3));
          const auto side = [](const std::string& json) -> std::optional<Json> {
            auto parsed = ParseJson(json);
            return parsed.ok() && !parsed->is_null() ? std::optional<Json>(*parsed) : std::nullopt;
          };
          const std::optional<Json> value =
              pick == 0   ? side(conflict.local_json)
              : pick == 1 ? side(conflict.remote_json)
              : pick == 2 ? std::optional<Json>(Json{{"by", "hand"}, {"n", Between(0, 100)}})
                          : std::nullopt;
          Status resolved = client.engine->ResolveConflict(conflict.document, value, kEpoch + now_);
          if (!resolved.ok()) return Fail("resolving by hand failed: " + resolved.ToString());
          ++tally_.resolved_by_hand;
        }
        Drain(client);
      }
      ScheduleNextResolution(client);
    });
  }

  static Json Hooked(Json value) {
    value["hooked"] = true;
    return value;
  }

  void Write(Client& client, bool own) {
    const std::string key =
        own ? "c" + std::to_string(client.index) + "-" + std::to_string(Between(0, kOwnDocs - 1))
            : "s" + std::to_string(Between(0, kSharedDocs - 1));
    const int roll = static_cast<int>(Between(0, 9));
    MutationOp op = roll < 5   ? MutationOp::kPut
                    : roll < 9 ? MutationOp::kPatch
                               : MutationOp::kDelete;
    Json value;
    const std::string stamp = std::to_string(client.index) + ":" + std::to_string(now_);
    if (op == MutationOp::kPut) value = Json{{"by", stamp}, {"n", Between(0, 100)}};
    if (op == MutationOp::kPatch) {
      value = Json{{"f" + std::to_string(Between(0, 3)), stamp}};
      if (Chance(0.2)) value["n"] = nullptr;
      if (Chance(0.2))
        value["nested"] = Json{{"x", Between(0, 5)}, {"y", Chance(0.5) ? Json() : Json(stamp)}};
    }
    auto seq =
        client.engine->HandleLocalWrite(op, {own ? "own" : "shared", key}, value, kEpoch + now_);
    if (!seq.ok()) return Fail("local write failed: " + seq.status().ToString());
    ++tally_.writes;
    if (own) {
      // A write goes up as the hook makes it (coalesced or not): the model
      // expects that too.
      const Json expected = hooks_ && op != MutationOp::kDelete ? Hooked(value) : value;
      client.own_model[key] = ApplyMutation(client.own_model[key], op, expected);
      client.own_seqs[key].push_back(*seq);
    }
    Drain(client);
  }

  // The connection turns metered and back now and then while faults last.
  void ScheduleNextMeteredSpell(Client& client) {
    At(Between(1000, 8000), [this, &client] {
      if (!faults_) return;
      client.metered = !client.metered;
      tally_.metered_spells += client.metered ? 1 : 0;
      if (client.engine) {
        client.engine->HandleMetered(client.metered, kEpoch + now_);
        Drain(client);
      }
      ScheduleNextMeteredSpell(client);
    });
  }

  void ScheduleNextOutage(Client& client) {
    At(Between(2000, 15000), [this, &client] {
      if (!faults_ || !client.engine) return;
      client.online = false;
      ++tally_.outages;
      client.engine->HandleOnline(false, kEpoch + now_);
      Drain(client);
      At(Between(500, 8000), [this, &client] {
        client.online = true;
        if (client.engine) {
          client.engine->HandleOnline(true, kEpoch + now_);
          Drain(client);
        }
        ScheduleNextOutage(client);
      });
    });
  }

  void ScheduleNextCrash(Client& client) {
    At(Between(3000, 20000), [this, &client] {
      if (!faults_) return;
      // The process dies: in-memory state and unanswered requests are gone;
      // the store keeps what was committed.
      client.engine.reset();
      ++client.generation;
      ++tally_.crashes;
      At(Between(0, 3000), [this, &client] {
        if (!client.engine) {
          if (std::string error = OpenEngine(client); !error.empty()) Fail(error);
        }
        ScheduleNextCrash(client);
      });
    });
  }

  // Now and then, whatever state a client is in (pending writes, conflicts
  // open, mid-run), its indexed queries answer as a scan would.
  void ScheduleNextQueryCheck(Client& client) {
    At(Between(500, 5000), [this, &client] {
      if (!faults_) return;
      if (client.engine) {
        if (std::string error = CheckQueries(*client.engine, *client.store); !error.empty())
          return Fail("client " + std::to_string(client.index) + ": " + error);
        if (std::string error = CheckLiveQueries(client); !error.empty())
          return Fail("client " + std::to_string(client.index) + ": " + error);
        ++tally_.query_checks;
      }
      ScheduleNextQueryCheck(client);
    });
  }

  // A live query's new page: its diff must lead from the page before to it.
  void TakeLivePage(Client& client, const QueryChangedEvent& event) {
    ++tally_.live_pages;
    std::optional<QueryPage>& last = client.live_pages.at(event.query - 1);
    std::set<std::string> keys;
    if (last) {
      for (const auto& document : last->documents)
        keys.insert(document.first);
    }
    for (const std::string& key : event.update->diff.removed)
      keys.erase(key);
    keys.insert(event.update->diff.added.begin(), event.update->diff.added.end());
    std::set<std::string> now;
    for (const auto& document : event.update->page.documents)
      now.insert(document.first);
    if (keys != now)
      Fail("client " + std::to_string(client.index) + ": live query " +
           std::to_string(event.query) + "'s diff does not lead to its page");
    last = event.update->page;
  }

  // Every live query's last page is what the query gives now.
  static std::string CheckLiveQueries(Client& client) {
    for (std::size_t i = 0; i < std::size(kLiveQueries); ++i) {
      auto now = client.engine->RunQuery(*QueryFromText(kLiveQueries[i]));
      if (!now.ok()) return "query failed: " + now.status().ToString();
      const std::optional<QueryPage>& page = client.live_pages[i];
      if (!page || page->documents != now->documents || page->next != now->next)
        return std::string("a live query's page is not the query's answer: ") + kLiveQueries[i] +
               ": " + (page ? Json(page->documents).dump() : "none") + " where the query gives " +
               Json(now->documents).dump() + " (next " + (page ? page->next : "") + " where " +
               now->next + ")";
    }
    return "";
  }

  // Each query, paged through with a small limit, gives through the
  // engine's indexes what QueryPageOf gives over a scan of the collection,
  // and every index has one entry per document.
  static std::string CheckQueries(SyncEngine& engine, Store& store) {
    static const char* const kQueries[] = {
        R"({"collection":"shared","where":{"path":"n","eq":3}})",
        R"({"collection":"shared","where":{"path":"n","gte":20,"lt":70},"orderBy":[{"path":"n"}]})",
        R"({"collection":"shared","where":{"and":[{"path":"nested.x","eq":2},{"path":"n","lt":50}]},"orderBy":[{"path":"n"}],"limit":2})",
        R"({"collection":"shared","orderBy":[{"path":"n"}],"limit":1})",
        R"({"collection":"shared","where":{"path":"f0","exists":true},"limit":1})",
        R"({"collection":"shared","where":{"path":"f0","prefix":"1:"}})",
        R"({"collection":"own","where":{"path":"n","in":[1,2,3,50,99]},"limit":2})",
        R"({"collection":"own","orderBy":[{"path":"n","desc":true}],"limit":3})"};
    for (const char* text : kQueries) {
      Query query = *QueryFromText(text);
      auto scanned = engine.Scan(query.collection, "");
      if (!scanned.ok()) return "scan failed: " + scanned.status().ToString();
      std::vector<std::pair<std::string, Json>> expected, got;
      for (Query page_query = query;;) {
        auto scan_page = QueryPageOf(page_query, *scanned);
        auto page = engine.RunQuery(page_query);
        if (!scan_page.ok() || !page.ok()) return std::string("query failed: ") + text;
        expected.insert(expected.end(), scan_page->documents.begin(), scan_page->documents.end());
        got.insert(got.end(), page->documents.begin(), page->documents.end());
        if (page->next.empty() || page->next != scan_page->next) break;
        page_query.after = page->next;
      }
      auto count = engine.CountQuery(query);
      Query everything = query;
      everything.limit = 0;
      if (got != expected || !count.ok() ||
          *count != QueryPageOf(everything, *scanned)->documents.size())
        return std::string("an indexed query differs from a scan: ") + text + " (plan " +
               engine.ExplainQuery(query).dump() + "): " + Json(got).dump() +
               " where a scan gives " + Json(expected).dump();
    }
    for (const char* collection : {"shared", "own"}) {
      auto scanned = engine.Scan(collection, "");
      std::map<std::string, std::size_t> entries;
      Status scan = store.ScanPrefix(
          std::string("x/") + collection + '\0', [&](std::string_view key, std::string_view) {
            const std::size_t name = key.find('\0') + 1;
            ++entries[std::string(key.substr(name, key.find('\0', name) - name))];
            return true;
          });
      if (!scanned.ok() || !scan.ok()) return "scan failed";
      for (const auto& [name, count] : entries) {
        if (count != scanned->size())
          return "index " + std::string(collection) + "/" + name + " has " + std::to_string(count) +
                 " entries for " + std::to_string(scanned->size()) + " documents";
      }
    }
    return "";
  }

  // The server goes away for every client at once, for long enough that run
  // backoffs grow; reachability probes find it again when it returns.
  void ScheduleNextBlackout() {
    At(Between(5000, 25000), [this] {
      if (!faults_) return;
      ++tally_.blackouts;
      blackout_until_ = now_ + Between(1000, 10000);
      ScheduleNextBlackout();
    });
  }

  void ScheduleNextStorm() {
    At(Between(4000, 20000), [this] {
      if (!faults_) return;
      storm_until_ = now_ + Between(500, 4000);
      ScheduleNextStorm();
    });
  }

  std::map<DocumentId, Json> ServerState(
      std::map<std::string, std::string>* shared_hlcs = nullptr) {
    std::map<DocumentId, Json> documents;
    auto pulled = server_.ServePull(kUser, {"", 100000});
    if (!pulled.ok()) {
      Fail("server pull failed");
      return documents;
    }
    for (auto& change : pulled->changes) {
      if (change.state.exists) documents[change.document] = change.state.value;
      if (shared_hlcs && change.document.collection == "shared")
        (*shared_hlcs)[change.document.key] = change.hlc;
    }
    return documents;
  }

  // Last write wins: every shared document holds the newest write received.
  std::string CheckLastWriteWins(const std::map<DocumentId, Json>& server_documents,
                                 const std::map<std::string, std::string>& shared_hlcs) {
    for (const auto& [key, newest] : newest_shared_) {
      auto hlc = shared_hlcs.find(key);
      const std::string held = hlc == shared_hlcs.end() ? "" : hlc->second;
      if (held != newest.hlc) {
        return "last write wins: shared/" + key + " holds the write stamped " + held +
               " but the newest the server received is " + newest.hlc;
      }
      auto found = server_documents.find({"shared", key});
      const bool exists = found != server_documents.end();
      if (newest.op == MutationOp::kDelete && exists)
        return "last write wins: shared/" + key + " should be deleted";
      if (newest.op == MutationOp::kPut && (!exists || found->second != newest.value))
        return "last write wins: shared/" + key + " should hold " + newest.value.dump();
    }
    return "";
  }

  std::string Check() {
    std::map<std::string, std::string> shared_hlcs;
    const auto server_documents = ServerState(&shared_hlcs);
    if (shared_strategy_ == ConflictStrategy::kLastWriteWins) {
      if (std::string error = CheckLastWriteWins(server_documents, shared_hlcs); !error.empty())
        return error;
    }
    for (auto& client : clients_) {
      const std::string who =
          "client " + std::to_string(client->index) + " (" + client->client_id + ")";
      SyncEngine& engine = *client->engine;
      if (engine.status().pending != 0 || engine.status().failed != 0 || engine.syncing()) {
        return who + " still has " + std::to_string(engine.status().pending) + " pending / " +
               std::to_string(engine.status().failed) +
               " failed mutations after quiescing; last error: " + engine.status().last_error;
      }
      if (std::string error = CheckQueries(engine, *client->store); !error.empty())
        return who + ": " + error;
      if (std::string error = CheckLiveQueries(*client); !error.empty()) return who + ": " + error;
      // Converged: the local view equals the server's state, document by document.
      std::map<DocumentId, Json> local;
      for (const char* collection : {"own", "shared"}) {
        auto scanned = engine.Scan(collection, "");
        if (!scanned.ok()) return who + " scan failed: " + scanned.status().ToString();
        for (auto& [key, value] : *scanned)
          local[{collection, key}] = value;
      }
      if (local != server_documents) {
        for (const auto& [id, value] : server_documents) {
          auto found = local.find(id);
          if (found == local.end() || found->second != value) {
            return who + " did not converge on " + id.collection + "/" + id.key + ": server has " +
                   value.dump() + ", client has " +
                   (found == local.end() ? std::string("nothing") : found->second.dump());
          }
        }
        return who + " holds documents the server does not";
      }
      // Conflicts left open show the server's document as it is now.
      auto open = engine.Conflicts();
      if (!open.ok()) return who + " cannot list open conflicts: " + open.status().ToString();
      for (const OpenConflict& conflict : *open) {
        auto found = server_documents.find(conflict.document);
        const std::string held = found == server_documents.end() ? "null" : DumpJson(found->second);
        if (conflict.remote_json != held) {
          return who + "'s open conflict on shared/" + conflict.document.key +
                 " shows a remote side the server no longer holds";
        }
      }
      // The server holds exactly what the client last wrote to its own documents.
      for (const auto& [key, state] : client->own_model) {
        auto found = server_documents.find({"own", key});
        const bool exists = found != server_documents.end();
        if (exists != state.exists || (exists && found->second != state.value)) {
          return who + " wrote " + (state.exists ? state.value.dump() : "a delete") + " to own/" +
                 key + " last, but the server has " + (exists ? found->second.dump() : "nothing");
        }
      }
      // Every write was applied exactly once or coalesced into a later write.
      // (Metered: a deferred write takes a new seq, so the content check
      // above and the order check of RecordApplied are the ones that hold.)
      if (metered_) continue;
      const auto& log = applied_[client->client_id];
      const std::set<uint64_t> applied(log.begin(), log.end());
      for (const auto& [key, seqs] : client->own_seqs) {
        for (std::size_t i = 0; i < seqs.size(); ++i) {
          if (!applied.contains(seqs[i]) && i + 1 == seqs.size()) {
            return who + " last write to own/" + key + " (seq " + std::to_string(seqs[i]) +
                   ") never reached the server";
          }
        }
      }
    }
    return "";
  }

  struct Newest {
    std::string hlc;  // HlcStamp text: byte order is stamp order
    MutationOp op = MutationOp::kPut;
    Json value;
  };

  std::mt19937_64 random_;
  FaultTally& tally_;
  ConflictStrategy shared_strategy_;
  // Hooks on: before_run postpones a run now and then while faults last,
  // and before_push marks every put and patch of an own document ("hooked":
  // true), which the model of the client's writes expects too.
  bool hooks_;
  // Metered: clients turn their connection metered and back at random
  // times, their own documents deferrable.
  bool metered_;
  std::map<std::string, Newest> newest_shared_;  // shared key -> newest write the server received
  TimeMs now_ = 0;  // simulated ms since start; engines see kEpoch + now_
  uint64_t next_order_ = 0;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue_;
  MemoryStore server_store_;
  ferry::ServerState server_{server_store_, "sim"};
  std::vector<std::unique_ptr<Client>> clients_;
  std::map<std::string, std::vector<uint64_t>> applied_;  // client id -> applied seqs in order
  bool faults_ = true;
  TimeMs storm_until_ = 0;
  TimeMs blackout_until_ = 0;
  std::string failure_;
};

TEST(Simulation, EveryConflictStrategyConvergesUnderFaults) {
  // A fifth of the main test's seeds per strategy (at least 10).
  const uint64_t first = EnvNumber("FERRY_SIM_SEED", 1);
  const uint64_t count = std::max<uint64_t>(10, EnvNumber("FERRY_SIM_SEEDS", 1000) / 5);
  for (ConflictStrategy strategy :
       {ConflictStrategy::kClientWins, ConflictStrategy::kLastWriteWins, ConflictStrategy::kMerge,
        ConflictStrategy::kCustom, ConflictStrategy::kManual}) {
    FaultTally tally;
    for (uint64_t seed = first; seed < first + count; ++seed) {
      Simulation simulation(seed, tally, strategy);
      const std::string failure = simulation.Run();
      if (!failure.empty()) {
        FAIL() << ConflictStrategyName(strategy) << ", seed " << seed << ": " << failure;
      }
    }
    std::printf("%s: %llu seeds, %llu writes, server saw %llu conflicts, %llu resolved by hand\n",
                std::string(ConflictStrategyName(strategy)).c_str(),
                static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(tally.writes),
                static_cast<unsigned long long>(tally.conflicts),
                static_cast<unsigned long long>(tally.resolved_by_hand));
    EXPECT_GT(tally.conflicts, 0u) << ConflictStrategyName(strategy);
    if (strategy == ConflictStrategy::kManual) {
      EXPECT_GT(tally.resolved_by_hand, 0u);
    }
  }
}

// A fifth of the main test's seeds (at least 10) with hooks or metered
// spells on; returns the first failure, naming `mode` and the seed.
std::string RunModeSeeds(const char* mode, FaultTally& tally, bool hooks, bool metered) {
  const uint64_t first = EnvNumber("FERRY_SIM_SEED", 1);
  const uint64_t count = std::max<uint64_t>(10, EnvNumber("FERRY_SIM_SEEDS", 1000) / 5);
  for (uint64_t seed = first; seed < first + count; ++seed) {
    Simulation simulation(seed, tally, ConflictStrategy::kServerWins, hooks, metered);
    const std::string failure = simulation.Run();
    if (!failure.empty())
      return std::string(mode) + ", seed " + std::to_string(seed) + ": " + failure;
  }
  std::printf("%s: %llu seeds, %llu writes\n", mode, static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(tally.writes));
  return "";
}

TEST(Simulation, HooksThatPostponeRunsAndRewriteWritesKeepEveryGuarantee) {
  FaultTally tally;
  const std::string failure = RunModeSeeds("hooks", tally, /*hooks=*/true, /*metered=*/false);
  ASSERT_EQ(failure, "");
  std::printf("hooks: %llu runs postponed, %llu writes rewritten\n",
              static_cast<unsigned long long>(tally.runs_postponed),
              static_cast<unsigned long long>(tally.writes_hooked));
  EXPECT_GT(tally.runs_postponed, 0u);
  EXPECT_GT(tally.writes_hooked, 0u);
}

TEST(Simulation, MeteredSpellsDeferringWritesKeepEveryGuarantee) {
  FaultTally tally;
  const std::string failure = RunModeSeeds("metered", tally, /*hooks=*/false, /*metered=*/true);
  ASSERT_EQ(failure, "");
  std::printf("metered: %llu metered spells, %llu runs left writes for later\n",
              static_cast<unsigned long long>(tally.metered_spells),
              static_cast<unsigned long long>(tally.runs_leaving_writes));
  EXPECT_GT(tally.metered_spells, 0u);
  EXPECT_GT(tally.runs_leaving_writes, 0u);
}

TEST(Simulation, RandomFaultsNeverLoseOrDuplicateWritesAndClientsConverge) {
  const uint64_t first = EnvNumber("FERRY_SIM_SEED", 1);
  const uint64_t count = EnvNumber("FERRY_SIM_SEEDS", 1000);
  FaultTally tally;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    Simulation simulation(seed, tally);
    const std::string failure = simulation.Run();
    if (!failure.empty()) {
      FAIL() << "seed " << seed << ": " << failure << "\nreplay: FERRY_SIM_SEED=" << seed
             << " FERRY_SIM_SEEDS=1 "
             << "./simulation_tests";
    }
  }
  std::printf(
      "simulated %llu seeds: %llu writes, %llu crashes, %llu outages, %llu lost requests, "
      "%llu lost answers, %llu duplicated deliveries, %llu storm answers, %llu garbage answers; "
      "server saw %llu duplicates and %llu conflicts\n",
      static_cast<unsigned long long>(count), static_cast<unsigned long long>(tally.writes),
      static_cast<unsigned long long>(tally.crashes),
      static_cast<unsigned long long>(tally.outages),
      static_cast<unsigned long long>(tally.lost_requests),
      static_cast<unsigned long long>(tally.lost_answers),
      static_cast<unsigned long long>(tally.duplicated_deliveries),
      static_cast<unsigned long long>(tally.storm_answers),
      static_cast<unsigned long long>(tally.garbage_answers),
      static_cast<unsigned long long>(tally.server_duplicates),
      static_cast<unsigned long long>(tally.conflicts));
  std::printf(
      "live streams: %llu pokes delivered, %llu pokes lost, %llu streams refused, %llu dropped\n",
      static_cast<unsigned long long>(tally.pokes_delivered),
      static_cast<unsigned long long>(tally.pokes_lost),
      static_cast<unsigned long long>(tally.streams_refused),
      static_cast<unsigned long long>(tally.streams_dropped));
  std::printf("queries: %llu checks of indexed and live queries, %llu live query pages\n",
              static_cast<unsigned long long>(tally.query_checks),
              static_cast<unsigned long long>(tally.live_pages));
  std::printf("reachability: %llu blackouts, %llu probes, %llu runs started by a probe\n",
              static_cast<unsigned long long>(tally.blackouts),
              static_cast<unsigned long long>(tally.probes),
              static_cast<unsigned long long>(tally.runs_by_probe));
  if (count >= 20) {
    EXPECT_GT(tally.blackouts, 0u);
    EXPECT_GT(tally.probes, 0u);
    EXPECT_GT(tally.runs_by_probe, 0u);
    EXPECT_GT(tally.crashes, 0u);
    EXPECT_GT(tally.query_checks, 0u);
    EXPECT_GT(tally.live_pages, 0u);
    EXPECT_GT(tally.outages, 0u);
    EXPECT_GT(tally.lost_answers, 0u);
    EXPECT_GT(tally.server_duplicates, 0u);
    EXPECT_GT(tally.storm_answers, 0u);
    EXPECT_GT(tally.garbage_answers, 0u);
    EXPECT_GT(tally.conflicts, 0u);
    EXPECT_GT(tally.pokes_delivered, 0u);
    EXPECT_GT(tally.pokes_lost, 0u);
    EXPECT_GT(tally.streams_refused, 0u);
    EXPECT_GT(tally.streams_dropped, 0u);
  }
}

}  // namespace
}  // namespace ferry
