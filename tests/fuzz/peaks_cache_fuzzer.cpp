// libFuzzer target: arbitrary bytes as the peaks cache file ($XDG_CACHE_HOME/mlbench/
// peaks.json). A lookup must never throw or crash: a cache it cannot use is ignored, named in
// the note and replaced, after which the file is a valid cache that the next lookup reads
// without measuring. Figures read from a cache are finite and not negative.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "reports/peaks_cache.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
namespace reports = mlbench::reports;
using mlbench::fuzz::fail;

fs::path& cache_dir() {
  static fs::path dir;
  return dir;
}

mlbench::PeakFigures fixed_peaks(const std::string& key) {
  mlbench::PeakFigures p;
  p.machine_key = key;
  p.measured_at = "2026-12-01T00:00:00Z";
  mlbench::CpuPeaks c;
  c.threads = 2;
  c.bandwidth_gbps_all = c.bandwidth_gbps_one = c.read_gbps_all = c.read_gbps_one = 10;
  c.fp32_gflops_all = c.fp32_gflops_one = c.fp64_gflops_all = c.fp64_gflops_one = 100;
  c.triad_elements = 1 << 20;
  c.vector_bytes = 32;
  c.runs = 10;
  p.cpu = c;
  p.gpu_absent_reason = "none";
  return p;
}

void check_figures(const mlbench::PeakFigures& p) {
  if (!p.cpu) return;
  for (double v : {p.cpu->bandwidth_gbps_all, p.cpu->read_gbps_all, p.cpu->fp32_gflops_all, p.cpu->fp64_gflops_all})
    if (!std::isfinite(v) || v < 0) fail("a cached figure is not finite and >= 0");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mlbench::fuzz::keep_stderr_for_reports();
  char pattern[] = "/tmp/mlbench-peaks-fuzz-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) std::abort();
  cache_dir() = pattern;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path file = cache_dir() / "peaks.json";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // The key the input most likely names, and a fixed one.
  for (const std::string& key : {std::string("fuzz machine"), std::string("CPU | 2 logical CPUs")}) {
    int measured = 0;
    auto measure = [&] {
      ++measured;
      return fixed_peaks(key);
    };
    try {
      const reports::PeaksLookup first = reports::load_or_measure_peaks(cache_dir().string(), key, false, measure);
      check_figures(first.peaks);
      if (first.measured && first.note.find("ignored") != std::string::npos &&
          first.note.find(file.string()) == std::string::npos)
        fail("the warning does not name the cache file");
      const reports::PeaksLookup second = reports::load_or_measure_peaks(cache_dir().string(), key, false, measure);
      check_figures(second.peaks);
      if (second.measured) fail("the replaced cache is not read back: " + second.note);
    } catch (const std::exception& e) {
      fail(std::string("a peaks lookup threw: ") + e.what());
    }
  }
  return 0;
}
