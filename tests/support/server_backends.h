// Runs a ferry-server suite on both storage backends: a value-parameterized
// fixture derives from BackendTest, starts its servers with BackendFlags(),
// and is instantiated with
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest, kBothBackends, BackendName);
// so each case runs as .../Sqlite and .../Postgres.
//
// The PostgreSQL cases of a suite share one PostgreSQL (initdb costs about a
// second), started by the suite's first PostgreSQL case, so a process that
// runs one SQLite case, as ctest runs them, starts none; TearDownTestSuite
// stops it. Each case gets a database of its own on it, so cases never see
// each other's users, documents or webhook cursors.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/postgres_process.h"

namespace ferry::testing {

enum class Backend { kSqlite, kPostgres };

inline const auto kBothBackends = ::testing::Values(Backend::kSqlite, Backend::kPostgres);

// "Sqlite" or "Postgres": the end of each parameterized case's name.
inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// The same for GoogleTest's printer, which ctest's test names quote
// ("# GetParam() = Postgres" rather than the enum's bytes).
inline void PrintTo(Backend backend, std::ostream* out) {
  *out << (backend == Backend::kSqlite ? "Sqlite" : "Postgres");
}

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  // In the constructor, not SetUp, so a fixture can start its servers in
  // its member initializers.
  BackendTest() {
    if (GetParam() == Backend::kPostgres && Postgres().unavailable().empty()) {
      database_url_ = NewDatabase();
    }
  }
  static void TearDownTestSuite() { postgres_.reset(); }
  void SetUp() override {
    // Without PostgreSQL the fixture's servers ran on SQLite: skip the case.
    if (GetParam() == Backend::kPostgres && !Postgres().unavailable().empty()) {
      GTEST_SKIP() << Postgres().unavailable();
    }
  }

  // `flags` and, on PostgreSQL, --postgres with this case's database. On
  // SQLite nothing is added: ServerProcess gives each server a file.
  std::vector<std::string> BackendFlags(std::vector<std::string> flags = {}) const {
    if (!database_url_.empty()) flags.insert(flags.end(), {"--postgres", database_url_});
    return flags;
  }

 private:
  static const PostgresProcess& Postgres() {
    if (!postgres_) postgres_ = std::make_unique<PostgresProcess>();
    return *postgres_;
  }
  // A new, empty database: ferry-server creates its tables on it.
  static std::string NewDatabase() {
    const std::string name = "case" + std::to_string(++databases_);
    EXPECT_EQ(
        postgres_->RunClient({"psql", postgres_->url(), "-q", "-c", "CREATE DATABASE " + name}), 0);
    return postgres_->url(name);
  }

  inline static std::unique_ptr<PostgresProcess> postgres_;
  inline static int databases_ = 0;
  std::string database_url_;
};

}  // namespace ferry::testing
