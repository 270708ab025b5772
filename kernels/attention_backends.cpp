// Attention variants: the hand-written FlashAttention-2-style kernels (`cuda`), cuDNN's fused
// attention through the backend graph API (`cudnn`, bf16/fp16), and the unfused cuBLAS
// GEMM + softmax + GEMM baseline (`cublas`). Q, K, V in the problem's precision, O likewise.
#include <cublas_v2.h>

#include <cmath>
#include <string>
#include <type_traits>

#include "bench/attention.h"
#include "kernels/attention_flash.h"
#include "kernels/attention_unfused.h"
#include "kernels/backends.h"
#include "kernels/cuda_check.h"
#include "kernels/element_types.h"
#include "kernels/gpu_variant.h"
#include "kernels/softmax_rows.h"
#if MLBENCH_HAVE_CUDNN
#include "kernels/cudnn_attention.h"
#endif

namespace mlbench::kernels {

namespace {

AttentionDims dims_of(const AttentionProblem& p) {
  const AttentionShape& s = p.shape();
  return {s.batch * s.heads, s.seq, s.head_dim, s.causal, p.scale()};
}

// bf16/fp16: the tensor-core kernel's tile configuration is chosen at prepare (not timed), the
// fastest of those compiled for the head dimension on this problem and device, as cuDNN's
// find step does for convolutions; the output is poisoned again afterwards.
class CudaAttentionVariant final : public GpuVariant {
 public:
  CudaAttentionVariant(const AttentionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.q(), &p.k(), &p.v()}, p.output_size()),
        dims_(dims_of(p)) {
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>) {
        choose_tile<T>();
        notes_.emplace_back("kernel", attention_flash_tile_plan<T>(dims_, tile_));
        // On tensor cores: the table declares bf16/fp16 for this backend (kernels/gpu_backends.cpp).
        notes_.emplace_back("math", to_string(precision()) + " tensor cores (mma.sync)");
      } else {
        notes_.emplace_back("kernel", attention_flash_plan<T>(dims_));
        notes_.emplace_back("math", "fma on CUDA cores");
      }
    });
  }

 private:
  template <class T>
  void choose_tile() {
    const int count = attention_flash_tile_count<T>(dims_);
    if (count <= 1) return;
    cudaEvent_t start = nullptr, stop = nullptr;
    MLBENCH_CUDA_CHECK(cudaEventCreate(&start));
    MLBENCH_CUDA_CHECK(cudaEventCreate(&stop));
    std::string timings;
    float best = 0;
    try {
      for (int tile = 0; tile < count; ++tile) {
        auto once = [&] {
          launch_attention_flash_tile<T>(input<T>(0), input<T>(1), input<T>(2), output<T>(), dims_, tile, stream());
        };
        once();  // warm-up
        float fastest = 0;
        for (int i = 0; i < 3; ++i) {
          MLBENCH_CUDA_CHECK(cudaEventRecord(start, stream()));
          once();
          MLBENCH_CUDA_CHECK(cudaEventRecord(stop, stream()));
          MLBENCH_CUDA_CHECK(cudaEventSynchronize(stop));
          float ms = 0;
          MLBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
          if (i == 0 || ms < fastest) fastest = ms;
        }
        timings += (tile ? ", " : "") + std::to_string(tile) + ": " + std::to_string(fastest) + " ms";
        if (tile == 0 || fastest < best) best = fastest, tile_ = tile;
      }
    } catch (...) {
      cudaEventDestroy(start);
      cudaEventDestroy(stop);
      throw;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    notes_.emplace_back("tile search", "fastest of " + std::to_string(count) +
                                           " compiled tile configurations at prepare (best of 3 runs each; " + timings +
                                           "): " + std::to_string(tile_));
    poison_output();
  }
  void launch() override {
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>) {
        launch_attention_flash_tile<T>(input<T>(0), input<T>(1), input<T>(2), output<T>(), dims_, tile_, stream());
      } else {
        launch_attention_flash<T>(input<T>(0), input<T>(1), input<T>(2), output<T>(), dims_, stream());
      }
    });
  }
  AttentionDims dims_;
  int tile_ = 0;
};

