// OpenMP convolution: direct convolution, register-blocked. Work is split into tasks of
// (image, block of output rows), run in parallel; a task computes its rows for every block of
// KB filters in turn, so the input rows it reads stay in L2 across the filter blocks. Within a
// task each output row is cut into tiles of NV SIMD vectors of columns; for a tile, KB x NV
// vector accumulators stay in registers while every tap (channel, r, s) loads the input
// vectors once and reuses them for all KB filters (weights repacked so the KB values of a tap
// are contiguous, and broadcast). The common 3x3 kernel has its taps unrolled at compile
// time. Tiles are laid on a grid of aligned columns so that their results can be written
// with non-temporal stores: the output is far larger than the caches and never read back
// here, so streaming it skips the read-for-ownership that would double its memory traffic.
// The first and last tile of a row may overlap their neighbours (they rewrite identical
// values); border columns whose taps leave the image take a checked scalar path.
// bf16/fp16 run the same fp32 kernel: input vectors are widened to fp32 as they are loaded,
// the filters while they are repacked, and results are rounded to the 16-bit type as they
// are stored (the register tile still accumulates in fp32).
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include "bench/convolution.h"
#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"
#include "cpu/simd_math.h"

namespace mlbench::cpu {
namespace {

template <class T>
struct ConvBlocking {
  static constexpr int kFilters = kVectorBytes == 64 ? 8 : 4;  // KB: filters per register tile
  static constexpr int kVectors = kVectorBytes == 64 ? 3 : 2;  // NV: SIMD vectors of columns per tile
  static constexpr int kColumns = kVectors * kLanes<T>;
  static constexpr std::int64_t kRows = 4;  // output rows per task
};

// T: the storage type of input, filters and output; the kernel computes in A = arithmetic_t<T>.
template <class T>
class OpenmpConvolution final : public CpuVariant {
  using A = arithmetic_t<T>;
  using Blocking = ConvBlocking<A>;
  using Vector = typename Simd<A>::Vector;
  static constexpr int KB = Blocking::kFilters, NV = Blocking::kVectors, L = kLanes<A>;

 public:
  OpenmpConvolution(const ConvProblem& problem, int threads) : CpuVariant(problem, threads), problem_(problem) {
    const ConvShape& s = problem.shape();
    filter_blocks_ = (s.filters + KB - 1) / KB;
    packed_weights_ =
        HostBuffer(precision_of<A>(), static_cast<std::size_t>(filter_blocks_ * s.channels * s.kernel * s.kernel * KB));
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::vector<std::pair<std::string, std::string>> notes = {
        {"register_tile", fmt::format("{} filters x {} columns", KB, Blocking::kColumns)},
        {"stores", "non-temporal where output rows are SIMD-aligned"}};
    for (auto& note : precision_notes(problem_, "as they are loaded (filters while repacked)"))
      notes.push_back(std::move(note));
    return notes;
  }

 private:
  // Everything a task needs, hoisted out of the loops.
  struct Geometry {
    std::int64_t C, H, W, K, R, stride, pad, OH, OW;
    std::int64_t interior_begin, interior_end;  // columns whose taps are all inside the image
  };

