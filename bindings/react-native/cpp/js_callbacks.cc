#include "js_callbacks.h"

#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "js_errors.h"
#include "js_values.h"

namespace ferry::react_native {
namespace {

jsi::Function RequireFunction(jsi::Runtime& runtime, const jsi::Object& object, const char* name) {
  std::optional<jsi::Function> function = OptionalFunctionMember(runtime, object, name);
  if (!function) throw TypeError(runtime, std::string("callbacks.") + name + " must be a function");
  return std::move(*function);
}

std::string MessageOf(jsi::Runtime& runtime, const jsi::Value& error) {
  try {
    if (error.isObject()) {
      jsi::Value message = error.getObject(runtime).getProperty(runtime, "message");
      if (message.isString()) return message.getString(runtime).utf8(runtime);
    }
    return error.toString(runtime).utf8(runtime);
  } catch (const std::exception&) {
    return "the token provider failed";
  }
}

async::TokenAnswer Failed(std::string why) {
  return async::TokenAnswer{async::TokenAnswer::Kind::kFailed, std::move(why)};
}

// The answer a value of getToken (or of its promise) stands for.
async::TokenAnswer AnswerOf(jsi::Runtime& runtime, const jsi::Value& value) {
  if (value.isString()) {
    std::string token = value.getString(runtime).utf8(runtime);
    if (token.empty()) return async::TokenAnswer{async::TokenAnswer::Kind::kNone, {}};
    return async::TokenAnswer{async::TokenAnswer::Kind::kToken, std::move(token)};
  }
  if (value.isUndefined() || value.isNull()) {
    return async::TokenAnswer{async::TokenAnswer::Kind::kNone, {}};
  }
  return Failed("getToken must give a string or undefined");
}

jsi::Function Settler(jsi::Runtime& runtime,
                      std::function<void(jsi::Runtime&, const jsi::Value&)> settle) {
  return jsi::Function::createFromHostFunction(
      runtime, jsi::PropNameID::forAscii(runtime, "settle"), 1,
      [settle = std::move(settle)](jsi::Runtime& rt, const jsi::Value&, const jsi::Value* values,
                                   std::size_t count) -> jsi::Value {
        settle(rt, count > 0 ? jsi::Value(rt, values[0]) : jsi::Value::undefined());
        return jsi::Value::undefined();
      });
}

// The JSON text a synchronous callback answers (the resolver, a hook); a
// throw or an answer that is not a string is {"error": message}.
std::string AnswerText(jsi::Runtime& runtime, const char* name,
                       const std::function<jsi::Value()>& call) {
  auto failure = [&](const std::string& message) {
    // The answer is JSON: the message is escaped by JSON.stringify.
    jsi::Object json = runtime.global().getPropertyAsObject(runtime, "JSON");
    jsi::Object answer(runtime);
    answer.setProperty(runtime, "error", MakeString(runtime, message));
    return json.getPropertyAsFunction(runtime, "stringify")
        .call(runtime, answer)
        .getString(runtime)
        .utf8(runtime);
  };
  try {
    jsi::Value answer = call();
    if (!answer.isString()) return failure(std::string(name) + " must return a JSON string");
    return answer.getString(runtime).utf8(runtime);
  } catch (const jsi::JSError& error) {
    return failure(error.getMessage());
  } catch (const std::exception& error) {
    return failure(error.what());
  }
}

}  // namespace

void ReportingExceptions(jsi::Runtime& runtime, const char* what,
                         const std::function<void()>& call) {
  std::string message;
  try {
    call();
    return;
  } catch (const jsi::JSError& error) {
    message = error.getMessage();
  } catch (const std::exception& error) {
    message = error.what();
  }
  try {
    jsi::Object console = runtime.global().getPropertyAsObject(runtime, "console");
    console.getPropertyAsFunction(runtime, "error")
        .call(runtime, MakeString(runtime, std::string("ferry: ") + what + " threw: " + message));
  } catch (const std::exception&) {
    // No console to report to: nothing more can be done from here.
  }
}

JsCallbacks::JsCallbacks(jsi::Runtime& runtime, const jsi::Object& callbacks)
    : on_event_(RequireFunction(runtime, callbacks, "onEvent")),
      get_token_(OptionalFunctionMember(runtime, callbacks, "getToken")),
      resolve_conflict_(OptionalFunctionMember(runtime, callbacks, "resolveConflict")),
      hook_(OptionalFunctionMember(runtime, callbacks, "hook")),
      send_request_(OptionalFunctionMember(runtime, callbacks, "sendRequest")),
      cancel_request_(OptionalFunctionMember(runtime, callbacks, "cancelRequest")),
      log_(OptionalFunctionMember(runtime, callbacks, "log")) {}

void JsCallbacks::OnEvent(jsi::Runtime& runtime, const std::string& event_json) {
  ReportingExceptions(runtime, "onEvent",
                      [&] { on_event_.call(runtime, MakeString(runtime, event_json)); });
}

void JsCallbacks::GetToken(jsi::Runtime& runtime, bool refresh, async::TokenReply reply) {
  // TokenReply ignores all but its first call, so a thenable that calls both
  // settlers answers once.
  if (!get_token_) return reply(async::TokenAnswer{async::TokenAnswer::Kind::kNone, {}});
  jsi::Value result;
  try {
    result = get_token_->call(runtime, refresh);
  } catch (const jsi::JSError& error) {
    return reply(Failed(error.getMessage()));
  } catch (const std::exception& error) {
    return reply(Failed(error.what()));
  }
  if (!result.isObject()) return reply(AnswerOf(runtime, result));
  jsi::Object object = result.getObject(runtime);
  jsi::Value then = object.getProperty(runtime, "then");
  if (!then.isObject() || !then.getObject(runtime).isFunction(runtime)) {
    return reply(AnswerOf(runtime, result));
  }
  try {
    then.getObject(runtime).getFunction(runtime).callWithThis(
        runtime, object,
        Settler(runtime,
                [reply](jsi::Runtime& rt, const jsi::Value& value) { reply(AnswerOf(rt, value)); }),
        Settler(runtime, [reply](jsi::Runtime& rt, const jsi::Value& error) {
          reply(Failed(MessageOf(rt, error)));
        }));
  } catch (const std::exception& error) {
    reply(Failed(error.what()));
  }
}

std::string JsCallbacks::ResolveConflict(jsi::Runtime& runtime, const std::string& input_json) {
  return AnswerText(runtime, "resolveConflict", [&]() -> jsi::Value {
    if (!resolve_conflict_) return jsi::Value::undefined();
    return resolve_conflict_->call(runtime, MakeString(runtime, input_json));
  });
}

std::string JsCallbacks::Hook(jsi::Runtime& runtime, int point, const std::string& input_json) {
  return AnswerText(runtime, "hook", [&]() -> jsi::Value {
    if (!hook_) return jsi::Value::undefined();
    return hook_->call(runtime, point, MakeString(runtime, input_json));
  });
}

void JsCallbacks::SendRequest(jsi::Runtime& runtime, const async::HttpRequest& request) {
  if (!send_request_) return;
  ReportingExceptions(runtime, "sendRequest", [&] {
    jsi::Array headers(runtime, request.headers.size());
    for (std::size_t index = 0; index < request.headers.size(); ++index) {
      headers.setValueAtIndex(
          runtime, index,
          jsi::Array::createWithElements(runtime, MakeString(runtime, request.headers[index].first),
                                         MakeString(runtime, request.headers[index].second)));
    }
    jsi::Object value(runtime);
    value.setProperty(runtime, "id", static_cast<double>(request.id));
    value.setProperty(runtime, "method", MakeString(runtime, request.method));
    value.setProperty(runtime, "url", MakeString(runtime, request.url));
    value.setProperty(runtime, "headers", headers);
    value.setProperty(runtime, "body", MakeBytes(runtime, request.body));
    value.setProperty(runtime, "timeoutMs", static_cast<double>(request.timeout_ms));
    value.setProperty(runtime, "stream", request.stream);
    send_request_->call(runtime, value);
  });
}

void JsCallbacks::CancelRequest(jsi::Runtime& runtime, std::uint64_t id) {
  if (!cancel_request_) return;
  ReportingExceptions(runtime, "cancelRequest",
                      [&] { cancel_request_->call(runtime, static_cast<double>(id)); });
}

void JsCallbacks::Log(jsi::Runtime& runtime, int level, const std::string& message) {
  if (!log_) return;
  ReportingExceptions(runtime, "log",
                      [&] { log_->call(runtime, level, MakeString(runtime, message)); });
}

}  // namespace ferry::react_native
