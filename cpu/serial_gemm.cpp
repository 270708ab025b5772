// Serial GEMM: the single-thread baseline. The i-k-j loop order streams rows of B and C
// contiguously, so the inner loop is unit-stride and the compiler vectorizes it; no blocking.
#include "bench/gemm.h"
#include "cpu/cpu_backends.h"

namespace mlbench::cpu {
namespace {

template <class T>
class SerialGemm final : public CpuVariant {
 public:
  explicit SerialGemm(const GemmProblem& problem) : CpuVariant(problem, 1), problem_(problem) {}

 private:
  void compute() override {
    const auto [m, n, k] = problem_.shape();
    const T* a = problem_.a().data<T>();
    const T* b = problem_.b().data<T>();
    T* c = output_.data<T>();
    for (std::int64_t i = 0; i < m; ++i) {
      T* c_row = c + i * n;
      for (std::int64_t j = 0; j < n; ++j) c_row[j] = T(0);
      for (std::int64_t p = 0; p < k; ++p) {
        const T a_ip = a[i * k + p];
        const T* b_row = b + p * n;
        for (std::int64_t j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
      }
    }
  }

  const GemmProblem& problem_;
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_gemm(const Problem& problem, const ExecutionConfig& /*config*/) {
  return make_typed<SerialGemm>(problem, problem_cast<GemmProblem>(problem));
}

}  // namespace mlbench::cpu