  void compute() override {
    const ConvShape& s = problem_.shape();
    Geometry g{s.channels, s.height,       s.width,       s.filters, s.kernel, s.stride,
               s.pad,      s.out_height(), s.out_width(), 0,         0};
    g.interior_begin = std::min(g.OW, (g.pad + g.stride - 1) / g.stride);
    g.interior_end = g.W + g.pad - g.R < 0 ? 0 : std::min(g.OW, (g.W + g.pad - g.R) / g.stride + 1);
    if (g.interior_end < g.interior_begin) g.interior_end = g.interior_begin;

    const T* input = problem_.input().data<T>();
    const T* weights = problem_.weights().data<T>();
    T* output = output_.data<T>();
    A* packed = packed_weights_.data<A>();
    const std::int64_t taps = g.C * g.R * g.R;
    const std::int64_t row_blocks = (g.OH + Blocking::kRows - 1) / Blocking::kRows;
    const std::int64_t filter_blocks = filter_blocks_;
    const Row compute_row = g.stride == 1
                                ? (g.R == 3 ? &OpenmpConvolution::row<true, 3> : &OpenmpConvolution::row<true, 0>)
                                : (g.R == 3 ? &OpenmpConvolution::row<false, 3> : &OpenmpConvolution::row<false, 0>);

#pragma omp parallel num_threads(threads_)
    {
      // Weights as [filter block][channel][r][s][KB], zero for filters past K.
#pragma omp for schedule(static)
      for (std::int64_t fb = 0; fb < filter_blocks; ++fb)
        for (std::int64_t t = 0; t < taps; ++t)
          for (std::int64_t kk = 0; kk < KB; ++kk) {
            const std::int64_t k = fb * KB + kk;
            packed[(fb * taps + t) * KB + kk] = k < g.K ? widen(weights[k * taps + t]) : A(0);
          }

#pragma omp for collapse(2) schedule(dynamic)
      for (std::int64_t n = 0; n < s.batch; ++n)
        for (std::int64_t rb = 0; rb < row_blocks; ++rb) {
          const T* image = input + n * g.C * g.H * g.W;
          const std::int64_t oh_end = std::min(g.OH, (rb + 1) * Blocking::kRows);
          for (std::int64_t fb = 0; fb < filter_blocks; ++fb) {
            const A* block_weights = packed + fb * taps * KB;
            const std::int64_t k0 = fb * KB, filters = std::min<std::int64_t>(KB, g.K - k0);
            T* out = output + (n * g.K + k0) * g.OH * g.OW;
            for (std::int64_t oh = rb * Blocking::kRows; oh < oh_end; ++oh)
              compute_row(g, image, block_weights, out, filters, oh);
          }
        }
      fence_streaming_stores();
    }
  }

  using Row = void (*)(const Geometry&, const T*, const A*, T*, std::int64_t, std::int64_t);

  // Output row oh for the block's filters.
  template <bool kUnitStride, int kR>
  static void row(const Geometry& g, const T* image, const A* block_weights, T* out, std::int64_t filters,
                  std::int64_t oh) {
    constexpr std::int64_t C = Blocking::kColumns;
    // Taps r whose input row lies inside the image.
    const std::int64_t ih0 = oh * g.stride - g.pad;
    const std::int64_t r_begin = std::max<std::int64_t>(0, -ih0), r_end = std::min(g.R, g.H - ih0);
    const auto tile_at = [&](std::int64_t ow, bool stream) {
      tile<kUnitStride, kR>(g, image, block_weights, out, filters, oh, ow, r_begin, r_end, stream);
    };
    if (g.interior_end - g.interior_begin >= C) {
      // First tile where the interior starts, then tiles on the grid of columns that are
      // multiples of the SIMD width (aligned when rows are), then one ending at the interior's end.
      tile_at(g.interior_begin, false);
      std::int64_t ow = (g.interior_begin + C) / L * L;
      for (; ow + C <= g.interior_end; ow += C) tile_at(ow, true);
      if (ow < g.interior_end) tile_at(g.interior_end - C, false);
    } else {
      for (std::int64_t ow = g.interior_begin; ow < g.interior_end; ++ow)
        checked_column(g, image, block_weights, out, filters, oh, ow, r_begin, r_end);
    }
    for (std::int64_t ow = 0; ow < g.interior_begin; ++ow)
      checked_column(g, image, block_weights, out, filters, oh, ow, r_begin, r_end);
    for (std::int64_t ow = std::max(g.interior_begin, g.interior_end); ow < g.OW; ++ow)
      checked_column(g, image, block_weights, out, filters, oh, ow, r_begin, r_end);
  }

