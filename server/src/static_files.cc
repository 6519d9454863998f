#include "static_files.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "cors.h"  // IsApiPath
#include "ferry/gzip_zlib.h"

namespace ferry::server {
namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";
// Below this, gzip's header and trailer outweigh what it saves.
constexpr std::size_t kCompressAbove = 1024;
// zlib's default. Measured on ferry's 488 KB wasm (a loaded 2-core
// machine): level 1 gives 219 KB in 18 ms, 6 gives 191 KB in 70 ms, 9 gives
// 190 KB in 110 ms. The cache below pays it once per file.
constexpr int kGzipLevel = 6;
// What the cache of compressed files may hold: a web app's text and wasm,
// compressed, fit many times over.
constexpr std::size_t kGzipCacheBytes = 32u << 20;

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

// A backslash (a separator elsewhere) or a control character: NUL would end
// the name the file system sees (`file%00.html` is `file`).
bool IsForbidden(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return c == '\\' || byte < 0x20 || byte == 0x7f;
}

// The path below the root, or nullopt when it could leave the root.
std::optional<std::filesystem::path> RelativePath(std::string_view url_path) {
  std::filesystem::path relative;
  std::size_t start = 1;
  while (start <= url_path.size()) {
    std::size_t end = url_path.find('/', start);
    if (end == std::string_view::npos) end = url_path.size();
    const std::string_view segment = url_path.substr(start, end - start);
    // `.` and `..` would climb; other dot names are hidden files (.env,
    // .git/config) that a build folder should not publish.
    if (segment.starts_with('.') || std::any_of(segment.begin(), segment.end(), IsForbidden)) {
      return std::nullopt;
    }
    if (!segment.empty()) relative /= std::string(segment);
    start = end + 1;
  }
  return relative;
}

// Whether `path`, with symlinks resolved, is `real_root` or below it.
bool InsideRoot(const std::filesystem::path& real_root, const std::filesystem::path& path) {
  std::error_code error;
  const std::filesystem::path real = std::filesystem::canonical(path, error);
  if (error) return false;
  const std::filesystem::path relative = real.lexically_relative(real_root);
  return !relative.empty() && *relative.begin() != "..";
}

std::optional<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return std::move(contents).str();
}

// FILE.gz, if present, inside the root and not older than FILE (else it may
// hold old content).
std::optional<std::string> ReadPrecompressed(const std::filesystem::path& real_root,
                                             const std::filesystem::path& path) {
  std::filesystem::path compressed = path;
  compressed += ".gz";
  std::error_code error;
  if (!std::filesystem::is_regular_file(compressed, error)) return std::nullopt;
  if (!InsideRoot(real_root, compressed)) return std::nullopt;
  const auto compressed_time = std::filesystem::last_write_time(compressed, error);
  if (error) return std::nullopt;
  const auto file_time = std::filesystem::last_write_time(path, error);
  if (error || compressed_time < file_time) return std::nullopt;
  return ReadFile(compressed);
}

}  // namespace

// Which version of a file a cached compression belongs to.
struct FileStamp {
  std::uintmax_t size = 0;
  std::filesystem::file_time_type modified;
  bool operator==(const FileStamp& other) const {
    return size == other.size && modified == other.modified;
  }
};

namespace {

std::optional<FileStamp> StampOf(const std::filesystem::path& path) {
  std::error_code error;
  FileStamp stamp{std::filesystem::file_size(path, error), {}};
  if (error) return std::nullopt;
  stamp.modified = std::filesystem::last_write_time(path, error);
  if (error) return std::nullopt;
  return stamp;
}

// A page route of a single-page app (/todos/42), as opposed to a file.
bool IsAppRoute(std::string_view url_path, std::string_view accept) {
  const std::string_view last_segment = url_path.substr(url_path.rfind('/') + 1);
  return last_segment.find('.') == std::string_view::npos &&
         accept.find("text/html") != std::string_view::npos;
}

}  // namespace

