#include "keys.h"

#include <charconv>
#include <cstdio>

namespace ferry::keys {

std::string OrderedNumber(uint64_t number) {
  char buffer[21];
  std::snprintf(buffer, sizeof buffer, "%020llu", static_cast<unsigned long long>(number));
  return std::string(buffer, 20);
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseOrderedNumber(std::string_view text) {
  if (text.size() != 20) return std::nullopt;
  return ParseDecimal(text);
}

std::string DocumentSuffix(const DocumentId& id) {
  std::string suffix;
  suffix.reserve(id.collection.size() + 1 + id.key.size());
  suffix += id.collection;
  suffix += '\0';
  suffix += id.key;
  return suffix;
}

std::optional<DocumentId> ParseDocumentSuffix(std::string_view suffix) {
  const std::size_t separator = suffix.find('\0');
  if (separator == std::string_view::npos) return std::nullopt;
  DocumentId id{std::string(suffix.substr(0, separator)),
                std::string(suffix.substr(separator + 1))};
  if (!ValidateDocumentId(id).ok()) return std::nullopt;
  return id;
}

}  // namespace ferry::keys
