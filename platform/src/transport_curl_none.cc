// CurlTransport left out of the build (FERRY_WITH_CURL=OFF): mobile hosts
// (React Native) carry every request themselves through a host transport
// (ClientOptions::custom_transport), so their build needs no libcurl. A
// client opened without a custom transport learns why it cannot sync.
#include "ferry/transport_curl.h"

namespace ferry {

// The header's signature (by value, as transport_curl.cc moves from it).
// NOLINTNEXTLINE(performance-unnecessary-value-param)
Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(Options /*options*/) {
  return Status(ErrorCode::kInvalidArgument,
                "this build of Ferry has no libcurl transport (FERRY_WITH_CURL=OFF): "
                "open the client with a host transport");
}

// Never constructed (Create fails), but client_native.cc's unique_ptr needs
// the destructor, and with it the class's vtable: these are the members.
struct CurlTransport::Transfer {};
CurlTransport::~CurlTransport() = default;
void CurlTransport::Start(TransportRequest /*request*/) {}
void CurlTransport::Cancel(RequestId /*id*/) {}
std::vector<TransportCompletion> CurlTransport::Wait(TimeMs /*timeout_ms*/) {
  return {};
}
void CurlTransport::Wakeup() {}

}  // namespace ferry