  // Output columns [ow, ow + kColumns) of row oh for the block's filters; every tap of these
  // columns is inside the image horizontally, rows r in [r_begin, r_end) vertically. kR is the
  // kernel size when known at compile time (its taps are then unrolled), else 0.
  template <bool kUnitStride, int kR>
  static void tile(const Geometry& g, const T* image, const A* block_weights, T* out, std::int64_t filters,
                   std::int64_t oh, std::int64_t ow, std::int64_t r_begin, std::int64_t r_end, bool stream) {
    Vector acc[KB][NV];
#pragma GCC unroll 8
    for (int kk = 0; kk < KB; ++kk)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[kk][v] = Vector{};
    const std::int64_t R = kR > 0 ? kR : g.R;
    const std::int64_t stride = kUnitStride ? 1 : g.stride;
    for (std::int64_t c = 0; c < g.C; ++c)
      for (std::int64_t r = r_begin; r < r_end; ++r) {
        const T* in_row = image + (c * g.H + oh * g.stride - g.pad + r) * g.W + ow * stride - g.pad;
        const A* tap_weights = block_weights + (c * R + r) * R * KB;
#pragma GCC unroll 8
        for (std::int64_t q = 0; q < R; ++q) {
          Vector x[NV];
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) {
            if constexpr (kUnitStride) {
              x[v] = load_widened(in_row + q + v * L);
            } else {
              // Gathered lane by lane into a vector of its own, then stored whole: gcc 12 reads
              // lane stores into x[v] itself as reads of x[v] (-Wmaybe-uninitialized).
              Vector lanes{};
              for (int l = 0; l < L; ++l) lanes[l] = widen(in_row[q + (v * L + l) * stride]);
              x[v] = lanes;
            }
          }
          const A* w = tap_weights + q * KB;
#pragma GCC unroll 8
          for (int kk = 0; kk < KB; ++kk)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[kk][v] += w[kk] * x[v];
        }
      }
    for (std::int64_t kk = 0; kk < filters; ++kk)
      for (int v = 0; v < NV; ++v) {
        T* p = out + (kk * g.OH + oh) * g.OW + ow + v * L;
        if (stream)
          store_streaming(p, acc[kk][v]);
        else
          store_narrowed(p, acc[kk][v]);
      }
  }

  // One output column with a bounds check per tap (image borders and leftover columns).
  static void checked_column(const Geometry& g, const T* image, const A* block_weights, T* out, std::int64_t filters,
                             std::int64_t oh, std::int64_t ow, std::int64_t r_begin, std::int64_t r_end) {
    A acc[KB] = {};
    const std::int64_t iw0 = ow * g.stride - g.pad;
    const std::int64_t q_begin = std::max<std::int64_t>(0, -iw0), q_end = std::min(g.R, g.W - iw0);
    for (std::int64_t c = 0; c < g.C; ++c)
      for (std::int64_t r = r_begin; r < r_end; ++r) {
        const T* in_row = image + (c * g.H + oh * g.stride - g.pad + r) * g.W;
        const A* tap_weights = block_weights + (c * g.R + r) * g.R * KB;
        for (std::int64_t q = q_begin; q < q_end; ++q) {
          const A x = widen(in_row[iw0 + q]);
          for (int kk = 0; kk < KB; ++kk) acc[kk] += tap_weights[q * KB + kk] * x;
        }
      }
    for (std::int64_t kk = 0; kk < filters; ++kk) out[(kk * g.OH + oh) * g.OW + ow] = narrow<T>(acc[kk]);
  }

  const ConvProblem& problem_;
  std::int64_t filter_blocks_ = 0;
  HostBuffer packed_weights_;
};

}  // namespace

std::unique_ptr<Variant> prepare_openmp_convolution(const Problem& problem, const ExecutionConfig& config) {
  return make_typed<OpenmpConvolution>(problem, problem_cast<ConvProblem>(problem), config.threads);
}

}  // namespace mlbench::cpu
