// oneDNN convolution: the CPU library bar for convolution. A convolution_forward primitive
// is created with format_tag::any for source, weights and destination, so oneDNN picks the
// blocked layouts its fastest kernel wants. The NCHW input and OIHW filters are reordered into
// those layouts once, at prepare; the timed run executes the convolution and then reorders
// the destination back to NCHW, so that, like every other backend, the timed region ends
// with an NCHW result. oneDNN on CPU has no fp64 convolution: fp64 problems are refused.
// Precisions: fp32; tf32 as fp32 on the tf32-valued inputs; bf16 with bf16 source, weights and
// destination (oneDNN accumulates in fp32), offered only when oneDNN picks an optimized
// kernel for it (its reference implementation is refused); oneDNN 2.6 has no fp16
// convolution on CPU.
#include <cpuid.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "bench/convolution.h"
#include "cpu/cpu_backends.h"

namespace mlbench::cpu {
namespace {

using dnnl::memory;

// The runtime the library was built with: OpenMP means omp_set_num_threads() steers it.
std::string threading_runtime() {
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
  return "OpenMP";
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_TBB
  return "TBB (ignores the requested thread count)";
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_SEQ
  return "sequential (one thread whatever is requested)";
#else
  return "other";
#endif
}

// A blocked memory layout in oneDNN's own notation, with the tensor's dimension letters:
// "nChw16c" is NCHW with channels in blocks of 16 innermost, "OIhw16i16o" filters blocked by
// 16 input x 16 output channels. Outer dimensions are listed by decreasing stride; a blocked
// dimension is upper case.
std::string layout_name(const memory::desc& desc, const std::string& letters) {
#if DNNL_VERSION_MAJOR >= 3
  if (desc.get_format_kind() != memory::format_kind::blocked) return "opaque";
  const int ndims = desc.get_ndims();
  const memory::dims strides = desc.get_strides();
  const int inner_blocks = desc.get_inner_nblks();
  const memory::dims block_sizes = desc.get_inner_blks(), block_dims = desc.get_inner_idxs();
#else
  const dnnl_memory_desc_t& md = desc.data;
  if (md.format_kind != dnnl_blocked) return "opaque";
  const int ndims = md.ndims;
  const auto& blocking = md.format_desc.blocking;
  const std::vector<memory::dim> strides(blocking.strides, blocking.strides + ndims);
  const int inner_blocks = blocking.inner_nblks;
  const std::vector<memory::dim> block_sizes(blocking.inner_blks, blocking.inner_blks + inner_blocks);
  const std::vector<memory::dim> block_dims(blocking.inner_idxs, blocking.inner_idxs + inner_blocks);
#endif
  std::vector<int> order(static_cast<std::size_t>(ndims));
  for (int d = 0; d < ndims; ++d) order[static_cast<std::size_t>(d)] = d;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return strides[static_cast<std::size_t>(a)] > strides[static_cast<std::size_t>(b)];
  });
  std::string name;
  for (int d : order) {
    char letter = letters.at(static_cast<std::size_t>(d));
    for (int b = 0; b < inner_blocks; ++b)
      if (block_dims[static_cast<std::size_t>(b)] == d) letter = static_cast<char>(letter - 'a' + 'A');
    name += letter;
  }
  for (int b = 0; b < inner_blocks; ++b)
    name += fmt::format("{}{}", block_sizes[static_cast<std::size_t>(b)],
                        letters.at(static_cast<std::size_t>(block_dims[static_cast<std::size_t>(b)])));
  return name;
}

// oneDNN's element type for the problem's precision (tf32 values are fp32).
memory::data_type onednn_type(Precision p) {
  return p == Precision::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
}

struct ConvDims {
  memory::dims src, weights, dst, strides, padding;
  explicit ConvDims(const ConvShape& s)
      : src{s.batch, s.channels, s.height, s.width},
        weights{s.filters, s.channels, s.kernel, s.kernel},
        dst{s.batch, s.filters, s.out_height(), s.out_width()},
        strides{s.stride, s.stride},
        // Symmetric padding: oneDNN derives the output size with the same floor formula as
        // ConvShape, so a last window that stops short of the padded edge is fine.
        padding{s.pad, s.pad} {}
};

// The convolution oneDNN picks for the problem, with the layouts left to it.
dnnl::convolution_forward::primitive_desc convolution_desc(const dnnl::engine& engine, const ConvProblem& problem) {
  const ConvDims d(problem.shape());
  const auto type = onednn_type(problem.precision());
  const auto any = memory::format_tag::any;
  const memory::desc src_any(d.src, type, any), weights_any(d.weights, type, any), dst_any(d.dst, type, any);
#if DNNL_VERSION_MAJOR >= 3
  return dnnl::convolution_forward::primitive_desc(engine, dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_any, weights_any, dst_any,
                                                   d.strides, d.padding, d.padding);
#else
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_any, weights_any, dst_any, d.strides, d.padding, d.padding);
  return dnnl::convolution_forward::primitive_desc(desc, engine);
#endif
}

// AVX512-BF16 (CPUID leaf 7, sub-leaf 1, EAX bit 5): bf16 dot products in hardware. Without
// it oneDNN's bf16 kernels emulate them with fp32 FMAs.
bool cpu_has_avx512_bf16() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) != 0 && (eax & (1u << 5)) != 0;
}

