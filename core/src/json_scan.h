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
  bool AtEnd() const { return pos_ == text_.size(); }

 private:
  [[nodiscard]] bool AppendEscape(std::string& out);
  [[nodiscard]] std::optional<uint32_t> Hex4();

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace ferry
