// OpenMP GEMM, BLIS-style: C is computed in KC-deep slabs; each slab of B (KC x NC) is packed
// into NR-wide micro-panels and each MC x KC block of A into MR-high micro-panels. A
// register-blocked MR x NR micro-kernel (MR rows times several SIMD vectors, all accumulators
// held in registers) then streams both packed panels with unit stride: the B micro-panel is
// reused from L1/L2 across the A block, the A block stays in L2, the B slab in L3. Threads
// split the rows of C evenly (in whole micro-panels). With more than 2 threads they pack each
// B slab together into one shared, double-buffered slab (one barrier per slab: a thread that
// passes the barrier after packing slab s has finished computing on slab s-1, the other
// buffer), so the slab is read from memory once and stays in the shared L3; 16 private 6 MB
// copies did not fit there and were streamed from DRAM by every thread (H200 host, 16 cores:
// 76 % of OpenBLAS with private copies, docs/performance.md). With 1 or 2 threads each packs
// its own copy, free of barriers, which measured faster and steadier on a busy 2-core machine.
// bf16/fp16 run the fp32 kernel: the panels are widened to fp32 while they are packed (O(n^2)
// conversions against O(n^3) FMAs), C is accumulated across the KC slabs in an fp32 workspace
// and each block is rounded to the 16-bit type after its last slab.
#include <omp.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "bench/gemm.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"

namespace mlbench::cpu {
namespace {

// Register tile and cache blocking per element type. With 32 vector registers (AVX-512) a
// 6 x 4-vector tile uses 24 accumulators; with 16 (AVX2/SSE) 6 x 2 uses 12. Wide and short
// beats 12 x 2 although both hold 24 accumulators: per k step it issues 6 broadcasts of A
// and 4 full-vector loads of B instead of 12 + 2, and the broadcasts are what stall when A
// streams from L2 (fp64 12 x 2 reached 66% of peak in L1-resident tests, 6 x 4 98%).
template <class T>
struct GemmBlocking {
  static constexpr int kVectorsPerRow = kVectorBytes == 64 ? 4 : 2;
  static constexpr int kNR = kVectorsPerRow * kLanes<T>;
  static constexpr int kMR = 6;
  // MC x KC of A stays in L2 while B micro-panels stream through; a deep KC makes each
  // pass over the C tile (loaded and stored once per micro-kernel call) cover more work.
  // (Measured on AVX-512; the AVX2/SSE values are the earlier, untuned ones.)
  static constexpr std::int64_t kKC = kVectorBytes == 64 ? 512 : 256;
  static constexpr std::int64_t kMC = kVectorBytes == 64 ? 120 : kMR * (sizeof(T) == 4 ? 20 : 10);
  static constexpr std::int64_t kNC = sizeof(T) == 4 ? 3072 : 1536;
};

// c[0:MR][0:NR] (row stride ldc) = or += packed_a (kc x MR) * packed_b (kc x NR).
template <class T>
inline void micro_kernel(std::int64_t kc, const T* __restrict packed_a, const T* __restrict packed_b, T* __restrict c,
                         std::int64_t ldc, bool accumulate) {
  using B = GemmBlocking<T>;
  using Vector = typename Simd<T>::Vector;
  constexpr int MR = B::kMR, NV = B::kVectorsPerRow, L = kLanes<T>;
  // The C tile is read and written only after the k loop, and its rows are a whole matrix
  // row apart, out of reach of the hardware prefetcher: fetch its lines now so the misses
  // overlap the FMAs instead of stalling the end of every call.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int line = 0; line < B::kNR * static_cast<int>(sizeof(T)); line += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(c + i * ldc) + line, 1, 3);
  Vector acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = Vector{};

  for (std::int64_t p = 0; p < kc; ++p) {
    const auto* b_row = reinterpret_cast<const Vector*>(packed_b + p * B::kNR);
    Vector b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = b_row[v];
    const T* a_col = packed_a + p * MR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T a_ip = a_col[i];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += a_ip * b[v];
    }
  }

#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      T* out = c + i * ldc + v * L;
      store_unaligned(out, accumulate ? load_unaligned(out) + acc[i][v] : acc[i][v]);
    }
}

// T: the storage type of A, B and C; the kernel computes in A = arithmetic_t<T>.
template <class T>
class OpenmpGemm final : public CpuVariant {
  using A = arithmetic_t<T>;
  using Blocking = GemmBlocking<A>;
  static constexpr int MR = Blocking::kMR, NR = Blocking::kNR;

