// Internal to cpu/: the shared CPU Variant base, SIMD vector types and the per-file factories
// and shape checks that the table of CPU backends (cpu/cpu_backend_table.cpp) wires into its rows.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "bench/backend.h"
#include "bench/host_buffer.h"
#include "bench/problem.h"

namespace mlbench::cpu {

// A CPU execution of one problem. The output is allocated and poisoned (NaN) here, at
// prepare time, so an element a backend never writes fails verification; run() times
// compute() alone with the steady clock.
class CpuVariant : public Variant {
 public:
  CpuVariant(const Problem& problem, int threads)
      : output_(problem.output_precision(), problem.output_size()), threads_(std::max(threads, 1)) {
    output_.poison();
  }

  double run(TimingMode /*mode*/) final {
    before_timed_run();
    const auto start = std::chrono::steady_clock::now();
    compute();
    const auto stop = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(stop - start).count();
  }

  void read_output(HostBuffer& out) override {
    if (out.size() != output_.size() || out.precision() != output_.precision())
      out = HostBuffer(output_.precision(), output_.size());
    if (!output_.empty()) std::memcpy(out.raw(), output_.raw(), output_.bytes());
  }

  int threads() const override { return threads_; }

 protected:
  // Untimed per-run setup (e.g. telling OpenBLAS its thread count).
  virtual void before_timed_run() {}
  virtual void compute() = 0;

  HostBuffer output_;
  int threads_;
};

// Native SIMD width of the build: the hand-optimized kernels size their register tiles by it.
#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32;
#else
inline constexpr int kVectorBytes = 16;
#endif

// GCC/Clang vector extensions: portable SIMD arithmetic the compiler maps to the target's
// registers (vector * scalar broadcasts; with -ffp-contract=fast a*b+c becomes an FMA).
template <class T>
struct Simd;
template <>
struct Simd<float> {
  typedef float Vector __attribute__((vector_size(kVectorBytes)));
  typedef float Unaligned __attribute__((vector_size(kVectorBytes), aligned(alignof(float))));
};
template <>
struct Simd<double> {
  typedef double Vector __attribute__((vector_size(kVectorBytes)));
  typedef double Unaligned __attribute__((vector_size(kVectorBytes), aligned(alignof(double))));
};
template <class T>
inline constexpr int kLanes = kVectorBytes / static_cast<int>(sizeof(T));

template <class T>
inline typename Simd<T>::Vector load_unaligned(const T* p) {
  return *reinterpret_cast<const typename Simd<T>::Unaligned*>(p);
}
template <class T>
inline void store_unaligned(T* p, typename Simd<T>::Vector v) {
  *reinterpret_cast<typename Simd<T>::Unaligned*>(p) = v;
}

// Per-file factories (one file per backend per workload; a library's only in a build with it).
std::unique_ptr<Variant> prepare_serial_gemm(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_openmp_gemm(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_serial_convolution(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_openmp_convolution(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_serial_reduction(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_openmp_reduction(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_serial_attention(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_openmp_attention(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_serial_softmax(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_openmp_softmax(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_serial_layernorm(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_openmp_layernorm(const Problem& problem, const ExecutionConfig& config);
#if defined(MLBENCH_HAVE_OPENBLAS)
std::unique_ptr<Variant> prepare_openblas_gemm(const Problem& problem, const ExecutionConfig& config);
// fp32, fp64, tf32; bf16 when the library has cblas_sbgemm; no fp16.
Availability openblas_gemm_supports(const Problem& problem);
bool openblas_has_sbgemm();
// Unfused attention: cblas gemm, softmax, cblas gemm; fp32 and fp64.
std::unique_ptr<Variant> prepare_openblas_attention(const Problem& problem, const ExecutionConfig& config);
Availability openblas_attention_supports(const Problem& problem);
#endif
#if defined(MLBENCH_HAVE_ONEDNN)
std::unique_ptr<Variant> prepare_onednn_convolution(const Problem& problem, const ExecutionConfig& config);
// fp32 and tf32; bf16 where oneDNN has an optimized kernel; no fp64 or fp16 convolution on CPU.
Availability onednn_convolution_supports(const Problem& problem);
std::string onednn_version();  // "2.6.3", from dnnl_version()
// softmax / layer normalization primitives: fp32, and bf16/fp16 where an optimized kernel exists.
std::unique_ptr<Variant> prepare_onednn_softmax(const Problem& problem, const ExecutionConfig& config);
Availability onednn_softmax_supports(const Problem& problem);
std::unique_ptr<Variant> prepare_onednn_layernorm(const Problem& problem, const ExecutionConfig& config);
Availability onednn_layernorm_supports(const Problem& problem);
#endif

// Builds VariantOf<T> for the storage type of the problem's inputs: double (fp64), float
// (fp32, and tf32, whose values are fp32), bfloat16 or float16 (see cpu/reduced_precision.h).
template <template <class> class VariantOf, class... Args>
std::unique_ptr<Variant> make_typed(const Problem& problem, Args&&... args) {
  switch (problem.precision()) {
    case Precision::fp64: return std::make_unique<VariantOf<double>>(std::forward<Args>(args)...);
    case Precision::bf16: return std::make_unique<VariantOf<bfloat16>>(std::forward<Args>(args)...);
    case Precision::fp16: return std::make_unique<VariantOf<float16>>(std::forward<Args>(args)...);
    case Precision::fp32:
    case Precision::tf32: break;
  }
  return std::make_unique<VariantOf<float>>(std::forward<Args>(args)...);
}

}  // namespace mlbench::cpu
