#include "admin_credential.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "secret_file.h"

namespace ferry::server {
namespace {

std::array<unsigned char, 32> Digest(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

bool IsSpaceOrControl(unsigned char c) {
  return c <= 0x20 || c == 0x7f;
}

std::optional<int> HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;  // a '%' needs two hex digits
    const auto high = HexDigit(text[i + 1]);
    const auto low = HexDigit(text[i + 2]);
    if (!high || !low) return std::nullopt;
    decoded += static_cast<char>(*high * 16 + *low);
    i += 2;
  }
  return decoded;
}

}  // namespace

Result<AdminCredential> AdminCredential::Load(const std::string& path, const TokenTable& users) {
  FERRY_ASSIGN_OR_RETURN(const std::string secret, ReadSecretFile(path));
  const std::string header = "Bearer " + secret;
  if (users.UserFor(header)) {
    return Status(ErrorCode::kInvalidArgument,
                  "the admin token is also a user's token in --tokens: give it its own");
  }
  AdminCredential credential;
  credential.digest_ = Digest(header);
  return credential;
}

bool AdminCredential::Accepts(std::string_view authorization) const {
  const std::array<unsigned char, 32> offered = Digest(authorization);
  return CRYPTO_memcmp(offered.data(), digest_.data(), digest_.size()) == 0;
}

std::optional<std::string> AdminPushUser(std::string_view path) {
  constexpr std::string_view kUsers = "/v1/admin/users/";
  constexpr std::string_view kPush = "/push";
  if (!path.starts_with(kUsers) || !path.ends_with(kPush)) return std::nullopt;
  if (path.size() <= kUsers.size() + kPush.size()) return std::nullopt;
  const std::string_view encoded =
      path.substr(kUsers.size(), path.size() - kUsers.size() - kPush.size());
  std::optional<std::string> user = PercentDecode(encoded);
  if (!user || user->empty()) return std::nullopt;
  for (const char c : *user) {
    if (c == '/' || IsSpaceOrControl(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return user;
}

}  // namespace ferry::server
