#include "ferry/protocol.h"

#include <random>

#include <gtest/gtest.h>

#include "support/push_results.h"

namespace ferry {
namespace {

using testing::MakeResult;

Mutation MakeMutation(uint64_t seq, MutationOp op, Json value) {
  Mutation m;
  m.client_id = "client-a";
  m.seq = seq;
  m.op = op;
  m.document = {"notes", "n" + std::to_string(seq)};
  m.value = std::move(value);
  m.base_version = seq * 10;
  m.hlc = {1700000000000 + static_cast<int64_t>(seq), 0, "client-a"};
  return m;
}

PushRequest SampleRequest() {
  return {"client-a",
          {MakeMutation(1, MutationOp::kPut, Json{{"title", "x"}}),
           MakeMutation(2, MutationOp::kPatch, Json{{"title", nullptr}}),
           MakeMutation(3, MutationOp::kDelete, Json())}};
}

// A change object; named fields keep GCC's -O3 uninitialized-use analysis quiet.
ServerDocument Change(std::string collection, std::string key, Version version,
                      std::optional<Json> value, std::string hlc = {}) {
  ServerDocument change;
  change.document = {std::move(collection), std::move(key)};
  change.version = version;
  if (value) change.state = {true, std::move(*value)};
  change.hlc = std::move(hlc);
  return change;
}

// The server rejects a delete that carries a value (PROTOCOL.md, push rule 2);
// the request must re-encode with it, not as a valid delete. Found by fuzz_protocol.
TEST(PushCodec, ADeleteWithAValueKeepsItThroughARoundTrip) {
  PushRequest request{"client-a", {MakeMutation(1, MutationOp::kDelete, Json(5))}};
  const std::string body = EncodePushRequest(request);
  EXPECT_NE(body.find("\"value\":5"), std::string::npos) << body;
  auto decoded = DecodePushRequest(body, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->mutations[0].value, Json(5));

  request.mutations[0].value = Json();
  EXPECT_EQ(EncodePushRequest(request).find("\"value\""), std::string::npos)
      << "a delete without a value sends none";
}

TEST(PushCodec, RequestRoundTrips) {
  const PushRequest request = SampleRequest();
  auto decoded = DecodePushRequest(EncodePushRequest(request), {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->mutations.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const Mutation& a = request.mutations[i];
    const Mutation& b = decoded->mutations[i];
    EXPECT_EQ(a.seq, b.seq);
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.document, b.document);
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.base_version, b.base_version);
    EXPECT_EQ(a.hlc, b.hlc);
    EXPECT_EQ(b.client_id, "client-a");
  }
}

TEST(PushCodec, ResponseRoundTripsEveryResultKind) {
  const PushRequest request = SampleRequest();
  PushResponse response;
  response.results.push_back(MakeResult(1, PushResultStatus::kApplied, 10, 11));
  PushResult conflict = MakeResult(2, PushResultStatus::kConflict);
  conflict.current =
      Change("notes", "n2", 17, Json{{"title", "theirs"}}, "0001700000000005-000000-other");
  conflict.has_current = true;
  response.results.push_back(conflict);
  response.results.push_back(MakeResult(3, PushResultStatus::kRejected, 0, 0, "too big"));
  auto decoded = DecodePushResponse(EncodePushResponse(response), request, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->results[0].version, 11u);
  EXPECT_EQ(decoded->results[1].current.version, 17u);
  EXPECT_EQ(decoded->results[1].current.state.value, (Json{{"title", "theirs"}}));
  EXPECT_EQ(decoded->results[2].error, "too big");
}

TEST(PushCodec, AConflictMayComeWithoutTheDocument) {
  // The server's answer budget was spent: the next push settles it.
  auto decoded = DecodePushResponse(
      R"({"results":[{"seq":1,"status":"conflict"},{"seq":2,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      SampleRequest(), {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->results[0].status, PushResultStatus::kConflict);
  EXPECT_FALSE(decoded->results[0].has_current);
}

TEST(PushCodec, DuplicatesMayCarryTheDocumentAsItIsNow) {
  const PushRequest request = SampleRequest();
  const DocumentId& id = request.mutations[0].document;
  PushResponse response;
  PushResult with = MakeResult(1, PushResultStatus::kDuplicate);
  with.current = Change(id.collection, id.key, 9, Json{{"title", "x"}});
  with.has_current = true;
  response.results = {with, MakeResult(2, PushResultStatus::kDuplicate),
                      MakeResult(3, PushResultStatus::kDuplicate)};
  auto decoded = DecodePushResponse(EncodePushResponse(response), request, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(decoded->results[0].has_current);
  EXPECT_EQ(decoded->results[0].current.version, 9u);
  EXPECT_FALSE(decoded->results[1].has_current);  // as older servers answer

  response.results[0].current.document.key = "another";
  auto wrong = DecodePushResponse(EncodePushResponse(response), request, {});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("different document"), std::string::npos);
}

TEST(PushCodec, ResponseMustAnswerEverySentMutationInOrder) {
  const PushRequest request = SampleRequest();
  const char* bodies[] = {
      R"({"results":[{"seq":1,"status":"applied","version":3,"previousVersion":0}]})",
      R"({"results":[{"seq":1,"status":"applied","version":3},{"seq":2,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      R"({"results":[{"seq":2,"status":"duplicate"},{"seq":1,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      R"({"results":[{"seq":1,"status":"applied","version":3,"previousVersion":3},{"seq":2,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      R"({"results":[{"seq":1,"status":"exploded"},{"seq":2,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      R"({"results":[{"seq":"1","status":"duplicate"},{"seq":2,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      R"({"results":[{"seq":1,"status":"conflict","current":{"collection":"other","key":"n1","version":2,"deleted":true}},{"seq":2,"status":"duplicate"},{"seq":3,"status":"duplicate"}]})",
      R"({"results":{}})",
      R"([])",
      R"(<html>502 Bad Gateway</html>)",
  };
  for (const char* body : bodies) {
    auto decoded = DecodePushResponse(body, request, {});
    EXPECT_FALSE(decoded.ok()) << body;
    EXPECT_EQ(decoded.status().code(), ErrorCode::kProtocol) << body;
  }
}

TEST(PushCodec, RequestDecoderRejectsBadInput) {
  const char* bodies[] = {
      R"({"protocol":2,"clientId":"a","mutations":[]})",
      R"({"protocol":1,"clientId":"has space","mutations":[]})",
      R"({"protocol":1,"clientId":"a","mutations":[{"seq":2,"collection":"c","key":"k","op":"put","value":1,"baseVersion":0,"hlc":"0000000000001000-000000-a"},{"seq":1,"collection":"c","key":"k","op":"put","value":1,"baseVersion":0,"hlc":"0000000000001000-000000-a"}]})",
      R"({"protocol":1,"clientId":"a","mutations":[{"seq":1,"collection":"c","key":"k","op":"put","value":1,"baseVersion":-1,"hlc":"0000000000001000-000000-a"}]})",
      R"({"protocol":1,"clientId":"a","mutations":[{"seq":0,"collection":"c","key":"k","op":"put","value":1,"baseVersion":0,"hlc":"0000000000001000-000000-a"}]})",
      R"({"protocol":1,"clientId":"a","mutations":[{"seq":1,"collection":"c","key":"k","op":"put","value":1,"baseVersion":0,"hlc":7}]})",
      R"({"protocol":1,"clientId":"a","mutations":[{"seq":1,"collection":"c","key":"k","value":1,"baseVersion":0,"hlc":"0000000000001000-000000-a"}]})",
  };
  for (const char* body : bodies)
    EXPECT_FALSE(DecodePushRequest(body, {}).ok()) << body;
}

// A mutation of the protocol's shape whose content is refused is decoded,
// with the reason, so the server rejects it alone (docs/PROTOCOL.md rule 4).
TEST(PushCodec, RequestDecoderKeepsWhyAWellFormedMutationIsRefused) {
  const std::string stamp = R"("hlc":"0000000000001000-000000-a")";
  const std::pair<std::string, std::string> cases[] = {
      {R"("collection":"","key":"k","op":"put")", "collection is empty"},
      {R"("collection":"c","key":"","op":"put")", "key is empty"},
      {R"("collection":"c","key":")" + std::string(1025, 'k') + R"(","op":"put")", "key is longer"},
      {R"("collection":"c","key":"k","op":"upsert")", "unknown mutation op"},
  };
  for (const auto& [fields, reason] : cases) {
    const std::string body = R"({"protocol":1,"clientId":"a","mutations":[{"seq":1,)" + fields +
                             R"(,"value":1,"baseVersion":0,)" + stamp + "}]}";
    auto decoded = DecodePushRequest(body, {});
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(decoded->refusals.size(), 1u);
    EXPECT_NE(decoded->refusals[0].find(reason), std::string::npos) << decoded->refusals[0];
  }
}

TEST(PushCodec, RequestDecoderRefusesOversizedBatches) {
  PushRequest request;
  request.client_id = "a";
  for (uint64_t i = 1; i <= 11; ++i)
    request.mutations.push_back(MakeMutation(i, MutationOp::kDelete, Json()));
  ProtocolLimits limits;
  limits.max_mutations_per_push = 10;
  EXPECT_EQ(DecodePushRequest(EncodePushRequest(request), limits).status().code(),
            ErrorCode::kTooLarge);
}

TEST(PullCodec, ChangesCarryTheWritersClockAndRefuseAMalformedOne) {
  PullResponseWriter writer;
  writer.AddChange({"notes", "a"}, 3, R"({"x":1})", "0001700000000000-000002-k1");
  auto decoded = DecodePullResponse(std::move(writer).Finish("e.3", false), {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->changes[0].hlc, "0001700000000000-000002-k1");
  auto bad = DecodePullResponse(
      R"({"changes":[{"collection":"n","key":"a","version":1,"deleted":true,"hlc":"yesterday"}],)"
      R"("cursor":"e.1","hasMore":false})",
      {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kProtocol);
}

TEST(PullCodec, ResponseRoundTripsWithTombstones) {
  PullResponse response;
  response.changes.push_back(Change("notes", "a", 5, Json{{"x", 1}}, "0001700000000000-000000-k1"));
  response.changes.push_back(Change("notes", "b", 6, std::nullopt));
  response.cursor = "epoch1.6";
  response.has_more = true;
  response.remaining = 7;
  auto decoded = DecodePullResponse(EncodePullResponse(response), {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->changes.size(), 2u);
  EXPECT_TRUE(decoded->changes[0].state.exists);
  EXPECT_FALSE(decoded->changes[1].state.exists);
  EXPECT_EQ(decoded->cursor, "epoch1.6");
  EXPECT_TRUE(decoded->has_more);
  EXPECT_EQ(decoded->remaining, 7u);
}

// "remaining" is a progress hint beside hasMore: absent is unknown, and the
// last page (hasMore false) carries none.
TEST(PullCodec, RemainingTravelsOnlyWithMorePages) {
  auto more = DecodePullPage(PullResponseWriter().Finish("e.2", true, 40), {});
  ASSERT_TRUE(more.ok()) << more.status().message();
  EXPECT_EQ(more->remaining, 40u);
  EXPECT_EQ(PullResponseWriter().Finish("e.2", true),
            R"({"changes":[],"cursor":"e.2","hasMore":true})");
  EXPECT_EQ(PullResponseWriter().Finish("e.2", false, 40),
            R"({"changes":[],"cursor":"e.2","hasMore":false})");
  auto unknown = DecodePullPage(R"({"changes":[],"cursor":"e.2","hasMore":true})", {});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->remaining, std::nullopt);
}

TEST(PullCodec, ResponseDecoderRejectsBadInput) {
  const char* bodies[] = {
      R"({"changes":[],"hasMore":false})",
      R"({"changes":[],"cursor":"a b","hasMore":false})",
      R"({"changes":[],"cursor":"x","hasMore":"no"})",
      R"({"changes":[{"collection":"c","key":"k","version":1,"deleted":false}],"cursor":"x","hasMore":false})",
      R"({"changes":[{"collection":"c","key":"k","version":1.5,"deleted":true}],"cursor":"x","hasMore":false})",
      R"({"changes":[7],"cursor":"x","hasMore":false})",
  };
  for (const char* body : bodies)
    EXPECT_FALSE(DecodePullResponse(body, {}).ok()) << body;
}

TEST(PullCodec, ResponseDecoderRefusesTooManyChanges) {
  PullResponse response;
  for (int i = 0; i < 6; ++i)
    response.changes.push_back(Change("c", std::to_string(i), 1, std::nullopt));
  ProtocolLimits limits;
  limits.max_changes_per_pull = 5;
  EXPECT_EQ(DecodePullResponse(EncodePullResponse(response), limits).status().code(),
            ErrorCode::kTooLarge);
}

// DecodePullPage (the client's decoder: a scanner, DecodePullResponse as
// the fallback) must agree with DecodePullResponse on every body: the same
// acceptance, the same error, and values that parse to the same JSON.
void ExpectPagesAgree(std::string_view body, const ProtocolLimits& limits = {}) {
  SCOPED_TRACE(std::string(body.substr(0, 300)));
  auto page = DecodePullPage(body, limits);
  auto response = DecodePullResponse(body, limits);
  ASSERT_EQ(page.ok(), response.ok()) << (page.ok() ? response.status() : page.status()).message();
  if (!page.ok()) {
    EXPECT_EQ(page.status().code(), response.status().code());
    EXPECT_EQ(page.status().message(), response.status().message());
    return;
  }
  EXPECT_EQ(page->cursor, response->cursor);
  EXPECT_EQ(page->has_more, response->has_more);
  EXPECT_EQ(page->remaining, response->remaining);
  ASSERT_EQ(page->changes.size(), response->changes.size());
  for (std::size_t i = 0; i < page->changes.size(); ++i) {
    const PulledChange& pulled = page->changes[i];
    const ServerDocument& decoded = response->changes[i];
    EXPECT_EQ(pulled.document, decoded.document);
    EXPECT_EQ(pulled.version, decoded.version);
    EXPECT_EQ(pulled.exists, decoded.state.exists);
    EXPECT_EQ(pulled.hlc, decoded.hlc);
    if (decoded.state.exists) {
      auto value = ParseJson(pulled.value_json);
      ASSERT_TRUE(value.ok()) << pulled.value_json;
      EXPECT_EQ(*value, decoded.state.value) << pulled.value_json;
    } else {
      EXPECT_TRUE(pulled.value_json.empty());
    }
  }
}

Json RandomValue(std::mt19937& random, int depth) {
  static const std::vector<std::string> strings = {
      "", "a", "q\"b\\s/", "line\nbreak\x01", "caf\xC3\xA9", "\xF0\x9F\x98\x80", "{[,]}"};
  switch (random() % (depth > 0 ? 9 : 6)) {
    case 0:
      return nullptr;
    case 1:
      return random() % 2 == 0;
    case 2:
      return static_cast<int64_t>(random()) - (1LL << 31);
    case 3:
      return (random() % 2 ? 1.0 : -1.0) * (random() % 100000) / 64.0;  // exact in binary
    case 4:
      return strings[random() % strings.size()];
    case 5:
      return (static_cast<uint64_t>(random()) << 32) | random();  // past 18 digits too
    case 6: {
      Json array = Json::array();
      for (int i = static_cast<int>(random() % 4); i > 0; --i)
        array.push_back(RandomValue(random, depth - 1));
      return array;
    }
    default: {
      Json object = Json::object();
      for (int i = static_cast<int>(random() % 4); i > 0; --i)
        object[strings[random() % strings.size()] + std::to_string(i)] =
            RandomValue(random, depth - 1);
      return object;
    }
  }
}

TEST(PullPage, AgreesWithTheFullDecoderOnWrittenPages) {
  std::mt19937 random(11);
  for (int round = 0; round < 300; ++round) {
    PullResponseWriter writer;
    const int changes = static_cast<int>(random() % 6);
    for (int i = 0; i < changes; ++i) {
      const bool tombstone = random() % 5 == 0;
      Json value = RandomValue(random, 4);
      if (value.is_null()) value = Json::object();
      const std::string hlc = random() % 3 == 0 ? "" : "0001700000000000-000002-k1";
      writer.AddChange({"notes", "k\xC3\xA9" + std::to_string(i)}, 1 + random() % 1000,
                       tombstone ? std::nullopt : std::optional<std::string>(DumpJson(value)), hlc);
    }
    ExpectPagesAgree(std::move(writer).Finish("e." + std::to_string(round), round % 2 == 0));
  }
}

// The form PullResponseWriter writes is scanned, not parsed: the value comes
// back as the very text the server sent (a parse and dump would sort keys).
TEST(PullPage, KeepsEachValueAsTheTextTheServerSent) {
  PullResponseWriter writer;
  writer.AddChange({"c", "k"}, 4, R"({"b":[1,-2.5,"\u00e9"],"a":{}})",
                   "0001700000000000-000002-k1");
  writer.AddChange({"c", "gone"}, 5, std::nullopt);
  auto page = DecodePullPage(std::move(writer).Finish("e.5", true), {});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->changes.size(), 2u);
  EXPECT_EQ(page->changes[0].value_json, R"({"b":[1,-2.5,"\u00e9"],"a":{}})");
  EXPECT_TRUE(page->changes[0].exists);
  EXPECT_FALSE(page->changes[1].exists);
  EXPECT_EQ(page->cursor, "e.5");
  EXPECT_TRUE(page->has_more);
}

TEST(PullPage, AgreesWithTheFullDecoderOnOtherFormsAndBadInput) {
  const std::string change = R"({"collection":"c","key":"k","version":2,"deleted":false,"value":)";
  const std::vector<std::string> bodies = {
      // Other forms the scanner hands on: spacing, member order, numbers it leaves alone.
      std::string(R"({ "changes": [], "cursor": "x", "hasMore": false })"),
      std::string(R"({"cursor":"x","hasMore":true,"changes":[]})"),
      std::string(R"({"changes":[],"cursor":"x","hasMore":true,"remaining":3})"),
      std::string(R"({"changes":[],"cursor":"x","hasMore":false,"remaining":3})"),
      std::string(R"({"changes":[],"cursor":"x","hasMore":true,"remaining":-1})"),
      std::string(R"({"changes":[],"cursor":"x","hasMore":true,"remaining":"3"})"),
      R"({"changes":[)" + change + R"({"n":1e3}}],"cursor":"x","hasMore":false})",
      R"({"changes":[)" + change + R"([12345678901234567890]}],"cursor":"x","hasMore":false})",
      R"({"changes":[)" + change + R"(0.1234567890123456789}],"cursor":"x","hasMore":false})",
      R"({"changes":[)" + change + R"({"s":"\u00e9\ud83d\ude00"}}],"cursor":"x","hasMore":false})",
      R"({"changes":[{"key":"k","collection":"c","version":2,"deleted":true}],"cursor":"x","hasMore":false})",
      R"({"changes":[{"collection":"c","key":"k","version":2,"deleted":true,"value":1}],"cursor":"x","hasMore":false})",
      // Bad input: each must fail as DecodePullResponse fails it.
      R"({"changes":[)" + change + R"(null}],"cursor":"x","hasMore":false})",
      R"({"changes":[)" + change + R"({"a":1,}}],"cursor":"x","hasMore":false})",
      R"({"changes":[)" + change + R"("\ud83d"}],"cursor":"x","hasMore":false})",
      R"({"changes":[)" + change + "\"\xC3\"}],\"cursor\":\"x\",\"hasMore\":false}",
      R"({"changes":[)" + change + R"(01}],"cursor":"x","hasMore":false})",
      R"({"changes":[{"collection":"","key":"k","version":2,"deleted":true}],"cursor":"x","hasMore":false})",
      R"({"changes":[{"collection":"c","key":"k","version":-2,"deleted":true}],"cursor":"x","hasMore":false})",
      R"({"changes":[{"collection":"c","key":"k","version":2,"deleted":true,"hlc":"yesterday"}],"cursor":"x","hasMore":false})",
      std::string(R"({"changes":[],"cursor":"a b","hasMore":false})"),
      std::string(R"({"changes":[],"cursor":"x","hasMore":false}x)"),
      std::string(R"({"changes":[],"cursor":"x","hasMore":false)"),
      std::string(R"({"changes":[7],"cursor":"x","hasMore":false})"),
  };
  for (const std::string& body : bodies) {
    ExpectPagesAgree(body);
  }
}

TEST(PullPage, AgreesWithTheFullDecoderAtTheLimits) {
  ProtocolLimits limits;
  limits.max_changes_per_pull = 2;
  limits.max_depth = 6;
  const auto page = [](int changes, const std::string& value) {
    PullResponseWriter writer;
    for (int i = 0; i < changes; ++i)
      writer.AddChange({"c", std::to_string(i)}, 1, value);
    return std::move(writer).Finish("x", false);
  };
  ExpectPagesAgree(page(2, "1"), limits);
  ExpectPagesAgree(page(3, "1"), limits);         // too many changes
  ExpectPagesAgree(page(1, "[[[]]]"), limits);    // depth 3 + 3: at the limit
  ExpectPagesAgree(page(1, "[[[[]]]]"), limits);  // one level past it
  ExpectPagesAgree(page(1, R"({"a":{"b":[{}]}})"), limits);
  limits.max_body_bytes = 40;
  ExpectPagesAgree(page(1, R"("a string long enough to pass forty bytes")"), limits);
}

TEST(PullCodec, QueryRoundTripsAndClampsTheLimit) {
  ProtocolLimits limits;
  limits.max_changes_per_pull = 100;
  const std::string target = EncodePullTarget({"e.42", 500});
  ASSERT_EQ(target.rfind("/v1/pull?", 0), 0u);
  auto decoded = DecodePullQuery(target.substr(target.find('?') + 1), limits);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->cursor, "e.42");
  EXPECT_EQ(decoded->limit, 100u);
  EXPECT_FALSE(DecodePullQuery("limit=abc", limits).ok());
  EXPECT_EQ(DecodePullQuery("cursor=%00", limits).status().code(), ErrorCode::kCursorExpired);
  EXPECT_EQ(DecodePullQuery("cursor=" + std::string(limits.max_cursor_bytes + 1, 'a'), limits)
                .status()
                .code(),
            ErrorCode::kCursorExpired);
}

TEST(PullCodec, ScopeRoundTripsWithAnyCollectionName) {
  PullRequest request{"e.42", 10};
  request.scope.include = std::vector<std::string>{"notes", "a,b&c=d", "caf\u00e9 %"};
  request.scope.exclude = {"readings"};
  const std::string target = EncodePullTarget(request);
  EXPECT_NE(target.find("collections=notes,a%2Cb%26c%3Dd,"), std::string::npos) << target;
  auto decoded = DecodePullQuery(target.substr(target.find('?') + 1), ProtocolLimits{});
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->scope, request.scope);
  EXPECT_TRUE(decoded->scope.Admits("a,b&c=d"));
  EXPECT_FALSE(decoded->scope.Admits("readings"));
  EXPECT_FALSE(decoded->scope.Admits("tasks"));
}

TEST(PullCodec, NoScopeMeansEveryCollectionAndAnEmptyListNone) {
  auto all = DecodePullQuery("limit=5", ProtocolLimits{});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->scope.everything());
  EXPECT_EQ(EncodePullTarget(PullRequest{}).find("collections"), std::string::npos);
  auto none = DecodePullQuery("collections=", ProtocolLimits{});
  ASSERT_TRUE(none.ok());
  ASSERT_TRUE(none->scope.include.has_value());
  EXPECT_TRUE(none->scope.include->empty());
  EXPECT_FALSE(none->scope.Admits("notes"));
}

TEST(PullCodec, MalformedScopeIsAProtocolError) {
  for (const char* query : {"collections=a,,b", "collections=a,", "collections=%2", "exclude=%zz",
                            "collections=%00", "exclude=a%FF"}) {
    auto decoded = DecodePullQuery(query, ProtocolLimits{});
    ASSERT_FALSE(decoded.ok()) << query;
    EXPECT_EQ(decoded.status().code(), ErrorCode::kProtocol) << query;
  }
}

// Random corruption of valid bodies must only ever produce errors or valid
// values: never a crash, an abort or an escaped exception.
TEST(ProtocolDecoders, SurviveRandomCorruption) {
  const PushRequest request = SampleRequest();
  PushResponse push_response;
  for (const Mutation& m : request.mutations)
    push_response.results.push_back(MakeResult(m.seq, PushResultStatus::kApplied, 0, m.seq));
  PullResponse pull_response;
  pull_response.changes.push_back(
      {{"notes", "a"}, 5, {true, Json{{"x", {1, 2, {{"y", "z"}}}}}}, {}});
  pull_response.cursor = "e.5";
  const std::string originals[] = {EncodePushRequest(request), EncodePushResponse(push_response),
                                   EncodePullResponse(pull_response)};
  std::mt19937 random(1234);
  for (int round = 0; round < 20000; ++round) {
    std::string body = originals[round % 3];
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const std::size_t at = random() % body.size();
      switch (random() % 3) {
        case 0:
          body[at] = static_cast<char>(random());
          break;
        case 1:
          body.erase(at, 1 + random() % 8);
          break;
        default:
          body.insert(at, std::string(1 + random() % 3, "{}[]\",:0\\"[random() % 9]));
          break;
      }
    }
    EXPECT_NO_THROW({
      (void)DecodePushRequest(body, {});
      (void)DecodePushResponse(body, request, {});
      (void)DecodePullResponse(body, {});
    });
  }
}

TEST(DescribeErrorBody, PrefersTheMessageAndBoundsTheExcerpt) {
  EXPECT_EQ(DescribeErrorBody(EncodeErrorBody(ErrorCode::kTooLarge, "batch too big")),
            "batch too big");
  EXPECT_EQ(DescribeErrorBody(std::string(10'000, 'x')).size(), 200u);
}

}  // namespace
}  // namespace ferry
