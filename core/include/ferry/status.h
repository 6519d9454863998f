// Status and Result<T>: how every fallible Ferry call reports failure.
//
// Untrusted input (server responses, stored bytes, arguments from bindings)
// must never abort the process, so failures are values the caller has to look
// at ([[nodiscard]]), not exceptions that escape the core.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ferry {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something malformed
  kNotFound,            // a named item does not exist
  kCorruption,          // stored bytes do not decode
  kProtocol,            // the peer sent something the protocol does not allow
  kTooLarge,            // a size limit was exceeded
  kUnavailable,         // network or server temporarily unavailable; retryable
  kUnauthenticated,     // the server refused our credentials
  kCursorExpired,       // the pull cursor is too old; a full resync is needed
  kCancelled,           // the operation was cancelled by the host
  kIo,                  // the storage backend failed
  kUnsupportedVersion,  // a store or protocol version newer than this build
  kInternal,            // a broken invariant inside Ferry
  kBusy,                // the store is in use by another client (process or object)
};

// Stable lowercase name, used in events, logs and the wire protocol.
std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", for logs and error events.
  std::string ToString() const;

  // Explicitly discards a status where failure is acceptable; the name makes
  // the decision visible to a reader.
  void IgnoreError() const {}

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : storage_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(storage_); }
  // The failure; Status::Ok() when this holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(storage_); }

  // Precondition: ok(). Checked with std::get, which throws rather than
  // reading garbage if a caller forgot to check.
  T& value() & { return std::get<T>(storage_); }
  const T& value() const& { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> storage_;
};

}  // namespace ferry

// Early-return helpers. They keep the success path readable in code that makes
// many fallible calls in a row (storage, decoding).
#define FERRY_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::ferry::Status ferry_status_ = (expr);        \
    if (!ferry_status_.ok()) return ferry_status_; \
  } while (false)

#define FERRY_CONCAT_INNER(a, b) a##b
#define FERRY_CONCAT(a, b) FERRY_CONCAT_INNER(a, b)
#define FERRY_ASSIGN_OR_RETURN(lhs, expr)                                   \
  auto FERRY_CONCAT(ferry_result_, __LINE__) = (expr);                      \
  if (!FERRY_CONCAT(ferry_result_, __LINE__).ok())                          \
    return FERRY_CONCAT(ferry_result_, __LINE__).status();                  \
  /* lhs may be a declaration ("auto x"), so it cannot be parenthesized. */ \
  /* NOLINTNEXTLINE(bugprone-macro-parentheses) */                          \
  lhs = std::move(FERRY_CONCAT(ferry_result_, __LINE__)).value()
