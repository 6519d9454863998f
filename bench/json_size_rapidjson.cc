// Smallest program that parses and serializes with RapidJSON (see
// json_size_nlohmann.cc).
#include <cstdio>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

int main(int argc, char** argv) {
  rapidjson::Document document;
  document.Parse(argc > 1 ? argv[1] : "{}");
  if (document.IsObject()) document.AddMember("merged", true, document.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  std::puts(buffer.GetString());
  return 0;
}
