// Serial reduction: one pass per reduced segment (the whole tensor, or each row). Sums run in
// the problem precision over chunks of kSumChunk elements, which the compiler vectorizes
// (omp simd permits the reassociation), and the chunk sums are added pairwise in double.
// Max is a vectorized running maximum; mean is sum / count. bf16/fp16 inputs are widened to
// fp32 a chunk at a time (into a buffer on the stack) before the same loops; the output is fp32.
#include <algorithm>
#include <limits>

#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"
#include "cpu/reduction_common.h"

namespace mlbench::cpu {
namespace {

// T: the storage type of the input; A = arithmetic_t<T> that of the arithmetic and the output.
template <class T>
class SerialReduction final : public CpuVariant {
  using A = arithmetic_t<T>;

 public:
  explicit SerialReduction(const ReductionProblem& problem) : CpuVariant(problem, 1), problem_(problem) {}

  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "a chunk at a time");
  }

 private:
  void compute() override {
    const ReductionShape& s = problem_.shape();
    const T* x = problem_.input().data<T>();
    A* out = output_.data<A>();
    const std::int64_t segments = s.axis == ReduceAxis::rows ? s.rows : 1;
    const std::int64_t length = s.rows * s.cols / segments;
    for (std::int64_t seg = 0; seg < segments; ++seg) out[seg] = reduce(x + seg * length, length, s.op);
  }

  static A reduce(const T* x, std::int64_t length, ReduceOp op) {
    if (op == ReduceOp::max) {
      A m = -std::numeric_limits<A>::infinity();
      if constexpr (kConverted<T>) {
        for (std::int64_t begin = 0; begin < length; begin += kSumChunk) {
          const std::int64_t count = std::min(kSumChunk, length - begin);
          A wide[kSumChunk];
          widen(x + begin, wide, count);
          m = std::max(m, max_of(wide, count));
        }
      } else {
        m = max_of(x, length);
      }
      return m;
    }
    const double sum = pairwise_sum(
        [x](std::int64_t begin, std::int64_t end) { return chunk_sum(x + begin, end - begin); }, 0, length);
    return static_cast<A>(op == ReduceOp::mean ? sum / static_cast<double>(length) : sum);
  }

  // kMaxLanes running maxima, folded at the end: a max that gcc and clang both vectorize (clang
  // cannot vectorize `omp simd reduction(max)` over a compare-and-select on floats). NaNs are
  // skipped either way (x > m is false); the max of the rest is the same in any order.
  static A max_of(const A* x, std::int64_t count) {
    constexpr int kMaxLanes = 16;
    A lanes[kMaxLanes];
    for (int l = 0; l < kMaxLanes; ++l) lanes[l] = -std::numeric_limits<A>::infinity();
    std::int64_t i = 0;
    for (; i + kMaxLanes <= count; i += kMaxLanes)
#pragma omp simd
      for (int l = 0; l < kMaxLanes; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
    A m = -std::numeric_limits<A>::infinity();
    for (int l = 0; l < kMaxLanes; ++l) m = lanes[l] > m ? lanes[l] : m;
    for (; i < count; ++i) m = x[i] > m ? x[i] : m;
    return m;
  }

  static double chunk_sum(const T* x, std::int64_t count) {
    if constexpr (kConverted<T>) {
      A wide[kSumChunk];
      count = std::min(count, kSumChunk);  // what pairwise_sum passes; tells the compiler too
      widen(x, wide, count);
      return sum_of(wide, count);
    } else {
      return sum_of(x, count);
    }
  }

  static double sum_of(const A* x, std::int64_t count) {
    A partial = 0;
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
