// Runs a store's commits into a full disk, for the "disk full" tests of both
// backends. Test-only, POSIX.
//
// A forked child caps its file size (RLIMIT_FSIZE, so no root and no tiny
// file system are needed: writes past the cap fail with EFBIG as they would
// with ENOSPC), commits batches until one fails, lifts the cap (space freed),
// commits once more, and reports through a pipe. The parent then reopens the
// store and checks every commit the child saw succeed.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "ferry/store.h"

namespace ferry::testing {

struct DiskFullReport {
  int commits_before_full = 0;         // batches committed before the first failure
  ErrorCode failure = ErrorCode::kOk;  // what the failed commit returned
  bool committed_after_space_freed = false;
};

// `open` opens the store under test (in the child, and later in the parent).
// `file_cap_bytes`: the child's file size cap.
inline DiskFullReport FillUntilFull(const std::function<std::unique_ptr<Store>()>& open,
                                    uint64_t file_cap_bytes) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    std::unique_ptr<Store> store = open();
    if (!store) _exit(3);
    signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death
    rlimit cap{file_cap_bytes, RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &cap) != 0) _exit(4);
    DiskFullReport report;
    for (int n = 0; n < 20'000; ++n) {  // the cap is met long before
      WriteBatch batch;
      batch.Put("full/" + std::to_string(n), std::string(1000, 'f'));
      batch.Put("full/last", std::to_string(n));
      Status status = store->Commit(batch);
      if (!status.ok()) {
        report.failure = status.code();
        break;
      }
      report.commits_before_full = n + 1;
    }
    cap.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &cap) != 0) _exit(5);
    WriteBatch after;
    after.Put("full/after", "space freed");
    report.committed_after_space_freed = store->Commit(after).ok();
    if (write(fds[1], &report, sizeof report) != sizeof report) _exit(6);
    _exit(0);
  }
  close(fds[1]);
  DiskFullReport report;
  const bool got = read(fds[0], &report, sizeof report) == sizeof report;
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child crashed or failed (status " << status << ")";
  EXPECT_TRUE(got);
  return report;
}

// The checks after FillUntilFull: a clean error, and every commit the child
// saw succeed (before and after the disk was full) is in the reopened store.
inline void ExpectNothingCommittedWasLost(const DiskFullReport& report, Store& reopened) {
  EXPECT_NE(report.failure, ErrorCode::kOk) << "the cap was never reached";
  EXPECT_GT(report.commits_before_full, 0);
  EXPECT_TRUE(report.committed_after_space_freed) << "no commit succeeded once space was freed";
  auto last = reopened.Get("full/last");
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(**last, std::to_string(report.commits_before_full - 1));
  for (int n = 0; n < report.commits_before_full; ++n) {
    auto value = reopened.Get("full/" + std::to_string(n));
    ASSERT_TRUE(value.ok() && value->has_value()) << "commit " << n << " was lost";
  }
  auto after = reopened.Get("full/after");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, std::optional<std::string>("space freed"));
}

}  // namespace ferry::testing
