// Fabricated-but-plausible RunReports with random figures, for the reports tests and for
// example charts. Header-only; not part of the library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports::fakes {

struct BackendSpec {
  std::string name;
  BackendKind kind;
  double speed;  // rough factor over serial
  std::string vendor;
};

inline const std::vector<BackendSpec>& default_backends() {
  static const std::vector<BackendSpec> b = {{"serial", BackendKind::cpu, 1, ""},
                                             {"openmp", BackendKind::cpu, 6, "openblas"},
                                             {"openblas", BackendKind::cpu_library, 40, ""},
                                             {"cuda", BackendKind::gpu, 300, "cublas"},
                                             {"cublas", BackendKind::gpu_library, 1500, ""}};
  return b;
}

inline MachineContext random_machine(std::mt19937_64& rng, const std::string& host, bool with_gpu) {
  std::uniform_int_distribution<int> cores(2, 64);
  MachineContext m;
  m.hostname = host;
  m.os = "Debian GNU/Linux 12 (bookworm), Linux 6.1.0 x86_64";
  m.cpu_model = "Intel(R) Xeon(R) Platinum 8480+ #" + std::to_string(rng() % 100);
  m.physical_cores = cores(rng);
  m.logical_cpus = 2 * m.physical_cores;
  m.cpu_mhz = 2000 + static_cast<double>(rng() % 1500);
  m.simd = {"avx2", "fma", "avx512f"};
  m.caches = {{1, "Data", 49152, 2}, {2, "Unified", 2097152, 2}, {3, "Unified", 110100480, m.logical_cpus}};
  m.memory_total_bytes = std::int64_t(1) << 37;
  m.memory_available_bytes = std::int64_t(1) << 36;
  m.load_average = {std::uniform_real_distribution<double>(0, 4)(rng), 0.5, 0.25};
  m.cpu_scaling_governor = "performance";
  m.compiler = "GNU 12.2.0";
  m.build_type = "Release";
  m.build_flags = "-O3 -march=native";
  m.openmp = "OpenMP 4.5 (201511), libgomp";
  m.omp_max_threads = m.logical_cpus;
  m.threads_used = m.physical_cores;
  m.libraries = {{"OpenBLAS", "0.3.21"}, {"Google Benchmark", "1.8.3"}};
  m.openblas_core = "SapphireRapids";
  m.openblas_config = "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SapphireRapids MAX_THREADS=64";
  if (with_gpu) {
    GpuContext g;
    g.name = "NVIDIA H100 80GB HBM3";
    g.cc_major = 9;
    g.sm_count = 132;
    g.memory_bytes = std::int64_t(80) << 30;
    g.memory_bus_bits = 5120;
    g.memory_clock_mhz = 2619;
    g.peak_bandwidth_gbps = 3352.3;
    g.sm_clock_mhz = 1980;
    g.l2_bytes = 52428800;
    g.driver_version = "580.65";
    g.runtime_version = "13.0";
    m.gpu = g;
    m.cuda_compiler = "NVIDIA 13.0.48";
  } else {
    m.gpu_absent_reason = "built without CUDA";
    m.warnings = {"OpenBLAS uses the generic Prescott kernel"};
  }
  return m;
}

