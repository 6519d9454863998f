// A forward-only reader of JSON text with a known shape, for the hot paths
// whose records the core writes itself (the outbox header): no DOM, no
// allocation beyond the strings it returns. Internal to the core.
//
// Every method either consumes what it names and succeeds, or fails and
// leaves the position unspecified: a caller that sees a failure parses the
// text again with ParseJson, so anything this reader does not accept is
// still read correctly, only slower.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : text_(text) {}

  // Consumes `literal` exactly (no whitespace is skipped: compact JSON only).
  [[nodiscard]] bool Consume(std::string_view literal);
  // A string literal, unescaped. Fails on anything ParseJson would refuse
  // (raw control characters, bad escapes, lone surrogates, invalid UTF-8).
  [[nodiscard]] std::optional<std::string> String();
  // A non-negative integer without sign, fraction or exponent.
  [[nodiscard]] std::optional<uint64_t> Unsigned();
  [[nodiscard]] std::optional<bool> Bool();
  // One compact JSON value (no whitespace between tokens) nesting at most
  // `max_depth` levels ([] and {} are one), checked and returned as the text
  // it is, without building it. Numbers are taken only where ParseJson and
  // DumpJson keep them as written: integers of up to 18 digits, decimals of
  // up to 15 digits without exponent; any other number fails, so the caller
  // falls back to ParseJson, which normalises it.
  [[nodiscard]] std::optional<std::string_view> Value(int max_depth);
  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

 private:
  [[nodiscard]] bool SkipValue(int depth_left);
  [[nodiscard]] bool SkipString();
  [[nodiscard]] bool SkipNumber();
  [[nodiscard]] bool SkipContainer(char close, int depth_left);
  [[nodiscard]] bool AppendEscape(std::string& out);
  [[nodiscard]] std::optional<uint32_t> Hex4();

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace ferry
