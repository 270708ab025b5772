// OpenMP attention, FlashAttention-2 on the CPU: the work is split into tasks of (batch x
// head, block of kBlockRows query rows), run in parallel, the blocks with the most keys first
// (causal masking gives later blocks more). A task keeps its query block, an S tile, the
// output accumulators and each row's running maximum and sum in L1/L2 and streams the keys
// in blocks of kBlockKeys:
//   1. S = Q_blk K_blk^T by a register-blocked MR x NV-vector micro-kernel (K packed
//      transposed in chunks of NV vectors, so each d step loads NV vectors of keys and
//      broadcasts MR query values: MR x NV FMAs per MR + NV loads);
//   2. online softmax per row over the tile (vectorized): keys past S or past the row's own
//      position (causal) masked to -inf, new maximum, P = 2^(S - max) by a SIMD polynomial
//      (Q is pre-scaled by log2(e)/sqrt(D), so the exponent needs no multiply), the row sum
//      and the accumulator rescaled by 2^(old max - new max);
//   3. acc = alpha acc + P V_blk by the same micro-kernel shape over D (V rows are unit stride
//      in D, the alpha scaling is folded into the accumulator load).
// No S x S matrix exists. K (transposed) and V are widened to the arithmetic type and padded
// (keys to a whole block, D to a whole vector, with zeros) once per run, in parallel, inside
// the timed region; bf16/fp16 inputs compute in fp32, and the output is rounded once.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "bench/attention.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"
#include "cpu/simd_math.h"

