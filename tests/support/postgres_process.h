// Runs a real PostgreSQL server for a test: initdb into a temporary folder,
// pg_ctl start listening only on a unix socket in that folder (no TCP port,
// so parallel tests never collide), stopped and removed when the object dies.
//
// initdb refuses to run as root. As root (containers, CI), the cluster is
// created and run as the unprivileged `postgres` account that Debian's
// postgresql package creates, through runuser; the folder is handed to it.
// Tests still connect as the database user `postgres` (trust authentication
// on the socket, which only this folder's owner and root can reach).
#pragma once

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/spawn.h"
#include "support/temp_dir.h"

namespace ferry::testing {

inline constexpr const char* kPostgresBin = "/usr/lib/postgresql/15/bin";

class PostgresProcess {
 public:
  PostgresProcess() {
    if (!std::filesystem::exists(std::string(kPostgresBin) + "/initdb")) {
      unavailable_ = std::string("PostgreSQL 15 is not installed (no ") + kPostgresBin +
                     "/initdb; scripts/install-deps.sh installs postgresql-15)";
      return;
    }
    if (geteuid() == 0) {
      const passwd* account = getpwnam("postgres");
      if (account == nullptr) {
        unavailable_ = "running as root and there is no `postgres` account to run initdb as";
        return;
      }
      owner_ = "postgres";
      std::filesystem::permissions(directory_.path(), std::filesystem::perms::owner_all);
      if (chown(directory_.path().c_str(), account->pw_uid, account->pw_gid) != 0) std::abort();
    }
    const std::string data = directory_.File("data");
    if (Run({"initdb", "-D", data, "-A", "trust", "-U", "postgres", "-N", "-E", "UTF8"}) != 0) {
      unavailable_ = "initdb failed (see the test's output)";
      return;
    }
    // fsync off: a test's database need not survive a power cut.
    const std::string options = "-k " + directory_.path().string() +
                                " -c listen_addresses='' -c fsync=off -c max_connections=200";
    if (Run({"pg_ctl", "-D", data, "-l", directory_.File("log"), "-w", "-o", options, "start"}) !=
        0) {
      unavailable_ = "pg_ctl start failed (log in " + directory_.File("log") + ")";
      return;
    }
    started_ = true;
  }
  ~PostgresProcess() {
    if (started_) Run({"pg_ctl", "-D", directory_.File("data"), "-m", "immediate", "-w", "stop"});
  }
  PostgresProcess(const PostgresProcess&) = delete;
  PostgresProcess& operator=(const PostgresProcess&) = delete;

  // Empty when the server runs; otherwise why not (the test skips with it).
  const std::string& unavailable() const { return unavailable_; }
  // Runs a PostgreSQL client program (psql, pg_dump, pg_restore: its name,
  // then its arguments) as the test's own user; its exit code.
  int RunClient(std::vector<std::string> arguments) const {
    arguments[0] = std::string(kPostgresBin) + "/" + arguments[0];
    return WaitDiscardingOutput(Spawn(std::move(arguments)));
  }
  // A libpq URL for the server's `postgres` database over the socket.
  std::string url(const std::string& database = "postgres") const {
    return "postgresql:///" + database + "?host=" + directory_.path().string() + "&user=postgres";
  }

 private:
  // Runs a PostgreSQL program in the folder (readable by its owner, where
  // the test's own working directory may not be), as the `postgres` account
  // when we are root; its progress output is read and dropped.
  int Run(std::vector<std::string> arguments) const {
    arguments[0] = std::string(kPostgresBin) + "/" + arguments[0];
    arguments.insert(arguments.begin(), {"/usr/bin/env", "-C", directory_.path().string()});
    if (!owner_.empty()) {
      arguments.insert(arguments.begin(), {"/usr/sbin/runuser", "-u", owner_, "--"});
    }
    return WaitDiscardingOutput(Spawn(std::move(arguments)));
  }

  TempDir directory_;
  std::string owner_;  // the account running PostgreSQL when we are root
  std::string unavailable_;
  bool started_ = false;
};

}  // namespace ferry::testing
