// Promises handed to JavaScript and settled later, when native work is done.
//
// JS thread only: every member is called on the runtime's thread. The
// resolve/reject functions are JSI values, which must never be touched (not
// even destroyed) on another thread; so work running elsewhere names its
// promise by an Id, and the code that settles it is delivered to the JS
// thread first (JsThread::Post).
#pragma once

#include <jsi/jsi.h>

#include <cstdint>
#include <unordered_map>

namespace ferry::react_native {

namespace jsi = facebook::jsi;

class PendingPromises {
 public:
  using Id = std::uint64_t;

  // A new Promise; *id names it for Resolve and Reject.
  [[nodiscard]] jsi::Value Create(jsi::Runtime& runtime, Id* id);
  // Settles promise `id` once; an unknown (already settled) id is ignored.
  void Resolve(jsi::Runtime& runtime, Id id, const jsi::Value& value);
  void Reject(jsi::Runtime& runtime, Id id, const jsi::Value& error);
  [[nodiscard]] std::size_t size() const { return pending_.size(); }

 private:
  void Settle(jsi::Runtime& runtime, Id id, const jsi::Value& outcome, bool fulfilled);

  struct Settlers {
    jsi::Function resolve;
    jsi::Function reject;
  };
  std::unordered_map<Id, Settlers> pending_;
  Id next_id_ = 1;
};

}  // namespace ferry::react_native
