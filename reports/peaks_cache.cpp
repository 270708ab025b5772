#include "reports/peaks_cache.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/types.h"
#include "reports/atomic_file.h"
#include "reports/json_limits.h"
#include "reports/json_fields.h"
#include "reports/text_format.h"

#include <fmt/format.h>

namespace mlbench::reports {

namespace {

using Json = nlohmann::ordered_json;

// Holds an exclusive flock on a file for its lifetime; does nothing when it cannot be opened.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace

// The peaks' field table (reports/json_fields.h) is the one the report's context.mlbench.peaks
// is written and read with.
Json peaks_to_json(const PeakFigures& p) { return json_fields::write(p); }

PeakFigures peaks_from_json(const Json& j) {
  try {
    return json_fields::read<PeakFigures>(j, "peaks");
  } catch (const Json::exception& e) {
    std::string what = e.what();
    const auto close = what.find("] ");
    throw InputError("peaks: " + (close == std::string::npos ? what : what.substr(close + 2)));
  } catch (const InputError& e) {
    throw InputError(std::string("peaks: ") + e.what());
  }
}

std::vector<std::string> peaks_summary_lines(const PeakFigures& p) {
  std::vector<std::string> lines;
  if (p.cpu) {
    const CpuPeaks& c = *p.cpu;
    lines.push_back(
        fmt::format("CPU, {} threads: {} GFLOP/s fp32 ({}), {} GFLOP/s fp64 ({}), {} GB/s triad, {} GB/s read",
                    c.threads, format_number(c.fp32_gflops_all), c.fp32_source, format_number(c.fp64_gflops_all),
                    c.fp64_source, format_number(c.bandwidth_gbps_all), format_number(c.read_gbps_all)));
    lines.push_back(fmt::format("CPU, 1 thread: {} GFLOP/s fp32, {} GFLOP/s fp64, {} GB/s triad, {} GB/s read",
                                format_number(c.fp32_gflops_one), format_number(c.fp64_gflops_one),
                                format_number(c.bandwidth_gbps_one), format_number(c.read_gbps_one)));
  } else {
    lines.push_back("CPU: not measured (" + p.cpu_absent_reason + ")");
  }
  if (p.gpu) {
    const GpuPeaks& g = *p.gpu;
    lines.push_back(
        fmt::format("GPU {}: {} GFLOP/s fp32, {} GFLOP/s fp64, {} GFLOP/s tf32 (cuBLAS), {} GFLOP/s "
                    "bf16 (cuBLAS), {} GB/s copy, {} GB/s read",
                    g.name, format_number(g.fp32_gflops), format_number(g.fp64_gflops), format_number(g.tf32_gflops),
                    format_number(g.bf16_gflops), format_number(g.copy_gbps), format_number(g.read_gbps)));
  } else {
    lines.push_back("GPU: not measured (" + p.gpu_absent_reason + ")");
  }
  return lines;
}

std::string render_peaks_text(const PeakFigures& p) {
  std::string out;
  auto line = [&out](const std::string& name, const std::string& value) {
    out += fmt::format("{:<32} {}\n", name + ":", value);
  };
  auto rate = [](double gflops) { return format_number(gflops) + " GFLOP/s"; };
  auto bandwidth = [](double gbps) { return format_number(gbps) + " GB/s"; };
  line("machine", p.machine_key);
  line("measured at", p.measured_at);
  if (p.cpu) {
    const CpuPeaks& c = *p.cpu;
    const std::string all = fmt::format("{} threads", c.threads);
    line("cpu bandwidth, " + all, bandwidth(c.bandwidth_gbps_all));
    line("cpu bandwidth, 1 thread", bandwidth(c.bandwidth_gbps_one));
    line("cpu read bandwidth, " + all, bandwidth(c.read_gbps_all));
    line("cpu read bandwidth, 1 thread", bandwidth(c.read_gbps_one));
    line("cpu fp32 roof, " + all, rate(c.fp32_gflops_all) + " (" + c.fp32_source + ")");
    line("cpu fp32 fma, 1 thread", rate(c.fp32_gflops_one));
    line("cpu fp64 roof, " + all, rate(c.fp64_gflops_all) + " (" + c.fp64_source + ")");
    if (c.gemm_size > 0)
      line("cpu openblas gemm, " + all, fmt::format("{} fp32, {} fp64 (n = {})", rate(c.fp32_gemm_gflops_all),
                                                    rate(c.fp64_gemm_gflops_all), c.gemm_size));
    line("cpu fp64 fma, 1 thread", rate(c.fp64_gflops_one));
    line("cpu method",
         fmt::format(
             "triad over 3 x {} doubles; {}-byte FMA vectors; best of {} runs; roofs at least the library GEMM's rate",
             c.triad_elements, c.vector_bytes, c.runs));
  } else {
    line("cpu", "not measured (" + p.cpu_absent_reason + ")");
  }
  if (p.gpu) {
    const GpuPeaks& g = *p.gpu;
    line("gpu", g.name);
    line("gpu copy bandwidth", bandwidth(g.copy_gbps));
    line("gpu read bandwidth", bandwidth(g.read_gbps));
    line("gpu fp32 fma", rate(g.fp32_gflops));
    line("gpu fp64 fma", rate(g.fp64_gflops));
    line("gpu tf32 (cuBLAS)", rate(g.tf32_gflops));
    line("gpu bf16 (cuBLAS)", rate(g.bf16_gflops));
    line("gpu method", fmt::format("copy/read over {:.2f} GiB; GEMM n = {}; median of {} runs",
                                   static_cast<double>(g.copy_bytes) / (1 << 30), g.gemm_size, g.runs));
  } else {
    line("gpu", "not measured (" + p.gpu_absent_reason + ")");
  }
  return out;
}

std::string default_peaks_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/mlbench";
  // HOME unset or relative: the account's home directory, never the working directory (a
  // cache under ./.cache would follow the user from directory to directory).
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/mlbench";
  if (const passwd* account = ::getpwuid(::geteuid());
      account != nullptr && account->pw_dir != nullptr && account->pw_dir[0] == '/')
    return std::string(account->pw_dir) + "/.cache/mlbench";
  return "";
}

namespace {

// Figures a cache may hold: finite, not negative (0 is "unknown"), counts in range. A cache
// that holds anything else was not written by mlbench.
void check_plausible(const PeakFigures& p) {
  auto figure = [](double v, const char* what) {
    if (!std::isfinite(v) || v < 0) throw InputError(std::string("peaks: ") + what + " is not a finite figure >= 0");
  };
  if (p.cpu) {
    const CpuPeaks& c = *p.cpu;
    if (c.threads < 1 || c.threads > 1 << 20) throw InputError("peaks: cpu threads out of range");
    for (double v : {c.bandwidth_gbps_all, c.bandwidth_gbps_one, c.read_gbps_all, c.read_gbps_one, c.fp32_gflops_all,
                     c.fp32_gflops_one, c.fp64_gflops_all, c.fp64_gflops_one})
      figure(v, "a cpu figure");
  }
  if (p.gpu) {
    const GpuPeaks& g = *p.gpu;
    for (double v : {g.copy_gbps, g.read_gbps, g.fp32_gflops, g.fp64_gflops, g.tf32_gflops, g.bf16_gflops})
      figure(v, "a gpu figure");
  }
}

Json empty_cache() { return {{"schema_version", kPeaksSchemaVersion}, {"machines", Json::object()}}; }

}  // namespace

PeaksLookup load_or_measure_peaks(const std::string& cache_dir, const std::string& machine_key, bool refresh,
                                  const std::function<PeakFigures()>& measure) {
  PeaksLookup lookup;
  if (cache_dir.empty()) {
    lookup.peaks = measure();
    lookup.peaks.machine_key = machine_key;
    lookup.measured = true;
    lookup.note = "peaks not cached: no home directory (HOME unset, no account entry) and no XDG_CACHE_HOME";
    return lookup;
  }
  lookup.cache_file = cache_dir + "/peaks.json";
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  FileLock lock(cache_dir + "/peaks.lock");

  // Every machine's valid entry is kept; a file that is not a valid cache is replaced as a whole.
  Json cache = empty_cache();
  struct stat st {};
  const bool present = ::lstat(lookup.cache_file.c_str(), &st) == 0;
  auto ignore = [&](const std::string& why) {
    lookup.note = "ignored the unreadable peaks cache " + lookup.cache_file + " (" + why + "); it is replaced";
    cache = empty_cache();
  };
  if (present && !S_ISREG(st.st_mode)) {
    // A link, FIFO or device where the cache belongs: never read (a FIFO would block), never
    // followed when written; removed so that the new cache replaces it and nothing else.
    ignore("not a regular file");
    ::unlink(lookup.cache_file.c_str());
  } else if (present) {
    try {
      Json read = parse_json_limited(read_file_limited(lookup.cache_file, kMaxPeaksCacheBytes), 16);
      if (!read.is_object() || !read.contains("schema_version") || !read["schema_version"].is_number_integer() ||
          read["schema_version"].get<std::int64_t>() != kPeaksSchemaVersion || !read.contains("machines") ||
          !read["machines"].is_object())
        throw InputError("not an mlbench peaks cache of schema version " + std::to_string(kPeaksSchemaVersion));
      // Entries that do not read back as plausible figures are dropped (and said so).
      Json machines = Json::object();
      std::string dropped;
      for (auto it = read["machines"].begin(); it != read["machines"].end(); ++it) {
        try {
          check_plausible(peaks_from_json(it.value()));
          machines[it.key()] = it.value();
        } catch (const std::exception& e) {
          if (it.key() == machine_key) throw;
          dropped = e.what();
        }
      }
      if (!dropped.empty())
        lookup.note = "dropped unreadable entries of the peaks cache " + lookup.cache_file + " (" + dropped + ")";
      cache = {{"schema_version", kPeaksSchemaVersion}, {"machines", std::move(machines)}};
      if (!refresh && cache["machines"].contains(machine_key)) {
        lookup.peaks = peaks_from_json(cache["machines"][machine_key]);
        // Figures cached before the CPU read bandwidth existed are measured again.
        if (!lookup.peaks.cpu || lookup.peaks.cpu->read_gbps_all > 0) return lookup;
      }
    } catch (const std::exception& e) {
      ignore(escape_invalid_utf8(e.what()));
    }
  }
  lookup.peaks = measure();
  lookup.peaks.machine_key = machine_key;
  lookup.measured = true;
  cache["machines"][machine_key] = peaks_to_json(lookup.peaks);
  try {
    write_file_atomically(lookup.cache_file, cache.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  } catch (const std::exception& e) {
    lookup.note += (lookup.note.empty() ? "" : "; ") + std::string("peaks not cached: ") + e.what();
  }
  return lookup;
}

}  // namespace mlbench::reports
