#include "gzip_body.h"

#include <zlib.h>

namespace ferry::server {

Result<std::string> InflateGzipBody(std::string_view compressed, std::size_t max_bytes) {
  z_stream stream{};
  // 16 + MAX_WBITS: a gzip header and trailer, not raw deflate or zlib.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    return Status(ErrorCode::kInternal, "zlib could not start inflating");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string body;
  char chunk[16384];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    result = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = sizeof chunk - stream.avail_out;
    if (body.size() + produced > max_bytes) {
      inflateEnd(&stream);
      return Status(ErrorCode::kTooLarge, "request body larger than " + std::to_string(max_bytes) +
                                              " bytes (after decompression)");
    }
    body.append(chunk, produced);
    if (result == Z_BUF_ERROR && stream.avail_in > 0) result = Z_OK;  // output was full
  }
  const bool whole = result == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  if (!whole) return Status(ErrorCode::kInvalidArgument, "the gzip request body is malformed");
  return body;
}

}  // namespace ferry::server
