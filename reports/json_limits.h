// Limits on every JSON file mlbench reads (reports, the peaks cache): a hostile or corrupt
// file is refused with one line instead of exhausting the stack (100 000 nested arrays) or
// memory. nlohmann's parser itself does not recurse; dump() and the readers do, so depth is
// bounded while parsing, before any of them sees the value.
#pragma once

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/types.h"

namespace mlbench::reports {

// A report nests 6 levels deep, the peaks cache 4: 64 leaves room for any future field.
inline constexpr int kMaxJsonDepth = 64;
// 1000 rows of 100 repetitions are about 200 MB in a report; the cache is a few kB per machine.
inline constexpr std::size_t kMaxReportBytes = std::size_t{1} << 30;
inline constexpr std::size_t kMaxPeaksCacheBytes = std::size_t{16} << 20;

// Parses `text`; throws InputError("nested deeper than 64 levels", "not JSON (parse error at
// byte N)") naming nothing: callers prefix the source.
inline nlohmann::ordered_json parse_json_limited(const std::string& text, int max_depth = kMaxJsonDepth) {
  using Json = nlohmann::ordered_json;
  struct TooDeep {};
  try {
    return Json::parse(text, [max_depth](int depth, Json::parse_event_t, Json&) {
      if (depth > max_depth) throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    throw InputError(fmt::format("nested deeper than {} levels", max_depth));
  } catch (const Json::parse_error& e) {
    throw InputError("not JSON (parse error at byte " + std::to_string(e.byte) + ")");
  }
}

// The whole file at `path`, refused (InputError naming the path) when it is larger than
// `max_bytes` or cannot be read. Reads at most max_bytes + 1 bytes (a FIFO or /dev/zero too).
inline std::string read_file_limited(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  char buffer[65536];
  while (in) {
    in.read(buffer, sizeof buffer);
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      throw InputError(fmt::format("{}: larger than {} MiB, not read", path, max_bytes >> 20));
  }
  if (in.bad()) throw InputError(path + ": cannot read: " + std::strerror(errno));
  return text;
}

}  // namespace mlbench::reports
