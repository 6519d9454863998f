// Runs a real ferry-server process on loopback for end-to-end tests: a
// temporary tokens file and database, --port 0 on first start, the same port
// on restart. Stopped (SIGTERM, then SIGKILL) when the object dies.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/spawn.h"
#include "support/temp_dir.h"

#ifndef FERRY_SERVER_BINARY
#error "FERRY_SERVER_BINARY must name the ferry-server executable"
#endif

namespace ferry::testing {

class ServerProcess {
 public:
  // `tokens`: "token user" lines.
  // With `log_path`, the server logs requests (stderr) into that file instead
  // of running --quiet.
  explicit ServerProcess(std::string tokens = "token-alice alice\ntoken-bob bob\n",
                         std::vector<std::string> extra_arguments = {}, std::string log_path = "")
      : extra_arguments_(std::move(extra_arguments)), log_path_(std::move(log_path)) {
    std::ofstream(directory_.File("tokens.txt")) << tokens;
    Start();
  }
  ~ServerProcess() { Stop(); }

  // Starts the server (again, on the same port and database after a stop).
  void Start() {
    std::vector<std::string> arguments = {
        FERRY_SERVER_BINARY,          "--tokens", directory_.File("tokens.txt"), "--db",
        directory_.File("server.db"), "--port",   std::to_string(port_)};
    if (log_path_.empty()) arguments.push_back("--quiet");
    arguments.insert(arguments.end(), extra_arguments_.begin(), extra_arguments_.end());
    const Spawned server = Spawn(std::move(arguments), log_path_);
    pid_ = server.pid;
    // The first line names the port: "ferry-server listening on http://127.0.0.1:PORT".
    std::string line;
    char c = 0;
    while (read(server.stdout_fd, &c, 1) == 1 && c != '\n')
      line += c;
    close(server.stdout_fd);
    const std::size_t colon = line.rfind(':');
    const std::size_t url = line.find(" on ");
    if (line.find("listening") == std::string::npos || colon == std::string::npos ||
        url == std::string::npos) {
      std::fprintf(stderr, "ferry-server did not start: '%s'\n", line.c_str());
      std::abort();
    }
    port_ = std::stoi(line.substr(colon + 1));
    endpoint_ = line.substr(url + 4);  // http:// or, with --tls-cert, https://
  }

  // SIGKILL: a crash, nothing flushed beyond what SQLite committed.
  void Kill() { Signal(SIGKILL); }
  void Stop() { Signal(SIGTERM); }

  // Signals the server without waiting: the test goes on while it stops.
  void SendSignal(int signal) const { kill(pid_, signal); }
  // The server's wait status once it exited (after SendSignal), checked
  // every 10 ms for up to `timeout`; nullopt if it still runs (it is then
  // stopped as usual). After an exit the object owns no process.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      usleep(10'000);
    }
    pid_ = -1;
    return status;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string endpoint() const { return endpoint_; }
  std::string database() const { return directory_.File("server.db"); }

 private:
  void Signal(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    // A clean stop exits 0; anything else is a crash or a sanitizer report
    // from the server (ThreadSanitizer exits 66), which must fail the test.
    if (signal == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      ADD_FAILURE() << "ferry-server did not stop cleanly (status " << status
                    << "; a sanitizer report would be in the test output)";
    }
  }

  TempDir directory_;
  std::vector<std::string> extra_arguments_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string endpoint_;
};

}  // namespace ferry::testing
