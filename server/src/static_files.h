// The files of `--static DIR`: a web app served by its own sync server, so
// page and API share an origin. Decisions and file reads only, no HTTP
// library types, so they move with the server to another HTTP stack.
//
// The rules (server/README.md says them to users):
// - Paths under /v1/ are the API's and never name a file. A path with a
//   segment starting with `.` (`..`, `.`, dotfiles such as .env or .git), a
//   backslash, a NUL or another control character is refused (404), whatever
//   encoding carried it: the path given here is already percent-decoded.
// - A file is served only if its real path (symlinks resolved) is inside the
//   folder: a symlink pointing out of it is refused (404).
// - A directory (or a path ending in `/`) means its index.html.
// - Compression: text-like files (.html .js .mjs .css .json .map .svg .wasm
//   .txt .xml .webmanifest) go gzip-encoded when Accept-Encoding allows gzip:
//   FILE.gz next to the file if it is at least as new as the file (a stale
//   one is ignored), else compressed once and kept in a cache of at most
//   32 MiB (an entry serves while the file's size and time are unchanged).
//   Such answers say `Vary: Accept-Encoding`.
// - Cache-Control: a name carrying a content hash (IsHashedAssetName) is
//   `public, max-age=31536000, immutable`; everything else is `no-cache`, so
//   index.html, sw.js, a manifest and files.json update on the next load.
// - Single-page-app fallback: a path that names no file, whose last segment
//   has no extension and whose Accept includes text/html gets DIR/index.html;
//   a missing file with an extension stays 404.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::server {

// Whether a file name carries a content hash as bundlers emit them, so its
// content never changes under this name. The hash is the end of the name
// before its extension, after a `-` or `.`:
// - 8 or more lower-case hex digits, mixing digits and letters (webpack's
//   `[contenthash]`: main.4f3c2a1b.js), or
// - exactly 8 characters of [A-Za-z0-9_-] with a lower-case letter and an
//   upper-case letter or digit (Rollup's and so Vite's `[hash]`:
//   index-BX3k9aQ1.js).
// The rule is narrow on purpose: a file wrongly taken as hashed stays stale
// in browsers for a year, while one wrongly taken as unhashed only costs a
// download (apple-touch-icon.png, my-long-filename.js and report-20240101.pdf
// are not hashed).
[[nodiscard]] bool IsHashedAssetName(std::string_view file_name);

// The path of a request target (before any `?`), percent-decoded; nullopt
// when an escape is malformed.
[[nodiscard]] std::optional<std::string> DecodeUrlPath(std::string_view target);

// Whether an Accept-Encoding value allows gzip (by name or `*`, with q > 0).
[[nodiscard]] bool AcceptsGzip(std::string_view accept_encoding);

struct StaticRequest {
  std::string_view path;  // percent-decoded, starting with '/'
  std::string_view accept;
  std::string_view accept_encoding;
};

struct StaticResponse {
  int status = 404;  // 200 with a body, or 404
  std::string body;  // exactly the bytes to send, encoded as content_encoding says
  std::string content_type;
  std::string content_encoding;  // "gzip" or empty
  std::string cache_control;
  bool vary_accept_encoding = false;
};

class GzipCache;  // static_files.cc

// Thread-safe: the server's worker threads share one StaticFiles.
class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root);
  ~StaticFiles();
  StaticFiles(const StaticFiles&) = delete;
  StaticFiles& operator=(const StaticFiles&) = delete;

  // For GET and HEAD. Reads the file for every request.
  [[nodiscard]] StaticResponse Serve(const StaticRequest& request);

 private:
  std::filesystem::path root_;
  std::filesystem::path real_root_;        // root_ with symlinks resolved
  std::unique_ptr<GzipCache> gzip_cache_;  // never null
};

}  // namespace ferry::server
