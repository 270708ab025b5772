// Serial GEMM: the single-thread baseline. The i-k-j loop order streams rows of B and C
// contiguously, so the inner loop is unit-stride and the compiler vectorizes it; no blocking.
// bf16/fp16: B is widened to fp32 once at the start of the timed run (A entry by entry), each
// row of C is accumulated in fp32 and rounded to the 16-bit type when it is complete.
#include "bench/gemm.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"

namespace mlbench::cpu {
namespace {

template <class T>
class SerialGemm final : public CpuVariant {
  using A = arithmetic_t<T>;

 public:
  explicit SerialGemm(const GemmProblem& problem) : CpuVariant(problem, 1), problem_(problem) {
    if constexpr (kConverted<T>) {
      const auto& s = problem.shape();
      b_wide_ = HostBuffer(Precision::fp32, static_cast<std::size_t>(s.k * s.n));
      c_row_ = HostBuffer(Precision::fp32, static_cast<std::size_t>(s.n));
    }
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "at the start of the run (B whole, A by entry)");
  }

 private:
  void compute() override {
    const auto [m, n, k] = problem_.shape();
    const T* a = problem_.a().data<T>();
    const A* b = nullptr;
    if constexpr (kConverted<T>) {
      widen(problem_.b().data<T>(), b_wide_.data<A>(), k * n);
      b = b_wide_.data<A>();
    } else {
      b = problem_.b().data<T>();
    }
    T* c = output_.data<T>();
    for (std::int64_t i = 0; i < m; ++i) {
      A* c_row = nullptr;
      if constexpr (kConverted<T>)
        c_row = c_row_.data<A>();
      else
        c_row = c + i * n;
      for (std::int64_t j = 0; j < n; ++j) c_row[j] = A(0);
      for (std::int64_t p = 0; p < k; ++p) {
        const A a_ip = widen(a[i * k + p]);
        const A* b_row = b + p * n;
        for (std::int64_t j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
      }
      if constexpr (kConverted<T>) narrow(c_row, c + i * n, n);
    }
  }

  const GemmProblem& problem_;
  HostBuffer b_wide_, c_row_;  // fp32 workspaces of the 16-bit types
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_gemm(const Problem& problem, const ExecutionConfig& /*config*/) {
  return make_typed<SerialGemm>(problem, problem_cast<GemmProblem>(problem));
}

}  // namespace mlbench::cpu
