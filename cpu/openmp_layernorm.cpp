// OpenMP layer norm: threads over rows (static schedule), each row by the vectorized kernel of
// cpu/row_kernels.h (two passes for the statistics over the cached row, one for the output),
// the output written with non-temporal stores: one read of the input, one write of the output.
#include <omp.h>

#include "bench/layernorm.h"
#include "cpu/cpu_backends.h"
#include "cpu/row_kernels.h"

namespace mlbench::cpu {
namespace {

template <class T>
class OpenmpLayerNorm final : public CpuVariant {
 public:
  OpenmpLayerNorm(const LayerNormProblem& problem, int threads) : CpuVariant(problem, threads), problem_(problem) {}
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
#pragma omp parallel num_threads(threads_)
    {
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < s.rows; ++r)
        layernorm_row<T, true>(x + r * s.cols, gamma, beta, y + r * s.cols, s.cols, s.epsilon);
      fence_streaming_stores();
    }
  }
  const LayerNormProblem& problem_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openmp_layernorm(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenmpLayerNorm>(problem, problem_cast<LayerNormProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
