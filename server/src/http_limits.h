// What one client may make ferry-server spend, each with a flag, and the
// answer it gets past a limit. server/README.md lists them for operators.
// Plain values, copied into the HTTP layer at start; never changed after.
#pragma once

#include <chrono>
#include <cstddef>

namespace ferry::server {

struct HttpLimits {
  // The request line and headers together (--max-header-bytes): 431 past it.
  // 32 KiB holds a browser's headers with cookies many times over.
  std::size_t header_bytes = 32u << 10;
  // Header fields in one request (--max-header-count): 431 past it. Counted
  // once the head is read; header_bytes bounds the memory before that.
  std::size_t header_count = 100;
  // From a request's first byte to the end of its head (--head-timeout):
  // 408 past it, so a client dribbling header bytes holds a socket for this
  // long at most, never a thread.
  std::chrono::milliseconds head_timeout{10'000};
  // A body after decompression (--max-body-bytes): 413 past it.
  std::size_t body_bytes = 8u << 20;
  // Reading a body and writing an answer, each (--request-timeout); past it
  // the connection is closed.
  std::chrono::milliseconds request_timeout{30'000};
  // How long a kept-alive connection may wait for its next request
  // (--idle-timeout); then it is closed without an answer.
  std::chrono::milliseconds idle_timeout{60'000};
  // Open connections (--max-connections); one past it is closed at once.
  // Lowered at start to what the process's file limit allows.
  std::size_t connections = 16384;
  // Open /v1/live streams of one user (--max-live-per-user) and of all users
  // (--max-live-streams): 429 with Retry-After past either.
  std::size_t live_per_user = 32;
  std::size_t live_total = 10000;
  // What a 429 for a live stream asks the client to wait, in seconds.
  int live_retry_after_seconds = 10;
  // On SIGTERM, how long in-flight requests may take to finish
  // (--shutdown-timeout) before the remaining connections are cut.
  std::chrono::milliseconds shutdown_timeout{10'000};
};

}  // namespace ferry::server
