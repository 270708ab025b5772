#include "bench/machine_context.h"

#include <omp.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/backend.h"
#include "bench/thread_binding.h"

#ifndef MLBENCH_VERSION
#define MLBENCH_VERSION "unknown"
#endif
#ifndef MLBENCH_COMPILER
#define MLBENCH_COMPILER "unknown"
#endif
#ifndef MLBENCH_BUILD_TYPE
#define MLBENCH_BUILD_TYPE "unknown"
#endif
#ifndef MLBENCH_BUILD_FLAGS
#define MLBENCH_BUILD_FLAGS ""
#endif
#ifndef MLBENCH_CUDA_COMPILER
#define MLBENCH_CUDA_COMPILER ""
#endif

namespace mlbench {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Value of `key` in a "key : value" or "key=value" style file, first occurrence.
std::string read_key(const std::string& path, const std::string& key, char sep) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    auto pos = line.find(sep);
    if (pos == std::string::npos) continue;
    std::string value = line.substr(pos + 1);
    value.erase(0, value.find_first_not_of(" \t\""));
    while (!value.empty() && (value.back() == '"' || value.back() == ' ')) value.pop_back();
    return value;
  }
  return {};
}

// First line of a sysfs/procfs file, "unknown" when the file is absent or empty: a machine
// that does not say is reported as such, never as an error.
std::string read_or_unknown(const std::string& path) {
  std::string line = read_first_line(path);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\n')) line.pop_back();
  return line.empty() ? "unknown" : line;
}

// Turbo / boost: intel_pstate says "no_turbo" (1 = off); acpi-cpufreq and amd-pstate say "boost".
std::string cpu_boost_state(const std::string& sysfs) {
  const std::string no_turbo = read_or_unknown(sysfs + "/intel_pstate/no_turbo");
  if (no_turbo == "1") return "off";
  if (no_turbo == "0") return "on";
  const std::string boost = read_or_unknown(sysfs + "/cpufreq/boost");
  if (boost == "1") return "on";
  if (boost == "0") return "off";
  return "unknown";
}

// SMT: the kernel's switch when present, else whether cpu0 shares its core with a sibling.
std::string smt_state(const std::string& sysfs) {
  const std::string active = read_or_unknown(sysfs + "/smt/active");
  if (active == "1") return "on";
  if (active == "0") return "off";
  const std::string siblings = read_or_unknown(sysfs + "/cpu0/topology/thread_siblings_list");
  if (siblings == "unknown") return "unknown";
  return siblings.find_first_of(",-") != std::string::npos ? "on" : "off";
}

// 1, 5 and 15 minute load averages; empty when /proc/loadavg cannot be read.
std::vector<double> load_averages() {
  std::ifstream in("/proc/loadavg");
  std::vector<double> load(3);
  if (!(in >> load[0] >> load[1] >> load[2])) return {};
  return load;
}

std::int64_t meminfo_bytes(const std::string& key) {
  const std::string v = read_key("/proc/meminfo", key + ":", ':');
  return v.empty() ? 0 : std::atoll(v.c_str()) * 1024;
}

std::vector<std::string> simd_flags() {
  // The extensions that matter for these kernels, in the order a reader expects them.
  static const char* const wanted[] = {"sse4_2",   "avx",      "avx2",        "fma",         "avx512f",
                                       "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                                       "amx_tile", "amx_bf16", "asimd",       "sve"};
  std::istringstream flags(read_key("/proc/cpuinfo", "flags", ':') + " " + read_key("/proc/cpuinfo", "Features", ':'));
  std::set<std::string> present;
  for (std::string f; flags >> f;) present.insert(f);
  std::vector<std::string> out;
  for (const char* w : wanted)
    if (present.count(w)) out.emplace_back(w);
  return out;
}

int physical_core_count() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical, core;
  while (std::getline(in, line)) {
    auto value = [&] { return line.substr(line.find(':') + 1); };
    if (line.rfind("physical id", 0) == 0) physical = value();
    if (line.rfind("core id", 0) == 0) {
      core = value();
      cores.insert({physical, core});
    }
  }
  return static_cast<int>(cores.size());
}

std::string proc_bind_name(omp_proc_bind_t bind) {
  switch (bind) {
    case omp_proc_bind_false: return "false";
    case omp_proc_bind_true: return "true";
    case omp_proc_bind_master: return "master";
    case omp_proc_bind_close: return "close";
    case omp_proc_bind_spread: return "spread";
  }
  return "unknown";
}

}  // namespace

std::vector<std::string> stability_warnings(const MachineContext& m) {
  std::vector<std::string> warnings;
  if (m.cpu_scaling_governor == "powersave" || m.cpu_scaling_governor == "conservative")
    warnings.push_back(fmt::format(
        "CPU frequency governor is '{}': clocks ramp with load, so short runs time a slower CPU than long ones "
        "(set the 'performance' governor for stable numbers)",
        m.cpu_scaling_governor));
  const int cores = std::max(m.logical_cpus, 1);
  if (!m.load_average.empty() && m.load_average[0] > 0.5 * cores)
    warnings.push_back(
        fmt::format("load average {:.2f} over the last minute on {} logical CPUs at start: other programs are running, "
                    "so results will be noisy (close them, or compare with care)",
                    m.load_average[0], cores));
  return warnings;
}

