// 2D convolution forward for few input channels and filters (fp32, stride 1): filters in
// constant memory, a row of 4 adjacent pixels x every filter per thread. An experiment of the
// tuning lab (mlbench_tune_conv's `constant-filters`), not in the product: its successor,
// kernels/conv2d_register_filters.cuh, is what the product's picker runs on these shapes.
//
// Idea: when all K x C x R x R weights fit in a few KB (the first layer of a network: C = 1..3,
// K <= 16), they need not be loaded at all: they live in constant memory and every unrolled
// multiply-add names its weight as an immediate constant-bank operand (SASS `FFMA R, R,
// c[0x3][imm], R`), a uniform read broadcast to the warp for free. Each thread owns 4 adjacent
// output pixels of one row for all KG filters (4*KG accumulators), reads its C x R x (4+R-1)
// input window from a shared tile with 16-byte loads, and writes each filter's 4 pixels with
// one 16-byte streaming store (st.global.cs: the output is written once and never re-read, so
// it should not evict the input from L2). Per 4 pixels that is 4*KG*C*R*R FMAs against C*R*2
// shared loads and KG stores, so the kernel runs near the FMA issue rate and the output write
// bandwidth at once (N1 C3 K16 4096^2: 1728 FMAs per 16 stores per thread).
// Lineage: kernels/conv2d_tiled.cu (shared input tile with halo, register blocking), whose
// weights come from shared memory (one 16-byte load per 4 x PX FMAs) and whose loops over
// R, S and C run to run-time bounds; here every loop bound is a template parameter.
//
// Block: 8 warps; warp w computes ROWS output rows (8*ROWS rows per block) of 32*PX columns. The
// block stages C x (8*ROWS + R - 1) x 128+halo input values (zeros in the padding), from
// aligned 16-byte global loads when the width allows. Weights are copied into the constant
// bank by the same stream before each launch (device to device, K*C*R*R floats).
#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>

#include "kernels/cuda_check.h"
#include "tuning/conv2d_constant_filters.h"

namespace mlbench::tuning {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxFilters = 16;
constexpr int kMaxConstantFloats = kMaxFilters * 3 * 3 * 3;  // largest instantiated K x C x R x R

// KCRR, as the weights are stored (filters beyond K are never stored, so stale values there
// are harmless).
__constant__ float c_filters[kMaxConstantFloats];

struct ConstantFilterArgs {
  int height, width, filters, pad, out_height, out_width, filter_groups;
  bool vector_input, vector_output;  // rows and pointers allow 16-byte loads / stores
};

// PX adjacent output columns per thread (PX/4 float4 stores per filter), KG filters per thread,
// ROWS output rows per warp.
template <int C, int R, int PX, int KG, int ROWS>
struct ConstantFilterTile {
  static constexpr int columns = 32 * PX;                          // output columns per block
  static constexpr int window = PX + R - 1;                        // input columns one thread reads
  static constexpr int window_vectors = (window + 3) / 4;          // 16-byte shared loads per row
  static constexpr int width = columns + 4 * window_vectors - PX;  // shared row, floats
  static constexpr int rows = kWarps * ROWS + R - 1;
  static constexpr int floats = C * rows * width;
  static constexpr int out_rows = kWarps * ROWS;  // output rows per block
  static_assert(PX % 4 == 0, "a thread's pixels are whole float4s");
  static_assert(kMaxFilters % KG == 0 && C * R * R * kMaxFilters <= kMaxConstantFloats, "constant bank too small");
  static_assert(width % 4 == 0, "shared rows must keep 16-byte alignment");
};

// One output row of one warp: filters K0..K0+KG-1 of the PX pixels at column ox.
template <int C, int R, int PX, int KG, int ROWS, int K0>
__device__ __forceinline__ void constant_filter_row(const float* tile, int row, int lane, float* out_row,
                                                    long long out_plane, int filters, int ox, int out_width,
                                                    bool vector_store) {
  using Tile = ConstantFilterTile<C, R, PX, KG, ROWS>;
  float acc[KG][PX] = {};
#pragma unroll
  for (int c = 0; c < C; ++c) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float4* src = reinterpret_cast<const float4*>(tile + (c * Tile::rows + row + r) * Tile::width + PX * lane);
      float x[4 * Tile::window_vectors];
#pragma unroll
      for (int v = 0; v < Tile::window_vectors; ++v) {
        const float4 q = src[v];
        x[4 * v] = q.x, x[4 * v + 1] = q.y, x[4 * v + 2] = q.z, x[4 * v + 3] = q.w;
      }
#pragma unroll
      for (int s = 0; s < R; ++s) {
#pragma unroll
        for (int k = 0; k < KG; ++k) {
          const float w = c_filters[(((K0 + k) * C + c) * R + r) * R + s];
#pragma unroll
          for (int px = 0; px < PX; ++px) acc[k][px] = fmaf(x[px + s], w, acc[k][px]);
        }
      }
    }
  }
  // Each output once; a warp writes 32*PX*4 contiguous bytes per filter.
