// A child process that opens a store and holds it open until told to close it
// or killed: the other process of the cross-process store lock tests. Test
// only; native only (fork).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include "ferry/store.h"

namespace ferry::testing {

class StoreHolder {
 public:
  // Forks a child that runs `open`; the constructor returns once the child
  // holds the store (or failed to open it: see holding()). The child commits
  // `key` = "held" first, so a test can see the holder's writes survive.
  explicit StoreHolder(const std::function<Result<std::unique_ptr<Store>>()>& open) {
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      close(go[1]);
      auto store = open();
      const bool held = store.ok() && (*store)->Put("key", "held").ok();
      const char answer = held ? 'h' : 'f';
      (void)!write(ready[1], &answer, 1);
      char command = 0;
      (void)!read(go[0], &command, 1);  // a byte or EOF (the test died): close
      if (store.ok()) store->reset();
      _exit(held ? 0 : 1);
    }
    close(ready[1]);
    close(go[0]);
    go_ = go[1];
    char answer = 0;
    holding_ = read(ready[0], &answer, 1) == 1 && answer == 'h';
    close(ready[0]);
  }
  ~StoreHolder() {
    if (pid_ > 0) Kill();
    if (go_ >= 0) close(go_);
  }
  StoreHolder(const StoreHolder&) = delete;
  StoreHolder& operator=(const StoreHolder&) = delete;

  bool holding() const { return holding_; }
  pid_t pid() const { return pid_; }

  // Tells the child to close the store and exit, and waits for it.
  void Close() {
    const char command = 'c';
    (void)!write(go_, &command, 1);
    Wait();
  }
  // SIGKILL: the child never closes the store; the OS releases its locks.
  void Kill() {
    kill(pid_, SIGKILL);
    Wait();
  }

 private:
  void Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int go_ = -1;
  bool holding_ = false;
};

}  // namespace ferry::testing
