#include "reports/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench/types.h"

namespace mlbench::reports {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw InputError("cannot write " + path + ": " + reason);
}

std::string directory_of(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Removes the temporary file unless the rename succeeded.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void set_fd(int fd) { fd_ = fd; }
  int fd() const { return fd_; }
  int release_fd() { int fd = fd_; fd_ = -1; return fd; }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Creates and removes a temporary file in `dir`; fails with the reason naming `path`.
void probe_directory(const std::string& dir, const std::string& path) {
  std::string probe = (fs::path(dir) / ".mlbench-probe.XXXXXX").string();
  int fd = ::mkstemp(probe.data());
  if (fd < 0) fail(path, std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view content) {
  if (path.empty()) throw InputError("cannot write an empty path");
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a directory");

  // mkstemp keeps the temporary name unique when several writers share the directory.
  std::string temp_path = (fs::path(directory_of(path)) / ("." + fs::path(path).filename().string() + ".tmpXXXXXX")).string();
  int fd = ::mkstemp(temp_path.data());
  if (fd < 0) fail(path, std::strerror(errno));
  TempFileGuard guard(temp_path);
  guard.set_fd(fd);
  // mkstemp creates 0600; give the file the permissions a plain fopen would.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);

  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail(path, std::strerror(errno));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  if (::fsync(fd) != 0) fail(path, std::strerror(errno));
  if (::close(guard.release_fd()) != 0) fail(path, std::strerror(errno));
  if (::rename(temp_path.c_str(), path.c_str()) != 0) fail(path, std::strerror(errno));
  guard.commit();
}

void check_writable_file(const std::string& path) {
  if (path.empty()) throw InputError("cannot write an empty path");
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a directory");
  std::string dir = directory_of(path);
  if (!fs::is_directory(dir, ec)) fail(path, "directory " + dir + " does not exist");
  // The rename needs to create a file in the directory: try exactly that (permission bits
  // alone say nothing for root, read-only mounts or ACLs).
  probe_directory(dir, path);
}

void prepare_output_directory(const std::string& dir) {
  if (dir.empty()) throw InputError("cannot write charts to an empty directory name");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) fail(dir, "exists and is not a directory");
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) fail(dir, ec.message());
  }
  probe_directory(dir, dir);
}

}  // namespace mlbench::reports
