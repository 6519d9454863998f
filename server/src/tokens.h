// The tokens file: one "token user" pair per line; blank lines and lines
// starting with '#' are ignored. Tokens map to users; a user's data is
// reachable only with one of that user's tokens.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/status.h"

namespace ferry::server {

class TokenTable {
 public:
  [[nodiscard]] static Result<TokenTable> Load(const std::string& path);
  [[nodiscard]] static Result<TokenTable> Parse(std::string_view text);

  // The user for an "Authorization" header value ("Bearer <token>").
  std::optional<std::string> UserFor(std::string_view authorization) const;
  std::size_t size() const { return users_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> users_;
};

}  // namespace ferry::server
