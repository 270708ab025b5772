// libFuzzer target: output paths (reports/atomic_file.h, reports/report_writer.h). The input is
// split on NUL into up to three paths and a content; each path is resolved inside a private
// directory holding one of each thing a path can name (regular file, read-only file, symlink,
// dangling symlink, symlink loop, directory, a private /dev/null made with mknod where allowed).
// InputError is the only accepted failure. Whatever resolves is written, and then must hold:
// a regular file has exactly the content, keeps its mode, a symlink is still a symlink, a
// device is still a device, no temporary file is left; a refused path changed nothing. The
// collision check is symmetric, and escape_invalid_utf8 always gives valid UTF-8.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/types.h"
#include "reports/atomic_file.h"
#include "reports/report_writer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
namespace reports = mlbench::reports;
using mlbench::fuzz::fail;

fs::path& work_dir() {
  static fs::path dir;
  return dir;
}

// The fixtures, made again before every input (an input may have replaced any of them).
void make_fixtures() {
  const fs::path& d = work_dir();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(d, ec)) fs::remove_all(e.path(), ec);
  std::ofstream(d / "file.json") << "old";
  ::chmod((d / "file.json").c_str(), 0640);
  std::ofstream(d / "ro.json") << "read-only";
  ::chmod((d / "ro.json").c_str(), 0444);
  fs::create_directory(d / "dir", ec);
  std::ofstream(d / "dir" / "inner.md") << "inner";
  fs::create_symlink("file.json", d / "link.json", ec);
  fs::create_symlink("dir/new.json", d / "dangling.json", ec);
  fs::create_symlink("loop_b", d / "loop_a", ec);
  fs::create_symlink("loop_a", d / "loop_b", ec);
  ::mknod((d / "null").c_str(), S_IFCHR | 0666, makedev(1, 3));  // fails without privileges: fine
}

struct Snapshot {
  bool exists = false;
  mode_t mode = 0;
  std::string content;
};
Snapshot snapshot(const fs::path& p) {
  Snapshot s;
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return s;
  s.exists = true;
  s.mode = st.st_mode;
  if (S_ISREG(st.st_mode)) {
    std::ifstream in(p, std::ios::binary);
    s.content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return s;
}

bool inside_work_dir(const std::string& path) {
  // Relative, no "..", not "-" (standard output is libFuzzer's): the fuzzer writes nowhere else.
  if (path.empty() || path[0] == '/' || path == "-") return false;
  for (const auto& part : fs::path(path))
    if (part == "..") return false;
  return true;
}

void check_utf8_escaping(const std::string& text) {
  const std::string escaped = reports::escape_invalid_utf8(text);
  if (!reports::is_valid_utf8(escaped)) fail("escape_invalid_utf8 gave invalid UTF-8");
  if (reports::is_valid_utf8(text) != (escaped == text)) fail("is_valid_utf8 disagrees with escape_invalid_utf8");
}

void write_and_check(const std::string& path, const std::string& content) {
  const fs::path full = work_dir() / path;
  const Snapshot before = snapshot(full);
  reports::OutputTarget target;
  try {
    target = reports::resolve_output(path);
  } catch (const mlbench::InputError&) {
    const Snapshot after = snapshot(full);
    if (after.exists != before.exists || after.mode != before.mode || after.content != before.content)
      fail("a refused path was changed: " + path);
    return;
  }
  if (target.kind == reports::OutputTarget::Kind::descriptor) return;  // never libFuzzer's streams
  struct stat link_before {};
  const bool was_link = ::lstat(full.c_str(), &link_before) == 0 && S_ISLNK(link_before.st_mode);
  try {
    reports::write_output(target, content);
  } catch (const mlbench::InputError&) {
    return;  // e.g. the device refused the write
  }
  struct stat st {};
  if (was_link && (::lstat(full.c_str(), &st) != 0 || !S_ISLNK(st.st_mode))) fail("a symlink was replaced: " + path);
  if (target.kind == reports::OutputTarget::Kind::write_through) {
    if (::lstat(target.path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) fail("a device was replaced: " + path);
    return;
  }
  const Snapshot written = snapshot(target.path);
  if (!written.exists || written.content != content) fail("the written file does not hold the content: " + path);
  if (target.exists && (written.mode & 07777) != (target.mode & 07777)) fail("the file lost its mode: " + path);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mlbench::fuzz::keep_stderr_for_reports();
  char pattern[] = "/tmp/mlbench-output-fuzz-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) std::abort();
  work_dir() = pattern;
  if (::chdir(pattern) != 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (parts.size() < 3) {
    const std::size_t nul = input.find('\0', start);
    if (nul == std::string::npos) break;
    parts.push_back(input.substr(start, nul - start));
    start = nul + 1;
  }
  const std::string content = input.substr(std::min(start, input.size()));
  if (parts.empty()) parts.push_back(content.substr(0, 64));
  make_fixtures();
  try {
    for (const std::string& p : parts) check_utf8_escaping(p);
    std::vector<reports::OutputTarget> targets;
    for (const std::string& p : parts)
      if (inside_work_dir(p)) try {
          targets.push_back(reports::resolve_output(p));
        } catch (const mlbench::InputError&) {
        }
    for (const auto& a : targets)
      for (const auto& b : targets)
        if (reports::same_output(a, b) != reports::same_output(b, a)) fail("same_output is not symmetric");
    // The whole pre-run check over the first paths as json / markdown / csv.
    reports::OutputPaths paths;
    if (parts.size() > 0 && inside_work_dir(parts[0])) paths.outputs["json"] = parts[0];
    if (parts.size() > 1 && inside_work_dir(parts[1])) paths.outputs["markdown"] = parts[1];
    if (parts.size() > 2 && inside_work_dir(parts[2])) paths.outputs["chart"] = parts[2];
    try {
      reports::check_output_paths(paths, {"file.json"});
    } catch (const mlbench::InputError&) {
    }
    for (const std::string& p : parts)
      if (inside_work_dir(p)) write_and_check(p, content);
    // A temporary is .mlbench-PID-XXXXXX.tmp; an output the input itself named so is not one.
    for (const auto& e : fs::directory_iterator(work_dir())) {
      const std::string name = e.path().filename().string();
      bool named_by_input = false;
      for (const std::string& p : parts) named_by_input = named_by_input || fs::path(p).filename().string() == name;
      if (!named_by_input && name.rfind(".mlbench-", 0) == 0 && name.size() > 4 &&
          name.compare(name.size() - 4, 4, ".tmp") == 0)
        fail("a temporary file was left behind");
    }
  } catch (const mlbench::InputError&) {
  } catch (const std::exception& e) {
    fail(std::string("unexpected exception: ") + e.what());
  }
  return 0;
}
