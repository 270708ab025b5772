#include "reports/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "bench/types.h"

namespace mlbench::reports {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxSymlinkHops = 40;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw InputError("cannot write " + escape_invalid_utf8(path) + ": " + reason);
}

std::string directory_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

std::string file_name_of(const std::string& path) { return fs::path(path).filename().string(); }

long name_max_of(const std::string& dir) {
  errno = 0;
  const long limit = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  return limit > 0 ? limit : NAME_MAX;
}

// "/dev/fd/N", "/proc/self/fd/N", "/proc/thread-self/fd/N", "/proc/<this pid>/fd/N": the
// descriptor N of this process; -1 for any other path.
int descriptor_named_by(const std::string& path) {
  auto number_after = [&path](const std::string& prefix) -> int {
    if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return -1;
    long value = 0;
    for (std::size_t i = prefix.size(); i < path.size(); ++i) {
      if (path[i] < '0' || path[i] > '9' || value > 1000000) return -1;
      value = value * 10 + (path[i] - '0');
    }
    return static_cast<int>(value);
  };
  for (const std::string& prefix :
       {std::string("/dev/fd/"), std::string("/proc/self/fd/"), std::string("/proc/thread-self/fd/"),
        "/proc/" + std::to_string(::getpid()) + "/fd/"})
    if (const int fd = number_after(prefix); fd >= 0) return fd;
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  return -1;
}

std::string given_or_stdout(int fd) {
  return fd == STDOUT_FILENO ? "standard output" : fmt::format("descriptor {}", fd);
}

std::string temp_pattern(const std::string& dir) {
  return (fs::path(dir) / fmt::format(".mlbench-{}-XXXXXX.tmp", ::getpid())).string();
}

// Creates and removes a temporary file of the real pattern in `dir`; fails naming `path`.
void probe_directory(const std::string& dir, const std::string& path) {
  std::string probe = temp_pattern(dir);
  const int fd = ::mkstemps(probe.data(), 4);
  if (fd < 0) fail(path, std::string("cannot create a file in ") + dir + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
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
  int release_fd() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes everything or fails naming `path`.
void write_all(int fd, std::string_view content, const std::string& path) {
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE)
        throw BrokenPipeError("cannot write " + escape_invalid_utf8(path) + ": " + std::strerror(errno));
      fail(path, std::strerror(errno));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

void check_length(const std::string& dir, const std::string& name, const std::string& given) {
  const long name_max = name_max_of(dir);
  if (name.size() > static_cast<std::size_t>(name_max))
    fail(given, fmt::format("the file name is {} bytes; this directory allows {}", name.size(), name_max));
  if (kTempNameLength > static_cast<std::size_t>(name_max))
    fail(given, fmt::format("this directory allows names of {} bytes, too short for the temporary file", name_max));
  const std::size_t longest = dir.size() + 1 + std::max(name.size(), kTempNameLength);
  if (longest >= PATH_MAX) fail(given, fmt::format("the path is {} bytes; the limit is {}", longest, PATH_MAX - 1));
}

void replace_file(const OutputTarget& target, std::string_view content) {
  const std::string dir = directory_of(target.path);
  std::string temp_path = temp_pattern(dir);
  const int fd = ::mkstemps(temp_path.data(), 4);
  if (fd < 0) fail(target.given, std::strerror(errno));
  TempFileGuard guard(temp_path);
  guard.set_fd(fd);
  // The replaced file keeps its mode (and, for root, its owner); a new one gets what a plain
  // fopen would give it.
  mode_t mode = 0;
  if (target.exists) {
    mode = target.mode & 07777;
    if (::geteuid() == 0 && ::fchown(fd, target.uid, target.gid) != 0) {
      // Not fatal: the content matters more than the owner.
    }
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  if (::fchmod(fd, mode) != 0) fail(target.given, std::strerror(errno));
  write_all(fd, content, target.given);
  if (::fsync(fd) != 0) fail(target.given, std::strerror(errno));
  if (::close(guard.release_fd()) != 0) fail(target.given, std::strerror(errno));
  if (::rename(temp_path.c_str(), target.path.c_str()) != 0) fail(target.given, std::strerror(errno));
  guard.commit();
  // The rename itself reaches the disk with the directory.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

bool is_valid_utf8(std::string_view text) { return escape_invalid_utf8(text) == text; }

std::string escape_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    std::size_t length = 0;
    unsigned lowest = 0;
    if (c < 0x80)
      length = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      length = 2, lowest = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
      length = 3, lowest = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
      length = 4, lowest = 0x10000;
    bool valid = length > 0 && i + length <= text.size();
    unsigned code = length == 1 ? c : length == 2 ? (c & 0x1Fu) : length == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (byte(i + k) & 0xC0) == 0x80;
      code = (code << 6) | (byte(i + k) & 0x3Fu);
    }
    // No overlong forms, no UTF-16 surrogates, nothing past U+10FFFF.
    if (valid && length > 1) valid = code >= lowest && !(code >= 0xD800 && code <= 0xDFFF) && code <= 0x10FFFF;
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += fmt::format("\\x{:02X}", c);
      ++i;
    }
  }
  return out;
}

