// Convolution variants: the hand-written tiled kernel and cuDNN, at every precision.
//  cuda:  fp32/fp64 as written; tf32 = the fp32 kernels on the tf32 values (CUDA cores); bf16/fp16
//         = the same kernels loading 16-bit elements, widening them to fp32, accumulating in fp32
//         and rounding the output to the 16-bit type.
//  cudnn: fp32 with FMA math only (no TF32); fp64; tf32 = fp32 tensors with tensor-op math;
//         bf16/fp16 = 16-bit tensors, fp32 compute type, tensor-op math. In every case the
//         fastest algorithm whose output passes verification.
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "bench/convolution.h"
#include "kernels/backends.h"
#include "kernels/conv2d_tiled.h"
#include "kernels/cuda_check.h"
#include "kernels/element_types.h"
#include "kernels/gpu_variant.h"
#if MLBENCH_HAVE_CUDNN
#include "kernels/cudnn_convolution.h"
#endif

namespace mlbench::kernels {

namespace {

// What the hand-written kernels do with a reduced precision, for the report.
std::string cuda_conv_compute(Precision precision, bool implicit_gemm) {
  if (precision == Precision::tf32) {
    return "tf32 inputs (fp32 values with 10-bit mantissas) run through the fp32 kernel: fp32 FMA on CUDA "
           "cores, no tensor cores; fp32 output";
  }
  const std::string type = to_string(precision);
  const char* where = implicit_gemm ? "as loaded into registers" : "as staged in shared memory";
  return type + " converted to fp32 " + where +
         "; fp32 FMA accumulation on CUDA cores (no tensor cores); output "
         "rounded to " +
         type;
}

class CudaConvVariant final : public GpuVariant {
 public:
  CudaConvVariant(const ConvProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input(), &p.weights()}, p.output_size()),
        plan_(plan_conv2d_tiled(p.shape(), p.precision() == Precision::fp64, config.device, ConvAlgorithm::automatic,
                                p.precision() == Precision::fp32 || p.precision() == Precision::tf32)) {
    notes_.emplace_back("tile", plan_.describe());
    if (is_reduced(p.precision()))
      notes_.emplace_back("compute", cuda_conv_compute(p.precision(), plan_.implicit_gemm));
  }

 private:
  void launch() override {
    // tf32 data is fp32 storage: the float kernels (output fp32 too).
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      launch_conv2d_tiled<T>(plan_, input<T>(0), input<T>(1), output<T>(), stream());
    });
  }
  Conv2dPlan plan_;
};

#if MLBENCH_HAVE_CUDNN
// The "math" note: what the chosen algorithm's math type means at this precision.
std::string math_name(cudnnMathType_t math, Precision precision) {
  if (!is_reduced(precision)) {
    switch (math) {
      case CUDNN_DEFAULT_MATH: return "default";
      case CUDNN_TENSOR_OP_MATH: return "tensor op";
      case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "tensor op (conversion allowed)";
      case CUDNN_FMA_MATH: return "fma (no tf32)";
    }
    return "unknown";
  }
  const std::string type = to_string(precision);
  switch (math) {
    case CUDNN_DEFAULT_MATH: return "default (" + type + " tensor cores permitted)";
    case CUDNN_TENSOR_OP_MATH: return type + " tensor cores (tensor op math)";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return type + " tensor cores (tensor op math, conversion allowed)";
    case CUDNN_FMA_MATH: return "fma (fp32 on CUDA cores, no tensor cores)";
  }
  return "unknown";
}

// Tensor descriptors' type: the storage type (tf32 data is fp32).
cudnnDataType_t data_type(Precision precision) {
  switch (precision) {
    case Precision::fp64: return CUDNN_DATA_DOUBLE;
    case Precision::bf16: return CUDNN_DATA_BFLOAT16;
    case Precision::fp16: return CUDNN_DATA_HALF;
    case Precision::fp32:
    case Precision::tf32: break;
  }
  return CUDNN_DATA_FLOAT;
}

// Whether the chosen algorithm's math puts this run on tensor cores (Variant::uses_tensor_cores):
// tensor-op math does; default math does for the reduced precisions (cuDNN may use them there);
// FMA math never does. The runner counts it only where the table declares tensor cores
// (tf32, bf16, fp16), so an fp64 tensor-op algorithm is held against the fp64 roof.
bool runs_on_tensor_cores(cudnnMathType_t math, Precision precision) {
  switch (math) {
    case CUDNN_TENSOR_OP_MATH:
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return true;
    case CUDNN_DEFAULT_MATH: return is_reduced(precision);
    case CUDNN_FMA_MATH: return false;
  }
  return false;
}

