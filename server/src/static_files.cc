#include "static_files.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "cors.h"  // IsApiPath
#include "ferry/gzip_zlib.h"

namespace ferry::server {
namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";
// Below this, gzip's header and trailer outweigh what it saves.
constexpr std::size_t kCompressAbove = 1024;
// Computed once per request and never cached, so a better ratio is worth
// the time: level 6 (zlib's default) compresses the 419 KB wasm in a few ms.
constexpr int kGzipLevel = 6;

struct FileType {
  std::string_view extension;
  std::string_view content_type;
  bool compressible;
};

// Module scripts and wasm streaming compilation need these exact types.
constexpr FileType kFileTypes[] = {
    {"html", "text/html; charset=utf-8", true},
    {"js", "text/javascript", true},
    {"mjs", "text/javascript", true},
    {"css", "text/css", true},
    {"json", "application/json", true},
    {"map", "application/json", true},
    {"webmanifest", "application/manifest+json", true},
    {"svg", "image/svg+xml", true},
    {"wasm", "application/wasm", true},
    {"txt", "text/plain; charset=utf-8", true},
    {"xml", "application/xml", true},
    {"png", "image/png", false},
    {"jpg", "image/jpeg", false},
    {"jpeg", "image/jpeg", false},
    {"gif", "image/gif", false},
    {"webp", "image/webp", false},
    {"avif", "image/avif", false},
    {"ico", "image/x-icon", false},
    {"woff", "font/woff", false},
    {"woff2", "font/woff2", false},
    {"gz", "application/gzip", false},
};
constexpr FileType kUnknownType = {"", "application/octet-stream", false};

const FileType& TypeOf(std::string_view file_name) {
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return kUnknownType;
  std::string extension(file_name.substr(dot + 1));
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const FileType& type : kFileTypes) {
    if (type.extension == extension) return type;
  }
  return kUnknownType;
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsSeparator(char c) {
  return c == '-' || c == '.';
}

// webpack: the longest run of hex digits ending the stem, after a separator.
bool EndsInHexHash(std::string_view stem) {
  std::size_t start = stem.size();
  while (start > 0 && IsLowerHex(stem[start - 1]))
    --start;
  const std::string_view hash = stem.substr(start);
  return hash.size() >= 8 && start > 0 && IsSeparator(stem[start - 1]) &&
         std::any_of(hash.begin(), hash.end(), IsDigit) &&
         !std::all_of(hash.begin(), hash.end(), IsDigit);  // a date is no hash
}

// Rollup and Vite: the last 8 characters of the stem, after a separator.
// The hash may itself hold `-` and `_`, so it is found by length.
bool EndsInBase64UrlHash(std::string_view stem) {
  constexpr std::size_t kLength = 8;
  if (stem.size() <= kLength || !IsSeparator(stem[stem.size() - kLength - 1])) return false;
  const std::string_view hash = stem.substr(stem.size() - kLength);
  const auto in_alphabet = [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; };
  const auto lower = [](unsigned char c) { return std::islower(c) != 0; };
  const auto upper_or_digit = [](unsigned char c) { return std::isupper(c) || std::isdigit(c); };
  return std::all_of(hash.begin(), hash.end(), in_alphabet) &&
         std::any_of(hash.begin(), hash.end(), lower) &&
         std::any_of(hash.begin(), hash.end(), upper_or_digit);
}

// The path below the root, or nullopt when it could leave the root.
std::optional<std::filesystem::path> RelativePath(std::string_view url_path) {
  std::filesystem::path relative;
  std::size_t start = 1;
  while (start <= url_path.size()) {
    std::size_t end = url_path.find('/', start);
    if (end == std::string_view::npos) end = url_path.size();
    const std::string_view segment = url_path.substr(start, end - start);
    if (segment == ".." || segment == "." ||
        segment.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos) {
      return std::nullopt;
    }
    if (!segment.empty()) relative /= std::string(segment);
    start = end + 1;
  }
  return relative;
}

std::optional<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return std::move(contents).str();
}

