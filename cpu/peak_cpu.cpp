// Compiled with the cpu target's flags (-O3 -ffp-contract=fast, -march=native with
// MLBENCH_NATIVE), so the vectors below are as wide as the kernels the backends run.
#include "cpu/peak_cpu.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/runner.h"

#if defined(MLBENCH_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace mlbench::cpu {

namespace {

constexpr int kWarmupRuns = 1;
constexpr int kTimedRuns = 10;

// Widest vector the build targets; GCC/Clang vector extensions give full-width FMAs.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif
typedef float FloatVector __attribute__((vector_size(kVectorBytes)));
typedef double DoubleVector __attribute__((vector_size(kVectorBytes)));

// More chains than FMA latency x FMA ports (4 x 2 on current x86), so latency is hidden, and
// few enough that every accumulator stays in a register (16 of the 32 zmm / 16 ymm registers).
constexpr int kChains = 16;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The fastest of the timed runs: other programs and migrations only ever slow a run down, so
// the best run is the closest to what the hardware can do (a ceiling must not sit below a
// measured point because the measurement was disturbed).
template <class F>
double best_seconds(F&& run_once) {
  // A run lasts well under a second, so a signal stops the measurement within one.
  auto stop_if_asked = [] {
    if (Runner::stop_requested()) throw Interrupted("interrupted while measuring the machine's peaks");
  };
  for (int i = 0; i < kWarmupRuns; ++i) {
    stop_if_asked();
    run_once();
  }
  double best = 0;
  for (int i = 0; i < kTimedRuns; ++i) {
    stop_if_asked();
    const auto start = std::chrono::steady_clock::now();
    run_once();
    const double seconds = seconds_since(start);
    if (i == 0 || seconds < best) best = seconds;
  }
  return best;
}

// One thread's FMA loop: kChains independent acc = acc * m + a chains, `iterations` long.
// m slightly below 1 and a small keep the values bounded; the result is returned (and kept by
// the caller) so the loop cannot be dropped.
template <class Vector, class Scalar>
__attribute__((noinline)) Scalar fma_chains(std::int64_t iterations, Scalar seed) {
  Vector acc[kChains];
  Vector m, a;
  for (int l = 0; l < static_cast<int>(sizeof(Vector) / sizeof(Scalar)); ++l) {
    m[l] = Scalar(0.999999) - seed * Scalar(1e-9) * l;
    a[l] = Scalar(1e-6) * (seed + l);
  }
  for (int c = 0; c < kChains; ++c) acc[c] = a * Scalar(c + 1);
  // The compiler cannot see m and a as constants (they depend on `seed`), so every FMA stays.
  benchmark::DoNotOptimize(m);
  benchmark::DoNotOptimize(a);
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * m + a;
  }
  Scalar sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < static_cast<int>(sizeof(Vector) / sizeof(Scalar)); ++l) sum += acc[c][l];
  return sum;
}

// FLOP/s of `threads` threads each running the FMA loop (the region is timed as a whole).
template <class Vector, class Scalar>
double fma_gflops(int threads) {
  constexpr int lanes = static_cast<int>(sizeof(Vector) / sizeof(Scalar));
  // 2^20 iterations: a few ms per run even at AVX-512 rates, far above the fork/join cost.
  const std::int64_t iterations = 1 << 20;
  std::vector<Scalar> sink(static_cast<std::size_t>(threads));
  const double seconds = best_seconds([&] {
#pragma omp parallel num_threads(threads)
    sink[static_cast<std::size_t>(omp_get_thread_num())] =
        fma_chains<Vector, Scalar>(iterations, static_cast<Scalar>(omp_get_thread_num() + 1));
  });
  benchmark::DoNotOptimize(sink.data());
  const double flops = 2.0 * lanes * kChains * static_cast<double>(iterations) * threads;
  return flops / seconds / 1e9;
}

struct Bandwidth {
  double triad_gbps = 0, read_gbps = 0;
};

