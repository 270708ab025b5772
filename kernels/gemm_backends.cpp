// GEMM variants: the hand-written kernel, cuBLAS (pedantic fp32 / fp64) and cuBLAS TF32.
#include <cmath>
#include <cublas_v2.h>

#include <limits>

#include "bench/gemm.h"
#include "kernels/backends.h"
#include "kernels/cuda_check.h"
#include "kernels/gemm_tiled.h"
#include "kernels/gpu_variant.h"

namespace mlbench::kernels {

namespace {

class CudaGemmVariant final : public GpuVariant {
 public:
  CudaGemmVariant(const GemmProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), {&p.a(), &p.b()}, p.output_size()), shape_(p.shape()) {
    tile_ = p.precision() == Precision::fp64 ? default_gemm_tile<double>() : default_gemm_tile<float>();
    notes_.emplace_back("tile", to_string(tile_));
  }

 private:
  void launch() override {
    if (precision() == Precision::fp64) {
      launch_gemm_tiled<double>(input<double>(0), input<double>(1), output<double>(), shape_.m, shape_.n, shape_.k,
                                stream(), tile_);
    } else {
      launch_gemm_tiled<float>(input<float>(0), input<float>(1), output<float>(), shape_.m, shape_.n, shape_.k,
                               stream(), tile_);
    }
  }
  GemmShape shape_;
  GemmTile tile_;
};

class CublasGemmVariant final : public GpuVariant {
 public:
  CublasGemmVariant(const GemmProblem& p, const ExecutionConfig& config, bool tf32)
      : GpuVariant(config, p.precision(), {&p.a(), &p.b()}, p.output_size()), shape_(p.shape()), tf32_(tf32) {
    MLBENCH_CUDA_CHECK(cublasCreate(&handle_));
    MLBENCH_CUDA_CHECK(cublasSetStream(handle_, stream()));
    // Pedantic: no TF32 and no other reduced-precision shortcut in the fp32 baseline.
    MLBENCH_CUDA_CHECK(cublasSetMathMode(handle_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    notes_.emplace_back("math", tf32 ? "tf32 tensor cores" : "pedantic (no tf32)");
  }
  ~CublasGemmVariant() override {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  // TF32 tensor cores round A and B to 10 mantissa bits (unit roundoff 2^-11) before multiplying.
  double input_rounding() const override { return tf32_ ? std::ldexp(1.0, -11) : 0.0; }

 private:
  void launch() override {
    // cuBLAS is column-major: row-major C = A B is column-major C^T = B^T A^T, so B comes first.
    const int m = static_cast<int>(shape_.m), n = static_cast<int>(shape_.n), k = static_cast<int>(shape_.k);
    if (precision() == Precision::fp64) {
      const double alpha = 1.0, beta = 0.0;
      MLBENCH_CUDA_CHECK(cublasDgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, input<double>(1), n,
                                     input<double>(0), k, &beta, output<double>(), n));
    } else if (tf32_) {
      const float alpha = 1.0f, beta = 0.0f;
      MLBENCH_CUDA_CHECK(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, input<float>(1), CUDA_R_32F,
                                      n, input<float>(0), CUDA_R_32F, k, &beta, output<float>(), CUDA_R_32F, n,
                                      CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    } else {
      const float alpha = 1.0f, beta = 0.0f;
      MLBENCH_CUDA_CHECK(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, input<float>(1), n,
                                     input<float>(0), k, &beta, output<float>(), n));
    }
  }
  GemmShape shape_;
  bool tf32_;
  cublasHandle_t handle_ = nullptr;
};

}  // namespace

Availability cuda_gemm_supports(const Problem& problem) {
  const auto& s = problem_cast<GemmProblem>(problem).shape();
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  if (s.m > kIntMax || s.n > kIntMax || s.k > kIntMax) return Availability::no("dimensions must fit in int");
  return Availability::yes();
}

std::unique_ptr<Variant> make_cuda_gemm(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaGemmVariant>(problem_cast<GemmProblem>(problem), config);
}

std::unique_ptr<Variant> make_cublas_gemm(const Problem& problem, const ExecutionConfig& config, bool tf32) {
  return std::make_unique<CublasGemmVariant>(problem_cast<GemmProblem>(problem), config, tf32);
}

}  // namespace mlbench::kernels
