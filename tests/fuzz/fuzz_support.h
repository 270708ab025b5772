// Shared by the libFuzzer targets: a report channel that survives -close_fd_mask.
//
// scripts/ci-fuzz.sh runs the fuzzers with -close_fd_mask=3 so that mlbench's own messages do
// not flood the log. libFuzzer keeps its own (and the sanitizers') output, but the text of an
// unexpected exception would go to the closed stderr; the fuzzers print it here instead.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mlbench::fuzz {

// A duplicate of stderr taken in LLVMFuzzerInitialize, which libFuzzer calls before it
// applies -close_fd_mask.
inline int& report_fd() {
  static int fd = 2;
  return fd;
}

inline void keep_stderr_for_reports() {
  const int fd = ::dup(2);
  if (fd >= 0) report_fd() = fd;
}

// Prints why the input is a bug, then aborts so libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const std::string& what) {
  const std::string line = "mlbench fuzz: BUG: " + what + "\n";
  [[maybe_unused]] ssize_t n = ::write(report_fd(), line.data(), line.size());
  std::abort();
}

}  // namespace mlbench::fuzz
