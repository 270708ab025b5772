// GEMM variants: the hand-written kernels (CUDA-core tiles for fp32/fp64/tf32, tensor cores for
// bf16/fp16), cuBLAS at every precision (pedantic fp32, fp64, tf32/bf16/fp16 tensor cores) and
// cuBLAS TF32 on fp32 inputs.
#include <cmath>
#include <cublas_v2.h>

#include <limits>
#include <string>

#include "bench/gemm.h"
#include "kernels/backends.h"
#include "kernels/cuda_check.h"
#include "kernels/gemm_tensor_core.h"
#include "kernels/gemm_tiled.h"
#include "kernels/gpu_variant.h"

namespace mlbench::kernels {

namespace {

class CudaGemmVariant final : public GpuVariant {
 public:
  CudaGemmVariant(const GemmProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.a(), &p.b()}, p.output_size()), shape_(p.shape()) {
    if (is_16bit(precision())) {
      int sm_count = 0;
      MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device()));
      tensor_tile_ = pick_tensor_core_tile(shape_.m, shape_.n, sm_count, tensor_core_wgmma_available(device()));
      const bool vectorized = tensor_core_vectorized(input<void>(0), input<void>(1), shape_.n, shape_.k);
      const bool wgmma = vectorized && is_wgmma(tensor_tile_);
      notes_.emplace_back("math",
                          to_string(precision()) + (wgmma ? " tensor cores (wgmma m64n256k16, fp32 accumulation)"
                                                          : " tensor cores (mma.sync m16n8k16, fp32 accumulation)"));
      notes_.emplace_back("kernel",
                          !vectorized ? "mma.sync 64x64x32, element-wise loads (K or N not a multiple of 8)"
                          : wgmma     ? to_string(tensor_tile_) + ", cp.async 16-byte copies"
                                      : "mma.sync " + to_string(tensor_tile_) + ", cp.async 16-byte copies, ldmatrix");
      return;
    }
    notes_.emplace_back(
        "tile", to_string(precision() == Precision::fp64 ? gemm_tiled_tile<double>() : gemm_tiled_tile<float>()));
    if (precision() == Precision::tf32) {
      notes_.emplace_back("compute", "tf32 values multiplied in fp32 on CUDA cores (no tensor cores)");
    }
  }

 private:
  void launch() override {
    switch (precision()) {
      case Precision::fp64:
        return launch_gemm_tiled<double>(input<double>(0), input<double>(1), output<double>(), shape_.m, shape_.n,
                                         shape_.k, stream());
      case Precision::bf16:
        return launch_gemm_tensor_core<bfloat16>(input<bfloat16>(0), input<bfloat16>(1), output<bfloat16>(), shape_.m,
                                                 shape_.n, shape_.k, stream(), tensor_tile_);
      case Precision::fp16:
        return launch_gemm_tensor_core<float16>(input<float16>(0), input<float16>(1), output<float16>(), shape_.m,
                                                shape_.n, shape_.k, stream(), tensor_tile_);
      case Precision::fp32:
      case Precision::tf32:
        return launch_gemm_tiled<float>(input<float>(0), input<float>(1), output<float>(), shape_.m, shape_.n, shape_.k,
                                        stream());
    }
  }
  GemmShape shape_;
  TensorCoreTile tensor_tile_ = TensorCoreTile::automatic;
};