class CudnnConvVariant final : public GpuVariant {
 public:
  CudnnConvVariant(const ConvProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input(), &p.weights()}, p.output_size()) {
    const ConvShape& s = p.shape();
    const Precision precision = p.precision();
    const cudnnDataType_t type = data_type(precision);
    // fp32 accumulation for every type but fp64 (PSEUDO_HALF / PSEUDO_BFLOAT16 configs for 16-bit).
    const cudnnDataType_t compute_type = precision == Precision::fp64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    // fp32: FMA math only, the fp32 baseline must not silently run on TF32 tensor cores. The
    // reduced precisions exist for tensor cores: tensor-op math (TF32 for fp32 tensors).
    cudnn_ = std::make_unique<CudnnConvolution>(
        s, type, compute_type, is_reduced(precision) ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH, stream());

    // Find the fastest algorithm once, here, outside every timed region. The search runs on
    // buffers mlbench owns (inputs uploaded, output poisoned, workspace zeroed): cuDNN's
    // implicit-GEMM kernels read workspace bytes they have not written (initcheck). The workspace
    // fits the hungriest algorithm, up to a quarter of free memory; algorithms needing more are
    // left out of the search.
    std::size_t free_bytes = 0, total_bytes = 0;
    MLBENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const std::size_t find_workspace = std::min(largest_forward_workspace(*cudnn_), free_bytes / 4);
    if (find_workspace > 0) workspace_ = allocate_scratch(find_workspace, "the cuDNN workspace");
    const std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates = find_forward_algorithms(
        *cudnn_, precision, input<void>(0), input<void>(1), output<void>(), workspace_, find_workspace);
    if (candidates.empty()) {
      throw std::runtime_error(fmt::format("cuDNN found no {} forward algorithm for {}",
                                           precision == Precision::fp32 ? "FMA-math" : to_string(precision),
                                           p.shape_label()));
    }
    // Each candidate runs once here, fastest first, and is kept only if its output (in
    // output_precision(), 16-bit for bf16/fp16) passes mlbench's own verification: the baseline
    // is the fastest algorithm whose result would be accepted.
    workspace_bytes_ = find_workspace;
    HostBuffer trial(p.output_precision(), p.output_size());
    const VerifiedAlgorithm verified =
        first_verified_algorithm(candidates, [&](const cudnnConvolutionFwdAlgoPerf_t& c) -> std::optional<std::string> {
          algo_ = c.algo;
          MLBENCH_CUDA_CHECK(cudnnSetConvolutionMathType(cudnn_->conv, c.mathType));
          return trial_run_failure(p, trial);
        });
    const cudnnConvolutionFwdAlgoPerf_t* chosen = &verified.chosen;
    const std::vector<std::string>& rejected = verified.rejected;
    algo_ = chosen->algo;
    MLBENCH_CUDA_CHECK(cudnnSetConvolutionMathType(cudnn_->conv, chosen->mathType));
    workspace_bytes_ = chosen->memory;
    poison_output();
    notes_.emplace_back("algorithm", cudnn_algorithm_name(algo_));
    notes_.emplace_back("math", math_name(chosen->mathType, precision));
    tensor_cores_ = runs_on_tensor_cores(chosen->mathType, precision);
    if (is_16bit(precision)) {
      notes_.emplace_back("compute", to_string(precision) + " tensors, fp32 compute type (accumulation); output " +
                                         to_string(precision));
    }
    notes_.emplace_back("workspace_bytes", std::to_string(workspace_bytes_));
    if (!rejected.empty()) notes_.emplace_back("rejected_algorithms", fmt::format("{}", fmt::join(rejected, "; ")));
  }
  std::optional<bool> uses_tensor_cores() const override { return tensor_cores_; }

 private:
  void launch() override {
    // alpha and beta are double for fp64 and float for every other type (16-bit included).
    if (precision() == Precision::fp64) {
      const double alpha = 1.0, beta = 0.0;
      forward(&alpha, &beta, input<void>(0), input<void>(1), output<void>());
    } else {
      const float alpha = 1.0f, beta = 0.0f;
      forward(&alpha, &beta, input<void>(0), input<void>(1), output<void>());
    }
  }
  void forward(const void* alpha, const void* beta, const void* x, const void* w, void* y) {
    MLBENCH_CUDA_CHECK(cudnnConvolutionForward(cudnn_->handle, alpha, cudnn_->x, x, cudnn_->w, w, cudnn_->conv, algo_,
                                               workspace_, workspace_bytes_, beta, cudnn_->y, y));
  }

  std::unique_ptr<CudnnConvolution> cudnn_;
  cudnnConvolutionFwdAlgo_t algo_{};
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  bool tensor_cores_ = false;
};
#endif

}  // namespace

Availability cuda_conv_supports(const Problem& problem) {
  const auto& p = problem_cast<ConvProblem>(problem);
  const std::string why = conv2d_tiled_unsupported_reason(p.shape(), p.precision() == Precision::fp64, 0);
  return why.empty() ? Availability::yes() : Availability::no(why);
}

Availability cudnn_availability() {
#if MLBENCH_HAVE_CUDNN
  return cuda_availability();
#else
  return Availability::no("built without cuDNN (cudnn.h or libcudnn not found at configure time)");
#endif
}

std::unique_ptr<Variant> make_cuda_conv(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaConvVariant>(problem_cast<ConvProblem>(problem), config);
}

std::unique_ptr<Variant> make_cudnn_conv(const Problem& problem, const ExecutionConfig& config) {
#if MLBENCH_HAVE_CUDNN
  return std::make_unique<CudnnConvVariant>(problem_cast<ConvProblem>(problem), config);
#else
  (void)problem;
  (void)config;
  throw std::runtime_error(cudnn_availability().reason);
#endif
}

}  // namespace mlbench::kernels