class OnednnConvolution final : public CpuVariant {
 public:
  OnednnConvolution(const ConvProblem& problem, int threads)
      : CpuVariant(problem, threads),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_),
        precision_(problem.precision()) {
    // oneDNN sizes its kernels' work split by the thread count seen at creation.
    omp_set_num_threads(threads_);
    const ConvDims d(problem.shape());
    const auto type = onednn_type(precision_);
    primitive_desc_ = convolution_desc(engine_, problem);
    convolution_ = dnnl::convolution_forward(primitive_desc_);

    // User memory wraps mlbench's buffers (oneDNN only reads the inputs, hence the casts).
    const memory user_src({d.src, type, memory::format_tag::nchw}, engine_, const_cast<void*>(problem.input().raw()));
    const memory user_weights({d.weights, type, memory::format_tag::oihw}, engine_,
                              const_cast<void*>(problem.weights().raw()));
    user_dst_ = memory({d.dst, type, memory::format_tag::nchw}, engine_, output_.raw());

    src_ = to_layout(user_src, primitive_desc_.src_desc());
    weights_ = to_layout(user_weights, primitive_desc_.weights_desc());
    stream_.wait();
    if (primitive_desc_.dst_desc() == user_dst_.get_desc()) {
      dst_ = user_dst_;
    } else {
      dst_ = memory(primitive_desc_.dst_desc(), engine_);
      dst_to_nchw_ = dnnl::reorder(dst_, user_dst_);
    }
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    const std::string dst_note = dst_to_nchw_ ? " (reordered to nchw inside the timed run)" : "";
    std::vector<std::pair<std::string, std::string>> notes = {
        {"implementation", primitive_desc_.impl_info_str()},
        {"layout", fmt::format("src {}, weights {}, dst {}{}; inputs reordered once at prepare",
                               layout_name(primitive_desc_.src_desc(), "nchw"),
                               layout_name(primitive_desc_.weights_desc(), "oihw"),
                               layout_name(primitive_desc_.dst_desc(), "nchw"), dst_note)},
        {"threading", threading_runtime()}};
    if (precision_ == Precision::tf32)
      notes.emplace_back("compute", "fp32 convolution on the tf32-valued inputs (fp32 arithmetic and output)");
    if (precision_ == Precision::bf16)
      notes.emplace_back("compute", std::string("bf16 source, weights and output, fp32 accumulation inside oneDNN; ") +
                                        (cpu_has_avx512_bf16() ? "AVX512-BF16 dot products in hardware"
                                                               : "no AVX512-BF16 on this CPU: bf16 products emulated "
                                                                 "with fp32 FMAs"));
    return notes;
  }

 private:
  // The library's thread count is process-wide state another backend may have changed.
  void before_timed_run() override { omp_set_num_threads(threads_); }

  void compute() override {
    convolution_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}});
    if (dst_to_nchw_) dst_to_nchw_.execute(stream_, dst_, user_dst_);
    stream_.wait();
  }

  // `user` itself when it already has the layout the primitive wants, else a reordered copy.
  memory to_layout(memory user, const memory::desc& wanted) {
    if (user.get_desc() == wanted) return user;
    memory converted(wanted, engine_);
    dnnl::reorder(user, converted).execute(stream_, user, converted);
    return converted;
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  Precision precision_;
  dnnl::convolution_forward::primitive_desc primitive_desc_;
  dnnl::convolution_forward convolution_;
  memory src_, weights_, dst_, user_dst_;
  dnnl::reorder dst_to_nchw_;
};

}  // namespace

Availability onednn_convolution_supports(const Problem& problem) {
  switch (problem.precision()) {
    case Precision::fp32:
    case Precision::tf32: return Availability::yes();
    case Precision::fp64: return Availability::no("oneDNN has no fp64 convolution on CPU");
    case Precision::fp16: return Availability::no("oneDNN " + onednn_version() + " has no fp16 convolution on CPU");
    case Precision::bf16: break;
  }
  // bf16: only where oneDNN has an optimized kernel for it (AVX-512 or newer); its reference
  // implementation would be a straw man, not a library bar.
  try {
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    const std::string impl = convolution_desc(engine, problem_cast<ConvProblem>(problem)).impl_info_str();
    if (impl.rfind("ref", 0) == 0)
      return Availability::no("oneDNN has only its reference bf16 convolution (" + impl + ") on this CPU");
  } catch (const dnnl::error& e) {
    return Availability::no(std::string("oneDNN has no bf16 convolution on this CPU (") + e.what() + ")");
  }
  return Availability::yes();
}

std::unique_ptr<Variant> prepare_onednn_convolution(const Problem& problem, const ExecutionConfig& config) {
  if (const Availability supported = onednn_convolution_supports(problem); !supported.available)
    throw std::logic_error("onednn: " + supported.reason);
  return std::make_unique<OnednnConvolution>(problem_cast<ConvProblem>(problem), config.threads);
}

std::string onednn_version() {
  const dnnl_version_t* version = dnnl_version();
  return fmt::format("{}.{}.{}", version->major, version->minor, version->patch);
}

}  // namespace mlbench::cpu
