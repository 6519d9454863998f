#include "pending_promises.h"

#include <optional>
#include <utility>

namespace ferry::react_native {

jsi::Value PendingPromises::Create(jsi::Runtime& runtime, Id* id) {
  // The executor runs synchronously inside `new Promise`, so the settlers are
  // caught here before the constructor returns.
  std::optional<Settlers> caught;
  jsi::Function executor = jsi::Function::createFromHostFunction(
      runtime, jsi::PropNameID::forAscii(runtime, "executor"), 2,
      [&caught](jsi::Runtime& rt, const jsi::Value&, const jsi::Value* arguments,
                std::size_t count) -> jsi::Value {
        if (count >= 2) {
          caught.emplace(Settlers{arguments[0].asObject(rt).asFunction(rt),
                                  arguments[1].asObject(rt).asFunction(rt)});
        }
        return jsi::Value::undefined();
      });
  jsi::Function promise_class = runtime.global().getPropertyAsFunction(runtime, "Promise");
  jsi::Value promise = promise_class.callAsConstructor(runtime, executor);
  if (!caught) throw jsi::JSError(runtime, "Promise did not call its executor");
  *id = next_id_++;
  pending_.emplace(*id, std::move(*caught));
  return promise;
}

void PendingPromises::Resolve(jsi::Runtime& runtime, Id id, const jsi::Value& value) {
  Settle(runtime, id, value, true);
}

void PendingPromises::Reject(jsi::Runtime& runtime, Id id, const jsi::Value& error) {
  Settle(runtime, id, error, false);
}

void PendingPromises::Settle(jsi::Runtime& runtime, Id id, const jsi::Value& outcome,
                             bool fulfilled) {
  auto found = pending_.find(id);
  if (found == pending_.end()) return;
  // Taken out before the call: the entry is gone even if the call throws.
  Settlers settlers = std::move(found->second);
  pending_.erase(found);
  (fulfilled ? settlers.resolve : settlers.reject).call(runtime, outcome);
}

}  // namespace ferry::react_native