OutputTarget resolve_output(const std::string& given) {
  if (given.empty()) throw InputError("cannot write an empty path");
  if (!is_valid_utf8(given)) fail(given, "the name is not valid UTF-8");
  OutputTarget t;
  t.given = given;
  auto as_descriptor = [&t](int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) fail(t.given, fmt::format("descriptor {} is not open", fd));
    if ((flags & O_ACCMODE) == O_RDONLY) fail(t.given, fmt::format("descriptor {} is not open for writing", fd));
    t.kind = OutputTarget::Kind::descriptor;
    t.fd = fd;
    t.path = given_or_stdout(fd);
    struct stat st {};
    if (::fstat(fd, &st) == 0) {
      t.exists = true;
      t.mode = st.st_mode;
      t.device = st.st_dev;
      t.inode = st.st_ino;
    }
    return t;
  };
  if (given == "-") return as_descriptor(STDOUT_FILENO);

  std::string current = given;
  for (int hop = 0;; ++hop) {
    if (hop > kMaxSymlinkHops) fail(given, "too many levels of symbolic links");
    if (const int fd = descriptor_named_by(current); fd >= 0) return as_descriptor(fd);
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) {
      if (errno != ENOENT) fail(given, std::strerror(errno));
      break;  // nothing there yet: created in its directory
    }
    if (S_ISLNK(st.st_mode)) {
      std::string link(PATH_MAX, '\0');
      const ssize_t n = ::readlink(current.c_str(), link.data(), link.size() - 1);
      if (n < 0) fail(given, std::strerror(errno));
      link.resize(static_cast<std::size_t>(n));
      current = !link.empty() && link[0] == '/' ? link : (fs::path(directory_of(current)) / link).string();
      continue;
    }
    t.exists = true;
    t.mode = st.st_mode;
    t.uid = st.st_uid;
    t.gid = st.st_gid;
    t.device = st.st_dev;
    t.inode = st.st_ino;
    if (S_ISDIR(st.st_mode)) fail(given, "is a directory");
    if (S_ISBLK(st.st_mode)) fail(given, "is a block device (a report is never written over one)");
    if (S_ISSOCK(st.st_mode)) fail(given, "is a socket");
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
      // Written through, never replaced: /dev/null stays /dev/null.
      if (::access(current.c_str(), W_OK) != 0) fail(given, std::strerror(errno));
      if (S_ISCHR(st.st_mode)) {
        const int fd = ::open(current.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) fail(given, std::strerror(errno));
        ::close(fd);
      }
      t.kind = OutputTarget::Kind::write_through;
      t.path = current;
      return t;
    }
    if (!S_ISREG(st.st_mode)) fail(given, "is not a regular file");
    // Read-only means read-only, for root too: permission bits do not stop root, this does.
    if ((st.st_mode & 0222) == 0) fail(given, fmt::format("is read-only (mode {:04o})", st.st_mode & 07777));
    if (::access(current.c_str(), W_OK) != 0) fail(given, std::strerror(errno));
    break;
  }
  t.kind = OutputTarget::Kind::replace;
  t.path = current;
  const std::string dir = directory_of(current);
  struct stat dir_stat {};
  if (::stat(dir.c_str(), &dir_stat) != 0)
    fail(given, errno == ENOENT ? "directory " + escape_invalid_utf8(dir) + " does not exist" : std::strerror(errno));
  if (!S_ISDIR(dir_stat.st_mode)) fail(given, escape_invalid_utf8(dir) + " is not a directory");
  check_length(dir, file_name_of(current), given);
  // The rename needs to create a file in the directory: try exactly that (permission bits
  // alone say nothing for root, read-only mounts or ACLs).
  probe_directory(dir, given);
  return t;
}