bool is_generic_openblas_core(const std::string& core) {
  // OpenBLAS falls back to these when it does not recognise the CPU (seen: "Prescott" on a
  // Sapphire Rapids host, 5x slower than its proper kernel).
  static const char* const generic[] = {"prescott", "core2",      "penryn",    "dunnington", "nehalem",
                                        "katmai",   "coppermine", "northwood", "banias",     "generic",
                                        "armv8",    "barcelona",  "athlon",    "opteron"};
  std::string lower = core;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::any_of(std::begin(generic), std::end(generic), [&](const char* g) { return lower == g; });
}

MachineContext collect_machine_context(int threads, const Registry& registry) {
  MachineContext ctx;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) ctx.hostname = host;
  utsname uts{};
  std::string os_name = read_key("/etc/os-release", "PRETTY_NAME", '=');
  if (uname(&uts) == 0) ctx.os = fmt::format("{}, {} {} {}", os_name, uts.sysname, uts.release, uts.machine);
  ctx.cpu_model = read_key("/proc/cpuinfo", "model name", ':');

  // Google Benchmark already reads CPU count, clock, caches and load; use what it found.
  const auto& cpu = benchmark::CPUInfo::Get();
  ctx.logical_cpus = cpu.num_cpus;
  ctx.physical_cores = physical_core_count();
  if (ctx.physical_cores == 0) ctx.physical_cores = ctx.logical_cpus;
  ctx.cpu_mhz = cpu.cycles_per_second / 1e6;
  for (const auto& c : cpu.caches) ctx.caches.push_back({c.level, c.type, c.size, c.num_sharing});
  ctx.load_average = load_averages();
  if (ctx.load_average.empty()) ctx.load_average = cpu.load_avg;
  ctx.simd = simd_flags();
  ctx.memory_total_bytes = meminfo_bytes("MemTotal");
  ctx.memory_available_bytes = meminfo_bytes("MemAvailable");
  const std::string sysfs = "/sys/devices/system/cpu";
  ctx.cpu_scaling_governor = read_or_unknown(sysfs + "/cpu0/cpufreq/scaling_governor");
  ctx.cpu_scaling_driver = read_or_unknown(sysfs + "/cpu0/cpufreq/scaling_driver");
  ctx.cpu_boost = cpu_boost_state(sysfs);
  ctx.smt = smt_state(sysfs);

  ctx.compiler = MLBENCH_COMPILER;
  ctx.build_type = MLBENCH_BUILD_TYPE;
  ctx.git_commit = mlbench_git_commit();
  ctx.build_flags = MLBENCH_BUILD_FLAGS;
  ctx.cuda_compiler = MLBENCH_CUDA_COMPILER;
#ifdef _OPENMP
  ctx.openmp = fmt::format("OpenMP {}", _OPENMP);
#endif
  ctx.omp_max_threads = omp_get_max_threads();
  ctx.threads_used = threads > 0 ? threads : ctx.omp_max_threads;
  ctx.omp_proc_bind = proc_bind_name(omp_get_proc_bind());
  if (const char* places = std::getenv("OMP_PLACES")) ctx.omp_places = places;
  // The places threads are bound to: unbound, libgomp has none but libomp (clang's runtime) one.
  ctx.omp_num_places = omp_get_proc_bind() == omp_proc_bind_false ? 0 : omp_get_num_places();
  ctx.thread_pinning = describe_thread_pinning();
  ctx.cpus = openmp_thread_cpus();
  ctx.libraries.emplace_back("mlbench", MLBENCH_VERSION);
  ctx.libraries.emplace_back("fmt",
                             fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100));

  for (const auto& provide : registry.context_providers) provide(ctx);
  for (std::string& warning : stability_warnings(ctx)) ctx.warnings.push_back(std::move(warning));
  if (!ctx.gpu && ctx.gpu_absent_reason.empty()) ctx.gpu_absent_reason = "no GPU backend in this build";
  return ctx;
}

RankContext rank_context_of(const MachineContext& m, int rank) {
  RankContext r;
  r.rank = rank;
  r.hostname = m.hostname;
  r.cpu_model = m.cpu_model;
  r.logical_cpus = m.logical_cpus;
  r.physical_cores = m.physical_cores;
  r.cpus = m.cpus;
  r.threads = m.threads_used;
  r.omp_num_places = m.omp_num_places;
  r.thread_pinning = m.thread_pinning;
  r.load_average = m.load_average;
  r.openblas_core = m.openblas_core;
  if (m.gpu)
    r.gpu = fmt::format("{} (device {}{}, driver {})", m.gpu->name, m.gpu->ordinal,
                        m.gpu->uuid.empty() ? "" : ", " + m.gpu->uuid, m.gpu->driver_version);
  else
    r.gpu = "none (" + (m.gpu_absent_reason.empty() ? std::string("no reason recorded") : m.gpu_absent_reason) + ")";
  for (const auto& [name, version] : m.libraries)
    if (name == "MPI") r.mpi_library = version;
  return r;
}

}  // namespace mlbench