#pragma unroll
  for (int k = 0; k < KG; ++k) {
    if (K0 + k >= filters) break;
    float* dst = out_row + (K0 + k) * out_plane;
    if (vector_store) {
#pragma unroll
      for (int v = 0; v < PX / 4; ++v)
        __stcs(reinterpret_cast<float4*>(dst) + v,
               make_float4(acc[k][4 * v], acc[k][4 * v + 1], acc[k][4 * v + 2], acc[k][4 * v + 3]));
    } else {
#pragma unroll
      for (int px = 0; px < PX; ++px)
        if (ox + px < out_width) __stcs(dst + px, acc[k][px]);
    }
  }
}

template <int C, int R, int PX, int KG, int ROWS>
__global__ void __launch_bounds__(kThreads, 2)
    conv2d_constant_filters_kernel(const float* __restrict__ input, float* __restrict__ output, ConstantFilterArgs p) {
  using Tile = ConstantFilterTile<C, R, PX, KG, ROWS>;
  extern __shared__ __align__(16) float tile[];  // [C][rows][width]: Tile::floats

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int n = blockIdx.z;
  // Filter groups are the fastest-varying block index, so the blocks that stage one input tile
  // run together and all but the first find it in L2.
  const int group = blockIdx.x % p.filter_groups;
  const int ox0 = (blockIdx.x / p.filter_groups) * Tile::columns, oy0 = blockIdx.y * Tile::out_rows;
  const int ix0 = ox0 - p.pad, iy0 = oy0 - p.pad;  // input corner of the tile (stride 1)
  const long long plane = static_cast<long long>(p.height) * p.width;
  const float* in_n = input + static_cast<long long>(n) * C * plane;

  // Stage the tile. Aligned path: 16-byte loads from the aligned column at or below ix0, each
  // element stored at its shifted shared column (a float4 lies wholly inside or outside the
  // row because the width is a multiple of 4). General path: one element per load.
  if (p.vector_input) {
    const int gx_base = ix0 >= 0 ? ix0 & ~3 : -((-ix0 + 3) & ~3);  // floor to a multiple of 4
    const int shift = ix0 - gx_base;                               // 0..3
    constexpr int vectors_per_row = Tile::width / 4 + 1;
    for (int i = threadIdx.x; i < C * Tile::rows * vectors_per_row; i += kThreads) {
      const int v = i % vectors_per_row, row = (i / vectors_per_row) % Tile::rows;
      const int c = i / (vectors_per_row * Tile::rows);
      const int gy = iy0 + row, gx = gx_base + 4 * v;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (gy >= 0 && gy < p.height && gx >= 0 && gx < p.width)
        x = __ldg(reinterpret_cast<const float4*>(in_n + c * plane + static_cast<long long>(gy) * p.width + gx));
      float* dst = tile + (c * Tile::rows + row) * Tile::width;
      const int col = 4 * v - shift;
      if (col >= 0 && col < Tile::width) dst[col] = x.x;
      if (col + 1 >= 0 && col + 1 < Tile::width) dst[col + 1] = x.y;
      if (col + 2 >= 0 && col + 2 < Tile::width) dst[col + 2] = x.z;
      if (col + 3 >= 0 && col + 3 < Tile::width) dst[col + 3] = x.w;
    }
  } else {
    for (int i = threadIdx.x; i < Tile::floats; i += kThreads) {
      const int col = i % Tile::width, row = (i / Tile::width) % Tile::rows, c = i / (Tile::width * Tile::rows);
      const int gy = iy0 + row, gx = ix0 + col;
      tile[i] = (gy >= 0 && gy < p.height && gx >= 0 && gx < p.width)
                    ? __ldg(in_n + c * plane + static_cast<long long>(gy) * p.width + gx)
                    : 0.f;
    }
  }
  __syncthreads();

  const int ox = ox0 + PX * lane;
  const long long out_plane = static_cast<long long>(p.out_height) * p.out_width;
  float* out_n = output + static_cast<long long>(n) * p.filters * out_plane + ox;
  const bool vector_store = p.vector_output && ox + PX <= p.out_width;

#pragma unroll 1
  for (int j = 0; j < ROWS; ++j) {
    const int row = warp * ROWS + j;  // output row within the block
    const int oy = oy0 + row;
    if (oy >= p.out_height) break;
    float* out_row = out_n + static_cast<long long>(oy) * p.out_width;
    // The group selects which weights the immediates name: one unrolled body per group.
    switch (group) {
      case 0:
        constant_filter_row<C, R, PX, KG, ROWS, 0>(tile, row, lane, out_row, out_plane, p.filters, ox, p.out_width,
                                                   vector_store);
        break;
      case 1:
        if constexpr (KG < kMaxFilters)
          constant_filter_row<C, R, PX, KG, ROWS, KG>(tile, row, lane, out_row, out_plane, p.filters, ox, p.out_width,
                                                      vector_store);
        break;
      case 2:
        if constexpr (3 * KG <= kMaxFilters)
          constant_filter_row<C, R, PX, KG, ROWS, 2 * KG>(tile, row, lane, out_row, out_plane, p.filters, ox,
                                                          p.out_width, vector_store);
        break;
      case 3:
        if constexpr (4 * KG <= kMaxFilters)
          constant_filter_row<C, R, PX, KG, ROWS, 3 * KG>(tile, row, lane, out_row, out_plane, p.filters, ox,
                                                          p.out_width, vector_store);
        break;
    }
  }
}

