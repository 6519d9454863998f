// Secrets given to ferry-server in files (--admin-token-file,
// --webhook-token-file) rather than on the command line, where `ps` and
// shell histories would show them.
#pragma once

#include <string>

#include "ferry/status.h"

namespace ferry::server {

// The file's content with surrounding whitespace removed: at least 16
// bytes, no whitespace or control character inside (it goes into a header).
// Errors name the file, never its content.
[[nodiscard]] Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace ferry::server
