// CurlTransport: Transport over libcurl's multi interface. One multi handle
// drives every request on the owner thread; its connection cache keeps
// connections to the endpoint alive between requests. Responses may be gzip
// (Accept-Encoding is sent, curl decodes). TLS peer and host verification are
// on unless the loudly named option turns them off.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ferry/transport.h"

namespace ferry {

class CurlTransport final : public Transport {
 public:
  struct Options {
    std::string ca_bundle_path;  // empty: the system's CA store
    TimeMs connect_timeout_ms = 10'000;
    // Responses larger than this are cut off and reported as transport
    // errors, so a hostile server cannot exhaust memory.
    std::size_t max_response_bytes = 64u << 20;
    // Turns off TLS certificate and host name verification. Only for tests
    // against a throwaway server; never in production.
    bool dangerously_disable_tls_verification = false;
  };

  [[nodiscard]] static Result<std::unique_ptr<CurlTransport>> Create(Options options);
  ~CurlTransport() override;

  void Start(TransportRequest request) override;
  void Cancel(RequestId id) override;
  std::vector<TransportCompletion> Wait(TimeMs timeout_ms) override;
  void Wakeup() override;

 private:
  struct Transfer;
  explicit CurlTransport(Options options, void* multi);
  void Finish(Transfer& transfer, std::vector<TransportCompletion>& done, HttpResponse response);
  // Moves every transfer curl reports as done into `done`.
  void CollectFinished(std::vector<TransportCompletion>& done);

  Options options_;
  void* multi_;  // CURLM*, kept opaque so this header needs no curl include
  std::map<RequestId, std::unique_ptr<Transfer>> transfers_;
  std::vector<TransportCompletion> failed_to_start_;
};

}  // namespace ferry
