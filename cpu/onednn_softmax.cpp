// oneDNN softmax: the CPU library bar for softmax. A softmax (softmax_v2 in oneDNN 2.x)
// forward_inference primitive, algorithm softmax_accurate (max subtracted), over axis 1 of
// the rows x cols tensor in its plain row-major layout, source and destination mlbench's own
// buffers (no reorders). Precisions: fp32; bf16 and fp16 where oneDNN has an optimized kernel
// for them on this CPU (its reference implementation is refused: a straw man, not a bar);
// oneDNN has no fp64 softmax.
#include <omp.h>

#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/softmax.h"
#include "cpu/cpu_backends.h"

namespace mlbench::cpu {
namespace {

using dnnl::memory;

memory::data_type softmax_type(Precision p) {
  if (p == Precision::bf16) return memory::data_type::bf16;
  if (p == Precision::fp16) return memory::data_type::f16;
  return memory::data_type::f32;
}

memory::desc softmax_memory(const SoftmaxProblem& problem) {
  return memory::desc({problem.shape().rows, problem.shape().cols}, softmax_type(problem.precision()),
                      memory::format_tag::ab);
}

#if DNNL_VERSION_MAJOR >= 3
using SoftmaxPrimitive = dnnl::softmax_forward;
SoftmaxPrimitive::primitive_desc softmax_desc(const dnnl::engine& engine, const SoftmaxProblem& problem) {
  const memory::desc md = softmax_memory(problem);
  return SoftmaxPrimitive::primitive_desc(engine, dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                          md, md, 1);
}
#else
using SoftmaxPrimitive = dnnl::softmax_v2_forward;
SoftmaxPrimitive::primitive_desc softmax_desc(const dnnl::engine& engine, const SoftmaxProblem& problem) {
  const memory::desc md = softmax_memory(problem);
  const SoftmaxPrimitive::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, md, md, 1);
  return SoftmaxPrimitive::primitive_desc(desc, engine);
}
#endif

class OnednnSoftmax final : public CpuVariant {
 public:
  OnednnSoftmax(const SoftmaxProblem& problem, int threads)
      : CpuVariant(problem, threads),
        precision_(problem.precision()),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_) {
    omp_set_num_threads(threads_);  // oneDNN splits its work by the thread count seen at creation
    primitive_desc_ = softmax_desc(engine_, problem);
    softmax_ = SoftmaxPrimitive(primitive_desc_);
    const memory::desc md = softmax_memory(problem);
    src_ = memory(md, engine_, const_cast<void*>(problem.input().raw()));  // oneDNN only reads it
    dst_ = memory(md, engine_, output_.raw());
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::vector<std::pair<std::string, std::string>> notes{{"implementation", primitive_desc_.impl_info_str()}};
    if (is_16bit(precision_))  // oneDNN's softmax keeps its statistics in fp32 for 16-bit data
      notes.emplace_back("compute", to_string(precision_) + " source and destination, fp32 accumulation inside oneDNN");
    return notes;
  }

 private:
  void before_timed_run() override { omp_set_num_threads(threads_); }
  void compute() override {
    softmax_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}});
    stream_.wait();
  }

  Precision precision_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  SoftmaxPrimitive::primitive_desc primitive_desc_;
  SoftmaxPrimitive softmax_;
  memory src_, dst_;
};

}  // namespace

Availability onednn_softmax_supports(const Problem& problem) {
  if (problem.precision() == Precision::fp64) return Availability::no("oneDNN has no fp64 softmax");
  try {
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    const std::string impl = softmax_desc(engine, problem_cast<SoftmaxProblem>(problem)).impl_info_str();
    if (impl.rfind("ref", 0) == 0)
      return Availability::no("oneDNN has only its reference " + to_string(problem.precision()) + " softmax (" + impl +
                              ") on this CPU");
  } catch (const dnnl::error& e) {
    return Availability::no("oneDNN has no " + to_string(problem.precision()) + " softmax on this CPU (" + e.what() +
                            ")");
  }
  return Availability::yes();
}

std::unique_ptr<Variant> prepare_onednn_softmax(const Problem& problem, const ExecutionConfig& config) {
  if (const Availability supported = onednn_softmax_supports(problem); !supported.available)
    throw std::logic_error("onednn: " + supported.reason);
  return std::make_unique<OnednnSoftmax>(problem_cast<SoftmaxProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