namespace mlbench::cpu {
namespace {

template <class A>
struct AttentionBlocking {
  // 32 vector registers (AVX-512): 6 x 4 vectors = 24 accumulators; 16 (AVX2/SSE): 6 x 2.
  static constexpr int kMR = 6;
  static constexpr int kNV = kVectorBytes == 64 ? 4 : 2;
  static constexpr int kChunk = kNV * kLanes<A>;          // keys per micro-kernel column block
  static constexpr std::int64_t kBlockKeys = 2 * kChunk;  // keys per online-softmax step
  static constexpr std::int64_t kBlockRows = kMR * 8;     // query rows per task
};

// c[0:MR][0:NV vectors] (row stride ldc) = (row_scale ? row_scale[i] * c : 0) + a * b, where a
// is MR x k (row stride lda, broadcast one element at a time) and b is k x NV vectors (row
// stride ldb).
template <class A, int MR, int NV>
inline void tile_product(std::int64_t k, const A* __restrict a, std::int64_t lda, const A* __restrict b,
                         std::int64_t ldb, A* __restrict c, std::int64_t ldc, const A* __restrict row_scale) {
  using Vector = typename Simd<A>::Vector;
  constexpr int L = kLanes<A>;
  Vector acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = row_scale ? load_unaligned(c + i * ldc + v * L) * row_scale[i] : Vector{};
  for (std::int64_t p = 0; p < k; ++p) {
    Vector bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = load_unaligned(b + p * ldb + v * L);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const A a_ip = a[i * lda + p];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += a_ip * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store_unaligned(c + i * ldc + v * L, acc[i][v]);
}

// The same over `vectors` (< NV) vectors: the tail of a D that is no whole number of NV vectors.
template <class A, int MR, int NV>
inline void tile_product_tail(int vectors, std::int64_t k, const A* a, std::int64_t lda, const A* b, std::int64_t ldb,
                              A* c, std::int64_t ldc, const A* row_scale) {
  if constexpr (NV > 1) {
    if (vectors == NV - 1) return tile_product<A, MR, NV - 1>(k, a, lda, b, ldb, c, ldc, row_scale);
    return tile_product_tail<A, MR, NV - 1>(vectors, k, a, lda, b, ldb, c, ldc, row_scale);
  }
}

template <class T>
class OpenmpAttention final : public CpuVariant {
  using A = arithmetic_t<T>;
  using Vector = typename Simd<A>::Vector;
  using Blocking = AttentionBlocking<A>;
  static constexpr int L = kLanes<A>, MR = Blocking::kMR, NV = Blocking::kNV, KC = Blocking::kChunk;
  static constexpr std::int64_t BN = Blocking::kBlockKeys, BM = Blocking::kBlockRows;

 public:
  OpenmpAttention(const AttentionProblem& problem, int threads)
      : CpuVariant(problem, threads), problem_(problem), shape_(problem.shape()) {
    heads_ = shape_.batch * shape_.heads;
    d_pad_ = (shape_.head_dim + L - 1) / L * L;
    s_pad_ = (shape_.seq + BN - 1) / BN * BN;
    // Workspace allocated at prepare time, like a library's scratch space.
    const std::size_t per_head = static_cast<std::size_t>(s_pad_ * d_pad_);
    kt_.resize(per_head * static_cast<std::size_t>(heads_));
    v_.resize(kt_.size());
    q_stride_ = round_up(BM * d_pad_);
    s_stride_ = round_up(BM * BN);
    r_stride_ = round_up(BM);
    q_block_.resize(static_cast<std::size_t>(q_stride_ * threads_));
    acc_.resize(q_block_.size());
    scores_.resize(static_cast<std::size_t>(s_stride_ * threads_));
    row_max_.resize(static_cast<std::size_t>(r_stride_ * threads_));
    row_sum_.resize(row_max_.size());
    alpha_.resize(row_max_.size());
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::vector<std::pair<std::string, std::string>> notes = {
        {"micro_kernel", fmt::format("{}x{}", MR, NV * L)},
        {"blocking", fmt::format("query rows {} x keys {}", BM, BN)},
        {"simd_bytes", std::to_string(kVectorBytes)}};
    for (auto& note : precision_notes(problem_, "while K and V are packed")) notes.push_back(std::move(note));
    return notes;
  }

 private:
  static std::int64_t round_up(std::int64_t n) { return (n + 63) / 64 * 64; }

  void compute() override {
    const std::int64_t S = shape_.seq;
    const std::int64_t query_blocks = (S + BM - 1) / BM;
    const std::int64_t chunks = s_pad_ / KC;
#pragma omp parallel num_threads(threads_)
    {
#pragma omp for schedule(static)
      for (std::int64_t t = 0; t < heads_ * chunks; ++t) pack(t / chunks, t % chunks);
      const int thread = omp_get_thread_num();
      // Blocks with the most keys first (causal), round-robin over batch x head.
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t t = 0; t < heads_ * query_blocks; ++t)
        query_block(t % heads_, query_blocks - 1 - t / heads_, thread);
    }
  }

  // Keys [c KC, (c + 1) KC) of one batch x head: K transposed into kt_ ([chunk][d][KC]), V
  // rows into v_ ([key][d_pad]), widened, zero past S and past D.
  void pack(std::int64_t bh, std::int64_t c) {
    const std::int64_t S = shape_.seq, D = shape_.head_dim;
    const T* k = problem_.k().data<T>() + bh * S * D;
    const T* v = problem_.v().data<T>() + bh * S * D;
    A* kt = kt_.data() + bh * s_pad_ * d_pad_ + c * d_pad_ * KC;
    A* vp = v_.data() + bh * s_pad_ * d_pad_;
    for (std::int64_t j = c * KC; j < (c + 1) * KC; ++j) {
      const std::int64_t col = j - c * KC;
      A* v_row = vp + j * d_pad_;
      if (j < S) {
        for (std::int64_t d = 0; d < D; ++d) {
          kt[d * KC + col] = widen(k[j * D + d]);
          v_row[d] = widen(v[j * D + d]);
        }
      } else {
        for (std::int64_t d = 0; d < D; ++d) kt[d * KC + col] = v_row[d] = 0;
      }
      for (std::int64_t d = D; d < d_pad_; ++d) kt[d * KC + col] = v_row[d] = 0;
    }
  }

  void query_block(std::int64_t bh, std::int64_t qb, int thread) {
    const std::int64_t S = shape_.seq, D = shape_.head_dim;
    const std::int64_t q0 = qb * BM, rows = std::min(BM, S - q0);
    A* q = q_block_.data() + thread * q_stride_;
    A* acc = acc_.data() + thread * q_stride_;
    A* s = scores_.data() + thread * s_stride_;
    A* m = row_max_.data() + thread * r_stride_;
    A* l = row_sum_.data() + thread * r_stride_;
    A* alpha = alpha_.data() + thread * r_stride_;

    const A log2_scale = static_cast<A>(problem_.scale() * 1.4426950408889634);
    const T* q_in = problem_.q().data<T>() + (bh * S + q0) * D;
    for (std::int64_t r = 0; r < BM; ++r) {
      for (std::int64_t d = 0; d < d_pad_; ++d) {
        q[r * d_pad_ + d] = r < rows && d < D ? widen(q_in[r * D + d]) * log2_scale : A(0);
        acc[r * d_pad_ + d] = 0;
      }
      m[r] = -INFINITY;
      l[r] = 0;
    }

    const A* kt_head = kt_.data() + bh * s_pad_ * d_pad_;
    const A* v_head = v_.data() + bh * s_pad_ * d_pad_;
    // keys a row of this block may see: all S, or up to its last row (causal)
    const std::int64_t key_end = shape_.causal ? std::min(S, q0 + BM) : S;
    for (std::int64_t j0 = 0; j0 < key_end; j0 += BN) {
      // 1. scores of the block's rows against keys [j0, j0 + BN)
      for (std::int64_t c = 0; c < BN / KC; ++c) {
        const A* kt = kt_head + (j0 / KC + c) * d_pad_ * KC;
        for (std::int64_t p = 0; p < BM; p += MR)
          tile_product<A, MR, NV>(d_pad_, q + p * d_pad_, d_pad_, kt, KC, s + p * BN + c * KC, BN, nullptr);
      }
      // 2. online softmax, row by row
      for (std::int64_t r = 0; r < BM; ++r) {
        A* row = s + r * BN;
        const std::int64_t visible = std::min(shape_.causal ? q0 + r + 1 : S, S) - j0;
        for (std::int64_t j = std::max<std::int64_t>(visible, 0); j < BN; ++j) row[j] = -INFINITY;
        Vector mv = load_unaligned(row);
        for (std::int64_t j = L; j < BN; j += L) {
          const Vector x = load_unaligned(row + j);
          mv = x > mv ? x : mv;
        }
        // block 0 holds key 0, visible to every row, so m_new is finite from there on
        const A m_new = std::max(m[r], lane_max<A>(mv));
        Vector sum{};
        for (std::int64_t j = 0; j < BN; j += L) {
          const Vector p = exp2_vector<A>(load_unaligned(row + j) - m_new);
          store_unaligned(row + j, p);
          sum += p;
        }
        alpha[r] = m_new == m[r] ? A(1) : std::exp2(m[r] - m_new);  // 0 on the first block (m = -inf)
        l[r] = l[r] * alpha[r] + lane_sum<A>(sum);
        m[r] = m_new;
      }
      // 3. acc = alpha acc + P V
      const A* v = v_head + j0 * d_pad_;
      const std::int64_t keys = std::min(BN, key_end - j0);  // P is 0 past them
      const int vectors = static_cast<int>(d_pad_ / L);
      for (std::int64_t p = 0; p < BM; p += MR) {
        int done = 0;
        for (; done + NV <= vectors; done += NV)
          tile_product<A, MR, NV>(keys, s + p * BN, BN, v + done * L, d_pad_, acc + p * d_pad_ + done * L, d_pad_,
                                  alpha + p);
        if (done < vectors)
          tile_product_tail<A, MR, NV>(vectors - done, keys, s + p * BN, BN, v + done * L, d_pad_,
                                       acc + p * d_pad_ + done * L, d_pad_, alpha + p);
      }
    }

    T* o = output_.data<T>() + (bh * S + q0) * D;
    for (std::int64_t r = 0; r < rows; ++r) {
      const A inverse = A(1) / l[r];
      for (std::int64_t d = 0; d < D; ++d) o[r * D + d] = narrow<T>(acc[r * d_pad_ + d] * inverse);
    }
  }

  const AttentionProblem& problem_;
  const AttentionShape shape_;
  std::int64_t heads_ = 0, d_pad_ = 0, s_pad_ = 0, q_stride_ = 0, s_stride_ = 0, r_stride_ = 0;
  std::vector<A> kt_, v_, q_block_, acc_, scores_, row_max_, row_sum_, alpha_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openmp_attention(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenmpAttention>(problem, problem_cast<AttentionProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
