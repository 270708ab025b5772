// Measured peaks as JSON, and their per-machine cache.
//
// Cache file <dir>/peaks.json (dir: $XDG_CACHE_HOME/mlbench, else ~/.cache/mlbench):
//   {"schema_version": 1, "machines": {"<peaks_machine_key>": <peaks>, ...}}
// written atomically; a process holds <dir>/peaks.lock (flock) while it looks up, measures and
// stores, so that concurrent runs measure once and never at the same time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/peaks.h"

namespace mlbench::reports {

inline constexpr int kPeaksSchemaVersion = 1;

// The object written under context.mlbench.peaks of a JSON report and in the cache.
nlohmann::ordered_json peaks_to_json(const PeakFigures& peaks);
// Throws InputError naming the first malformed field.
PeakFigures peaks_from_json(const nlohmann::ordered_json& json);

// The figures as aligned "name: value" lines (for `mlbench peak` and `mlbench info`).
std::string render_peaks_text(const PeakFigures& peaks);
// One line per unit for report headers: "CPU, 16 threads: 2.1k GFLOP/s fp32, ..., 90 GB/s".
std::vector<std::string> peaks_summary_lines(const PeakFigures& peaks);

// $XDG_CACHE_HOME/mlbench when set and absolute, else $HOME/.cache/mlbench (HOME absolute),
// else the account's home directory (getpwuid)/.cache/mlbench; "" when there is none (the peaks
// are then measured and not cached: never a cache in the working directory).
std::string default_peaks_cache_dir();

struct PeaksLookup {
  PeakFigures peaks;
  bool measured = false;  // false: read from the cache
  std::string cache_file;
  std::string note;  // what went wrong with the cache, if anything (corrupt file replaced, not writable)
};

// Peaks of `machine_key`: read from the cache, or measured with `measure` and stored when the
// cache has none, cannot be read, is corrupt, or `refresh` is set. Cache problems are never
// fatal: they are described in `note`. A cache file that is not a regular file, larger than
// 16 MiB, nested deeper than 16 levels, not JSON, of another schema, or whose entry for this
// machine is malformed or implausible (non-finite, negative) is ignored and replaced; other
// machines' malformed entries are dropped. `cache_dir` "" : measured, not cached.
PeaksLookup load_or_measure_peaks(const std::string& cache_dir, const std::string& machine_key, bool refresh,
                                  const std::function<PeakFigures()>& measure);

}  // namespace mlbench::reports