// Files compressed on the fly, so an unchanged file costs zlib once, not on
// every request. An entry is used only while the file's size and time match;
// the whole cache starts over when it would exceed kGzipCacheBytes, which
// keeps it bounded and simple (an app has a handful of such files).
class GzipCache {
 public:
  std::optional<std::string> Find(const std::string& path, const FileStamp& stamp) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(path);
    if (it == entries_.end() || !(it->second.stamp == stamp)) return std::nullopt;
    return it->second.body;
  }

  void Store(const std::string& path, const FileStamp& stamp, const std::string& body) {
    if (body.size() > kGzipCacheBytes) return;
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(path); it != entries_.end()) {
      bytes_ -= it->second.body.size();
      entries_.erase(it);
    }
    if (bytes_ + body.size() > kGzipCacheBytes) {
      entries_.clear();
      bytes_ = 0;
    }
    entries_[path] = {stamp, body};
    bytes_ += body.size();
  }

 private:
  struct Entry {
    FileStamp stamp;
    std::string body;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::size_t bytes_ = 0;
};

bool IsHashedAssetName(std::string_view file_name) {
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view stem = file_name.substr(0, dot);
  return EndsInHexHash(stem) || EndsInBase64UrlHash(stem);
}

std::optional<std::string> DecodeUrlPath(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      decoded += path[i];
      continue;
    }
    if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(path[i + 2]))) {
      return std::nullopt;
    }
    decoded += static_cast<char>(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return decoded;
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

StaticFiles::StaticFiles(std::filesystem::path root)
    : root_(std::move(root)), gzip_cache_(std::make_unique<GzipCache>()) {
  std::error_code error;
  real_root_ = std::filesystem::canonical(root_, error);
  if (error) real_root_ = root_;  // checked as a folder at start; files must still resolve inside
}
StaticFiles::~StaticFiles() = default;

namespace {

std::optional<std::string> Compress(GzipCache& cache, const std::filesystem::path& real_root,
                                    const std::filesystem::path& path, const std::string& body,
                                    const std::optional<FileStamp>& stamp) {
  if (std::optional<std::string> precompressed = ReadPrecompressed(real_root, path)) {
    return precompressed;
  }
  if (body.size() < kCompressAbove) return std::nullopt;
  if (stamp) {
    if (std::optional<std::string> cached = cache.Find(path.string(), *stamp)) {
      return cached;
    }
  }
  std::optional<std::string> compressed = GzipZlib(body, kGzipLevel);
  if (compressed && stamp) cache.Store(path.string(), *stamp, *compressed);
  return compressed;
}

StaticResponse ServeFile(GzipCache& cache, const std::filesystem::path& real_root,
                         const std::filesystem::path& path, std::string_view accept_encoding) {
  StaticResponse response;
  if (!InsideRoot(real_root, path)) return response;  // a symlink out of the folder
  // Stamped before the read: if the file changes in between, the cache
  // holds new content under the old stamp, and the next request (seeing the
  // new stamp) compresses again. Stamped after, it could keep old content
  // under the new stamp.
  const std::optional<FileStamp> stamp = StampOf(path);
  std::optional<std::string> body = ReadFile(path);
  if (!body) return response;
  const std::string file_name = path.filename().string();
  const FileType& type = TypeOf(file_name);
  response.status = 200;
  response.body = std::move(*body);
  response.content_type = type.content_type;
  response.cache_control = IsHashedAssetName(file_name) ? kImmutable : kRevalidate;
  response.vary_accept_encoding = type.compressible;
  if (type.compressible && AcceptsGzip(accept_encoding)) {
    if (std::optional<std::string> compressed =
            Compress(cache, real_root, path, response.body, stamp)) {
      response.body = std::move(*compressed);
      response.content_encoding = "gzip";
    }  // else small, or zlib out of memory: sent as it is
  }
  return response;
}

}  // namespace

StaticResponse StaticFiles::Serve(const StaticRequest& request) {
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
    return ServeFile(*gzip_cache_, real_root_, path, request.accept_encoding);
  }
  if (IsAppRoute(request.path, request.accept)) {
    return ServeFile(*gzip_cache_, real_root_, root_ / "index.html", request.accept_encoding);
  }
  return {};
}

}  // namespace ferry::server
