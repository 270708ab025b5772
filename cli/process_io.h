// The process's standard streams, made safe: printing never throws or aborts (stderr closed
// or full, stdout a closed pipe or a full device), a failed stdout write is remembered and
// turned into an exit code, and a closed descriptor 0/1/2 is replaced by /dev/null so that a
// report file opened later can never become "stdout". Header-only: the tests and fuzzers build
// cli/*.cpp piecemeal.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace mlbench::cli {

// Exit codes (README "Exit codes", `mlbench --help`):
//   0 everything verified and written; 1 a variant failed (verification, error, timeout) or a
//   compare gate tripped; 2 bad input, nothing measured or written; 3 results were measured but
//   an output (report file, chart, stdout) could not be written (the others were, the error
//   names the file); 128+N stopped by signal N (129 SIGHUP, 130 SIGINT, 143 SIGTERM);
//   141 standard output was a closed pipe (`| head`): ends quietly after the files are written.
inline constexpr int kExitWriteFailed = 3;
inline constexpr int kExitBrokenPipe = 128 + SIGPIPE;

struct StreamState {
  bool stdout_broken_pipe = false;
  std::string stdout_error;  // first failure other than a closed pipe ("No space left on device")
};
inline StreamState& stream_state() {
  static StreamState state;
  return state;
}

// Called first thing in main: SIGPIPE ignored (a closed pipe is an EPIPE error we handle, not
// death before the reports are written); descriptors 0-2 that are closed are opened on
// /dev/null.
inline void harden_standard_streams() {
  ::signal(SIGPIPE, SIG_IGN);
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (opened >= 0 && opened != fd) {
        ::dup2(opened, fd);
        ::close(opened);
      }
    }
}

// Writes `text` to `stream` now (flushed); never throws. Failures on stdout are remembered.
inline void print_to(std::FILE* stream, std::string_view text) noexcept {
  if (text.empty()) return;
  errno = 0;
  const bool failed = std::fwrite(text.data(), 1, text.size(), stream) != text.size() || std::fflush(stream) != 0;
  if (!failed || stream != stdout) {
    if (failed) std::clearerr(stream);
    return;
  }
  const int error = errno;
  std::clearerr(stream);
  StreamState& s = stream_state();
  if (error == EPIPE)
    s.stdout_broken_pipe = true;
  else if (s.stdout_error.empty())
    s.stdout_error = error != 0 ? std::strerror(error) : "write failed";
}

template <class... Args>
void print_out(fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    print_to(stdout, fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {
  }
}
template <class... Args>
void print_err(fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    print_to(stderr, fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {
  }
}

// An error as one line of bounded length: CLI11 lists every unexpected argument (100 000 of
// them made a 700 kB "line"), and a file name may hold a newline.
inline std::string one_line(const std::string& message) {
  constexpr std::size_t kMaxBytes = 1000;
  std::string line;
  for (const char c : message) line += c == '\n' ? std::string("\\n") : std::string(1, c);
  if (line.size() <= kMaxBytes) return line;
  std::size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return line.substr(0, cut) + fmt::format(" ... ({} more bytes)", line.size() - cut);
}

// "mlbench: error: MESSAGE" on stderr, as one bounded line.
inline void print_error(const std::string& message) noexcept {
  try {
    print_err("mlbench: error: {}\n", one_line(message));
  } catch (...) {
  }
}

// The exit code once the command's own code is known: a failed stdout write turns success or
// a failed variant into 3 (with one line on stderr) or, for a closed pipe, 141 (quietly).
inline int exit_code_after_output(int code) {
  const StreamState& s = stream_state();
  if (code >= 128 || code == 2 || code == kExitWriteFailed) return code;
  if (!s.stdout_error.empty()) {
    print_err("mlbench: error: cannot write to standard output: {}\n", s.stdout_error);
    return kExitWriteFailed;
  }
  if (s.stdout_broken_pipe) return kExitBrokenPipe;
  return code;
}

}  // namespace mlbench::cli
