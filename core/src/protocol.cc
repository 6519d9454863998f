#include "ferry/protocol.h"

#include <cctype>
#include <charconv>

#include "json_scan.h"

namespace ferry {
namespace {

Status Malformed(std::string_view where, std::string_view what) {
  return Status(ErrorCode::kProtocol, std::string(where) + ": " + std::string(what));
}

// Typed, bounds-checked access to one JSON object's members. Every accessor
// returns an error instead of throwing on a missing or mistyped member.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {}

  const std::string& where() const { return where_; }

  const Json* Find(std::string_view name) const {
    auto found = object_.find(name);
    return found == object_.end() ? nullptr : &*found;
  }

  Result<std::string> String(std::string_view name) const {
    const Json* member = Find(name);
    if (member == nullptr) return Missing(name);
    if (!member->is_string()) return WrongType(name, "a string");
    return member->get<std::string>();
  }

  Result<uint64_t> Unsigned(std::string_view name) const {
    const Json* member = Find(name);
    if (member == nullptr) return Missing(name);
    if (member->is_number_unsigned()) return member->get<uint64_t>();
    if (member->is_number_integer() && member->get<int64_t>() >= 0) {
      return static_cast<uint64_t>(member->get<int64_t>());
    }
    return WrongType(name, "a non-negative integer");
  }

  Result<bool> Bool(std::string_view name) const {
    const Json* member = Find(name);
    if (member == nullptr) return Missing(name);
    if (!member->is_boolean()) return WrongType(name, "a boolean");
    return member->get<bool>();
  }

  Result<const Json*> Array(std::string_view name) const {
    const Json* member = Find(name);
    if (member == nullptr) return Missing(name);
    if (!member->is_array()) return WrongType(name, "an array");
    return member;
  }

 private:
  Status Missing(std::string_view name) const {
    return Malformed(where_, "missing \"" + std::string(name) + "\"");
  }
  Status WrongType(std::string_view name, std::string_view expected) const {
    return Malformed(where_, "\"" + std::string(name) + "\" must be " + std::string(expected));
  }

