// Smallest program that parses and serializes with nlohmann-json: its .wasm
// size, against json_size_rapidjson.cc, is the size each library adds.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  auto value = nlohmann::json::parse(argc > 1 ? argv[1] : "{}", nullptr, false);
  value["merged"] = true;
  std::puts(value.dump().c_str());
  return 0;
}
