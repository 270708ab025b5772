// Writing output files so that a reader never sees half a file: the content goes to a
// temporary file in the same directory, is fsync'ed, then renamed over the target.
#pragma once

#include <string>
#include <string_view>

namespace mlbench::reports {

// Writes `content` to `path` atomically. On any failure the temporary file is removed, an
// existing file at `path` is left untouched, and mlbench::InputError("cannot write <path>:
// <reason>") is thrown (the CLI turns it into exit code 2).
void write_file_atomically(const std::string& path, std::string_view content);

// Checks, before a long run starts, that `path` could be written later: its directory exists
// and is writable, and `path` itself is not a directory. Throws InputError when not.
void check_writable_file(const std::string& path);

// Same for an output directory (charts): it exists (or can be created) and is writable.
// Creates it when missing.
void prepare_output_directory(const std::string& dir);

}  // namespace mlbench::reports