  const Json& object_;
  std::string where_;
};

Result<Json> ParseBody(std::string_view body, const ProtocolLimits& limits, std::string_view what) {
  JsonLimits json_limits;
  json_limits.max_bytes = limits.max_body_bytes;
  json_limits.max_depth = limits.max_depth;
  auto parsed = ParseJson(body, json_limits);
  if (!parsed.ok()) {
    Status status = parsed.status();
    return Status(status.code(), std::string(what) + ": " + status.message());
  }
  if (!parsed->is_object()) return Malformed(what, "body must be a JSON object");
  return parsed;
}

Json EncodeServerDocument(const ServerDocument& document) {
  Json out = {{"collection", document.document.collection},
              {"key", document.document.key},
              {"version", document.version},
              {"deleted", !document.state.exists}};
  if (document.state.exists) out["value"] = document.state.value;
  if (!document.hlc.empty()) out["hlc"] = document.hlc;
  return out;
}

Result<ServerDocument> DecodeServerDocument(const Json& json, std::string where) {
  if (!json.is_object()) return Malformed(where, "must be an object");
  ObjectReader reader(json, std::move(where));
  ServerDocument document;
  FERRY_ASSIGN_OR_RETURN(document.document.collection, reader.String("collection"));
  FERRY_ASSIGN_OR_RETURN(document.document.key, reader.String("key"));
  if (Status valid = ValidateDocumentId(document.document); !valid.ok()) {
    return Malformed(reader.where(), valid.message());
  }
  FERRY_ASSIGN_OR_RETURN(document.version, reader.Unsigned("version"));
  FERRY_ASSIGN_OR_RETURN(const bool deleted, reader.Bool("deleted"));
  document.state.exists = !deleted;
  if (!deleted) {
    const Json* value = reader.Find("value");
    if (value == nullptr || value->is_null()) {
      return Malformed(reader.where(), "a document that is not deleted needs a value");
    }
    document.state.value = *value;
  }
  if (const Json* hlc = reader.Find("hlc"); hlc != nullptr) {
    if (!hlc->is_string() || !HlcStamp::Parse(hlc->get_ref<const std::string&>()).ok()) {
      return Malformed(reader.where(), "hlc must be a hybrid logical clock stamp");
    }
    document.hlc = hlc->get<std::string>();
  }
  return document;
}

// `refusal`: set when the mutation has the protocol's shape (every member
// present with its type, a valid seq) but content the server refuses: a bad
// collection or key, an unknown op, an `hlc` string that is not a stamp.
Result<Mutation> DecodeMutation(const Json& json, const std::string& client_id, std::string where,
                                std::string& refusal) {
  if (!json.is_object()) return Malformed(where, "must be an object");
  ObjectReader reader(json, std::move(where));
  Mutation mutation;
  mutation.client_id = client_id;
  FERRY_ASSIGN_OR_RETURN(mutation.seq, reader.Unsigned("seq"));
  if (mutation.seq == 0) return Malformed(reader.where(), "\"seq\" starts at 1");
  FERRY_ASSIGN_OR_RETURN(mutation.document.collection, reader.String("collection"));
  FERRY_ASSIGN_OR_RETURN(mutation.document.key, reader.String("key"));
  FERRY_ASSIGN_OR_RETURN(const std::string op_name, reader.String("op"));
  if (const Json* value = reader.Find("value")) mutation.value = *value;
  FERRY_ASSIGN_OR_RETURN(mutation.base_version, reader.Unsigned("baseVersion"));
  FERRY_ASSIGN_OR_RETURN(const std::string hlc_text, reader.String("hlc"));
  // Each member has its type: the rest is the mutation's content, refused
  // for this mutation alone (the first reason found is given).
  if (Status valid = ValidateDocumentId(mutation.document); !valid.ok()) {
    refusal = valid.message();
  }
  auto op = ParseMutationOp(op_name);
  if (op.ok()) {
    mutation.op = *op;
  } else if (refusal.empty()) {
    refusal = op.status().message();
  }
  auto hlc = HlcStamp::Parse(hlc_text);
  if (hlc.ok()) {
    mutation.hlc = std::move(*hlc);
  } else if (refusal.empty()) {
    refusal = "hlc: " + hlc.status().message();
  }
  return mutation;
}

bool IsCursorChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

Status ValidateClientId(std::string_view client_id) {
  if (IsValidClientId(client_id)) return Status::Ok();
  if (client_id.empty() || client_id.size() > 64) {
    return Status(ErrorCode::kInvalidArgument, "client id must be 1 to 64 characters");
  }
  return Status(ErrorCode::kInvalidArgument, "client id may hold only [A-Za-z0-9_-]");
}

Status ValidateCursor(std::string_view cursor, const ProtocolLimits& limits) {
  if (cursor.size() > limits.max_cursor_bytes) {
    return Status(ErrorCode::kProtocol,
                  "cursor is longer than " + std::to_string(limits.max_cursor_bytes) + " bytes");
  }
  for (char c : cursor) {
    if (!IsCursorChar(c))
      return Status(ErrorCode::kProtocol, "cursor holds a character outside [A-Za-z0-9._-]");
  }
  return Status::Ok();
}

std::string_view PushResultStatusName(PushResultStatus status) {
  switch (status) {
    case PushResultStatus::kApplied:
      return "applied";
    case PushResultStatus::kDuplicate:
      return "duplicate";
    case PushResultStatus::kConflict:
      return "conflict";
    case PushResultStatus::kRejected:
      return "rejected";
  }
  return "unknown";
}

PushRequestWriter::PushRequestWriter(std::string_view client_id) {
  body_ = "{\"protocol\":" + std::to_string(kProtocolVersion) + ",\"clientId\":";
  AppendJsonString(body_, client_id);
  body_ += ",\"mutations\":[";
}

void PushRequestWriter::AddMutation(const Mutation& mutation, std::string_view value_json) {
  if (!first_) body_ += ',';
  first_ = false;
  body_ += "{\"seq\":" + std::to_string(mutation.seq) + ",\"collection\":";
  AppendJsonString(body_, mutation.document.collection);
  body_ += ",\"key\":";
  AppendJsonString(body_, mutation.document.key);
  body_ += ",\"op\":\"";
  body_ += MutationOpName(mutation.op);
  body_ += "\",\"baseVersion\":" + std::to_string(mutation.base_version) + ",\"hlc\":\"" +
           mutation.hlc.ToString() + '"';
  // A delete carries no value. One decoded with a value (which the server
  // rejects) keeps it, so that re-encoding never turns it into a valid delete.
  const bool deletes_without_value =
      mutation.op == MutationOp::kDelete && (value_json.empty() || value_json == "null");
  if (!deletes_without_value) {
    body_ += ",\"value\":";
    body_ += value_json;
  }
  body_ += '}';
}

std::string PushRequestWriter::Finish() && {
  body_ += "]}";
  return std::move(body_);
}

std::string EncodePushRequest(const PushRequest& request) {
  PushRequestWriter writer(request.client_id);
  for (const Mutation& mutation : request.mutations) {
    writer.AddMutation(mutation, DumpJson(mutation.value));
  }
  return std::move(writer).Finish();
}

Result<PushRequest> DecodePushRequest(std::string_view body, const ProtocolLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(Json json, ParseBody(body, limits, "push request"));
  ObjectReader reader(json, "push request");
  FERRY_ASSIGN_OR_RETURN(const uint64_t protocol, reader.Unsigned("protocol"));
  if (protocol != kProtocolVersion) {
    return Status(ErrorCode::kUnsupportedVersion,
                  "protocol version " + std::to_string(protocol) + " is not supported");
  }
  PushRequest request;
  FERRY_ASSIGN_OR_RETURN(request.client_id, reader.String("clientId"));
  if (Status valid = ValidateClientId(request.client_id); !valid.ok()) {
    return Malformed("push request", valid.message());
  }
  FERRY_ASSIGN_OR_RETURN(const Json* mutations, reader.Array("mutations"));
  if (mutations->size() > limits.max_mutations_per_push) {
    return Status(ErrorCode::kTooLarge, "push request: more than " +
                                            std::to_string(limits.max_mutations_per_push) +
                                            " mutations in one batch");
  }
  request.mutations.reserve(mutations->size());
  for (std::size_t i = 0; i < mutations->size(); ++i) {
    std::string refusal;
    FERRY_ASSIGN_OR_RETURN(Mutation mutation,
                           DecodeMutation((*mutations)[i], request.client_id,
                                          "mutations[" + std::to_string(i) + "]", refusal));
    if (!refusal.empty()) {
      request.refusals.resize(mutations->size());
      request.refusals[i] = std::move(refusal);
    }
    if (!request.mutations.empty() && mutation.seq <= request.mutations.back().seq) {
      return Malformed("push request", "mutation seqs must be strictly ascending");
    }
    request.mutations.push_back(std::move(mutation));
  }
  return request;
}

std::string EncodePushResponse(const PushResponse& response) {
  Json results = Json::array();
  for (const PushResult& result : response.results) {
    Json item = {{"seq", result.seq}, {"status", PushResultStatusName(result.status)}};
    switch (result.status) {
      case PushResultStatus::kApplied:
        item["version"] = result.version;
        item["previousVersion"] = result.previous_version;
        break;
      case PushResultStatus::kRejected:
        item["error"] = result.error;
        break;
      case PushResultStatus::kConflict:
      case PushResultStatus::kDuplicate:
        if (result.has_current) item["current"] = EncodeServerDocument(result.current);
        break;
    }
    results.push_back(std::move(item));
  }
  return DumpJson(Json{{"results", std::move(results)}});
}

Result<PushResponse> DecodePushResponse(std::string_view body, const PushRequest& sent,
                                        const ProtocolLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(Json json, ParseBody(body, limits, "push response"));
  ObjectReader reader(json, "push response");
  FERRY_ASSIGN_OR_RETURN(const Json* results, reader.Array("results"));
  if (results->size() != sent.mutations.size()) {
    return Malformed("push response", "has " + std::to_string(results->size()) + " results for " +
                                          std::to_string(sent.mutations.size()) + " mutations");
  }
  PushResponse response;
  response.results.reserve(results->size());
  for (std::size_t i = 0; i < results->size(); ++i) {
    const std::string where = "push response results[" + std::to_string(i) + "]";
    const Json& item = (*results)[i];
    if (!item.is_object()) return Malformed(where, "must be an object");
    ObjectReader result_reader(item, where);
    PushResult result;
    FERRY_ASSIGN_OR_RETURN(result.seq, result_reader.Unsigned("seq"));
    if (result.seq != sent.mutations[i].seq) {
      return Malformed(where, "answers seq " + std::to_string(result.seq) + ", expected " +
                                  std::to_string(sent.mutations[i].seq));
    }
    FERRY_ASSIGN_OR_RETURN(const std::string status, result_reader.String("status"));
    if (status == "applied") {
      result.status = PushResultStatus::kApplied;
      FERRY_ASSIGN_OR_RETURN(result.version, result_reader.Unsigned("version"));
      FERRY_ASSIGN_OR_RETURN(result.previous_version, result_reader.Unsigned("previousVersion"));
      if (result.version == 0 || result.previous_version >= result.version) {
        return Malformed(where, "an applied mutation needs previousVersion < version");
      }
    } else if (status == "duplicate" || status == "conflict") {
      result.status =
          status == "conflict" ? PushResultStatus::kConflict : PushResultStatus::kDuplicate;
      if (const Json* current = result_reader.Find("current"); current != nullptr) {
        FERRY_ASSIGN_OR_RETURN(result.current, DecodeServerDocument(*current, where + ".current"));
        result.has_current = true;
        if (result.current.document != sent.mutations[i].document) {
          return Malformed(where, status + " names a different document than the mutation");
        }
      }
    } else if (status == "rejected") {
      result.status = PushResultStatus::kRejected;
      FERRY_ASSIGN_OR_RETURN(result.error, result_reader.String("error"));
    } else {
      return Malformed(where, "unknown status '" + status.substr(0, 32) + "'");
    }
    response.results.push_back(std::move(result));
  }
  return response;
}

namespace {

// Every byte outside [A-Za-z0-9._~-] as %XX, so a name may hold ',' '&' '='.
void AppendPercentEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '.' || c == '_' || c == '~' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
}

void AppendNameList(std::string& out, std::string_view parameter,
                    const std::vector<std::string>& names) {
  out += '&';
  out += parameter;
  out += '=';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    AppendPercentEncoded(out, names[i]);
  }
}

