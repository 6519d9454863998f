// /v1/push bodies for the server suites, which talk to ferry-server as raw
// HTTP: one put per push, stamped at a fixed time so answers are repeatable.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "ferry/protocol.h"

namespace ferry::testing {

// `client_id`'s mutation `seq`: put `value` at docs/`key`, based on `base`.
inline std::string PutBody(const std::string& client_id, uint64_t seq, const std::string& key,
                           Json value, Version base = 0) {
  Mutation m;
  m.client_id = client_id;
  m.seq = seq;
  m.op = MutationOp::kPut;
  m.document = {"docs", key};
  m.value = std::move(value);
  m.base_version = base;
  m.hlc = {1700000000000, 0, client_id};
  return EncodePushRequest({client_id, {m}});
}

}  // namespace ferry::testing
