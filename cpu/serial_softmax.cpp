// Serial softmax: one thread, row after row, the vectorized three-pass row kernel of
// cpu/row_kernels.h (the row is read from memory once; exp is a SIMD polynomial).
#include <vector>

#include "bench/softmax.h"
#include "cpu/cpu_backends.h"
#include "cpu/row_kernels.h"

namespace mlbench::cpu {
namespace {

template <class T>
class SerialSoftmax final : public CpuVariant {
  using A = arithmetic_t<T>;

 public:
  explicit SerialSoftmax(const SoftmaxProblem& problem)
      : CpuVariant(problem, 1), problem_(problem), scratch_(static_cast<std::size_t>(problem.shape().cols)) {}
  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "as they are loaded");
  }

 private:
  void compute() override {
    const auto& s = problem_.shape();
    const T* x = problem_.input().data<T>();
    T* y = output_.data<T>();
    for (std::int64_t r = 0; r < s.rows; ++r)
      softmax_row<T, false>(x + r * s.cols, y + r * s.cols, s.cols, scratch_.data());
  }
  const SoftmaxProblem& problem_;
  std::vector<A> scratch_;
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_softmax(const Problem& problem, const ExecutionConfig&) {
  return make_typed<SerialSoftmax>(problem, problem_cast<SoftmaxProblem>(problem));
}

}  // namespace mlbench::cpu