// cuBLAS at the problem's precision. `tf32_on_fp32`: the cublas-tf32 backend, which lets the
// tensor cores round fp32 inputs to TF32.
class CublasGemmVariant final : public GpuVariant {
 public:
  CublasGemmVariant(const GemmProblem& p, const ExecutionConfig& config, bool tf32_on_fp32)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.a(), &p.b()}, p.output_size()),
        shape_(p.shape()),
        rounds_fp32_inputs_(tf32_on_fp32 && p.precision() == Precision::fp32) {
    MLBENCH_CUDA_CHECK(cublasCreate(&handle_));
    MLBENCH_CUDA_CHECK(cublasSetStream(handle_, stream()));
    // A workspace of our own (zeroed; see allocate_scratch) of the size cuBLAS's documentation
    // recommends for Hopper, instead of the library's uninitialized default pool.
    constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;
    MLBENCH_CUDA_CHECK(
        cublasSetWorkspace(handle_, allocate_scratch(kWorkspaceBytes, "the cuBLAS workspace"), kWorkspaceBytes));
    const bool plain_fp =
        (p.precision() == Precision::fp32 && !rounds_fp32_inputs_) || p.precision() == Precision::fp64;
    // Pedantic: no TF32 and no other reduced-precision shortcut in the fp32 / fp64 baselines.
    // Elsewhere the compute type passed to cublasGemmEx says what the tensor cores may do.
    MLBENCH_CUDA_CHECK(cublasSetMathMode(handle_, plain_fp ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
    if (plain_fp)
      notes_.emplace_back("math", "pedantic (no tf32)");
    else if (is_16bit(p.precision()))
      notes_.emplace_back("math", to_string(p.precision()) + " tensor cores");
    else
      notes_.emplace_back("math", "tf32 tensor cores");
    if (is_16bit(p.precision())) notes_.emplace_back("compute", "cublasGemmEx, CUBLAS_COMPUTE_32F");
  }
  ~CublasGemmVariant() override {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  // TF32 tensor cores round fp32 inputs to 10 mantissa bits (unit roundoff 2^-11) before
  // multiplying; tf32 problems hold values that are already TF32, so nothing is rounded.
  double input_rounding() const override { return rounds_fp32_inputs_ ? std::ldexp(1.0, -11) : 0.0; }

 private:
  // cuBLAS is column-major: row-major C = A B is column-major C^T = B^T A^T, so B comes first.
  void gemm_ex(cudaDataType_t type, cublasComputeType_t compute) {
    const int m = static_cast<int>(shape_.m), n = static_cast<int>(shape_.n), k = static_cast<int>(shape_.k);
    const float alpha = 1.0f, beta = 0.0f;
    // The output has the input type (fp32 for tf32: fp32 storage).
    MLBENCH_CUDA_CHECK(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, input<void>(1), type, n,
                                    input<void>(0), type, k, &beta, output<void>(), type, n, compute,
                                    CUBLAS_GEMM_DEFAULT));
  }
  void launch() override {
    const int m = static_cast<int>(shape_.m), n = static_cast<int>(shape_.n), k = static_cast<int>(shape_.k);
    switch (precision()) {
      case Precision::fp64: {
        const double alpha = 1.0, beta = 0.0;
        MLBENCH_CUDA_CHECK(cublasDgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, input<double>(1), n,
                                       input<double>(0), k, &beta, output<double>(), n));
        return;
      }
      case Precision::fp32:
        if (rounds_fp32_inputs_) return gemm_ex(CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32);
        {
          const float alpha = 1.0f, beta = 0.0f;
          MLBENCH_CUDA_CHECK(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, input<float>(1), n,
                                         input<float>(0), k, &beta, output<float>(), n));
        }
        return;
      case Precision::tf32: return gemm_ex(CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32);
      case Precision::bf16: return gemm_ex(CUDA_R_16BF, CUBLAS_COMPUTE_32F);
      case Precision::fp16: return gemm_ex(CUDA_R_16F, CUBLAS_COMPUTE_32F);
    }
  }
  GemmShape shape_;
  bool rounds_fp32_inputs_;
  cublasHandle_t handle_ = nullptr;
};

}  // namespace

Availability cuda_gemm_supports(const Problem& problem) {
  const auto& s = problem_cast<GemmProblem>(problem).shape();
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  if (s.m > kIntMax || s.n > kIntMax || s.k > kIntMax) return Availability::no("dimensions must fit in int");
  if (is_16bit(problem.precision())) {
    int device = 0, major = 0;
    MLBENCH_CUDA_CHECK(cudaGetDevice(&device));
    MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    if (major < 8) return Availability::no("bf16/fp16 mma.sync needs compute capability 8.0 or newer");
  }
  return Availability::yes();
}

std::unique_ptr<Variant> make_cuda_gemm(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaGemmVariant>(problem_cast<GemmProblem>(problem), config);
}

std::unique_ptr<Variant> make_cublas_gemm(const Problem& problem, const ExecutionConfig& config, bool tf32) {
  return std::make_unique<CublasGemmVariant>(problem_cast<GemmProblem>(problem), config, tf32);
}

}  // namespace mlbench::kernels
