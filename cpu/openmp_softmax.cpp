// OpenMP softmax: threads over rows (static schedule: rows cost the same), each row by the
// vectorized three-pass kernel of cpu/row_kernels.h with its own scratch row; the output is
// written with non-temporal stores, so memory traffic is one read of the input and one
// write of the output.
#include <omp.h>

#include <vector>

#include "bench/softmax.h"
#include "cpu/cpu_backends.h"
#include "cpu/row_kernels.h"

namespace mlbench::cpu {
namespace {

template <class T>
class OpenmpSoftmax final : public CpuVariant {
  using A = arithmetic_t<T>;

 public:
  OpenmpSoftmax(const SoftmaxProblem& problem, int threads) : CpuVariant(problem, threads), problem_(problem) {
    // one scratch row per thread, a cache line apart
    stride_ = (problem.shape().cols + 63) / 64 * 64;
    scratch_.resize(static_cast<std::size_t>(stride_ * threads_));
  }
  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "as they are loaded");
  }

 private:
  void compute() override {
    const auto& s = problem_.shape();
    const T* x = problem_.input().data<T>();
    T* y = output_.data<T>();
#pragma omp parallel num_threads(threads_)
    {
      A* scratch = scratch_.data() + static_cast<std::int64_t>(omp_get_thread_num()) * stride_;
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < s.rows; ++r) softmax_row<T, true>(x + r * s.cols, y + r * s.cols, s.cols, scratch);
      fence_streaming_stores();
    }
  }
  const SoftmaxProblem& problem_;
  std::int64_t stride_ = 0;
  std::vector<A> scratch_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openmp_softmax(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenmpSoftmax>(problem, problem_cast<SoftmaxProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
