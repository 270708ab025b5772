// Serial convolution: direct loops, one output row at a time (it stays in L1 while every
// filter tap (channel, r, s) adds w * input row to it). The taps and columns whose input lies
// inside the image are computed per row and tap, so padding costs no per-element checks and
// the inner loop over output columns is unit-stride and vectorizes (for stride 1).
// bf16/fp16: input and filters are widened to fp32 at the start of the timed run (one pass),
// each output row is accumulated in fp32 and rounded to the 16-bit type when complete.
#include <algorithm>

#include "bench/convolution.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"

namespace mlbench::cpu {
namespace {

// Output indices o in [begin, end) with 0 <= o*stride + offset < extent.
inline void valid_range(std::int64_t offset, std::int64_t stride, std::int64_t extent, std::int64_t outputs,
                        std::int64_t& begin, std::int64_t& end) {
  begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  end = extent - offset <= 0 ? 0 : std::min(outputs, (extent - offset - 1) / stride + 1);
  if (end < begin) end = begin;
}

template <class T>
class SerialConvolution final : public CpuVariant {
  using A = arithmetic_t<T>;

 public:
  explicit SerialConvolution(const ConvProblem& problem) : CpuVariant(problem, 1), problem_(problem) {
    if constexpr (kConverted<T>) {
      input_wide_ = HostBuffer(Precision::fp32, problem.input().size());
      weights_wide_ = HostBuffer(Precision::fp32, problem.weights().size());
      out_row_ = HostBuffer(Precision::fp32, static_cast<std::size_t>(problem.shape().out_width()));
    }
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "at the start of the run");
  }

 private:
  void compute() override {
    const ConvShape& s = problem_.shape();
    const std::int64_t oh_count = s.out_height(), ow_count = s.out_width();
    const std::int64_t R = s.kernel, H = s.height, W = s.width, C = s.channels;
    const A* input = nullptr;
    const A* weights = nullptr;
    if constexpr (kConverted<T>) {
      widen(problem_.input().data<T>(), input_wide_.data<A>(), static_cast<std::int64_t>(input_wide_.size()));
      widen(problem_.weights().data<T>(), weights_wide_.data<A>(), static_cast<std::int64_t>(weights_wide_.size()));
      input = input_wide_.data<A>();
      weights = weights_wide_.data<A>();
    } else {
      input = problem_.input().data<T>();
      weights = problem_.weights().data<T>();
    }
    T* output = output_.data<T>();
    for (std::int64_t n = 0; n < s.batch; ++n)
      for (std::int64_t k = 0; k < s.filters; ++k)
        for (std::int64_t oh = 0; oh < oh_count; ++oh) {
          T* const result_row = output + ((n * s.filters + k) * oh_count + oh) * ow_count;
          A* out_row = nullptr;
          if constexpr (kConverted<T>)
            out_row = out_row_.data<A>();
          else
            out_row = result_row;
          for (std::int64_t ow = 0; ow < ow_count; ++ow) out_row[ow] = A(0);
          const std::int64_t ih0 = oh * s.stride - s.pad;
          const std::int64_t r_begin = std::max<std::int64_t>(0, -ih0), r_end = std::min(R, H - ih0);
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t r = r_begin; r < r_end; ++r) {
              const A* in_row = input + ((n * C + c) * H + ih0 + r) * W;
              for (std::int64_t q = 0; q < R; ++q) {
                const A w = weights[((k * C + c) * R + r) * R + q];
                const std::int64_t shift = q - s.pad;
                std::int64_t ow_begin, ow_end;
                valid_range(shift, s.stride, W, ow_count, ow_begin, ow_end);
                if (s.stride == 1) {
                  for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] += w * in_row[ow + shift];
                } else {
                  for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] += w * in_row[ow * s.stride + shift];
                }
              }
            }
          if constexpr (kConverted<T>) narrow(out_row, result_row, ow_count);
        }
  }

  const ConvProblem& problem_;
  HostBuffer input_wide_, weights_wide_, out_row_;  // fp32 workspaces of the 16-bit types
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_convolution(const Problem& problem, const ExecutionConfig& /*config*/) {
  return make_typed<SerialConvolution>(problem, problem_cast<ConvProblem>(problem));
}

}  // namespace mlbench::cpu
