// Scope (issue 17) end to end through ferry::Client, libcurl and a real
// ferry-server: two devices of one user, where device A's upload-only
// readings never reach device B; a pull scope of notes leaves the tasks on
// the server until the scope widens, and narrowing it forgets them again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e/e2e_helpers.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

bool Has(Client& client, const std::string& collection, const std::string& key) {
  auto value = client.Get(collection, key);
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  return value.ok() && value->has_value();
}

TEST(PullScopeEndToEnd, UploadOnlyReadingsOfOneDeviceNeverReachAnother) {
  ServerProcess server;
  TempDir directory;
  ClientOptions a_options = TestClientOptions(server.endpoint(), directory.File("a.db"));
  a_options.engine.upload_only = {"readings"};
  ClientOptions b_options = TestClientOptions(server.endpoint(), directory.File("b.db"));
  b_options.engine.upload_only = {"readings"};
  auto a = OpenClient(a_options);
  auto b = OpenClient(b_options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Put("readings", "r1", Json{{"celsius", 21}}).ok());
  ASSERT_TRUE(a->Put("notes", "n1", Json{{"t", "x"}}).ok());
  ASSERT_EQ(a->SyncNow()->outcome, RunOutcome::kCompleted);
  ASSERT_TRUE(b->Put("readings", "r2", Json{{"celsius", 19}}).ok());
  ASSERT_EQ(b->SyncNow()->outcome, RunOutcome::kCompleted);
  ASSERT_EQ(a->SyncNow()->outcome, RunOutcome::kCompleted);

  const ServerView on_server = ReadServer(server.port());
  EXPECT_TRUE(on_server.documents.count({"readings", "r1"}));
  EXPECT_TRUE(on_server.documents.count({"readings", "r2"}));
  EXPECT_TRUE(Has(*b, "notes", "n1"));
  EXPECT_FALSE(Has(*b, "readings", "r1"));
  EXPECT_FALSE(Has(*a, "readings", "r2"));
}

TEST(PullScopeEndToEnd, AScopeOfNotesLeavesTasksUntilItWidens) {
  ServerProcess server;
  TempDir directory;
  {
    auto writer = OpenClient(TestClientOptions(server.endpoint(), directory.File("w.db")));
    ASSERT_NE(writer, nullptr);
    ASSERT_TRUE(writer->Put("notes", "n1", 1).ok());
    ASSERT_TRUE(writer->Put("tasks", "t1", 2).ok());
    ASSERT_EQ(writer->SyncNow()->outcome, RunOutcome::kCompleted);
  }
  ClientOptions options = TestClientOptions(server.endpoint(), directory.File("r.db"));
  options.engine.pull_collections = std::vector<std::string>{"notes"};
  {
    auto reader = OpenClient(options);
    ASSERT_NE(reader, nullptr);
    ASSERT_EQ(reader->SyncNow()->outcome, RunOutcome::kCompleted);
    EXPECT_TRUE(Has(*reader, "notes", "n1"));
    EXPECT_FALSE(Has(*reader, "tasks", "t1"));
  }
  options.engine.pull_collections = std::vector<std::string>{"notes", "tasks"};
  {
    auto reader = OpenClient(options);
    ASSERT_NE(reader, nullptr);
    ASSERT_EQ(reader->SyncNow()->outcome, RunOutcome::kCompleted);
    EXPECT_TRUE(Has(*reader, "notes", "n1"));
    EXPECT_TRUE(Has(*reader, "tasks", "t1"));
  }
  options.engine.pull_collections = std::vector<std::string>{"notes"};
  auto reader = OpenClient(options);
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->SyncNow()->outcome, RunOutcome::kCompleted);
  EXPECT_TRUE(Has(*reader, "notes", "n1"));
  EXPECT_FALSE(Has(*reader, "tasks", "t1"));  // left the scope: forgotten locally
  EXPECT_TRUE(ReadServer(server.port()).documents.count({"tasks", "t1"}));  // not on the server
}

}  // namespace
}  // namespace ferry::testing
