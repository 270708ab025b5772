// Serial reduction: one pass per reduced segment (the whole tensor, or each row). Sums run in
// the problem precision over chunks of kSumChunk elements, which the compiler vectorizes
// (omp simd permits the reassociation), and the chunk sums are added pairwise in double.
// Max is a vectorized running maximum; mean is sum / count.
#include <algorithm>
#include <limits>

#include "cpu/cpu_backends.h"
#include "cpu/reduction_common.h"

namespace mlbench::cpu {
namespace {

template <class T>
class SerialReduction final : public CpuVariant {
 public:
  explicit SerialReduction(const ReductionProblem& problem) : CpuVariant(problem, 1), problem_(problem) {}

 private:
  void compute() override {
    const ReductionShape& s = problem_.shape();
    const T* x = problem_.input().data<T>();
    T* out = output_.data<T>();
    const std::int64_t segments = s.axis == ReduceAxis::rows ? s.rows : 1;
    const std::int64_t length = s.rows * s.cols / segments;
    for (std::int64_t seg = 0; seg < segments; ++seg) out[seg] = reduce(x + seg * length, length, s.op);
  }

  static T reduce(const T* x, std::int64_t length, ReduceOp op) {
    if (op == ReduceOp::max) {
      T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
      for (std::int64_t i = 0; i < length; ++i) m = x[i] > m ? x[i] : m;
      return m;
    }
    const double sum = pairwise_sum([x](std::int64_t begin, std::int64_t end) { return chunk_sum(x + begin, end - begin); },
                                    0, length);
    return static_cast<T>(op == ReduceOp::mean ? sum / static_cast<double>(length) : sum);
  }

  static double chunk_sum(const T* x, std::int64_t count) {
    T partial = 0;
#pragma omp simd reduction(+ : partial)
    for (std::int64_t i = 0; i < count; ++i) partial += x[i];
    return static_cast<double>(partial);
  }

  const ReductionProblem& problem_;
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_reduction(const Problem& problem, const ExecutionConfig& /*config*/) {
  return make_typed<SerialReduction>(problem, problem_cast<ReductionProblem>(problem));
}

}  // namespace mlbench::cpu
