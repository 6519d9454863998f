#include "ferry/gzip_zlib.h"

#include <zlib.h>

namespace ferry {

std::optional<std::string> GzipZlib(std::string_view input, int level) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer rather than raw zlib.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return std::nullopt;
  std::string output(deflateBound(&stream, static_cast<uLong>(input.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  const int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return std::nullopt;
  output.resize(stream.total_out);
  return output;
}

}  // namespace ferry
