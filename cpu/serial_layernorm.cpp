// Serial layer norm: one thread, row after row, the vectorized two-pass-statistics row kernel
// of cpu/row_kernels.h.
#include "bench/layernorm.h"
#include "cpu/cpu_backends.h"
#include "cpu/row_kernels.h"

namespace mlbench::cpu {
namespace {

template <class T>
class SerialLayerNorm final : public CpuVariant {
 public:
  explicit SerialLayerNorm(const LayerNormProblem& problem) : CpuVariant(problem, 1), problem_(problem) {}
  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "as they are loaded");
  }

 private:
  void compute() override {
    const auto& s = problem_.shape();
    const T* x = problem_.input().data<T>();
    const T* gamma = problem_.gamma().data<T>();
    const T* beta = problem_.beta().data<T>();
    T* y = output_.data<T>();
    for (std::int64_t r = 0; r < s.rows; ++r)
      layernorm_row<T, false>(x + r * s.cols, gamma, beta, y + r * s.cols, s.cols, s.epsilon);
  }
  const LayerNormProblem& problem_;
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_layernorm(const Problem& problem, const ExecutionConfig&) {
  return make_typed<SerialLayerNorm>(problem, problem_cast<LayerNormProblem>(problem));
}

}  // namespace mlbench::cpu