Result<std::string> PercentDecoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned byte = 0;
    const char* begin = text.data() + i + 1;
    if (i + 2 >= text.size()) {
      return Malformed("pull request", "truncated percent escape in a collection name");
    }
    auto [end, error] = std::from_chars(begin, begin + 2, byte, 16);
    if (error != std::errc() || end != begin + 2) {
      return Malformed("pull request", "bad percent escape in a collection name");
    }
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

// A comma-separated list of percent-encoded collection names; empty: none.
Result<std::vector<std::string>> DecodeNameList(std::string_view value) {
  std::vector<std::string> names;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    FERRY_ASSIGN_OR_RETURN(std::string name, PercentDecoded(value.substr(0, comma)));
    if (Status valid = ValidateDocumentId({name, "k"}); !valid.ok()) {
      return Malformed("pull request", "bad collection name in the scope: " + valid.message());
    }
    names.push_back(std::move(name));
    if (comma == std::string_view::npos) break;
    value = value.substr(comma + 1);
    if (value.empty()) return Malformed("pull request", "empty collection name in the scope");
  }
  return names;
}

}  // namespace

std::string EncodePullTarget(const PullRequest& request) {
  std::string target(kPullPath);
  target += "?limit=" + std::to_string(request.limit);
  if (!request.cursor.empty()) target += "&cursor=" + request.cursor;
  if (request.scope.include) AppendNameList(target, "collections", *request.scope.include);
  if (!request.scope.exclude.empty()) AppendNameList(target, "exclude", request.scope.exclude);
  return target;
}

