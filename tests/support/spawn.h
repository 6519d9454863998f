// Starting a test's helper process (ferry-server, crash_child) with its stdout
// on a pipe the test reads. Test-only.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace ferry::testing {

struct Spawned {
  pid_t pid = -1;
  int stdout_fd = -1;  // the read end of the child's stdout; the caller closes it
};

// fork + execv of arguments[0]. `stderr_path`, when given, receives the
// child's stderr (appended); otherwise it shares the test's.
inline Spawned Spawn(std::vector<std::string> arguments, const std::string& stderr_path = "") {
  int out[2];
  // Close-on-exec, so no other child inherits this pipe and keeps it open
  // (dup2 clears the flag on the child's own stdout).
  if (pipe2(out, O_CLOEXEC) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (!stderr_path.empty()) {
      const int log = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0) dup2(log, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (auto& argument : arguments)
      argv.push_back(argument.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  return {pid, out[0]};
}

// Reads and drops a spawned program's output until it exits; its exit code
// (-1 when a signal ended it).
inline int WaitDiscardingOutput(const Spawned& program) {
  char buffer[4096];
  while (read(program.stdout_fd, buffer, sizeof buffer) > 0) {
  }
  close(program.stdout_fd);
  int status = 0;
  waitpid(program.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace ferry::testing
