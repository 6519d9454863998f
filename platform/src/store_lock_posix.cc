// StoreLock over an open-file-description lock (Linux F_OFD_SETLK).
//
// Why OFD and not flock or a classic fcntl lock: a classic lock belongs to
// the process, so a second open in the same process would silently share it,
// and closing any descriptor of the file drops it. An OFD lock belongs to one
// open file description: it conflicts with every other open, in this process
// or another, and the OS drops it when the holder closes or dies. The lock is
// taken on a separate lock file, never on a SQLite database, whose own POSIX
// locks it must not disturb.
//
// The holder writes its pid into the file, so the one refused can say who
// holds the store. The file is removed on release; see TryAcquire for the
// race that makes safe.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

#include "store_lock.h"

namespace ferry {
namespace {

Status LockIoError(const std::string& what, int error) {
  return Status(ErrorCode::kIo, what + ": " + std::generic_category().message(error));
}

// The pid the holder wrote, or 0.
int64_t ReadHolder(int fd) {
  char text[32] = {};
  const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
  if (got <= 0) return 0;
  return std::strtoll(text, nullptr, 10);
}

void WriteHolder(int fd) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  // Only for the message of a refused open: a failure here changes nothing.
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
}

// Whether `path` still names the file open as `fd`.
bool StillNamed(int fd, const std::string& path) {
  struct stat opened {
  }, named{};
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
         opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace

Result<std::unique_ptr<StoreLock>> StoreLock::TryAcquire(const std::string& path) {
  // A holder removes the file as it releases it. Whoever opened the file
  // before that removal and locks it after holds a lock on a file that no
  // longer has the name; it closes it and tries the file that has the name
  // now. Each pass through the loop means another client released the store.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return LockIoError("opening the lock file " + path, errno);
    struct flock request {};
    request.l_type = F_WRLCK;
    request.l_whence = SEEK_SET;  // l_start 0, l_len 0: the whole file
    if (::fcntl(fd, F_OFD_SETLK, &request) != 0) {
      const int error = errno;
      const int64_t holder = ReadHolder(fd);
      ::close(fd);
      if (error == EAGAIN || error == EACCES) return Busy(path, holder);
      return LockIoError("locking " + path, error);
    }
    if (StillNamed(fd, path)) {
      WriteHolder(fd);
      return std::unique_ptr<StoreLock>(new StoreLock(path, fd));
    }
    ::close(fd);
  }
  return Status(ErrorCode::kBusy,
                "store is opened and closed too often to claim, lock file " + path);
}

StoreLock::~StoreLock() {
  // Removed while still locked, so no one can claim the old file after us
  // without noticing (see TryAcquire).
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace ferry
