// JSON library comparison: nlohmann-json (what the core uses) against
// RapidJSON, both header-only and shipped by Debian. Parses and serializes a
// pull page of 1,000 ~200-byte documents, natively and in WebAssembly (the
// same source built by the wasm preset and run in Node).
//
//   json_bench [ITERATIONS]      prints one JSON line of MB/s figures
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;

std::string SamplePage() {
  nlohmann::json changes = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) {
    changes.push_back({{"collection", "notes"},
                       {"key", "note-" + std::to_string(i)},
                       {"version", 100000 + i},
                       {"deleted", false},
                       {"value",
                        {{"title", "Document number " + std::to_string(i)},
                         {"body", std::string(120, static_cast<char>('a' + i % 26))},
                         {"done", i % 2 == 0},
                         {"tags", {"alpha", "beta"}},
                         {"n", i}}}});
  }
  return nlohmann::json{{"changes", changes}, {"cursor", "ep.101000"}, {"hasMore", true}}.dump();
}

template <typename Work>
double MegabytesPerSecond(std::size_t bytes, int iterations, Work work) {
  const auto start = Clock::now();
  std::size_t sink = 0;
  for (int i = 0; i < iterations; ++i)
    sink += work();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 42) std::puts("");  // keeps the work observable to the optimizer
  return static_cast<double>(bytes) * iterations / seconds / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  const std::string text = SamplePage();

  const double nlohmann_parse = MegabytesPerSecond(
      text.size(), iterations, [&] { return nlohmann::json::parse(text, nullptr, false).size(); });
  const nlohmann::json parsed = nlohmann::json::parse(text);
  const double nlohmann_dump =
      MegabytesPerSecond(text.size(), iterations, [&] { return parsed.dump().size(); });

  const double rapidjson_parse = MegabytesPerSecond(text.size(), iterations, [&] {
    rapidjson::Document document;
    document.Parse(text.data(), text.size());
    return static_cast<std::size_t>(document.HasParseError() ? 0 : document.MemberCount());
  });
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  const double rapidjson_dump = MegabytesPerSecond(text.size(), iterations, [&] {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    document.Accept(writer);
    return buffer.GetSize();
  });

  std::printf(
      "{\"bench\":\"json\",\"bytes\":%zu,\"nlohmann_parse_mb_s\":%.1f,\"nlohmann_dump_mb_s\":%.1f,"
      "\"rapidjson_parse_mb_s\":%.1f,\"rapidjson_dump_mb_s\":%.1f}\n",
      text.size(), nlohmann_parse, nlohmann_dump, rapidjson_parse, rapidjson_dump);
  return 0;
}
