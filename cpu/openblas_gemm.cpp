// OpenBLAS GEMM: the CPU vendor bar. Row-major cblas_?gemm with beta = 0 (C is overwritten),
// using exactly the requested thread count.
#include <cblas.h>

#include "bench/gemm.h"
#include "cpu/cpu_backends.h"

namespace mlbench::cpu {
namespace {

template <class T>
class OpenblasGemm final : public CpuVariant {
 public:
  OpenblasGemm(const GemmProblem& problem, int threads) : CpuVariant(problem, threads), problem_(problem) {}

  std::vector<std::pair<std::string, std::string>> notes() const override {
    return {{"openblas_core", openblas_get_corename()}};
  }

 private:
  // OpenBLAS threads are process-wide; another backend may have changed them since.
  void before_timed_run() override { openblas_set_num_threads(threads_); }

  void compute() override {
    const auto [m, n, k] = problem_.shape();
    const T* a = problem_.a().data<T>();
    const T* b = problem_.b().data<T>();
    T* c = output_.data<T>();
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    else
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, a, K, b, N, 0.0, c, N);
  }

  const GemmProblem& problem_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openblas_gemm(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenblasGemm>(problem, problem_cast<GemmProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
