// Fuzzes ferry-server's request handling (HandleServerRequest, the code
// behind every HTTP route) over an in-memory store. The input is up to eight
// requests separated by NUL bytes; each starts with a byte choosing the user
// ('a'/'b' upper case: push, lower case: pull) followed by the push body or
// the pull query. Properties:
//   - no input makes the server answer 5xx (bad input is the client's fault);
//   - every 200 answer decodes with the client's decoder;
//   - a user's pull never returns a document only the other user wrote.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "ferry/protocol.h"
#include "ferry/server_apply.h"
#include "ferry/store_memory.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ferry::MemoryStore store;
  ferry::ServerState server(store, "fuzz");
  const ferry::ProtocolLimits limits;
  std::set<std::string> written[2];  // "collection/key" per user
  for (int request = 0; request < 8 && !text.empty(); ++request) {
    const std::size_t end = text.find('\0');
    const std::string_view part = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (part.empty()) continue;
    const char kind = part[0];
    const int user = (kind == 'b' || kind == 'B') ? 1 : 0;
    const char* user_name = user == 0 ? "alice" : "bob";
    const std::string_view rest = part.substr(1);
    if (kind == 'A' || kind == 'B') {
      const ferry::ServerHttpResponse answer =
          ferry::HandleServerRequest(server, user_name, "POST", "/v1/push", rest);
      FERRY_FUZZ_CHECK(answer.status < 500, "a push never gets a 5xx");
      if (answer.status == 200) {
        auto sent = ferry::DecodePushRequest(rest, limits);
        FERRY_FUZZ_CHECK(sent.ok(), "a push the server accepted decodes");
        auto decoded = ferry::DecodePushResponse(answer.body, *sent, limits);
        FERRY_FUZZ_CHECK(decoded.ok(), "the push answer decodes");
        for (std::size_t i = 0; i < sent->mutations.size(); ++i) {
          if (decoded->results[i].status == ferry::PushResultStatus::kApplied) {
            const ferry::DocumentId& id = sent->mutations[i].document;
            written[user].insert(id.collection + "/" + id.key);
          }
        }
      }
    } else {
      const std::string target = "/v1/pull?" + std::string(rest);
      const ferry::ServerHttpResponse answer =
          ferry::HandleServerRequest(server, user_name, "GET", target, "");
      FERRY_FUZZ_CHECK(answer.status < 500, "a pull never gets a 5xx");
      if (answer.status == 200) {
        auto page = ferry::DecodePullResponse(answer.body, limits);
        FERRY_FUZZ_CHECK(page.ok(), "the pull answer decodes");
        for (const ferry::ServerDocument& change : page->changes) {
          const std::string id = change.document.collection + "/" + change.document.key;
          FERRY_FUZZ_CHECK(written[user].contains(id),
                           "a pull returns only documents this user wrote");
        }
      }
    }
  }
  return 0;
}
