// OpenBLAS GEMM: the CPU vendor bar. Row-major cblas_?gemm with beta = 0 (C is overwritten),
// using exactly the requested thread count.
//  fp32, fp64: cblas_sgemm / cblas_dgemm.
//  tf32: cblas_sgemm on the tf32-valued fp32 inputs (fp32 arithmetic; no TF32 on the CPU).
//  bf16: cblas_sbgemm (bf16 inputs, fp32 accumulation and output), only where the library has
//        it (OpenBLAS >= 0.3.10 built with BUILD_BFLOAT16; Debian's is not); its fp32 C is
//        rounded to bf16 inside the timed run. Whether it runs natively depends on the core
//        OpenBLAS selected: AVX512-BF16 kernels exist for Cooper Lake and Sapphire Rapids.
//  fp16: not offered. OpenBLAS has no fp16 GEMM, and widening to fp32 for sgemm would be
//        mlbench's conversion around a library call, not a library bar (the openmp backend
//        already shows what widening costs).
#include <cblas.h>

#include <algorithm>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench/gemm.h"
#include "cpu/openblas_threads.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"

namespace mlbench::cpu {
namespace {

#if defined(MLBENCH_OPENBLAS_HAS_SBGEMM)
// Rounds out = in (count fp32 values) to bf16 on `threads` short-lived threads. Not OpenMP:
// its idle workers would keep spinning on the cores OpenBLAS's own threads need for the next
// run's multiply.
void narrow_on_threads(const float* in, bfloat16* out, std::int64_t count, int threads) {
  constexpr std::int64_t kMinPart = 1 << 16;  // below this a thread costs more than it saves
  const std::int64_t parts = std::clamp<std::int64_t>(count / kMinPart, 1, threads);
  const auto convert = [=](std::int64_t part) {
    const std::int64_t begin = count * part / parts, end = count * (part + 1) / parts;
    narrow(in + begin, out + begin, end - begin);
  };
  std::vector<std::thread> helpers;
  for (std::int64_t part = 1; part < parts; ++part) helpers.emplace_back(convert, part);
  convert(0);
  for (auto& helper : helpers) helper.join();
}
#endif

template <class T>
class OpenblasGemm final : public CpuVariant {
 public:
  OpenblasGemm(const GemmProblem& problem, int threads) : CpuVariant(problem, threads), problem_(problem) {
    set_openblas_threads(threads_);
    if constexpr (kConverted<T>)
      c_wide_ = HostBuffer(Precision::fp32, static_cast<std::size_t>(problem.shape().m * problem.shape().n));
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::vector<std::pair<std::string, std::string>> notes = {{"openblas_core", openblas_get_corename()}};
    if (problem_.precision() == Precision::tf32)
      notes.emplace_back("compute", "cblas_sgemm on the tf32-valued fp32 inputs (fp32 arithmetic and output)");
    if constexpr (kConverted<T>)
      notes.emplace_back("compute",
                         "cblas_sbgemm: bf16 inputs, fp32 accumulation; its fp32 output rounded to bf16 "
                         "in the timed run");
    return notes;
  }

 private:
  // OpenBLAS threads are process-wide; another backend may have changed them since.
  void before_timed_run() override { set_openblas_threads(threads_); }

  void compute() override {
    const auto [m, n, k] = problem_.shape();
    const T* a = problem_.a().data<T>();
    const T* b = problem_.b().data<T>();
    T* c = output_.data<T>();
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    } else if constexpr (std::is_same_v<T, double>) {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, a, K, b, N, 0.0, c, N);
    } else {
#if defined(MLBENCH_OPENBLAS_HAS_SBGEMM)
      static_assert(std::is_same_v<T, bfloat16>, "openblas offers bf16 only among the 16-bit types");
      // OpenBLAS's bfloat16 is a uint16_t holding the same bits as mlbench::bfloat16.
      float* c_wide = c_wide_.data<float>();
      cblas_sbgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, reinterpret_cast<const ::bfloat16*>(a), K,
                   reinterpret_cast<const ::bfloat16*>(b), N, 0.0f, c_wide, N);
      narrow_on_threads(c_wide, c, m * n, threads_);
#else
      (void)a, (void)b, (void)c, (void)M, (void)N, (void)K;
#endif
    }
  }

  const GemmProblem& problem_;
  HostBuffer c_wide_;  // sbgemm's fp32 output
};

}  // namespace

Availability openblas_gemm_supports(const Problem& problem) {
  switch (problem.precision()) {
    case Precision::fp32:
    case Precision::fp64:
    case Precision::tf32: return Availability::yes();
    case Precision::bf16:
      if (openblas_has_sbgemm()) return Availability::yes();
      return Availability::no("this OpenBLAS was built without cblas_sbgemm (BUILD_BFLOAT16)");
    case Precision::fp16: break;
  }
  return Availability::no("OpenBLAS has no fp16 GEMM");
}

std::unique_ptr<Variant> prepare_openblas_gemm(const Problem& problem, const ExecutionConfig& config) {
  if (const Availability supported = openblas_gemm_supports(problem); !supported.available)
    throw std::logic_error("openblas: " + supported.reason);
  const auto& gemm = problem_cast<GemmProblem>(problem);
  switch (problem.precision()) {
    case Precision::fp64: return std::make_unique<OpenblasGemm<double>>(gemm, config.threads);
#if defined(MLBENCH_OPENBLAS_HAS_SBGEMM)
    case Precision::bf16: return std::make_unique<OpenblasGemm<bfloat16>>(gemm, config.threads);
#endif
    default: return std::make_unique<OpenblasGemm<float>>(gemm, config.threads);  // fp32, tf32
  }
}

bool openblas_has_sbgemm() {
#if defined(MLBENCH_OPENBLAS_HAS_SBGEMM)
  return true;
#else
  return false;
#endif
}

}  // namespace mlbench::cpu
