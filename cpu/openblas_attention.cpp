// Unfused attention on OpenBLAS: what a framework computes without a fused kernel. Per batch x
// head: the S x S score matrix S = (Q K^T) / sqrt(D) by cblas_?gemm (K transposed by the
// library), a row-wise softmax over it in memory (mlbench's vectorized row kernel; causal:
// over keys 0..i, the rest set to 0), then O = P V by cblas_?gemm. The S x S matrix of one
// batch x head (S^2 elements of fp32/fp64) is allocated at prepare time and written and read
// back through memory each run, which is the cost fusion removes. GEMM threads are
// OpenBLAS's; the softmax runs on short-lived std::threads (idle OpenMP workers would spin on
// the cores OpenBLAS needs next).
//  fp32, fp64: cblas_sgemm / cblas_dgemm.
//  bf16, fp16: not offered: Debian's OpenBLAS has no cblas_sbgemm and no fp16 GEMM, and
//  widening the inputs for sgemm would be mlbench's conversion around the library.
#include <cblas.h>

#include <algorithm>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench/attention.h"
#include "cpu/openblas_threads.h"
#include "cpu/cpu_backends.h"
#include "cpu/row_kernels.h"

namespace mlbench::cpu {
namespace {

template <class T>
class OpenblasAttention final : public CpuVariant {
 public:
  OpenblasAttention(const AttentionProblem& problem, int threads)
      : CpuVariant(problem, threads), problem_(problem), shape_(problem.shape()) {
    set_openblas_threads(threads_);
    const std::size_t S = static_cast<std::size_t>(shape_.seq);
    scores_.resize(S * S);
    scratch_.resize(static_cast<std::size_t>(threads_) * S);
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    return {{"openblas_core", openblas_get_corename()},
            {"unfused", "S x S scores of one batch x head in memory: gemm, softmax, gemm"}};
  }

 private:
  void before_timed_run() override { set_openblas_threads(threads_); }

  void compute() override {
    const std::int64_t S = shape_.seq, D = shape_.head_dim;
    const auto n = static_cast<blasint>(S), d = static_cast<blasint>(D);
    const T scale = static_cast<T>(problem_.scale());
    for (std::int64_t bh = 0; bh < shape_.batch * shape_.heads; ++bh) {
      const T* q = problem_.q().data<T>() + bh * S * D;
      const T* k = problem_.k().data<T>() + bh * S * D;
      const T* v = problem_.v().data<T>() + bh * S * D;
      T* o = output_.data<T>() + bh * S * D;
      T* s = scores_.data();
      if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, d, k, d, 0.0f, s, n);
      } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, d, k, d, 0.0, s, n);
      }
      softmax_rows();
      if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, s, n, v, d, 0.0f, o, d);
      } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0, s, n, v, d, 0.0, o, d);
      }
    }
  }

  // softmax of every row of scores_ in place, rows split over short-lived threads
  void softmax_rows() {
    const std::int64_t S = shape_.seq;
    constexpr std::int64_t kMinRows = 16;  // below this a thread costs more than it saves
    const std::int64_t parts = std::clamp<std::int64_t>(S / kMinRows, 1, threads_);
    const auto rows = [this, S, parts](std::int64_t part) {
      T* scratch = scratch_.data() + part * S;
      for (std::int64_t i = S * part / parts; i < S * (part + 1) / parts; ++i) {
        T* row = scores_.data() + i * S;
        const std::int64_t keys = shape_.causal ? i + 1 : S;
        softmax_row<T, false>(row, row, keys, scratch);
        std::fill(row + keys, row + S, T(0));
      }
    };
    std::vector<std::thread> helpers;
    for (std::int64_t part = 1; part < parts; ++part) helpers.emplace_back(rows, part);
    rows(0);
    for (auto& helper : helpers) helper.join();
  }

  const AttentionProblem& problem_;
  const AttentionShape shape_;
  std::vector<T> scores_, scratch_;
};

}  // namespace

Availability openblas_attention_supports(const Problem& problem) {
  if (problem.precision() == Precision::fp32 || problem.precision() == Precision::fp64) return Availability::yes();
  return Availability::no("OpenBLAS here has no bf16 (cblas_sbgemm) or fp16 GEMM");
}

std::unique_ptr<Variant> prepare_openblas_attention(const Problem& problem, const ExecutionConfig& config) {
  const auto& attention = problem_cast<AttentionProblem>(problem);
  if (problem.precision() == Precision::fp64)
    return std::make_unique<OpenblasAttention<double>>(attention, config.threads);
  if (problem.precision() == Precision::fp32)
    return std::make_unique<OpenblasAttention<float>>(attention, config.threads);
  throw std::logic_error("openblas attention: " + openblas_attention_supports(problem).reason);
}

}  // namespace mlbench::cpu