// One result with `runs` random repetitions around `median_s` (cv about 1-5 %).
inline VariantResult random_result(std::mt19937_64& rng, const std::string& workload, std::int64_t size,
                                   const BackendSpec& backend, TimingMode timing, double median_s, int runs) {
  VariantResult r;
  r.workload = workload;
  r.backend = backend.name;
  r.backend_kind = backend.kind;
  r.timing = timing;
  r.precision = Precision::fp32;
  r.size = size;
  r.shape_label = "M=N=K=" + std::to_string(size);
  r.shape = {{"M", size}, {"N", size}, {"K", size}};
  r.threads = is_cpu(backend.kind) && backend.name != "serial" ? 8 : 1;  // GPU rows: one host thread
  r.seed = rng();
  r.flops = 2.0 * std::pow(static_cast<double>(size), 3);
  r.bytes = 4.0 * 3 * static_cast<double>(size) * static_cast<double>(size);
  r.vendor_backend = backend.vendor;
  std::uniform_real_distribution<double> noise(-0.05, 0.05);
  r.stats.runs = runs;
  r.stats.iterations = 1 + static_cast<std::int64_t>(rng() % 20);
  r.stats.rounds = 1 + static_cast<int>(rng() % std::max(runs, 1));
  for (int i = 0; i < runs; ++i) {
    r.stats.run_times_s.push_back(median_s * (1 + noise(rng)));
    r.stats.run_cpu_times_s.push_back(median_s * (1 + noise(rng)));
  }
  if (runs == 0) return r;
  std::vector<double> sorted = r.stats.run_times_s;
  std::sort(sorted.begin(), sorted.end());
  r.stats.median_s = runs % 2 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
  double sum = 0, sq = 0;
  for (double t : sorted) sum += t;
  r.stats.mean_s = sum / runs;
  for (double t : sorted) sq += (t - r.stats.mean_s) * (t - r.stats.mean_s);
  r.stats.stddev_s = runs > 1 ? std::sqrt(sq / (runs - 1)) : 0;
  r.stats.cv = runs > 1 ? r.stats.stddev_s / r.stats.mean_s : 0;
  r.stats.cpu_median_s = r.stats.median_s * (1 + noise(rng));
  r.verification = {true, 1e-7 * (1 + noise(rng)), 1e-5, "freivalds(4 vectors)+sampled(2048 entries)", ""};
  r.notes = {{"algorithm", "tiled " + std::to_string(16 << (rng() % 2))}};
  return r;
}

struct ReportSpec {
  std::string host = "lab-h100";
  bool with_gpu = true;
  std::vector<std::int64_t> sizes = {512};
  int runs = 5;
  bool with_failure = false;  // adds a failed verification row and an error row
};

// GEMM results over the sizes: CPU rows timed on the host, GPU rows kernel and end to end.
// End-to-end GPU times include a transfer cost so that they lose at small sizes.
inline RunReport random_report(std::mt19937_64& rng, const ReportSpec& spec) {
  RunReport report;
  report.machine = random_machine(rng, spec.host, spec.with_gpu);
  report.run = {"0.1.0", "mlbench gemm --size 512 --json run.json", "2026-11-24T10:00:00Z", "2026-11-24T10:05:00Z",
                rng(), 60.0, false, {}};
  report.run.rounds = 1 + static_cast<int>(rng() % 3);
  if (!spec.with_gpu) report.run.absent_backends = {{"cuda", "built without CUDA"}, {"cublas", "built without CUDA"}};
  std::uniform_real_distribution<double> jitter(0.7, 1.4);
  for (std::int64_t size : spec.sizes) {
    double serial_s = 2.0 * std::pow(static_cast<double>(size), 3) / 2e9 * jitter(rng);  // ~2 GFLOP/s
    double transfer_s = 3.0 * 4.0 * static_cast<double>(size * size) / 20e9 + 30e-6;   // PCIe + launch
    for (const BackendSpec& b : default_backends()) {
      if (is_gpu(b.kind) && !spec.with_gpu) continue;
      double t = serial_s / (b.speed * jitter(rng));
      if (is_cpu(b.kind)) {
        report.results.push_back(random_result(rng, "gemm", size, b, TimingMode::host, t, spec.runs));
      } else {
        t += 5e-6;
        report.results.push_back(random_result(rng, "gemm", size, b, TimingMode::kernel, t, spec.runs));
        report.results.push_back(random_result(rng, "gemm", size, b, TimingMode::end_to_end, t + transfer_s, spec.runs));
      }
    }
    if (spec.with_failure) {
      VariantResult failed = random_result(rng, "gemm", size, {"broken", BackendKind::cpu, 1, ""}, TimingMode::host, 1, 0);
      failed.status = ResultStatus::failed_verification;
      failed.verification = {false, 0.25, 1e-5, "sampled(2048 entries)", "C[3,7] = 0.1 expected 0.35"};
      failed.stats = {};
      report.results.push_back(failed);
      VariantResult errored = failed;
      errored.backend = "oom";
      errored.status = ResultStatus::error;
      errored.error_message = "out of device memory";
      errored.verification = {};
      report.results.push_back(errored);
    }
  }
  finalize_results(report.results);
  return report;
}

}  // namespace mlbench::reports::fakes
