// A program that uses Ferry the way an application does, built by the
// package tests against an installed Ferry (find_package) and against Ferry's
// source tree (add_subdirectory). Runs offline: no server is needed.
//
//   ferry_consumer STORE_PATH
#include <cstdio>
#include <string>

#include "ferry/client.h"
#include "ferry/engine.h"
#include "ferry/store_memory.h"

namespace {

int Fail(const char* what, const ferry::Status& status) {
  std::fprintf(stderr, "ferry_consumer: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

int Mismatch(const char* what) {
  std::fprintf(stderr, "ferry_consumer: %s did not return the document written\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ferry_consumer STORE_PATH\n");
    return 2;
  }
  const ferry::Json note = {{"title", "from a consumer"}};

  // The sans-IO engine over the in-memory store (ferry::engine).
  ferry::MemoryStore memory;
  auto engine = ferry::SyncEngine::Open(memory, ferry::EngineOptions{}, 1);
  if (!engine.ok()) return Fail("SyncEngine::Open", engine.status());
  auto seq = (*engine)->HandleLocalWrite(ferry::MutationOp::kPut, {"notes", "n1"}, note, 2);
  if (!seq.ok()) return Fail("HandleLocalWrite", seq.status());
  auto from_engine = (*engine)->Get({"notes", "n1"});
  if (!from_engine.ok()) return Fail("SyncEngine::Get", from_engine.status());
  if (*from_engine != note) return Mismatch("SyncEngine::Get");

  // ferry::Client over SQLite (ferry::platform). Nothing listens at the
  // endpoint: the client is offline, and its writes and reads work regardless.
  const std::string path = argv[1];
  {
    ferry::ClientOptions options;
    options.path = path;
    options.endpoint = "http://127.0.0.1:9";
    auto client = ferry::Client::Open(std::move(options));
    if (!client.ok()) return Fail("Client::Open", client.status());
    if (auto status = (*client)->Put("notes", "n1", note); !status.ok()) return Fail("Put", status);
    auto from_client = (*client)->Get("notes", "n1");
    if (!from_client.ok()) return Fail("Client::Get", from_client.status());
    if (*from_client != note) return Mismatch("Client::Get");
  }
  if (auto status = ferry::Client::DeleteLocalData(path); !status.ok()) {
    return Fail("DeleteLocalData", status);
  }
  std::printf("ferry_consumer: ok\n");
  return 0;
}
