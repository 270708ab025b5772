// Fabricated-but-plausible RunReports with random figures, for the reports tests and for
// example charts. Header-only; not part of the library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/analyze.h"
#include "bench/peaks.h"
#include "bench/result.h"
#include "bench/roofline.h"

namespace mlbench::reports::fakes {

struct BackendSpec {
  std::string name;
  BackendKind kind;
  double speed;  // rough factor over serial
  std::string vendor;
  bool baseline = false;  // BackendInfo::is_baseline
};

inline const std::vector<BackendSpec>& default_backends() {
  static const std::vector<BackendSpec> b = {{"serial", BackendKind::cpu, 1, "", true},
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
  r.is_baseline = backend.baseline;
  r.timing = timing;
  r.precision = Precision::fp32;
  r.size = size;
  r.shape_label = "M=N=K=" + std::to_string(size);
  r.shape = {{"M", size}, {"N", size}, {"K", size}};
  r.threads = is_cpu(backend.kind) && !backend.baseline ? 8 : 1;  // GPU rows: one host thread
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
  report.run = {"0.1.0",
                "mlbench gemm --size 512 --json run.json",
                "2026-11-24T10:00:00Z",
                "2026-11-24T10:05:00Z",
                rng(),
                60.0,
                false,
                {}};
  report.run.rounds = 1 + static_cast<int>(rng() % 3);
  if (!spec.with_gpu) report.run.absent_backends = {{"cuda", "built without CUDA"}, {"cublas", "built without CUDA"}};
  std::uniform_real_distribution<double> jitter(0.7, 1.4);
  for (std::int64_t size : spec.sizes) {
    double serial_s = 2.0 * std::pow(static_cast<double>(size), 3) / 2e9 * jitter(rng);  // ~2 GFLOP/s
    double transfer_s = 3.0 * 4.0 * static_cast<double>(size * size) / 20e9 + 30e-6;     // PCIe + launch
    for (const BackendSpec& b : default_backends()) {
      if (is_gpu(b.kind) && !spec.with_gpu) continue;
      double t = serial_s / (b.speed * jitter(rng));
      if (is_cpu(b.kind)) {
        report.results.push_back(random_result(rng, "gemm", size, b, TimingMode::host, t, spec.runs));
      } else {
        t += 5e-6;
        report.results.push_back(random_result(rng, "gemm", size, b, TimingMode::kernel, t, spec.runs));
        report.results.push_back(
            random_result(rng, "gemm", size, b, TimingMode::end_to_end, t + transfer_s, spec.runs));
      }
    }
    if (spec.with_failure) {
      VariantResult failed =
          random_result(rng, "gemm", size, {"broken", BackendKind::cpu, 1, ""}, TimingMode::host, 1, 0);
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

// Everything a full run can hold, for the chart-layout and HTML tests: every workload swept
// over `sizes`, every backend family (serial, OpenMP, CPU libraries, MPI, CUDA, GPU libraries
// with a TF32 variant, multi-GPU), kernel and end-to-end rows, a failed and an errored row
// per shape, noisy and throttled rows, long host/CPU names, long warnings and notes, and peaks
// whose FMA figure lies below what the library GEMM reached.
inline RunReport full_run_report(std::mt19937_64& rng,
                                 const std::string& host = "a-rather-long-host-name.cluster.example.org",
                                 std::vector<std::int64_t> sizes = {256, 512, 1024}) {
  RunReport report;
  report.machine = random_machine(rng, host, true);
  report.machine.cpu_model = "AMD EPYC 9654 96-Core Processor with a very long marketing name (engineering sample)";
  report.machine.warnings = {
      "OpenBLAS uses the generic Prescott kernel: its GEMM is far below this CPU's peak; set OPENBLAS_CORETYPE or "
      "install a build for this CPU",
      "the CPU governor is powersave: clocks change under load, so figures of this run vary more than they should"};
  report.run = {"0.1.0 (abc1234-dirty)",
                "mlbench all --preset quick --html run.html",
                "2026-12-01T10:00:00Z",
                "2026-12-01T10:25:00Z",
                rng(),
                2.0,
                false,
                {}};
  // An MPI job's per-rank contexts (the mpi rows below ran over 3 ranks).
  for (int rank = 0; rank < 3; ++rank)
    report.machine.mpi_ranks.push_back({rank,
                                        host,
                                        report.machine.cpu_model,
                                        16,
                                        8,
                                        {2 * rank, 2 * rank + 1},
                                        2,
                                        2,
                                        "pinned by mlbench (--pin cores): OMP_PROC_BIND=close OMP_PLACES=cores",
                                        {0.5, 0.4, 0.3},
                                        "Zen",
                                        "none (no CUDA device)",
                                        "Open MPI v4.1.4"});
  report.run.absent_backends = {
      {"cudnn", "built without cuDNN: libcudnn9-dev-cuda-13 not installed when mlbench was configured"}};
  const std::vector<std::pair<std::string, std::string>> workloads = {{"gemm", "M=N=K="},
                                                                      {"convolution", "N=1 C=3 K=16 3x3 H=W="},
                                                                      {"reduction", "sum over NxN, N="},
                                                                      {"attention", "B=4 H=8 D=64 S="},
                                                                      {"softmax", "rows=4096 N="},
                                                                      {"layernorm", "rows=4096 N="}};
  struct Spec {
    BackendSpec backend;
    int ranks = 0, gpus = 0;
    bool tf32 = false;
  };
  const std::vector<Spec> specs = {
      {{"serial", BackendKind::cpu, 1, "", true}},
      {{"openmp", BackendKind::cpu, 6, "openblas"}},
      {{"openblas", BackendKind::cpu_library, 40, ""}},
      {{"onednn", BackendKind::cpu_library, 35, ""}},
      {{"mpi", BackendKind::cpu, 12, ""}, 3, 0},
      {{"cuda", BackendKind::gpu, 300, "cublas"}},
      {{"cublas", BackendKind::gpu_library, 1500, ""}},
      {{"cublas-tf32", BackendKind::gpu_library, 4000, ""}, 0, 0, true},
      {{"nccl", BackendKind::gpu_library, 2500, ""}, 0, 2},
  };
  std::uniform_real_distribution<double> jitter(0.7, 1.4);
  std::size_t row = 0;
  for (const auto& [workload, shape_prefix] : workloads)
    for (std::int64_t size : sizes) {
      const double serial_s =
          2.0 * std::pow(static_cast<double>(size), 3) / 2e9 * jitter(rng) / (workload == "gemm" ? 1 : 50);
      const double transfer_s = 3.0 * 4.0 * static_cast<double>(size * size) / 20e9 + 30e-6;
      for (const Spec& spec : specs) {
        double t = serial_s / (spec.backend.speed * jitter(rng));
        std::vector<TimingMode> timings = is_cpu(spec.backend.kind)
                                              ? std::vector<TimingMode>{TimingMode::host}
                                              : std::vector<TimingMode>{TimingMode::kernel, TimingMode::end_to_end};
        for (TimingMode timing : timings) {
          VariantResult r = random_result(
              rng, workload, size, spec.backend, timing,
              timing == TimingMode::end_to_end ? t + 5e-6 + transfer_s : t + (is_gpu(spec.backend.kind) ? 5e-6 : 0),
              3 + static_cast<int>(rng() % 10));
          r.shape_label = shape_prefix + std::to_string(size);
          if (workload != "gemm") r.shape = {{"N", size}};
          if (workload == "reduction") {
            r.flops = static_cast<double>(size * size);
            r.bytes = 4.0 * static_cast<double>(size * size);
          }
          r.ranks = spec.ranks;
          r.gpus = spec.gpus;
          if (spec.gpus) r.communication_s = r.stats.median_s * 0.2;
          if (spec.tf32) {
            r.uses_tensor_cores = true;
            r.notes.push_back({"math", "TF32 tensor-op math (cublasGemmEx CUBLAS_COMPUTE_32F_FAST_TF32)"});
          }
          r.notes.push_back({"detail",
                             "a long note that explains, in many words, how this variant tiles its loops, which "
                             "library call it makes and why its figures are what they are"});
          ++row;
          if (row % 7 == 0) {
            r.cv_above_threshold = true;
            r.stats.cv = 0.12;
          }
          if (is_gpu(spec.backend.kind) && row % 5 == 0) r.gpu_state = GpuStateChange{{}, {}, {"power cap", "thermal"}};
          // Energy (bench/energy.h): CPU rows from RAPL with a DRAM domain, GPU rows from NVML;
          // MPI rows and every ninth row without a figure, saying why.
          const bool gpu = is_gpu(spec.backend.kind);
          if (spec.ranks > 1) {
            r.energy = RowEnergy::unavailable("not measured: the row runs in 3 processes");
          } else if (row % 9 == 0) {
            r.energy = RowEnergy::unavailable(
                gpu ? "NVML total energy not available on GPU 0: Not Supported (the counter exists from Volta on)"
                    : "RAPL unavailable: /sys/class/powercap/intel-rapl:0/energy_uj is readable only by root "
                      "(Permission denied; since Linux 5.10 RAPL counters are root-only: run as root or grant "
                      "read access, docs/energy.md)");
          } else {
            RowEnergy e;
            e.measured = true;
            e.source =
                gpu ? "NVML total energy (board): GPU 0"
                    : "RAPL package-0 + package-1 (package domain); DRAM domain: intel-rapl:0:0 + intel-rapl:1:0";
            const double minimum_window_s = gpu ? 1.0 : 0.1;
            e.runs = std::max<std::int64_t>(r.stats.runs * r.stats.iterations,
                                            static_cast<std::int64_t>(std::ceil(minimum_window_s / r.stats.median_s)));
            e.timed_s = r.stats.median_s * static_cast<double>(e.runs);
            e.window_s = e.timed_s / 0.9;
            e.joules = (gpu ? 300 + 400 * std::uniform_real_distribution<double>()(rng)
                            : 80 + 170 * std::uniform_real_distribution<double>()(rng)) *
                       e.window_s;
            if (!gpu) e.dram_joules = 0.15 * e.joules;
            r.energy = e;
          }
          report.results.push_back(r);
        }
      }
      VariantResult failed =
          random_result(rng, workload, size, {"broken", BackendKind::cpu, 1, ""}, TimingMode::host, 1, 0);
      failed.shape_label = shape_prefix + std::to_string(size);
      failed.status = ResultStatus::failed_verification;
      failed.verification = {false, 0.25, 1e-5, "sampled(2048 entries)", "C[3,7] = 0.1 expected 0.35"};
      failed.stats = {};
      report.results.push_back(failed);
      VariantResult errored = failed;
      errored.backend = "cuda-experimental";
      errored.backend_kind = BackendKind::gpu;
      errored.timing = TimingMode::kernel;
      errored.status = ResultStatus::error;
      errored.error_message = "out of device memory while allocating the workspace of 17179869184 bytes";
      errored.verification = {};
      report.results.push_back(errored);
    }
  finalize_results(report.results);
  flag_noisy_results(report.results, report.run.cv_threshold);
  // flag_noisy_results recomputes the flags from cv: keep some rows flagged.
  for (std::size_t i = 0; i < report.results.size(); i += 7)
    if (report.results[i].ok()) {
      report.results[i].stats.cv = 0.12;
      report.results[i].cv_above_threshold = true;
    }
  PeakFigures peaks;
  CpuPeaks cpu;
  cpu.threads = 8;
  cpu.bandwidth_gbps_all = 40;
  cpu.read_gbps_all = 55;
  cpu.bandwidth_gbps_one = 9;
  cpu.read_gbps_one = 12;
  cpu.fp32_gflops_all = 60;  // below what the fake library GEMM reaches: the chart must raise it
  cpu.fp32_gflops_one = 30;
  cpu.fp64_gflops_all = 40;
  cpu.fp64_gflops_one = 15;
  cpu.runs = 10;
  peaks.cpu = cpu;
  GpuPeaks gpu;
  gpu.name = report.machine.gpu->name;
  gpu.copy_gbps = 2800;
  gpu.read_gbps = 3100;
  gpu.fp32_gflops = 50000;
  gpu.fp64_gflops = 25000;
  gpu.tf32_gflops = 350000;
  gpu.runs = 10;
  peaks.gpu = gpu;
  report.machine.peaks = peaks;
  apply_roofline(report.results, &peaks);
  return report;
}

}  // namespace mlbench::reports::fakes
