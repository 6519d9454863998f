// The app's callbacks of one client (NativeCallbacks in
// web/src/native_binding.ts), called with values converted to JavaScript.
//
// JS thread only: the functions are JSI values. bindings/async delivers every
// callback to the JS thread before it reaches this class. A callback that
// throws does not unwind into React Native's scheduler: OnEvent, SendRequest,
// CancelRequest and Log report the exception to the console, and the token
// conflict and hook callbacks turn it into their failure answer.
#pragma once

#include <jsi/jsi.h>

#include "ferry/async_client.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace ferry::react_native {

namespace jsi = facebook::jsi;

class JsCallbacks {
 public:
  // Reads NativeCallbacks; throws TypeError for members of the wrong type.
  JsCallbacks(jsi::Runtime& runtime, const jsi::Object& callbacks);

  [[nodiscard]] bool has_token_provider() const { return get_token_.has_value(); }
  [[nodiscard]] bool has_conflict_resolver() const { return resolve_conflict_.has_value(); }
  [[nodiscard]] bool has_hook() const { return hook_.has_value(); }
  [[nodiscard]] bool has_transport() const { return send_request_.has_value(); }
  [[nodiscard]] bool has_log() const { return log_.has_value(); }

  void OnEvent(jsi::Runtime& runtime, const std::string& event_json);
  // Calls getToken(refresh); `reply` gets the answer now, or when the
  // returned promise settles.
  void GetToken(jsi::Runtime& runtime, bool refresh, async::TokenReply reply);
  // The resolver's answer JSON; an exception or a non-string is {"error":...}.
  [[nodiscard]] std::string ResolveConflict(jsi::Runtime& runtime, const std::string& input_json);
  // hook(point, input)'s answer JSON, the same way.
  [[nodiscard]] std::string Hook(jsi::Runtime& runtime, int point, const std::string& input_json);
  void SendRequest(jsi::Runtime& runtime, const async::HttpRequest& request);
  void CancelRequest(jsi::Runtime& runtime, std::uint64_t id);
  void Log(jsi::Runtime& runtime, int level, const std::string& message);

 private:
  jsi::Function on_event_;
  std::optional<jsi::Function> get_token_;
  std::optional<jsi::Function> resolve_conflict_;
  std::optional<jsi::Function> hook_;
  std::optional<jsi::Function> send_request_;
  std::optional<jsi::Function> cancel_request_;
  std::optional<jsi::Function> log_;
};

// Runs `call`; a JavaScript or C++ exception goes to console.error instead of
// unwinding further (into React Native's scheduler, or the async layer).
void ReportingExceptions(jsi::Runtime& runtime, const char* what,
                         const std::function<void()>& call);

}  // namespace ferry::react_native