Result<PullRequest> DecodePullQuery(std::string_view query, const ProtocolLimits& limits) {
  PullRequest request;
  request.limit = limits.max_changes_per_pull;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (name == "cursor") {
      // Not a cursor this server issued (it issues only valid ones): 410, so
      // the client resyncs; a 400 would be retried forever (PROTOCOL.md).
      if (Status valid = ValidateCursor(value, limits); !valid.ok()) {
        return Status(ErrorCode::kCursorExpired, valid.message());
      }
      request.cursor = std::string(value);
    } else if (name == "limit") {
      std::size_t limit = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (error != std::errc() || end != value.data() + value.size() || limit == 0) {
        return Malformed("pull request", "limit must be a positive integer");
      }
      request.limit = std::min(limit, limits.max_changes_per_pull);
    } else if (name == "collections") {
      FERRY_ASSIGN_OR_RETURN(request.scope.include, DecodeNameList(value));
    } else if (name == "exclude") {
      FERRY_ASSIGN_OR_RETURN(request.scope.exclude, DecodeNameList(value));
    }
  }
  return request;
}

void PullResponseWriter::AddChange(const DocumentId& document, Version version,
                                   std::optional<std::string_view> value_json,
                                   std::string_view hlc) {
  if (!first_) body_ += ',';
  first_ = false;
  body_ += "{\"collection\":";
  AppendJsonString(body_, document.collection);
  body_ += ",\"key\":";
  AppendJsonString(body_, document.key);
  body_ += ",\"version\":";
  body_ += std::to_string(version);
  if (value_json) {
    body_ += ",\"deleted\":false,\"value\":";
    body_ += *value_json;
  } else {
    body_ += ",\"deleted\":true";
  }
  if (!hlc.empty()) {
    body_ += ",\"hlc\":";
    AppendJsonString(body_, hlc);
  }
  body_ += '}';
}

