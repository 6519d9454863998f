#include "ferry/json.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

Json J(std::string_view text) {
  return Json::parse(text);
}

TEST(ParseJson, RejectsMalformedTextWithoutThrowing) {
  for (std::string_view text :
       {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1}}", "[1] [2]", "\"\\u12\""}) {
    auto parsed = ParseJson(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kProtocol) << text;
  }
}

TEST(ParseJson, ReadsEveryKindOfValue) {
  auto parsed = ParseJson(R"( {"s":"\u00e9t\u00e9","n":-1.5e3,"u":18446744073709551615,"i":-7,
                               "a":[true,false,null,{}],"o":{"k":[]}} )");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)["s"], "\u00e9t\u00e9");
  EXPECT_EQ((*parsed)["n"].get<double>(), -1500.0);
  EXPECT_EQ((*parsed)["u"].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ((*parsed)["i"].get<int64_t>(), -7);
  EXPECT_EQ(DumpJson((*parsed)["a"]), "[true,false,null,{}]");
  EXPECT_EQ(DumpJson((*parsed)["o"]), R"({"k":[]})");
}

TEST(ParseJson, RejectsDeepNestingBeforeParsing) {
  std::string deep(100'000, '[');
  auto parsed = ParseJson(deep, {.max_bytes = 1 << 20, .max_depth = 64});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), ErrorCode::kTooLarge);
}

TEST(ParseJson, BracketsInsideStringsDoNotCountAsNesting) {
  auto parsed = ParseJson("{\"a\":\"[[[[[[[[[[\"}", {.max_bytes = 1 << 20, .max_depth = 2});
  EXPECT_TRUE(parsed.ok());
}

TEST(ParseJson, RejectsOversizedText) {
  auto parsed = ParseJson("[1,2,3]", {.max_bytes = 3, .max_depth = 8});
  EXPECT_EQ(parsed.status().code(), ErrorCode::kTooLarge);
}

TEST(DumpJson, ReplacesInvalidUtf8InsteadOfThrowing) {
  Json value = std::string("\xff\xfe");
  EXPECT_NO_THROW({ (void)DumpJson(value); });
}

// RFC 7396, Appendix A.
TEST(MergePatch, FollowsTheRfcExamples) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ApplyMergePatch(J(c.target), J(c.patch)), J(c.result))
        << c.target << " + " << c.patch;
  }
}

TEST(ComposeMergePatches, ComposedPatchEqualsSequentialApplication) {
  const char* targets[] = {R"({})", R"({"a":{"x":1,"y":2},"b":3})", R"({"a":5})", R"({"c":[1]})"};
  const std::pair<const char*, const char*> patches[] = {
      {R"({"a":{"x":9}})", R"({"a":{"y":null},"b":4})"},
      {R"({"a":null})", R"({"b":null})"},
      {R"({"b":1})", R"({"a":{"z":{"w":1}}})"},
      {R"({"a":{"x":null}})", R"({"a":{"x":2}})"},
  };
  for (const auto& [first, second] : patches) {
    auto composed = ComposeMergePatches(J(first), J(second));
    ASSERT_TRUE(composed.has_value()) << first << " then " << second;
    for (const char* target : targets) {
      EXPECT_EQ(ApplyMergePatch(J(target), *composed),
                ApplyMergePatch(ApplyMergePatch(J(target), J(first)), J(second)))
          << target << " + " << first << " + " << second;
    }
  }
}

TEST(ComposeMergePatches, RefusesWhenNoSinglePatchCanSayIt) {
  // Deleting "a" and then building a fresh object there replaces "a"; a single
  // merge patch would merge into an existing "a" instead.
  EXPECT_FALSE(ComposeMergePatches(J(R"({"a":null})"), J(R"({"a":{"x":1}})")).has_value());
  EXPECT_FALSE(ComposeMergePatches(J(R"({"a":5})"), J(R"({"a":{"x":1}})")).has_value());
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

TEST(AppendJsonString, ProducesWhatTheParserReadsBack) {
  const std::string samples[] = {"plain",
                                 "quote \" and \\ backslash",
                                 "tab\tnew\nline\r",
                                 std::string("nul\0byte", 8),
                                 "\x01\x1f control",
                                 "ünïcødé ✓ 😀"};
  for (const std::string& sample : samples) {
    std::string out;
    AppendJsonString(out, sample);
    auto parsed = ParseJson(out);
    ASSERT_TRUE(parsed.ok()) << out;
    EXPECT_EQ(parsed->get<std::string>(), sample);
  }
}

TEST(IsValidUtf8, AcceptsUtf8AndRefusesEverythingElse) {
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8("ünïcødé ✓ 😀"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

}  // namespace
}  // namespace ferry
