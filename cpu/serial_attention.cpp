// Serial attention: one thread, FlashAttention's online softmax one query row at a time. For
// each row the keys are taken in blocks of kKeyBlock: their scores (vectorized dot products
// over D, in the log2 domain: q is pre-multiplied by log2(e) / sqrt(D)), the running maximum,
// the rescaling of the row's sum and accumulator by 2^(old max - new max), and the
// accumulation of p_j V_j (vectorized over D). No S x S matrix exists; each row's state is
// its D accumulators, its maximum and its sum. bf16/fp16 K and V are widened to fp32 once per
// batch x head (timed), scores and accumulators are fp32.
#include <algorithm>
#include <cmath>
#include <vector>

#include "bench/attention.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"
#include "cpu/simd_math.h"

namespace mlbench::cpu {
namespace {

constexpr std::int64_t kKeyBlock = 64;

template <class T>
class SerialAttention final : public CpuVariant {
  using A = arithmetic_t<T>;
  using Vector = typename Simd<A>::Vector;
  static constexpr int L = kLanes<A>;

 public:
  explicit SerialAttention(const AttentionProblem& problem)
      : CpuVariant(problem, 1), problem_(problem), shape_(problem.shape()) {
    const std::size_t head = static_cast<std::size_t>(shape_.seq * shape_.head_dim);
    if constexpr (kConverted<T>) {
      k_.resize(head);
      v_.resize(head);
    }
    q_.resize(static_cast<std::size_t>(shape_.head_dim));
    acc_.resize(q_.size());
  }
  std::vector<std::pair<std::string, std::string>> notes() const override {
    return precision_notes(problem_, "once per batch x head");
  }

 private:
  void compute() override {
    const std::int64_t S = shape_.seq, D = shape_.head_dim;
    const A log2_scale = static_cast<A>(problem_.scale() * 1.4426950408889634);
    for (std::int64_t bh = 0; bh < shape_.batch * shape_.heads; ++bh) {
      const std::size_t base = static_cast<std::size_t>(bh * S * D);
      const T* q = problem_.q().data<T>() + base;
      const A* k;
      const A* v;
      if constexpr (kConverted<T>) {
        widen(problem_.k().data<T>() + base, k_.data(), S * D);
        widen(problem_.v().data<T>() + base, v_.data(), S * D);
        k = k_.data();
        v = v_.data();
      } else {
        k = problem_.k().data<T>() + base;
        v = problem_.v().data<T>() + base;
      }
      T* o = output_.data<T>() + base;
      for (std::int64_t i = 0; i < S; ++i) row(q + i * D, k, v, o + i * D, shape_.causal ? i + 1 : S, log2_scale);
    }
  }

  void row(const T* q_row, const A* k, const A* v, T* o_row, std::int64_t keys, A log2_scale) {
    const std::int64_t D = shape_.head_dim;
    A* q = q_.data();
    A* acc = acc_.data();
    for (std::int64_t d = 0; d < D; ++d) {
      q[d] = widen(q_row[d]) * log2_scale;
      acc[d] = 0;
    }
    A m = -INFINITY, l = 0;
    alignas(64) A p[kKeyBlock];
    for (std::int64_t j0 = 0; j0 < keys; j0 += kKeyBlock) {
      const std::int64_t n = std::min(kKeyBlock, keys - j0);
      A block_max = -INFINITY;
      for (std::int64_t j = 0; j < n; ++j) {
        const A* kj = k + (j0 + j) * D;
        A s = 0;
#pragma omp simd reduction(+ : s)
        for (std::int64_t d = 0; d < D; ++d) s += q[d] * kj[d];
        p[j] = s;
        block_max = std::max(block_max, s);
      }
      const A m_new = std::max(m, block_max);
      const A alpha = std::exp2(m - m_new);  // 0 on the first block (m = -inf)
      std::int64_t j = 0;
      for (; j + L <= n; j += L) store_unaligned(p + j, exp2_vector<A>(load_unaligned(p + j) - m_new));
      for (; j < n; ++j) p[j] = std::exp2(p[j] - m_new);
      A block_sum = 0;
      for (j = 0; j < n; ++j) block_sum += p[j];
      l = l * alpha + block_sum;
#pragma omp simd
      for (std::int64_t d = 0; d < D; ++d) acc[d] *= alpha;
      for (j = 0; j < n; ++j) {
        const A* vj = v + (j0 + j) * D;
        const A pj = p[j];
#pragma omp simd
        for (std::int64_t d = 0; d < D; ++d) acc[d] += pj * vj[d];
      }
      m = m_new;
    }
    const A inverse = A(1) / l;
    for (std::int64_t d = 0; d < D; ++d) o_row[d] = narrow<T>(acc[d] * inverse);
  }

  const AttentionProblem& problem_;
  const AttentionShape shape_;
  std::vector<A> k_, v_, q_, acc_;
};

}  // namespace

std::unique_ptr<Variant> prepare_serial_attention(const Problem& problem, const ExecutionConfig&) {
  return make_typed<SerialAttention>(problem, problem_cast<AttentionProblem>(problem));
}

}  // namespace mlbench::cpu