std::string PullResponseWriter::Finish(std::string_view cursor, bool has_more,
                                       std::optional<uint64_t> remaining) && {
  body_ += "],\"cursor\":";
  body_ += DumpJson(std::string(cursor));
  body_ += has_more ? ",\"hasMore\":true" : ",\"hasMore\":false";
  if (has_more && remaining) {
    body_ += ",\"remaining\":";
    body_ += std::to_string(*remaining);
  }
  body_ += '}';
  return std::move(body_);
}

std::string EncodePullResponse(const PullResponse& response) {
  Json changes = Json::array();
  for (const ServerDocument& document : response.changes) {
    changes.push_back(EncodeServerDocument(document));
  }
  Json json{
      {"changes", std::move(changes)}, {"cursor", response.cursor}, {"hasMore", response.has_more}};
  if (response.has_more && response.remaining) json["remaining"] = *response.remaining;
  return DumpJson(json);
}

Result<PullResponse> DecodePullResponse(std::string_view body, const ProtocolLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(Json json, ParseBody(body, limits, "pull response"));
  ObjectReader reader(json, "pull response");
  PullResponse response;
  FERRY_ASSIGN_OR_RETURN(response.cursor, reader.String("cursor"));
  if (Status valid = ValidateCursor(response.cursor, limits); !valid.ok()) {
    return Malformed("pull response", valid.message());
  }
  FERRY_ASSIGN_OR_RETURN(response.has_more, reader.Bool("hasMore"));
  if (response.has_more && reader.Find("remaining") != nullptr) {
    FERRY_ASSIGN_OR_RETURN(response.remaining, reader.Unsigned("remaining"));
  }
  FERRY_ASSIGN_OR_RETURN(const Json* changes, reader.Array("changes"));
  if (changes->size() > limits.max_changes_per_pull) {
    return Status(ErrorCode::kTooLarge, "pull response: more than " +
                                            std::to_string(limits.max_changes_per_pull) +
                                            " changes in one page");
  }
  response.changes.reserve(changes->size());
  for (std::size_t i = 0; i < changes->size(); ++i) {
    FERRY_ASSIGN_OR_RETURN(
        ServerDocument document,
        DecodeServerDocument((*changes)[i], "pull response changes[" + std::to_string(i) + "]"));
    response.changes.push_back(std::move(document));
  }
  return response;
}

