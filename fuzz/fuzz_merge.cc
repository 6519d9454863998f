// Fuzzes the JSON layer and the merge code. The input is up to three JSON
// texts separated by newlines (a document and two patches, or a base and
// two sides). Beyond "never crash", it checks the documented laws:
//   - ParseJson(DumpJson(v)) == v
//   - ApplyMergePatch(doc, ComposeMergePatches(p1, p2)) ==
//     ApplyMergePatch(ApplyMergePatch(doc, p1), p2), whenever the composition exists
//   - MergeObjects: a side equal to the base yields the other side; equal sides
//     yield that side; the result does not depend on local_wins when no field
//     changed on both sides differently (checked by symmetry on equal sides)
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ferry/conflict.h"
#include "ferry/json.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ferry::Json> values;
  while (values.size() < 3) {
    const std::size_t end = text.find('\n');
    auto parsed = ferry::ParseJson(text.substr(0, end));
    if (parsed.ok()) {
      auto again = ferry::ParseJson(ferry::DumpJson(*parsed));
      FERRY_FUZZ_CHECK(again.ok() && *again == *parsed, "JSON round trip");
      values.push_back(std::move(*parsed));
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  if (values.size() < 3) return 0;
  const ferry::Json& doc = values[0];
  const ferry::Json& p1 = values[1];
  const ferry::Json& p2 = values[2];

  const ferry::Json sequential = ferry::ApplyMergePatch(ferry::ApplyMergePatch(doc, p1), p2);
  if (std::optional<ferry::Json> composed = ferry::ComposeMergePatches(p1, p2)) {
    FERRY_FUZZ_CHECK(ferry::ApplyMergePatch(doc, *composed) == sequential,
                     "a composed patch equals the two applied in turn");
  }

  if (doc.is_object() && p1.is_object() && p2.is_object()) {
    const ferry::Json& base = doc;
    const ferry::Json& local = p1;
    const ferry::Json& remote = p2;
    for (const bool local_wins : {false, true}) {
      FERRY_FUZZ_CHECK(ferry::MergeObjects(base, base, remote, local_wins) == remote,
                       "an unchanged local side yields the remote side");
      FERRY_FUZZ_CHECK(ferry::MergeObjects(base, local, base, local_wins) == local,
                       "an unchanged remote side yields the local side");
      FERRY_FUZZ_CHECK(ferry::MergeObjects(base, local, local, local_wins) == local,
                       "equal sides yield that side");
    }
    const ferry::Json merged = ferry::MergeObjects(base, local, remote, true);
    FERRY_FUZZ_CHECK(merged.is_object(), "merging objects gives an object");
  }
  return 0;
}