 public:
  OpenmpGemm(const GemmProblem& problem, int threads) : CpuVariant(problem, threads), problem_(problem) {
    const auto& s = problem.shape();
    // Workspace is allocated here, at prepare time, like a library's scratch space.
    const std::int64_t kc = std::min(Blocking::kKC, s.k);
    const std::int64_t nc_panels = (std::min(Blocking::kNC, s.n) + NR - 1) / NR;
    const std::int64_t mc_panels = (std::min(Blocking::kMC, s.m) + MR - 1) / MR;
    const auto slab = static_cast<std::size_t>(kc * nc_panels * NR);
    if (shared_b_slab()) {
      packed_b_.emplace_back(precision_of<A>(), 2 * slab);  // double-buffered, shared by the team
    } else {
      for (int t = 0; t < threads_; ++t) packed_b_.emplace_back(precision_of<A>(), slab);
    }
    for (int t = 0; t < threads_; ++t)
      packed_a_.emplace_back(precision_of<A>(), static_cast<std::size_t>(kc * mc_panels * MR));
    // 16-bit C: the fp32 sums of one NC-wide column slab of C (each thread its own rows).
    if constexpr (kConverted<T>)
      c_wide_ = HostBuffer(Precision::fp32, static_cast<std::size_t>(s.m * std::min(Blocking::kNC, s.n)));
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::vector<std::pair<std::string, std::string>> notes = {
        {"micro_kernel", fmt::format("{}x{}", MR, NR)},
        {"blocking", fmt::format("MC={} KC={} NC={}", Blocking::kMC, Blocking::kKC, Blocking::kNC)},
        {"simd_bytes", std::to_string(kVectorBytes)},
        {"b_slab", shared_b_slab() ? "shared by the threads, double-buffered" : "one copy per thread"}};
    for (auto& note : precision_notes(problem_, "while packing panels")) notes.push_back(std::move(note));
    return notes;
  }

 private:
  bool shared_b_slab() const { return threads_ > 2; }

  void compute() override {
    // Plain variables, not a structured binding: OpenMP regions may not capture those.
    const std::int64_t m = problem_.shape().m, n = problem_.shape().n, k = problem_.shape().k;
    const T* a = problem_.a().data<T>();
    const T* b = problem_.b().data<T>();
    T* c = output_.data<T>();
    A* c_wide = nullptr;  // where the kernel accumulates C: C itself, or the 16-bit types' fp32 slab
    std::int64_t ldc = n;
    if constexpr (kConverted<T>) {
      c_wide = c_wide_.data<A>();
      ldc = std::min(Blocking::kNC, n);
    } else {
      c_wide = c;
    }
    const std::int64_t row_panels = (m + MR - 1) / MR;

#pragma omp parallel num_threads(threads_)
    {
      const int thread = omp_get_thread_num(), team = omp_get_num_threads();
      A* packed_a = packed_a_[static_cast<std::size_t>(thread)].data<A>();
      const bool shared_b = packed_b_.size() == 1 && team > 1;
      A* packed_b_base = packed_b_[shared_b ? 0 : static_cast<std::size_t>(thread)].data<A>();
      const std::size_t slab_elements = packed_b_[0].size() / (shared_b ? 2 : 1);
      std::int64_t slab_index = 0;
      // This thread's rows of C, in whole micro-panels.
      const std::int64_t row_begin = std::min(m, row_panels * thread / team * MR);
      const std::int64_t row_end = std::min(m, row_panels * (thread + 1) / team * MR);
      // Equal blocks of at most MC rows (whole micro-panels), rather than full blocks and a
      // thin remainder that would stream the B slab for little work.
      const std::int64_t my_panels = (row_end - row_begin + MR - 1) / MR;
      const std::int64_t blocks = std::max<std::int64_t>(1, (my_panels * MR + Blocking::kMC - 1) / Blocking::kMC);
      const std::int64_t mc_step = std::max<std::int64_t>(1, (my_panels + blocks - 1) / blocks) * MR;

      // Every thread runs every (jc, pc) step, rows or not: the shared slab's barriers need all.
      for (std::int64_t jc = 0; (shared_b || row_begin < row_end) && jc < n; jc += Blocking::kNC) {
        const std::int64_t nc = std::min(Blocking::kNC, n - jc);
        const std::int64_t col_panels = (nc + NR - 1) / NR;
        for (std::int64_t pc = 0; pc < k; pc += Blocking::kKC, ++slab_index) {
          const std::int64_t kc = std::min(Blocking::kKC, k - pc);
          A* packed_b = packed_b_base;
          if (shared_b) {
            packed_b += static_cast<std::size_t>(slab_index % 2) * slab_elements;
            for (std::int64_t jp = thread; jp < col_panels; jp += team)
              pack_b(b, n, pc, kc, jc + jp * NR, n, packed_b + jp * kc * NR);
#pragma omp barrier
          } else {
            for (std::int64_t jp = 0; jp < col_panels; ++jp)
              pack_b(b, n, pc, kc, jc + jp * NR, n, packed_b + jp * kc * NR);
          }
          for (std::int64_t ic = row_begin; ic < row_end; ic += mc_step) {
            const std::int64_t mc = std::min(mc_step, row_end - ic);
            pack_a(a, k, ic, mc, pc, kc, packed_a);
            if constexpr (kConverted<T>) {
              macro_kernel(mc, nc, kc, packed_a, packed_b, c_wide + ic * ldc, ldc, pc > 0);
              if (pc + kc >= k)  // the block's last slab: round it to the storage type
                for (std::int64_t i = ic; i < ic + mc; ++i) narrow(c_wide + i * ldc, c + i * n + jc, nc);
            } else {
              macro_kernel(mc, nc, kc, packed_a, packed_b, c_wide + ic * ldc + jc, ldc, pc > 0);
            }
          }
        }
      }
    }
  }

