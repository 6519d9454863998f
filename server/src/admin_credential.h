// The app backend's door into ferry-server: /v1/admin/* is authenticated by
// one secret of its own (--admin-token-file), never by a user's token, and
// names the user it writes for in the path. docs/SERVER.md, "Admin endpoint".
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/status.h"
#include "tokens.h"

namespace ferry::server {

// Where the admin routes live: everything under it needs the admin secret.
inline constexpr std::string_view kAdminPrefix = "/v1/admin/";

class AdminCredential {
 public:
  // The secret in `path` (ReadSecretFile's rules), which must not be a
  // token of `users` (that user could otherwise write for every other user).
  [[nodiscard]] static Result<AdminCredential> Load(const std::string& path,
                                                    const TokenTable& users);

  // Whether an Authorization header value is "Bearer <secret>". Compares
  // SHA-256 digests with CRYPTO_memcmp, so the time taken tells an attacker
  // neither how many leading bytes matched nor the secret's length.
  [[nodiscard]] bool Accepts(std::string_view authorization) const;

 private:
  std::array<unsigned char, 32> digest_{};  // SHA-256 of "Bearer <secret>"
};

// The user of an admin push target path, "/v1/admin/users/{user}/push" with
// {user} percent-decoded; nullopt for any other path or a user name that is
// empty or holds '/', whitespace or control characters (no token names such
// a user).
[[nodiscard]] std::optional<std::string> AdminPushUser(std::string_view path);

}  // namespace ferry::server
