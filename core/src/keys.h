// Helpers for building ordered store keys. Internal to the core.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/model.h"

namespace ferry::keys {

// Zero-padded to 20 digits so numeric order is byte order.
std::string OrderedNumber(uint64_t number);
std::optional<uint64_t> ParseOrderedNumber(std::string_view text);
// Plain decimal, for values that are not part of a key.
std::optional<uint64_t> ParseDecimal(std::string_view text);

// "collection\0key": NUL cannot occur in either part (ValidateDocumentId).
std::string DocumentSuffix(const DocumentId& id);
std::optional<DocumentId> ParseDocumentSuffix(std::string_view suffix);

}  // namespace ferry::keys