template <int C, int R, int PX, int KG, int ROWS>
void launch_instance(const ConvShape& s, const float* in, const float* w, float* out, cudaStream_t stream) {
  using Tile = ConstantFilterTile<C, R, PX, KG, ROWS>;
  MLBENCH_CUDA_CHECK(cudaMemcpyToSymbolAsync(c_filters, w, sizeof(float) * s.filters * C * R * R, 0,
                                             cudaMemcpyDeviceToDevice, stream));
  ConstantFilterArgs args{};
  args.height = static_cast<int>(s.height);
  args.width = static_cast<int>(s.width);
  args.filters = static_cast<int>(s.filters);
  args.pad = static_cast<int>(s.pad);
  args.out_height = static_cast<int>(s.out_height());
  args.out_width = static_cast<int>(s.out_width());
  args.filter_groups = static_cast<int>((s.filters + KG - 1) / KG);
  args.vector_input = args.width % 4 == 0 && reinterpret_cast<std::uintptr_t>(in) % 16 == 0;
  args.vector_output = args.out_width % 4 == 0 && reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
  const dim3 grid(static_cast<unsigned>((args.out_width + Tile::columns - 1) / Tile::columns * args.filter_groups),
                  static_cast<unsigned>((args.out_height + Tile::out_rows - 1) / Tile::out_rows),
                  static_cast<unsigned>(s.batch));
  auto kernel = conv2d_constant_filters_kernel<C, R, PX, KG, ROWS>;
  constexpr int shared_bytes = Tile::floats * static_cast<int>(sizeof(float));
  if constexpr (shared_bytes > 48 * 1024)
    MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes));
  kernel<<<grid, kThreads, shared_bytes, stream>>>(in, out, args);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

constexpr int kRowsPerWarp = 2;

// Register blocking by filter count: 4 pixels x 16 filters (64 accumulators) when K > 8;
// else 8 pixels x 8 filters, or 8 x 4 when K <= 4. Rows per warp: 4 for C = 3 and K > 8 (the
// main job; measured best of 1, 2 and 4 on the H200: 0.492 / 0.534 / 0.524 ms, and of the
// 8x8 and 4x8 blockings, docs/results/issue20/run1-2026-12-01), 2 elsewhere (as verified there).
int filters_per_thread(std::int64_t filters) { return filters <= 4 ? 4 : filters <= 8 ? 8 : 16; }
int pixels_per_thread(std::int64_t filters) { return filters <= 8 ? 8 : 4; }
int rows_per_warp(const ConvShape& s) { return s.channels == 3 && s.filters > 8 ? 4 : kRowsPerWarp; }

template <int C, int R>
void launch_default(const ConvShape& s, const float* in, const float* w, float* out, cudaStream_t stream) {
  switch (filters_per_thread(s.filters)) {
    case 4: return launch_instance<C, R, 8, 4, kRowsPerWarp>(s, in, w, out, stream);
    case 8: return launch_instance<C, R, 8, 8, kRowsPerWarp>(s, in, w, out, stream);
    default:
      if constexpr (C == 3) return launch_instance<C, R, 4, 16, 4>(s, in, w, out, stream);
      return launch_instance<C, R, 4, 16, kRowsPerWarp>(s, in, w, out, stream);
  }
}

}  // namespace

std::string conv2d_constant_filters_unsupported_reason(const ConvShape& s) {
  if (s.stride != 1) return "stride is not 1";
  if (s.kernel != 3) return "filter size is not 3x3";
  if (s.channels != 1 && s.channels != 3) return "channels not 1 or 3";
  if (s.filters > kMaxFilters) return fmt::format("more than {} filters", kMaxFilters);
  if (s.pad > 4) return "padding above 4";
  if (s.height > (1 << 28) || s.width > (1 << 28) || s.out_height() / (kWarps * kRowsPerWarp) + 1 > 65535 ||
      s.batch > 65535) {
    return "image or batch too large for the kernel's grid";
  }
  return {};
}

std::string describe_constant_filters(const ConvShape& s) {
  const int px = pixels_per_thread(s.filters), kg = filters_per_thread(s.filters);
  return fmt::format("constant-bank filters, {}x{} outputs x {} filters per block ({} pixels x {} filters per thread)",
                     32 * px, kWarps * rows_per_warp(s), kg, px, kg);
}

void launch_conv2d_constant_filters(const ConvShape& s, const float* input, const float* weights, float* output,
                                    cudaStream_t stream) {
  if (auto why = conv2d_constant_filters_unsupported_reason(s); !why.empty())
    throw std::invalid_argument("constant-filter convolution: " + why);
  if (s.channels == 1) return launch_default<1, 3>(s, input, weights, output, stream);
  return launch_default<3, 3>(s, input, weights, output, stream);
}

}  // namespace mlbench::tuning
