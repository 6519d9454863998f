// Fuzzes the protocol decoders with arbitrary bytes: every decoder must return
// a value or a clear error, never crash, hang or read out of bounds; and what
// decodes must survive an encode/decode round trip unchanged.
#include <cstdint>
#include <string_view>

#include "ferry/protocol.h"
#include "fuzz_check.h"

namespace {

ferry::PushRequest SentRequest() {
  ferry::PushRequest request{"client-a", {}};
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ferry::Mutation mutation;
    mutation.client_id = "client-a";
    mutation.seq = seq;
    mutation.op = ferry::MutationOp::kPut;
    mutation.document = {"notes", "n" + std::to_string(seq)};
    mutation.value = ferry::Json{{"seq", seq}};
    mutation.hlc = {1700000000000, 0, "client-a"};
    request.mutations.push_back(mutation);
  }
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ferry::ProtocolLimits limits;
  static const ferry::PushRequest sent = SentRequest();

  if (auto request = ferry::DecodePushRequest(text, limits); request.ok()) {
    auto again = ferry::DecodePushRequest(ferry::EncodePushRequest(*request), limits);
    FERRY_FUZZ_CHECK(again.ok(), "a decoded push request re-encodes to a valid one");
    FERRY_FUZZ_CHECK(again->mutations.size() == request->mutations.size(), "same mutations");
    for (std::size_t i = 0; i < request->mutations.size(); ++i) {
      const ferry::Mutation& a = request->mutations[i];
      const ferry::Mutation& b = again->mutations[i];
      FERRY_FUZZ_CHECK(a.seq == b.seq && a.op == b.op && a.document == b.document &&
                           a.value == b.value && a.base_version == b.base_version,
                       "push request round trip");
    }
  }
  if (auto response = ferry::DecodePushResponse(text, sent, limits); response.ok()) {
    auto again = ferry::DecodePushResponse(ferry::EncodePushResponse(*response), sent, limits);
    FERRY_FUZZ_CHECK(again.ok(), "a decoded push response re-encodes to a valid one");
    for (std::size_t i = 0; i < response->results.size(); ++i) {
      FERRY_FUZZ_CHECK(again->results[i].status == response->results[i].status &&
                           again->results[i].version == response->results[i].version &&
                           again->results[i].has_current == response->results[i].has_current,
                       "push response round trip");
    }
  }
  if (auto page = ferry::DecodePullResponse(text, limits); page.ok()) {
    auto again = ferry::DecodePullResponse(ferry::EncodePullResponse(*page), limits);
    FERRY_FUZZ_CHECK(again.ok(), "a decoded pull page re-encodes to a valid one");
    FERRY_FUZZ_CHECK(again->cursor == page->cursor && again->has_more == page->has_more &&
                         again->changes.size() == page->changes.size(),
                     "pull page round trip");
    for (std::size_t i = 0; i < page->changes.size(); ++i) {
      FERRY_FUZZ_CHECK(again->changes[i].document == page->changes[i].document &&
                           again->changes[i].version == page->changes[i].version &&
                           again->changes[i].state.exists == page->changes[i].state.exists &&
                           again->changes[i].state.value == page->changes[i].state.value,
                       "pull change round trip");
    }
  }
  // The client's decoder (a scanner first) agrees with the full one.
  {
    auto page = ferry::DecodePullPage(text, limits);
    auto full = ferry::DecodePullResponse(text, limits);
    FERRY_FUZZ_CHECK(page.ok() == full.ok(), "DecodePullPage and DecodePullResponse agree");
    if (page.ok()) {
      FERRY_FUZZ_CHECK(page->changes.size() == full->changes.size() &&
                           page->cursor == full->cursor && page->has_more == full->has_more,
                       "pull page as DecodePullResponse reads it");
      for (std::size_t i = 0; i < page->changes.size(); ++i) {
        const ferry::PulledChange& a = page->changes[i];
        const ferry::ServerDocument& b = full->changes[i];
        auto value =
            a.exists ? ferry::ParseJson(a.value_json) : ferry::Result<ferry::Json>(ferry::Json());
        FERRY_FUZZ_CHECK(a.document == b.document && a.version == b.version &&
                             a.exists == b.state.exists && a.hlc == b.hlc && value.ok() &&
                             (!a.exists || *value == b.state.value),
                         "pulled change as DecodePullResponse reads it");
      }
    }
  }
  if (auto query = ferry::DecodePullQuery(text, limits); query.ok()) {
    const std::string target = ferry::EncodePullTarget(*query);
    auto again = ferry::DecodePullQuery(target.substr(target.find('?') + 1), limits);
    FERRY_FUZZ_CHECK(again.ok() && again->cursor == query->cursor && again->limit == query->limit,
                     "pull query round trip");
  }
  (void)ferry::DescribeErrorBody(text);
  return 0;
}