// Triad and read-only bandwidth of `threads` threads over fresh arrays of n doubles,
// first-touched by the threads (same static schedule) that later stream them. `threads` is read
// by the OpenMP clauses only: compiled without -fopenmp (the pragmas ignored), the loops run on
// one thread and ignore it.
Bandwidth stream_gbps([[maybe_unused]] int threads, std::int64_t n) {
  // new[] without () leaves the pages untouched until the parallel first touch below.
  std::unique_ptr<double[]> a(new double[static_cast<std::size_t>(n)]);
  std::unique_ptr<double[]> b(new double[static_cast<std::size_t>(n)]);
  std::unique_ptr<double[]> c(new double[static_cast<std::size_t>(n)]);
  double* pa = a.get();
  double* pb = b.get();
  double* pc = c.get();
  // First touch of up to a quarter of the memory takes seconds: each thread touches the
  // range a static schedule gives it (the range it streams later), in slices between which a
  // signal is noticed, so Ctrl-C stops the measurement within a second.
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t count = omp_get_num_threads(), me = omp_get_thread_num();
    const std::int64_t chunk = n / count, extra = n % count;
    const std::int64_t lo = me * chunk + std::min(me, extra), hi = lo + chunk + (me < extra ? 1 : 0);
    constexpr std::int64_t kSlice = std::int64_t{1} << 18;
    for (std::int64_t start = lo; start < hi && !Runner::stop_requested(); start += kSlice)
      for (std::int64_t i = start; i < std::min(hi, start + kSlice); ++i) {
        pa[i] = 0.0;
        pb[i] = 1.0 + static_cast<double>(i % 7);
        pc[i] = 0.5 * static_cast<double>(i % 5);
      }
  }
  if (Runner::stop_requested()) throw Interrupted("interrupted while measuring the machine's peaks");
  const double s = 3.0;
  const double seconds = best_seconds([&] {
#pragma omp parallel for simd schedule(static) num_threads(threads)
    for (std::int64_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    benchmark::ClobberMemory();
  });
  benchmark::DoNotOptimize(pa[n / 2]);
  // Read-only: four full-width accumulators per thread (a single scalar accumulator would be
  // bound by add latency, not memory), over blocks in the same static order as the first touch.
  constexpr std::int64_t lanes = kVectorBytes / sizeof(double);
  const std::int64_t blocks = n / (2 * lanes);
  double sum = 0;
  const double read_seconds = best_seconds([&] {
    double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      DoubleVector acc[4] = {};
#pragma omp for schedule(static)
      for (std::int64_t block = 0; block < blocks; ++block) {
        DoubleVector v[4];
        std::memcpy(&v[0], pb + block * 2 * lanes, sizeof(DoubleVector));
        std::memcpy(&v[1], pb + block * 2 * lanes + lanes, sizeof(DoubleVector));
        std::memcpy(&v[2], pc + block * 2 * lanes, sizeof(DoubleVector));
        std::memcpy(&v[3], pc + block * 2 * lanes + lanes, sizeof(DoubleVector));
        for (int k = 0; k < 4; ++k) acc[k] += v[k];
      }
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < static_cast<int>(lanes); ++l) total += acc[k][l];
    }
    sum += total;
  });
  benchmark::DoNotOptimize(sum);
  return {24.0 * static_cast<double>(n) / seconds / 1e9, 16.0 * static_cast<double>(n) / read_seconds / 1e9};
}

// OpenBLAS GEMM rate with its default threads at n x n x n (0 without OpenBLAS).
constexpr int kGemmSize = 1024;
template <class Scalar>
double library_gemm_gflops() {
#if defined(MLBENCH_HAVE_OPENBLAS)
  const std::size_t n = kGemmSize;
  std::vector<Scalar> a(n * n), b(n * n), c(n * n);
  for (std::size_t i = 0; i < n * n; ++i) {
    a[i] = static_cast<Scalar>(1.0 + static_cast<double>(i % 13) / 13);
    b[i] = static_cast<Scalar>(1.0 - static_cast<double>(i % 7) / 14);
  }
  const int m = kGemmSize;
  const double seconds = best_seconds([&] {
    if constexpr (std::is_same_v<Scalar, float>)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, a.data(), m, b.data(), m, 0.0f, c.data(),
                  m);
    else
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0, a.data(), m, b.data(), m, 0.0, c.data(), m);
    benchmark::DoNotOptimize(c.data());
  });
  return 2.0 * m * m * static_cast<double>(m) / seconds / 1e9;
#else
  return 0;
#endif
}

std::int64_t triad_elements() {
  std::int64_t last_level = 0;
  for (const auto& cache : benchmark::CPUInfo::Get().caches)
    if (cache.type != "Instruction") last_level = std::max<std::int64_t>(last_level, cache.size);
  return std::max<std::int64_t>(std::int64_t{1} << 26, 4 * last_level / static_cast<std::int64_t>(sizeof(double)));
}

}  // namespace

void measure_cpu_peaks(PeakFigures& peaks) {
  CpuPeaks cpu;
  cpu.threads = omp_get_max_threads();
  cpu.vector_bytes = kVectorBytes;
  cpu.runs = kTimedRuns;
  // Three arrays in at most a quarter of the free memory.
  const std::int64_t fits = static_cast<std::int64_t>(available_host_memory() / 4 / (3 * sizeof(double)));
  cpu.triad_elements = std::min(triad_elements(), fits);
  if (cpu.triad_elements < (std::int64_t{1} << 20)) {
    peaks.cpu.reset();
    peaks.cpu_absent_reason = "too little free memory for the bandwidth measurement";
    return;
  }
  const Bandwidth all = stream_gbps(cpu.threads, cpu.triad_elements);
  const Bandwidth one = stream_gbps(1, cpu.triad_elements);
  cpu.bandwidth_gbps_all = all.triad_gbps;
  cpu.read_gbps_all = all.read_gbps;
  cpu.bandwidth_gbps_one = one.triad_gbps;
  cpu.read_gbps_one = one.read_gbps;
  cpu.fp32_gflops_all = fma_gflops<FloatVector, float>(cpu.threads);
  cpu.fp32_gflops_one = fma_gflops<FloatVector, float>(1);
  cpu.fp64_gflops_all = fma_gflops<DoubleVector, double>(cpu.threads);
  cpu.fp64_gflops_one = fma_gflops<DoubleVector, double>(1);
  cpu.gemm_size = kGemmSize;
  cpu.fp32_gemm_gflops_all = library_gemm_gflops<float>();
  cpu.fp64_gemm_gflops_all = library_gemm_gflops<double>();
  if (cpu.fp32_gemm_gflops_all > cpu.fp32_gflops_all) {
    cpu.fp32_gflops_all = cpu.fp32_gemm_gflops_all;
    cpu.fp32_source = "openblas gemm";
  }
  if (cpu.fp64_gemm_gflops_all > cpu.fp64_gflops_all) {
    cpu.fp64_gflops_all = cpu.fp64_gemm_gflops_all;
    cpu.fp64_source = "openblas gemm";
  }
  peaks.cpu = cpu;
  peaks.cpu_absent_reason.clear();
}

}  // namespace mlbench::cpu
