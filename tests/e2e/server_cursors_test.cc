// Cursors against a real ferry-server and real clients: a database restored
// from a backup, and the tombstone horizon. In both, a client whose cursor
// the server can no longer vouch for gets 410, resyncs, and ends up with
// exactly the server's documents.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_helpers.h"
#include "support/http_client.h"
#include "support/postgres_process.h"
#include "support/server_backends.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;

// A copy of an SQLite database and its write-ahead log, whichever exist.
void CopyDatabase(const std::string& from, const std::string& to) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(to + suffix);
    if (fs::exists(from + suffix)) fs::copy_file(from + suffix, to + suffix);
  }
}

std::map<std::string, Json> ClientDocuments(Client& client, const std::string& collection) {
  std::map<std::string, Json> documents;
  auto scanned = client.Scan(collection);
  EXPECT_TRUE(scanned.ok()) << scanned.status().ToString();
  if (scanned.ok()) {
    for (auto& [key, value] : *scanned)
      documents[key] = value;
  }
  return documents;
}

std::map<std::string, Json> ServerDocuments(int port, const std::string& collection) {
  std::map<std::string, Json> documents;
  for (const auto& [id, document] : ReadServer(port).documents) {
    if (id.first == collection) documents[id.second] = document.state.value;
  }
  return documents;
}

// The restore story on either backend: a client syncs, the database is
// backed up, the client writes and syncs past the backup, the server stops
// and the backup is restored, and another client's writes take the lost
// versions and pass the first client's cursor, so nothing but the cursor's
// proof tells the two logs apart. The first client must get 410, resync, and
// hold exactly the server's documents.
void RestoreStory(ServerProcess& server, const TempDir& dir, const std::function<void()>& backup,
                  const std::function<void()>& restore) {
  auto first = OpenClient(TestClientOptions(server.endpoint(), dir.File("first.db")));
  ASSERT_TRUE(first);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(first->Put("notes", "kept" + std::to_string(i), Json{{"i", i}}).ok());
  SyncUntilComplete(*first);
  backup();

  // Writes the restore will lose; the first client's cursor moves past them.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(first->Put("notes", "lost" + std::to_string(i), Json{{"i", i}}).ok());
  ASSERT_TRUE(first->Remove("notes", "kept0").ok());
  SyncUntilComplete(*first);
  ASSERT_EQ(ClientDocuments(*first, "notes").size(), 7u);

  server.Stop();
  restore();
  server.Start();

  auto second = OpenClient(TestClientOptions(server.endpoint(), dir.File("second.db")));
  ASSERT_TRUE(second);
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(second->Put("notes", "new" + std::to_string(i), Json{{"i", i}}).ok());
  SyncUntilComplete(*second);
  ASSERT_GT(ReadServer(server.port()).head, 9u) << "the head must pass the first client's cursor";

  const uint64_t resyncs_before = first->statistics().full_resyncs;
  SyncUntilComplete(*first);
  EXPECT_EQ(first->statistics().full_resyncs, resyncs_before + 1) << "the server answered 410";
  const auto on_server = ServerDocuments(server.port(), "notes");
  EXPECT_EQ(on_server.size(), 17u);  // kept0..4 (kept0 back), new0..11
  EXPECT_EQ(ClientDocuments(*first, "notes"), on_server);
}

TEST(ServerCursors, AClientAheadOfARestoredBackupResyncsToExactlyTheServersDocuments) {
  ServerProcess server;
  TempDir dir;
  RestoreStory(
      server, dir,
      [&] {
        // A cold backup: the server stopped, its database copied, started again.
        server.Stop();
        CopyDatabase(server.database(), dir.File("backup.db"));
        server.Start();
      },
      [&] { CopyDatabase(dir.File("backup.db"), server.database()); });
}

TEST(ServerCursors, OnPostgresAClientAheadOfARestoredDumpResyncsToExactlyTheServersDocuments) {
  PostgresProcess postgres;
  if (!postgres.unavailable().empty()) GTEST_SKIP() << postgres.unavailable();
  ServerProcess server("token-alice alice\n", {"--postgres", postgres.url()});
  TempDir dir;
  const std::string dump = dir.File("backup.dump");
  RestoreStory(
      server, dir,
      [&] {  // a hot backup, as operators take them
        ASSERT_EQ(postgres.RunClient({"pg_dump", "-Fc", "-f", dump, postgres.url()}), 0);
      },
      [&] {
        ASSERT_EQ(postgres.RunClient(
                      {"pg_restore", "--clean", "--if-exists", "-d", postgres.url(), dump}),
                  0);
      });
}

// Tombstones on the server, read from the start of the change log.
std::size_t ServerTombstones(int port) {
  HttpClient http("127.0.0.1", port);
  auto result = http.Get(EncodePullTarget({"", 5000}), {{"Authorization", "Bearer token-alice"}});
  if (!result || result->status != 200) {
    ADD_FAILURE() << "server pull failed";
    return 0;
  }
  auto page = DecodePullResponse(result->body, {});
  EXPECT_TRUE(page.ok() && !page->has_more);
  std::size_t tombstones = 0;
  for (const ServerDocument& change : page.ok() ? page->changes : std::vector<ServerDocument>{})
    tombstones += change.state.exists ? 0 : 1;
  return tombstones;
}

// On both backends: each finds and purges old tombstones with its own queries.
class TombstoneHorizonTest : public BackendTest {};

INSTANTIATE_TEST_SUITE_P(Backends, TombstoneHorizonTest, kBothBackends, BackendName);

TEST_P(TombstoneHorizonTest,
       AClientOfflinePastTheTombstoneHorizonResyncsAndLosesTheDeletedDocuments) {
  ServerProcess server("token-alice alice\n", BackendFlags({"--tombstone-horizon", "1s"}));
  TempDir dir;
  auto offline = OpenClient(TestClientOptions(server.endpoint(), dir.File("offline.db")));
  auto online = OpenClient(TestClientOptions(server.endpoint(), dir.File("online.db")));
  ASSERT_TRUE(offline && online);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(offline->Put("notes", "n" + std::to_string(i), Json{{"i", i}}).ok());
  SyncUntilComplete(*offline);
  SyncUntilComplete(*online);
  ASSERT_EQ(ClientDocuments(*online, "notes").size(), 10u);

  // While the first client is away: deletes and an edit by the other.
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(online->Remove("notes", "n" + std::to_string(i)).ok());
  ASSERT_TRUE(online->Put("notes", "n5", Json{{"i", 55}}).ok());
  SyncUntilComplete(*online);
  EXPECT_EQ(ServerTombstones(server.port()), 5u);

  // Past the horizon (1 s) and a purge round (every 100 ms), the
  // tombstones are gone: the first client cannot learn of the deletes from
  // the log, so its cursor expires.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ServerTombstones(server.port()) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(ServerTombstones(server.port()), 0u) << "the horizon never purged";

  const uint64_t resyncs_before = offline->statistics().full_resyncs;
  SyncUntilComplete(*offline);
  EXPECT_EQ(offline->statistics().full_resyncs, resyncs_before + 1) << "the server answered 410";
  const auto on_server = ServerDocuments(server.port(), "notes");
  EXPECT_EQ(on_server.size(), 5u);
  EXPECT_EQ(on_server.at("n5"), (Json{{"i", 55}}));
  EXPECT_EQ(ClientDocuments(*offline, "notes"), on_server);

  // A cursor at the head never expires, however old: the horizon stays at
  // or below the head.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  SyncUntilComplete(*offline);
  EXPECT_EQ(offline->statistics().full_resyncs, resyncs_before + 1);
}

}  // namespace
}  // namespace ferry::testing
