// JsonScanner (core/src/json_scan.h) must read what it accepts exactly as
// ParseJson does and refuse everything ParseJson refuses: the outbox decoder
// trusts its answers and falls back to ParseJson only when it refuses.
#include "json_scan.h"

#include <gtest/gtest.h>

#include <random>

#include "ferry/json.h"

namespace ferry {
namespace {

// ParseJson's reading of a JSON string literal, or nullopt when it refuses.
std::optional<std::string> Reference(std::string_view literal) {
  auto parsed = ParseJson(literal);
  if (!parsed.ok() || !parsed->is_string()) return std::nullopt;
  return parsed->get<std::string>();
}

std::optional<std::string> Scanned(std::string_view literal) {
  JsonScanner scan(literal);
  auto text = scan.String();
  if (!text || !scan.AtEnd()) return std::nullopt;
  return text;
}

TEST(JsonScanner, StringsReadAsParseJsonReadsThem) {
  for (std::string_view literal : {R"("")", R"("plain")", R"("a\"b\\c\/d")", R"("\b\f\n\r\t")",
                                   R"("\u00e9\u20AC")", R"("\ud83d\ude00")", R"("\u0000x")",
                                   "\"caf\xC3\xA9\"", "\"\xF0\x9F\x98\x80\"", "\"\x7F\""}) {
    SCOPED_TRACE(literal);
    ASSERT_TRUE(Reference(literal).has_value());
    EXPECT_EQ(Scanned(literal), Reference(literal));
  }
}

TEST(JsonScanner, RefusesWhatParseJsonRefuses) {
  for (std::string_view literal :
       {R"("unterminated)", R"("\x")", R"("\u12")", R"("\u12G4")", R"("\ud83d")", R"("\ud83dx")",
        R"("\ud83d\u0041")", R"("\ude00")", "\"raw\nnewline\"", "\"\x01\"", "\"\xC3\"",
        "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xFF\"", R"(x)", R"('single')"}) {
    SCOPED_TRACE(literal);
    EXPECT_FALSE(Reference(literal).has_value());
    EXPECT_FALSE(Scanned(literal).has_value());
  }
}

TEST(JsonScanner, RandomStringsRoundTripThroughTheEncoder) {
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int length = static_cast<int>(random() % 12);
    for (int i = 0; i < length; ++i) {
      // Whole characters only, so the text stays valid UTF-8.
      static const std::vector<std::string> pieces = {"a",
                                                      "b",
                                                      "\"",
                                                      "\\",
                                                      "/",
                                                      "\b",
                                                      "\f",
                                                      "\n",
                                                      "\r",
                                                      "\t",
                                                      "\x01",
                                                      "\x1F",
                                                      "\x7F",
                                                      " ",
                                                      "\xC3\xA9",
                                                      "\xE2\x82\xAC",
                                                      "\xF0\x9F\x98\x80"};
      text += pieces[random() % pieces.size()];
    }
    std::string literal;
    AppendJsonString(literal, text);
    SCOPED_TRACE(literal);
    EXPECT_EQ(Scanned(literal), text);
    EXPECT_EQ(Reference(literal), text);
  }
}

TEST(JsonScanner, UnsignedIntegersOnly) {
  const auto read = [](std::string_view text) -> std::optional<uint64_t> {
    JsonScanner scan(text);
    auto value = scan.Unsigned();
    if (!value || !scan.AtEnd()) return std::nullopt;
    return value;
  };
  EXPECT_EQ(read("0"), 0u);
  EXPECT_EQ(read("42"), 42u);
  EXPECT_EQ(read("18446744073709551615"), UINT64_MAX);
  for (std::string_view refused : {"", "-1", "01", "1.5", "1e3", "18446744073709551616", "x"}) {
    SCOPED_TRACE(refused);
    EXPECT_FALSE(read(refused).has_value());
  }
}

TEST(JsonScanner, ConsumeTakesExactlyTheLiteral) {
  JsonScanner scan(R"({"op":1})");
  EXPECT_FALSE(scan.Consume(R"({ "op")"));
  EXPECT_TRUE(scan.Consume(R"({"op":)"));
  EXPECT_EQ(scan.Unsigned(), 1u);
  EXPECT_TRUE(scan.Consume("}"));
  EXPECT_TRUE(scan.AtEnd());
}

}  // namespace
}  // namespace ferry