class CublasAttentionVariant final : public GpuVariant {
 public:
  CublasAttentionVariant(const AttentionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.q(), &p.k(), &p.v()}, p.output_size(),
                   attention_scores_bytes(p.precision(), dims_of(p)) +
                       attention_probabilities_bytes(p.precision(), dims_of(p)) + kWorkspaceBytes),
        dims_(dims_of(p)) {
    scores_ = allocate_scratch(attention_scores_bytes(precision(), dims_), "the S x S attention scores");
    probabilities_ = allocate_scratch(attention_probabilities_bytes(precision(), dims_), "the S x S probabilities");
    MLBENCH_CUDA_CHECK(cublasCreate(&handle_));
    MLBENCH_CUDA_CHECK(cublasSetStream(handle_, stream()));
    MLBENCH_CUDA_CHECK(
        cublasSetWorkspace(handle_, allocate_scratch(kWorkspaceBytes, "the cuBLAS workspace"), kWorkspaceBytes));
    const bool wide = precision() == Precision::fp32 || precision() == Precision::fp64;
    MLBENCH_CUDA_CHECK(cublasSetMathMode(handle_, wide ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
    const std::string type = to_string(precision());
    notes_.emplace_back("math", wide ? "pedantic (no tf32)" : type + " tensor cores (cuBLAS)");
    notes_.emplace_back(
        "steps",
        "cublasGemmStridedBatchedEx S = scale Q K^T (" + std::string(wide ? type : "fp32") +
            " scores in device memory" + (wide ? ", no TF32" : ", fp32 accumulation") + "); mlbench row softmax (" +
            with_element_type(precision(), [&](auto tag) { return softmax_rows_plan<decltype(tag)>(dims_.seq); }) +
            ") writing P in " + type + (dims_.causal ? ", masked above the diagonal" : "") +
            "; cublasGemmStridedBatchedEx O = P V" +
            (dims_.causal ? "; both products computed in full (S^2), as a framework without fusion does" : ""));
  }
  ~CublasAttentionVariant() override {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }

 private:
  static constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;
  void launch() override {
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      launch_attention_unfused<T>(handle_, input<T>(0), input<T>(1), input<T>(2), output<T>(), scores_, probabilities_,
                                  dims_, stream());
    });
  }
  AttentionDims dims_;
  cublasHandle_t handle_ = nullptr;
  void* scores_ = nullptr;
  void* probabilities_ = nullptr;
};

#if MLBENCH_HAVE_CUDNN
class CudnnAttentionVariant final : public GpuVariant {
 public:
  CudnnAttentionVariant(const AttentionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.q(), &p.k(), &p.v()}, p.output_size()) {
    MLBENCH_CUDA_CHECK(cudnnCreate(&handle_));
    try {
      MLBENCH_CUDA_CHECK(cudnnSetStream(handle_, stream()));
      const cudnnDataType_t io = precision() == Precision::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
      attention_ = std::make_unique<CudnnAttention>(
          handle_, dims_of(p), p.shape().batch, io,
          [this](std::size_t bytes) { return allocate_scratch(bytes, "cuDNN's row statistics"); });
      if (attention_->workspace_bytes() > 0)
        workspace_ = allocate_scratch(attention_->workspace_bytes(), "the cuDNN attention workspace");
      notes_.emplace_back("algorithm", attention_->description());
      notes_.emplace_back("math", to_string(precision()) + " tensor cores (cuDNN fused attention)");
      notes_.emplace_back("workspace", std::to_string(attention_->workspace_bytes()) + " bytes");
    } catch (...) {
      attention_.reset();
      cudnnDestroy(handle_);
      handle_ = nullptr;
      throw;
    }
  }
  ~CudnnAttentionVariant() override {
    attention_.reset();
    if (handle_ != nullptr) cudnnDestroy(handle_);
  }

 private:
  void launch() override {
    attention_->run(input<void>(0), input<void>(1), input<void>(2), output<void>(), workspace_);
  }
  cudnnHandle_t handle_ = nullptr;
  std::unique_ptr<CudnnAttention> attention_;
  void* workspace_ = nullptr;
};
#endif

}  // namespace

Availability cuda_attention_supports(const Problem& problem) {
  const auto& p = problem_cast<AttentionProblem>(problem);
  const std::string why = with_element_type(
      p.precision(), [&](auto tag) { return attention_flash_unsupported<decltype(tag)>(dims_of(p)); });
  return why.empty() ? Availability::yes() : Availability::no(why);
}

Availability cudnn_attention_supports(const Problem& problem) {
  // cuDNN 9's fused attention engines take head dims that are multiples of 8 up to 256.
  const std::int64_t d = problem_cast<AttentionProblem>(problem).shape().head_dim;
  if (d % 8 != 0 || d > 256)
    return Availability::no("cuDNN's fused attention takes head_dim a multiple of 8 up to 256");
  return Availability::yes();
}

Availability cublas_attention_supports(const Problem& problem) {
  const std::string why = attention_unfused_unsupported(dims_of(problem_cast<AttentionProblem>(problem)));
  return why.empty() ? Availability::yes() : Availability::no(why);
}

std::unique_ptr<Variant> make_cuda_attention(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaAttentionVariant>(problem_cast<AttentionProblem>(problem), config);
}

std::unique_ptr<Variant> make_cublas_attention(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CublasAttentionVariant>(problem_cast<AttentionProblem>(problem), config);
}

std::unique_ptr<Variant> make_cudnn_attention(const Problem& problem, const ExecutionConfig& config) {
#if MLBENCH_HAVE_CUDNN
  return std::make_unique<CudnnAttentionVariant>(problem_cast<AttentionProblem>(problem), config);
#else
  (void)problem;
  (void)config;
  throw std::runtime_error(cudnn_availability().reason);
#endif
}

}  // namespace mlbench::kernels