// FILE.gz, if present and not older than FILE (else it may hold old content).
std::optional<std::string> ReadPrecompressed(const std::filesystem::path& path) {
  std::filesystem::path compressed = path;
  compressed += ".gz";
  std::error_code error;
  if (!std::filesystem::is_regular_file(compressed, error)) return std::nullopt;
  const auto compressed_time = std::filesystem::last_write_time(compressed, error);
  if (error) return std::nullopt;
  const auto file_time = std::filesystem::last_write_time(path, error);
  if (error || compressed_time < file_time) return std::nullopt;
  return ReadFile(compressed);
}

void Compress(const std::filesystem::path& path, StaticResponse& response) {
  std::optional<std::string> compressed = ReadPrecompressed(path);
  if (!compressed && response.body.size() >= kCompressAbove) {
    compressed = GzipZlib(response.body, kGzipLevel);
  }
  if (!compressed) return;  // small, or zlib out of memory: sent as it is
  response.body = std::move(*compressed);
  response.content_encoding = "gzip";
}

StaticResponse ServeFile(const std::filesystem::path& path, std::string_view accept_encoding) {
  StaticResponse response;
  std::optional<std::string> body = ReadFile(path);
  if (!body) return response;
  const std::string file_name = path.filename().string();
  const FileType& type = TypeOf(file_name);
  response.status = 200;
  response.body = std::move(*body);
  response.content_type = type.content_type;
  response.cache_control = IsHashedAssetName(file_name) ? kImmutable : kRevalidate;
  response.vary_accept_encoding = type.compressible;
  if (type.compressible && AcceptsGzip(accept_encoding)) Compress(path, response);
  return response;
}

// A page route of a single-page app (/todos/42), as opposed to a file.
bool IsAppRoute(std::string_view url_path, std::string_view accept) {
  const std::string_view last_segment = url_path.substr(url_path.rfind('/') + 1);
  return last_segment.find('.') == std::string_view::npos &&
         accept.find("text/html") != std::string_view::npos;
}

}  // namespace

bool IsHashedAssetName(std::string_view file_name) {
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view stem = file_name.substr(0, dot);
  return EndsInHexHash(stem) || EndsInBase64UrlHash(stem);
}

bool AcceptsGzip(std::string_view accept_encoding) {
  double gzip_quality = -1, any_quality = -1;  // -1: not listed
  std::size_t start = 0;
  while (start < accept_encoding.size()) {
    std::size_t end = accept_encoding.find(',', start);
    if (end == std::string_view::npos) end = accept_encoding.size();
    std::string item(accept_encoding.substr(start, end - start));
    start = end + 1;
    item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return c == ' '; }),
               item.end());
    std::transform(item.begin(), item.end(), item.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::size_t parameters = item.find(';');
    const std::string coding = item.substr(0, parameters);
    const std::size_t q = item.find(";q=");
    const double quality =
        q == std::string::npos ? 1.0 : std::strtod(item.c_str() + q + 3, nullptr);
    if (coding == "gzip") gzip_quality = quality;
    if (coding == "*") any_quality = quality;
  }
  return gzip_quality >= 0 ? gzip_quality > 0 : any_quality > 0;
}

StaticFiles::StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}

StaticResponse StaticFiles::Serve(const StaticRequest& request) const {
  if (IsApiPath(request.path) || request.path == "/v1" || request.path.empty() ||
      request.path.front() != '/') {
    return {};
  }
  const std::optional<std::filesystem::path> relative = RelativePath(request.path);
  if (!relative) return {};  // refused before the fallback: no file, no page
  std::filesystem::path path = root_ / *relative;
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) path /= "index.html";
  if (std::filesystem::is_regular_file(path, error)) {
    return ServeFile(path, request.accept_encoding);
  }
  if (IsAppRoute(request.path, request.accept)) {
    return ServeFile(root_ / "index.html", request.accept_encoding);
  }
  return {};
}

}  // namespace ferry::server