namespace {

// Envelope levels around a change's value: the body, "changes", the change.
constexpr int kPullValueDepthOffset = 3;

std::optional<PulledChange> ScanPulledChange(JsonScanner& scan, const ProtocolLimits& limits) {
  auto collection = scan.Consume("{\"collection\":") ? scan.String() : std::nullopt;
  auto key = collection && scan.Consume(",\"key\":") ? scan.String() : std::nullopt;
  auto version = key && scan.Consume(",\"version\":") ? scan.Unsigned() : std::nullopt;
  auto deleted = version && scan.Consume(",\"deleted\":") ? scan.Bool() : std::nullopt;
  if (!deleted) return std::nullopt;
  PulledChange change;
  change.document = {std::move(*collection), std::move(*key)};
  change.version = *version;
  change.exists = !*deleted;
  if (change.exists) {
    auto value = scan.Consume(",\"value\":") ? scan.Value(limits.max_depth - kPullValueDepthOffset)
                                             : std::nullopt;
    if (!value || *value == "null") return std::nullopt;
    change.value_json = std::string(*value);
  }
  if (scan.Consume(",\"hlc\":")) {
    auto hlc = scan.String();
    if (!hlc || !HlcStamp::Parse(*hlc).ok()) return std::nullopt;
    change.hlc = std::move(*hlc);
  }
  if (!scan.Consume("}") || !ValidateDocumentId(change.document).ok()) return std::nullopt;
  return change;
}

// The page exactly as PullResponseWriter writes it and valid, or nullopt.
std::optional<PullPage> ScanPullPage(std::string_view body, const ProtocolLimits& limits) {
  if (body.size() > limits.max_body_bytes) return std::nullopt;
  JsonScanner scan(body);
  if (!scan.Consume("{\"changes\":[")) return std::nullopt;
  PullPage page;
  if (!scan.Consume("]")) {
    do {
      if (page.changes.size() == limits.max_changes_per_pull) return std::nullopt;
      auto change = ScanPulledChange(scan, limits);
      if (!change) return std::nullopt;
      page.changes.push_back(std::move(*change));
    } while (scan.Consume(","));
    if (!scan.Consume("]")) return std::nullopt;
  }
  auto cursor = scan.Consume(",\"cursor\":") ? scan.String() : std::nullopt;
  auto has_more = cursor && scan.Consume(",\"hasMore\":") ? scan.Bool() : std::nullopt;
  if (!has_more) return std::nullopt;
  if (*has_more && scan.Consume(",\"remaining\":")) {
    page.remaining = scan.Unsigned();
    if (!page.remaining) return std::nullopt;
  }
  if (!scan.Consume("}") || !scan.AtEnd()) return std::nullopt;
  if (!ValidateCursor(*cursor, limits).ok()) return std::nullopt;
  page.cursor = std::move(*cursor);
  page.has_more = *has_more;
  return page;
}

}  // namespace

Result<PullPage> DecodePullPage(std::string_view body, const ProtocolLimits& limits) {
  if (std::optional<PullPage> page = ScanPullPage(body, limits)) return std::move(*page);
  FERRY_ASSIGN_OR_RETURN(PullResponse response, DecodePullResponse(body, limits));
  PullPage page{{}, std::move(response.cursor), response.has_more, response.remaining};
  page.changes.reserve(response.changes.size());
  for (ServerDocument& change : response.changes) {
    page.changes.push_back({std::move(change.document), change.version, change.state.exists,
                            change.state.exists ? DumpJson(change.state.value) : std::string(),
                            std::move(change.hlc)});
  }
  return page;
}

std::string EncodeErrorBody(ErrorCode code, std::string_view message) {
  return DumpJson(Json{{"error", {{"code", ErrorCodeName(code)}, {"message", message}}}});
}

std::string DescribeErrorBody(std::string_view body) {
  constexpr std::size_t kMaxExcerpt = 200;
  JsonLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_depth = 8;
  auto parsed = ParseJson(body, limits);
  if (parsed.ok() && parsed->is_object()) {
    auto error = parsed->find("error");
    if (error != parsed->end() && error->is_object()) {
      auto message = error->find("message");
      if (message != error->end() && message->is_string()) {
        return message->get<std::string>().substr(0, kMaxExcerpt);
      }
    }
  }
  std::string excerpt(body.substr(0, kMaxExcerpt));
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return excerpt;
}

}  // namespace ferry
