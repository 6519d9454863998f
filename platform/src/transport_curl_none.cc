// CurlTransport left out of the build (FERRY_WITH_CURL=OFF): mobile hosts
// (React Native) carry every request themselves through a host transport
// (ClientOptions::custom_transport), so their build needs no libcurl. A
// client opened without a custom transport learns why it cannot sync.
#include "ferry/transport_curl.h"

namespace ferry {

Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(Options /*options*/) {
  return Status(ErrorCode::kInvalidArgument,
                "this build of Ferry has no libcurl transport (FERRY_WITH_CURL=OFF): "
                "open the client with a host transport");
}

}  // namespace ferry
