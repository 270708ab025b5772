// Writing output files so that a reader never sees half a file, and nothing that is not a
// report is ever replaced.
//
// What a path names decides how it is written (resolve_output):
// - a regular file, or nothing yet: the content goes to a temporary file in the same directory,
//   is fsync'ed, given the old file's mode (and owner, where allowed), then renamed over it;
// - a symlink: followed (up to 40 hops); the file it finally names is replaced as above, so the
//   link stays a link and the file it points to gets the new content;
// - a character device or FIFO (/dev/null, a terminal, a pipe made with mkfifo): written
//   through, never replaced;
// - "-", /dev/stdout, /dev/fd/N, /proc/self/fd/N: written to that descriptor, never replaced;
// - a directory, block device, socket, read-only file (no write bit, even for root), unwritable
//   directory, non-UTF-8 or over-long name (the temporary name included): refused.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "bench/types.h"

namespace mlbench::reports {

// Writing to a pipe whose reader has gone (EPIPE; SIGPIPE is ignored by the CLI).
class BrokenPipeError : public InputError {
 public:
  using InputError::InputError;
};

struct OutputTarget {
  enum class Kind {
    replace,        // regular file or none: temporary file + rename
    write_through,  // character device, FIFO: opened and written
    descriptor,     // "-" or /dev/stdout-like: written to `fd`
  };
  std::string given;  // as the user named it (messages)
  std::string path;   // the file written: symlinks followed
  Kind kind = Kind::replace;
  int fd = -1;  // Kind::descriptor
  bool exists = false;
  mode_t mode = 0;  // of the existing file
  uid_t uid = 0;
  gid_t gid = 0;
  dev_t device = 0;
  ino_t inode = 0;
  bool is_stdout() const { return kind == Kind::descriptor && fd == 1; }
};

// Decides how `path` will be written and checks, writing nothing, that it can be: throws
// mlbench::InputError("cannot write <path>: <reason>") when not.
OutputTarget resolve_output(const std::string& path);

// True when the two targets end in the same file (same inode, or the same path not yet created,
// or the same descriptor).
bool same_output(const OutputTarget& a, const OutputTarget& b);
// `path` made absolute, with the links of its existing part resolved and "." / ".." removed.
std::string comparable_path(const std::string& path);
// True when `target` is the file at `input_path` (an input of the command).
bool output_is_input(const OutputTarget& target, const std::string& input_path);

// Writes `content` to `target`. A replaced file is replaced atomically: on any failure the
// temporary file is removed and the existing file is left untouched. Throws InputError
// ("cannot write <path>: <reason>") on failure.
void write_output(const OutputTarget& target, std::string_view content);

// resolve_output + write_output.
void write_file_atomically(const std::string& path, std::string_view content);

// Checks, before a long run starts, that `path` could be written later (resolve_output).
void check_writable_file(const std::string& path);

// Checks that `dir` is, or can be created as, a writable directory: every part of it that
// exists is a directory and the deepest existing one accepts new files. Creates nothing.
void check_output_directory(const std::string& dir);

// Same check, then creates `dir` when missing (just before charts are written into it).
void prepare_output_directory(const std::string& dir);

// Temporary files mlbench leaves when it is killed while writing are named
// ".mlbench-<pid>-XXXXXX.tmp". Removes those in `dir` whose process is gone and that are older
// than a minute; returns how many were removed. Never fails.
int remove_stale_temp_files(const std::string& dir);

// The longest file name (NAME_MAX) a directory accepts, and the length of the temporary name
// mlbench uses there: a target name longer than the limit is refused before measuring.
inline constexpr std::size_t kTempNameLength = sizeof(".mlbench-4294967295-XXXXXX.tmp") - 1;

// `text` with every byte that is not part of valid UTF-8 written as \xHH (messages, reports).
std::string escape_invalid_utf8(std::string_view text);
// True when `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace mlbench::reports
