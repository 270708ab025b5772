// Softmax and layer-norm variants: the hand-written row kernels (`cuda`) and cuDNN's softmax
// (`cudnn`, the legacy cudnnSoftmaxForward of cuDNN 9's ops library). cuDNN 9's layer norm
// exists only as a backend-graph operation (CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR)
// whose engines target training shapes; layer norm has no vendor row here.
#include <limits>
#include <string>

#include "bench/layernorm.h"
#include "bench/softmax.h"
#include "kernels/backends.h"
#include "kernels/cuda_check.h"
#include "kernels/element_types.h"
#include "kernels/gpu_variant.h"
#include "kernels/layernorm_rows.h"
#include "kernels/softmax_rows.h"

namespace mlbench::kernels {

namespace {

void note_16bit(Precision p, std::vector<std::pair<std::string, std::string>>& notes) {
  if (is_16bit(p))
    notes.emplace_back(
        "compute", to_string(p) + " widened to fp32 in registers; fp32 statistics; output rounded to " + to_string(p));
}

class CudaSoftmaxVariant final : public GpuVariant {
 public:
  CudaSoftmaxVariant(const SoftmaxProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input()}, p.output_size()), shape_(p.shape()) {
    with_element_type(precision(),
                      [&](auto tag) { notes_.emplace_back("kernel", softmax_rows_plan<decltype(tag)>(shape_.cols)); });
    note_16bit(precision(), notes_);
  }

 private:
  void launch() override {
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      launch_softmax_rows<T, T>(input<T>(0), output<T>(), shape_.rows, shape_.cols, stream());
    });
  }
  SoftmaxShape shape_;
};

class CudaLayerNormVariant final : public GpuVariant {
 public:
  CudaLayerNormVariant(const LayerNormProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input(), &p.gamma(), &p.beta()}, p.output_size()),
        shape_(p.shape()) {
    with_element_type(
        precision(), [&](auto tag) { notes_.emplace_back("kernel", layernorm_rows_plan<decltype(tag)>(shape_.cols)); });
    note_16bit(precision(), notes_);
  }

 private:
  void launch() override {
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      launch_layernorm_rows<T>(input<T>(0), input<T>(1), input<T>(2), output<T>(), shape_.rows, shape_.cols,
                               shape_.epsilon, stream());
    });
  }
  LayerNormShape shape_;
};

#if MLBENCH_HAVE_CUDNN
cudnnDataType_t cudnn_type(Precision p) {
  switch (p) {
    case Precision::fp64: return CUDNN_DATA_DOUBLE;
    case Precision::bf16: return CUDNN_DATA_BFLOAT16;
    case Precision::fp16: return CUDNN_DATA_HALF;
    case Precision::fp32:
    case Precision::tf32: break;
  }
  return CUDNN_DATA_FLOAT;
}

class CudnnSoftmaxVariant final : public GpuVariant {
 public:
  CudnnSoftmaxVariant(const SoftmaxProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input()}, p.output_size()) {
    try {
      MLBENCH_CUDA_CHECK(cudnnCreate(&handle_));
      MLBENCH_CUDA_CHECK(cudnnSetStream(handle_, stream()));
      MLBENCH_CUDA_CHECK(cudnnCreateTensorDescriptor(&tensor_));
      // N = rows, C = cols, H = W = 1: CHANNEL mode normalizes over C for each row.
      MLBENCH_CUDA_CHECK(cudnnSetTensor4dDescriptor(tensor_, CUDNN_TENSOR_NCHW, cudnn_type(precision()),
                                                    static_cast<int>(p.shape().rows), static_cast<int>(p.shape().cols),
                                                    1, 1));
    } catch (...) {
      release();
      throw;
    }
    notes_.emplace_back("algorithm", "cudnnSoftmaxForward CUDNN_SOFTMAX_ACCURATE (max subtracted), MODE_CHANNEL");
  }
  ~CudnnSoftmaxVariant() override { release(); }

 private:
  void launch() override {
    // alpha/beta are double for double data, float otherwise.
    const double alpha_d = 1.0, beta_d = 0.0;
    const float alpha_f = 1.0f, beta_f = 0.0f;
    const bool dbl = precision() == Precision::fp64;
    MLBENCH_CUDA_CHECK(cudnnSoftmaxForward(handle_, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL,
                                           dbl ? static_cast<const void*>(&alpha_d) : &alpha_f, tensor_, input<void>(0),
                                           dbl ? static_cast<const void*>(&beta_d) : &beta_f, tensor_, output<void>()));
  }
  void release() {
    if (tensor_ != nullptr) cudnnDestroyTensorDescriptor(tensor_);
    if (handle_ != nullptr) cudnnDestroy(handle_);
    tensor_ = nullptr;
    handle_ = nullptr;
  }
  cudnnHandle_t handle_ = nullptr;
  cudnnTensorDescriptor_t tensor_ = nullptr;
};
#endif

}  // namespace

Availability cudnn_softmax_supports(const Problem& problem) {
  const auto& s = problem_cast<SoftmaxProblem>(problem).shape();
  if (s.rows > std::numeric_limits<int>::max() || s.cols > std::numeric_limits<int>::max())
    return Availability::no("cuDNN tensor descriptors take int dimensions");
  return Availability::yes();
}

std::unique_ptr<Variant> make_cuda_softmax(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaSoftmaxVariant>(problem_cast<SoftmaxProblem>(problem), config);
}

std::unique_ptr<Variant> make_cudnn_softmax(const Problem& problem, const ExecutionConfig& config) {
#if MLBENCH_HAVE_CUDNN
  return std::make_unique<CudnnSoftmaxVariant>(problem_cast<SoftmaxProblem>(problem), config);
#else
  (void)problem;
  (void)config;
  throw std::runtime_error(cudnn_availability().reason);
#endif
}

std::unique_ptr<Variant> make_cuda_layernorm(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaLayerNormVariant>(problem_cast<LayerNormProblem>(problem), config);
}

}  // namespace mlbench::kernels
