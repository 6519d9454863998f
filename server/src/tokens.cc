#include "tokens.h"

#include <fstream>
#include <sstream>

namespace ferry::server {

Result<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Status(ErrorCode::kIo, "cannot read tokens file " + path);
  std::stringstream text;
  text << file.rdbuf();
  return Parse(text.str());
}

Result<TokenTable> TokenTable::Parse(std::string_view text) {
  TokenTable table;
  int line_number = 0;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    ++line_number;
    std::istringstream words(line);
    std::string token, user, extra;
    if (!(words >> token) || token[0] == '#') continue;
    if (!(words >> user) || (words >> extra)) {
      // The line itself is not echoed: it holds a token.
      return Status(ErrorCode::kInvalidArgument, "tokens file line " + std::to_string(line_number) +
                                                     ": expected \"token user\"");
    }
    table.users_[token] = user;
  }
  return table;
}

std::optional<std::string> TokenTable::UserFor(std::string_view authorization) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  auto found = users_.find(authorization.substr(kScheme.size()));
  if (found == users_.end()) return std::nullopt;
  return found->second;
}

}  // namespace ferry::server