std::string comparable_path(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  const fs::path canonical = fs::weakly_canonical(ec ? fs::path(path) : absolute, ec);
  return (ec ? absolute : canonical).lexically_normal().string();
}

bool same_output(const OutputTarget& a, const OutputTarget& b) {
  if (a.exists && b.exists) {
    if (a.device != b.device || a.inode != b.inode) return false;
    // A terminal or /dev/null may take several reports one after another.
    return !S_ISCHR(a.mode);
  }
  if (a.exists != b.exists) return false;
  return comparable_path(a.path) == comparable_path(b.path);
}

bool output_is_input(const OutputTarget& target, const std::string& input_path) {
  struct stat st {};
  if (::stat(input_path.c_str(), &st) != 0) return false;
  return target.exists && target.device == st.st_dev && target.inode == st.st_ino;
}

void write_output(const OutputTarget& resolved, std::string_view content) {
  if (resolved.kind == OutputTarget::Kind::descriptor) {
    if (resolved.fd == STDOUT_FILENO) std::fflush(stdout);  // keep what was printed before in order
    write_all(resolved.fd, content, resolved.given);
    return;
  }
  // Resolved again: what the path names may have changed while the benchmarks ran.
  const OutputTarget now = resolve_output(resolved.given);
  if (now.kind == OutputTarget::Kind::descriptor) return write_output(now, content);
  if (now.kind == OutputTarget::Kind::write_through) {
    // A FIFO waits here for its reader; a signal ends the wait (EINTR) and fails this output.
    const int fd = ::open(now.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) fail(now.given, std::strerror(errno));
    try {
      write_all(fd, content, now.given);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0) fail(now.given, std::strerror(errno));
    return;
  }
  replace_file(now, content);
}

void write_file_atomically(const std::string& path, std::string_view content) {
  write_output(resolve_output(path), content);
}

void check_writable_file(const std::string& path) { resolve_output(path); }

void check_output_directory(const std::string& dir) {
  if (dir.empty()) throw InputError("cannot write charts to an empty directory name");
  if (!is_valid_utf8(dir)) fail(dir, "the name is not valid UTF-8");
  if (dir.size() + 1 + 255 >= PATH_MAX) fail(dir, fmt::format("the directory name is {} bytes, too long", dir.size()));
  // The deepest part of the path that exists must be a directory that accepts new entries.
  fs::path existing = dir;
  std::error_code ec;
  while (!existing.empty() && !fs::exists(fs::symlink_status(existing, ec)) && existing.has_parent_path() &&
         existing.parent_path() != existing)
    existing = existing.parent_path();
  if (existing.empty() || !fs::exists(fs::symlink_status(existing, ec))) existing = ".";
  if (!fs::is_directory(existing, ec))
    fail(dir, existing.string() == dir ? std::string("exists and is not a directory")
                                       : escape_invalid_utf8(existing.string()) + " is not a directory");
  probe_directory(existing.string(), dir);
}

void prepare_output_directory(const std::string& dir) {
  check_output_directory(dir);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) fail(dir, ec.message());
  }
  probe_directory(dir, dir);
}

int remove_stale_temp_files(const std::string& dir) {
  DIR* d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  const std::time_t now = std::time(nullptr);
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    unsigned long pid = 0;
    char random[7] = {};
    int consumed = 0;
    if (std::sscanf(name.c_str(), ".mlbench-%lu-%6[A-Za-z0-9].tmp%n", &pid, random, &consumed) != 2 ||
        static_cast<std::size_t>(consumed) != name.size() || std::strlen(random) != 6)
      continue;
    if (pid == static_cast<unsigned long>(::getpid()) || pid == 0 || pid > 4194304) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // its writer may still be at it
    const std::string path = (fs::path(dir) / name).string();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || now - st.st_mtime < 60) continue;
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

}  // namespace mlbench::reports
