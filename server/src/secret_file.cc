#include "secret_file.h"

#include <fstream>
#include <sstream>
#include <string_view>

namespace ferry::server {
namespace {

bool IsSpaceOrControl(unsigned char c) {
  return c <= 0x20 || c == 0x7f;
}

}  // namespace

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Status(ErrorCode::kIo, "cannot read " + path);
  std::stringstream content;
  content << file.rdbuf();
  std::string_view secret = content.view();
  while (!secret.empty() && IsSpaceOrControl(static_cast<unsigned char>(secret.front())))
    secret.remove_prefix(1);
  while (!secret.empty() && IsSpaceOrControl(static_cast<unsigned char>(secret.back())))
    secret.remove_suffix(1);
  if (secret.size() < 16) {
    return Status(ErrorCode::kInvalidArgument,
                  path + " must hold one secret of at least 16 characters");
  }
  for (const char c : secret) {
    if (IsSpaceOrControl(static_cast<unsigned char>(c))) {
      return Status(ErrorCode::kInvalidArgument,
                    path + ": the secret holds whitespace or a control character");
    }
  }
  return std::string(secret);
}

}  // namespace ferry::server
