// See js_callbacks.h.
#include "js_callbacks.h"

#include <initializer_list>
#include <string>
#include <utility>

#include "client_core.h"

namespace ferry::node {
namespace {

// Why a JavaScript value failed: an Error's message, or the value as text.
std::string Reason(const Napi::Value& reason) {
  if (reason.IsObject()) {
    Napi::Value message = reason.As<Napi::Object>().Get("message");
    if (message.IsString()) return message.As<Napi::String>().Utf8Value();
  }
  return reason.ToString().Utf8Value();
}

async::TokenAnswer TokenOf(const Napi::Value& value) {
  if (value.IsString()) {
    std::string token = value.As<Napi::String>().Utf8Value();
    if (!token.empty()) return {async::TokenAnswer::Kind::kToken, std::move(token)};
  }
  return {async::TokenAnswer::Kind::kNone, ""};  // undefined, null, "": no token
}

bool IsThenable(const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().Get("then").IsFunction();
}

// getToken(refresh): a string, nothing, or a promise of either; a throw or
// a rejection fails the token step with its message.
void AskToken(ClientCore& core, bool refresh, const async::TokenReply& reply) {
  Napi::Env env = core.env();
  Napi::Value answer;
  try {
    answer = core.js().get_token.Call({Napi::Boolean::New(env, refresh)});
  } catch (const Napi::Error& error) {
    reply({async::TokenAnswer::Kind::kFailed, error.Message()});
    return;
  }
  if (!IsThenable(answer)) {
    reply(TokenOf(answer));
    return;
  }
  auto fulfilled = Napi::Function::New(
      env, [reply](const Napi::CallbackInfo& info) { reply(TokenOf(info[0])); });
  auto rejected = Napi::Function::New(env, [reply](const Napi::CallbackInfo& info) {
    reply({async::TokenAnswer::Kind::kFailed, Reason(info[0])});
  });
  answer.As<Napi::Object>().Get("then").As<Napi::Function>().Call(answer, {fulfilled, rejected});
}

// {"error": reason} as JSON text, escaped by JSON.stringify.
std::string ErrorAnswer(Napi::Env env, const std::string& reason) {
  Napi::Object answer = Napi::Object::New(env);
  answer.Set("error", reason);
  Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
  return json.Get("stringify").As<Napi::Function>().Call(json, {answer}).ToString().Utf8Value();
}

// A synchronous callback that answers with JSON text (the resolver, a
// hook): a throw or an answer that is not text is an error answer.
std::string AnswerOf(Napi::Env env, const Napi::FunctionReference& function, const char* name,
                     const std::initializer_list<napi_value>& arguments) {
  try {
    Napi::Value answer = function.Call(arguments);
    if (answer.IsString()) return answer.As<Napi::String>().Utf8Value();
    return ErrorAnswer(env, std::string(name) + " must return JSON text");
  } catch (const Napi::Error& error) {
    return ErrorAnswer(env, std::string(name) + " threw: " + error.Message());
  }
}

Napi::Object RequestObject(Napi::Env env, const async::HttpRequest& request) {
  Napi::Array headers = Napi::Array::New(env, request.headers.size());
  for (uint32_t i = 0; i < request.headers.size(); ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, request.headers[i].first);
    pair.Set(1u, request.headers[i].second);
    headers.Set(i, pair);
  }
  Napi::Object object = Napi::Object::New(env);
  object.Set("id", Napi::Number::New(env, static_cast<double>(request.id)));
  object.Set("method", request.method);
  object.Set("url", request.url);
  object.Set("headers", headers);
  object.Set("body",
             Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(request.body.data()),
                                         request.body.size()));
  object.Set("timeoutMs", Napi::Number::New(env, static_cast<double>(request.timeout_ms)));
  object.Set("stream", Napi::Boolean::New(env, request.stream));
  return object;
}

}  // namespace

async::Callbacks MakeCallbacks(ClientCore& core) {
  ClientCore* client = &core;
  const JsFunctions& js = core.js();
  async::Callbacks callbacks;
  callbacks.on_event = [client](const std::string& json) {
    client->js().on_event.Call({Napi::String::New(client->env(), json)});
  };
  if (!js.get_token.IsEmpty()) {
    callbacks.get_token = [client](bool refresh, const async::TokenReply& reply) {
      AskToken(*client, refresh, reply);
    };
  }
  if (!js.resolve_conflict.IsEmpty()) {
    callbacks.resolve_conflict = [client](const std::string& input) {
      Napi::Env env = client->env();
      return AnswerOf(env, client->js().resolve_conflict, "resolveConflict",
                      {Napi::String::New(env, input)});
    };
  }
  if (!js.hook.IsEmpty()) {
    callbacks.hook = [client](int point, const std::string& input) {
      Napi::Env env = client->env();
      return AnswerOf(env, client->js().hook, "hook",
                      {Napi::Number::New(env, point), Napi::String::New(env, input)});
    };
  }
  if (!js.send_request.IsEmpty()) {
    callbacks.send_request = [client](const async::HttpRequest& request) {
      client->js().send_request.Call({RequestObject(client->env(), request)});
    };
  }
  if (!js.cancel_request.IsEmpty()) {
    callbacks.cancel_request = [client](uint64_t id) {
      client->js().cancel_request.Call({Napi::Number::New(client->env(), static_cast<double>(id))});
    };
  }
  if (!js.log.IsEmpty()) {
    callbacks.log = [client](int level, const std::string& message) {
      client->js().log.Call(
          {Napi::Number::New(client->env(), level), Napi::String::New(client->env(), message)});
    };
  }
  return callbacks;
}

}  // namespace ferry::node
