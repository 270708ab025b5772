// OpenMP reduction: each thread reduces a contiguous, chunk-aligned share of a segment with
// four independent SIMD accumulators (so the adds overlap instead of waiting on one another),
// sums chunks pairwise in double, and writes one partial into its own cache line (no false
// sharing); the partials are combined in thread order, so the result does not depend on
// scheduling. Per-row reductions with enough rows give each thread whole rows instead.
// bf16/fp16 inputs are widened to fp32 as each vector is loaded; sums, maxima and the output
// are fp32.
#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"
#include "cpu/reduction_common.h"

namespace mlbench::cpu {
namespace {

constexpr int kAccumulators = 4;

// One thread's partial result, alone on its cache line.
struct alignas(64) PaddedPartial {
  double value = 0;
};

// T: the storage type of the input; A = arithmetic_t<T> that of the arithmetic and the output.
template <class T>
class OpenmpReduction final : public CpuVariant {
  using A = arithmetic_t<T>;
  using Vector = typename Simd<A>::Vector;
  static constexpr int L = kLanes<A>;

 public:
  OpenmpReduction(const ReductionProblem& problem, int threads)
      : CpuVariant(problem, threads), problem_(problem), partials_(static_cast<std::size_t>(threads_)) {}

  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "as they are loaded");
  }

 private:
  void compute() override {
    const ReductionShape& s = problem_.shape();
    const T* x = problem_.input().data<T>();
    A* out = output_.data<A>();
    if (s.axis == ReduceAxis::all) {
      out[0] = reduce_shared(x, s.rows * s.cols, s.op);
    } else if (s.rows >= 4 * static_cast<std::int64_t>(threads_)) {
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t row = 0; row < s.rows; ++row) {
        const T* segment = x + row * s.cols;
        const double value = s.op == ReduceOp::max ? max_of(segment, 0, s.cols) : sum_of(segment, 0, s.cols);
        out[row] = finish(value, s.cols, s.op);
      }
    } else {
      // Few long rows: the whole team works on each row in turn.
      for (std::int64_t row = 0; row < s.rows; ++row) out[row] = reduce_shared(x + row * s.cols, s.cols, s.op);
    }
  }

  // Reduces x[0, length) with the whole team.
  A reduce_shared(const T* x, std::int64_t length, ReduceOp op) {
    const std::int64_t chunks = (length + kSumChunk - 1) / kSumChunk;
    int team = 1;
#pragma omp parallel num_threads(threads_)
    {
      const int thread = omp_get_thread_num();
#pragma omp single
      team = omp_get_num_threads();
      // (implicit barrier after single: everyone sees `team`)
      const std::int64_t begin = std::min(length, chunks * thread / team * kSumChunk);
      const std::int64_t end = std::min(length, chunks * (thread + 1) / team * kSumChunk);
      double partial = op == ReduceOp::max ? -std::numeric_limits<double>::infinity() : 0.0;
      if (begin < end) partial = op == ReduceOp::max ? max_of(x, begin, end) : sum_of(x, begin, end);
      partials_[static_cast<std::size_t>(thread)].value = partial;
    }
    double value = partials_[0].value;
    for (int t = 1; t < team; ++t)
      value = op == ReduceOp::max ? std::max(value, partials_[static_cast<std::size_t>(t)].value)
                                  : value + partials_[static_cast<std::size_t>(t)].value;
    return finish(value, length, op);
  }

  static A finish(double value, std::int64_t count, ReduceOp op) {
    return static_cast<A>(op == ReduceOp::mean ? value / static_cast<double>(count) : value);
  }

  static double sum_of(const T* x, std::int64_t begin, std::int64_t end) {
    return pairwise_sum([x](std::int64_t b, std::int64_t e) { return chunk_sum(x, b, e); }, begin, end);
  }

  // Sum of x[begin, end) (at most one chunk) in the arithmetic type (fp32 for the 16-bit inputs).
  static double chunk_sum(const T* x, std::int64_t begin, std::int64_t end) {
    Vector acc[kAccumulators] = {};
    std::int64_t i = begin;
    for (; i + kAccumulators * L <= end; i += kAccumulators * L)
#pragma GCC unroll 4
      for (int u = 0; u < kAccumulators; ++u) acc[u] += load_widened(x + i + u * L);
    for (; i + L <= end; i += L) acc[0] += load_widened(x + i);
    const Vector total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    A sum = 0;
    for (int l = 0; l < L; ++l) sum += total[l];
    for (; i < end; ++i) sum += widen(x[i]);
    return static_cast<double>(sum);
  }

  static double max_of(const T* x, std::int64_t begin, std::int64_t end) {
    const A lowest = -std::numeric_limits<A>::infinity();
    Vector acc[kAccumulators];
    for (auto& a : acc) a = Vector{} + lowest;
    std::int64_t i = begin;
    for (; i + kAccumulators * L <= end; i += kAccumulators * L)
#pragma GCC unroll 4
      for (int u = 0; u < kAccumulators; ++u) {
        const Vector v = load_widened(x + i + u * L);
        acc[u] = v > acc[u] ? v : acc[u];
      }
    A m = lowest;
    for (const auto& a : acc)
      for (int l = 0; l < L; ++l) m = std::max(m, a[l]);
    for (; i < end; ++i) m = std::max(m, widen(x[i]));
    return static_cast<double>(m);
  }

  const ReductionProblem& problem_;
  std::vector<PaddedPartial> partials_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openmp_reduction(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenmpReduction>(problem, problem_cast<ReductionProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
