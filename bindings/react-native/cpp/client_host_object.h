// The NativeClient of PLAN-14 §2 (web/src/native_binding.ts) as a JSI host
// object: one open client, each method a call of bindings/async's
// AsyncClient that returns a promise, except completeRequest and
// requestData, the host transport's answers, which return at once.
//
// JS thread only. The client stays in BindingState::clients until close()
// completes; this object only names it (by key), so a method JavaScript kept
// after close() fails like any call on a closed client ("invalid_argument").
#pragma once

#include <jsi/jsi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "binding_state.h"
#include "js_values.h"

namespace ferry::react_native {

namespace jsi = facebook::jsi;

struct ClientState;

class ClientHostObject : public jsi::HostObject {
 public:
  ClientHostObject(std::shared_ptr<BindingState> state, std::uint64_t key, std::string client_id);

  jsi::Value get(jsi::Runtime& runtime, const jsi::PropNameID& name) override;
  std::vector<jsi::PropNameID> getPropertyNames(jsi::Runtime& runtime) override;

 private:
  // Held by the host functions too: JavaScript may keep a method after this
  // object is collected.
  std::shared_ptr<ClientState> client_;
};

}  // namespace ferry::react_native