  // Rows [ic, ic+mc) x columns [pc, pc+kc) of A into MR-high micro-panels, each stored
  // column by column (kc x MR); rows past the end are zero.
  static void pack_a(const T* a, std::int64_t lda, std::int64_t ic, std::int64_t mc, std::int64_t pc, std::int64_t kc,
                     A* packed) {
    for (std::int64_t ir = 0; ir < mc; ir += MR) {
      A* panel = packed + ir * kc;
      const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);
      for (std::int64_t i = 0; i < MR; ++i) {
        if (i < rows) {
          const T* a_row = a + (ic + ir + i) * lda + pc;
          for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + i] = widen(a_row[p]);
        } else {
          for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + i] = A(0);
        }
      }
    }
  }

  // Rows [pc, pc+kc) x columns [j, j+NR) of B into one micro-panel (kc x NR); columns past
  // n are zero.
  static void pack_b(const T* b, std::int64_t ldb, std::int64_t pc, std::int64_t kc, std::int64_t j, std::int64_t n,
                     A* panel) {
    const std::int64_t cols = std::min<std::int64_t>(NR, n - j);
    for (std::int64_t p = 0; p < kc; ++p) {
      const T* b_row = b + (pc + p) * ldb + j;
      A* out = panel + p * NR;
      if (cols == NR) {
        if constexpr (kConverted<T>) {
#pragma GCC unroll 4
          for (int q = 0; q < NR; q += kLanes<A>) store_unaligned(out + q, load_widened(b_row + q));
        } else {
          for (int q = 0; q < NR; ++q) out[q] = b_row[q];
        }
      } else {
        for (std::int64_t q = 0; q < cols; ++q) out[q] = widen(b_row[q]);
        for (std::int64_t q = cols; q < NR; ++q) out[q] = A(0);
      }
    }
  }

  // C block (mc x nc, row stride ldc) = or += packed A block * packed B slab.
  static void macro_kernel(std::int64_t mc, std::int64_t nc, std::int64_t kc, const A* packed_a, const A* packed_b,
                           A* c, std::int64_t ldc, bool accumulate) {
    alignas(64) A edge[MR * NR];
    for (std::int64_t jr = 0; jr < nc; jr += NR) {
      const std::int64_t cols = std::min<std::int64_t>(NR, nc - jr);
      const A* b_panel = packed_b + jr * kc;
      for (std::int64_t ir = 0; ir < mc; ir += MR) {
        const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);
        const A* a_panel = packed_a + ir * kc;
        A* c_tile = c + ir * ldc + jr;
        if (rows == MR && cols == NR) {
          micro_kernel<A>(kc, a_panel, b_panel, c_tile, ldc, accumulate);
        } else {
          // Partial tile at the matrix edge: compute the full tile aside, write its valid part.
          micro_kernel<A>(kc, a_panel, b_panel, edge, NR, false);
          for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t j = 0; j < cols; ++j)
              c_tile[i * ldc + j] = accumulate ? c_tile[i * ldc + j] + edge[i * NR + j] : edge[i * NR + j];
        }
      }
    }
  }

  const GemmProblem& problem_;
  std::vector<HostBuffer> packed_b_;
  std::vector<HostBuffer> packed_a_;
  HostBuffer c_wide_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openmp_gemm(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenmpGemm>(problem, problem_cast<GemmProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
