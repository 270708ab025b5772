// oneDNN layer normalization: the CPU library bar for layer norm. A
// layer_normalization_forward forward_inference primitive over the last axis of the
// rows x cols tensor in its plain layout, with use_scale and use_shift (gamma, beta) and the
// problem's epsilon; source and destination are mlbench's buffers. oneDNN takes gamma and beta
// in fp32 only: for bf16/fp16 problems they are widened once at prepare (2 x cols values).
// The statistics are computed inside and not returned (inference). Precisions: fp32; bf16 and
// fp16 where oneDNN has an optimized kernel for them here (its reference implementation is
// refused); oneDNN has no fp64 layer norm.
#include <omp.h>

#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/layernorm.h"
#include "cpu/cpu_backends.h"

namespace mlbench::cpu {
namespace {

using dnnl::memory;

memory::data_type layernorm_type(Precision p) {
  if (p == Precision::bf16) return memory::data_type::bf16;
  if (p == Precision::fp16) return memory::data_type::f16;
  return memory::data_type::f32;
}

memory::desc layernorm_memory(const LayerNormProblem& problem) {
  return memory::desc({problem.shape().rows, problem.shape().cols}, layernorm_type(problem.precision()),
                      memory::format_tag::ab);
}

dnnl::normalization_flags scale_and_shift() {
  return dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
}

dnnl::layer_normalization_forward::primitive_desc layernorm_desc(const dnnl::engine& engine,
                                                                 const LayerNormProblem& problem) {
  const memory::desc md = layernorm_memory(problem);
  const auto epsilon = static_cast<float>(problem.shape().epsilon);
#if DNNL_VERSION_MAJOR >= 3
  return dnnl::layer_normalization_forward::primitive_desc(engine, dnnl::prop_kind::forward_inference, md, md, epsilon,
                                                           scale_and_shift());
#else
  const dnnl::layer_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, md, epsilon,
                                                     scale_and_shift());
  return dnnl::layer_normalization_forward::primitive_desc(desc, engine);
#endif
}

class OnednnLayerNorm final : public CpuVariant {
 public:
  OnednnLayerNorm(const LayerNormProblem& problem, int threads)
      : CpuVariant(problem, threads),
        precision_(problem.precision()),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_) {
    omp_set_num_threads(threads_);  // oneDNN splits its work by the thread count seen at creation
    primitive_desc_ = layernorm_desc(engine_, problem);
    layernorm_ = dnnl::layer_normalization_forward(primitive_desc_);
    const memory::desc md = layernorm_memory(problem);
    src_ = memory(md, engine_, const_cast<void*>(problem.input().raw()));  // oneDNN only reads it
    dst_ = memory(md, engine_, output_.raw());
    const std::int64_t cols = problem.shape().cols;
    gamma_.resize(static_cast<std::size_t>(cols));
    beta_.resize(gamma_.size());
    for (std::int64_t c = 0; c < cols; ++c) {
      gamma_[c] = static_cast<float>(problem.gamma().get(static_cast<std::size_t>(c)));
      beta_[c] = static_cast<float>(problem.beta().get(static_cast<std::size_t>(c)));
    }
    const memory::desc vector_md({cols}, memory::data_type::f32, memory::format_tag::a);
    scale_ = memory(vector_md, engine_, gamma_.data());
    shift_ = memory(vector_md, engine_, beta_.data());
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::vector<std::pair<std::string, std::string>> notes{{"implementation", primitive_desc_.impl_info_str()}};
    if (is_16bit(precision_))  // oneDNN's layer normalization keeps its statistics in fp32 for 16-bit data
      notes.emplace_back("compute", to_string(precision_) + " source and destination, fp32 accumulation inside oneDNN");
    return notes;
  }

 private:
  void before_timed_run() override { omp_set_num_threads(threads_); }
  void compute() override {
    layernorm_.execute(
        stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_SCALE, scale_}, {DNNL_ARG_SHIFT, shift_}});
    stream_.wait();
  }

  Precision precision_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::layer_normalization_forward::primitive_desc primitive_desc_;
  dnnl::layer_normalization_forward layernorm_;
  memory src_, dst_, scale_, shift_;
  std::vector<float> gamma_, beta_;
};

}  // namespace

Availability onednn_layernorm_supports(const Problem& problem) {
  if (problem.precision() == Precision::fp64) return Availability::no("oneDNN has no fp64 layer normalization");
  try {
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    const std::string impl = layernorm_desc(engine, problem_cast<LayerNormProblem>(problem)).impl_info_str();
    if (impl.rfind("ref", 0) == 0)
      return Availability::no("oneDNN has only its reference " + to_string(problem.precision()) +
                              " layer normalization (" + impl + ") on this CPU");
  } catch (const dnnl::error& e) {
    return Availability::no("oneDNN has no " + to_string(problem.precision()) + " layer normalization on this CPU (" +
                            e.what() + ")");
  }
  return Availability::yes();
}

std::unique_ptr<Variant> prepare_onednn_layernorm(const Problem& problem, const ExecutionConfig& config) {
  if (const Availability supported = onednn_layernorm_supports(problem); !supported.available)
    throw std::logic_error("onednn: " + supported.reason);
  return std::make_unique<OnednnLayerNorm>(problem_cast<LayerNormProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
