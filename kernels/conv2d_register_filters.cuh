// 2D convolution forward for few input channels and filters (fp32, 3x3, stride 1): each warp
// holds its filters' weights in registers and computes an RT-row x 4-column pixel block per
// thread. The kernel with its blocking (C, FW, RT, GROUPS) as template parameters; the product's
// instances are in kernels/conv2d_register_filters.cu, the tuning blockings in
// tuning/conv2d_register_filters_variants.cu.
//
// Idea: a first layer (C = 1 or 3, K <= 16) has so few weights that a thread can keep every
// weight it needs in registers for its whole life (2 filters x C x 3 x 3 = 54 floats at C = 3),
// so the multiply loop issues nothing but FFMAs and 16-byte shared loads. The warps of a block
// split the filters (warp w: filters FW*w .. FW*w+FW-1) and share one input tile; each thread
// owns 4 adjacent columns x RT consecutive rows x FW filters of the output (RT*FW*4
// accumulators), so each input row it loads from shared memory (two 16-byte loads: the 4
// columns and their halo) feeds up to 3 output rows: per input channel RT+2 rows are loaded
// for 4*RT*FW*9 FMAs (RT 4, FW 2: 12 loads per 288 FMAs, about two thirds of the shared-memory
// bandwidth at the FMA issue rate). Outputs are written once, 16 bytes per store, streaming
// (st.global.cs), a warp covering 512 contiguous bytes per filter and row.
// Lineage: tuning/conv2d_constant_filters.cu (an experiment of the tuning lab now), whose
// threads hold all 16 filters and take each weight from the constant bank (a ULDC per weight
// and 4 uses: a quarter of the issue slots went to ULDC, profile in docs/results/issue20/); the
// weights still arrive through the constant bank (copied there on the launch's stream), but
// once per thread.
//
// Block: ceil(K / FW) warps (at most 8) over 128 columns x RT*GROUPS rows; the tile (C x
// (RT*GROUPS + 2) x 132 floats, zeros in the padding) is staged once from aligned 16-byte
// global loads when the width allows, then each warp walks GROUPS row groups of RT rows.
//
// Everything here has internal linkage (an unnamed namespace, in a header on purpose): each file
// that includes it gets its own constant bank and its own instances, as the build compiles
// without relocatable device code (CUDA_SEPARABLE_COMPILATION OFF).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <stdexcept>

#include "bench/convolution.h"
#include "kernels/cuda_check.h"

namespace mlbench::kernels {

namespace {

constexpr int kR = 3;                     // filter side (the only one instantiated)
constexpr int kColumns = 128;             // output columns per block: 32 lanes x 4
constexpr int kTileWidth = kColumns + 4;  // a lane reads 8 floats from column 4*lane
constexpr int kMaxWarps = 8;
constexpr int kMaxFilters = 16;
constexpr int kMaxChannels = 3;

// KCRR, as the weights are stored.
__constant__ float c_register_filters[kMaxFilters * kMaxChannels * kR * kR];

struct RegisterFilterArgs {
  int height, width, filters, pad, out_height, out_width;
  bool vector_input, vector_output;  // rows and pointers allow 16-byte loads / stores
};

template <int C, int RT, int GROUPS>
struct RegisterFilterTile {
  static constexpr int out_rows = RT * GROUPS;  // output rows per block
  static constexpr int rows = out_rows + kR - 1;
  static constexpr int floats = C * rows * kTileWidth;
};

template <int C, int FW, int RT, int GROUPS>
__global__ void __launch_bounds__(kMaxWarps * 32, 2)
    conv2d_register_filters_kernel(const float* __restrict__ input, float* __restrict__ output, RegisterFilterArgs p) {
  using Tile = RegisterFilterTile<C, RT, GROUPS>;
  extern __shared__ __align__(16) float tile[];  // [C][rows][kTileWidth]

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int n = blockIdx.z;
  const int ox0 = blockIdx.x * kColumns, oy0 = blockIdx.y * Tile::out_rows;
  const int ix0 = ox0 - p.pad, iy0 = oy0 - p.pad;  // input corner of the tile (stride 1)
  const long long plane = static_cast<long long>(p.height) * p.width;
  const float* in_n = input + static_cast<long long>(n) * C * plane;

  // This warp's filters, in registers for the whole block (zeros past K).
  const int k0 = FW * warp;
  float w[FW][C * kR * kR];
#pragma unroll
  for (int f = 0; f < FW; ++f)
#pragma unroll
    for (int i = 0; i < C * kR * kR; ++i)
      w[f][i] = k0 + f < p.filters ? c_register_filters[(k0 + f) * C * kR * kR + i] : 0.f;

  // Stage the tile. Aligned path: 16-byte loads from the aligned column at or below ix0, each
  // element stored at its shifted shared column (a float4 lies wholly inside or outside the
  // row because the width is a multiple of 4). General path: one element per load.
  if (p.vector_input) {
    const int gx_base = ix0 >= 0 ? ix0 & ~3 : -((-ix0 + 3) & ~3);  // floor to a multiple of 4
    const int shift = ix0 - gx_base;                               // 0..3
    constexpr int vectors_per_row = kTileWidth / 4 + 1;
    for (int i = threadIdx.x; i < C * Tile::rows * vectors_per_row; i += blockDim.x) {
      const int v = i % vectors_per_row, row = (i / vectors_per_row) % Tile::rows;
      const int c = i / (vectors_per_row * Tile::rows);
      const int gy = iy0 + row, gx = gx_base + 4 * v;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (gy >= 0 && gy < p.height && gx >= 0 && gx < p.width)
        x = __ldg(reinterpret_cast<const float4*>(in_n + c * plane + static_cast<long long>(gy) * p.width + gx));
      float* dst = tile + (c * Tile::rows + row) * kTileWidth;
      const int col = 4 * v - shift;
      if (col >= 0 && col < kTileWidth) dst[col] = x.x;
      if (col + 1 >= 0 && col + 1 < kTileWidth) dst[col + 1] = x.y;
      if (col + 2 >= 0 && col + 2 < kTileWidth) dst[col + 2] = x.z;
      if (col + 3 >= 0 && col + 3 < kTileWidth) dst[col + 3] = x.w;
    }
  } else {
    for (int i = threadIdx.x; i < Tile::floats; i += blockDim.x) {
      const int col = i % kTileWidth, row = (i / kTileWidth) % Tile::rows, c = i / (kTileWidth * Tile::rows);
      const int gy = iy0 + row, gx = ix0 + col;
      tile[i] = (gy >= 0 && gy < p.height && gx >= 0 && gx < p.width)
                    ? __ldg(in_n + c * plane + static_cast<long long>(gy) * p.width + gx)
                    : 0.f;
    }
  }
  __syncthreads();

  const int ox = ox0 + 4 * lane;
  const long long out_plane = static_cast<long long>(p.out_height) * p.out_width;
  float* out_n = output + static_cast<long long>(n) * p.filters * out_plane + ox;
  const bool vector_store = p.vector_output && ox + 4 <= p.out_width;
  // Row oy0 of each of this warp's filters (clamped to a real filter: used only when valid), so
  // that a store in the common case costs one 64-bit add of a small int offset.
  float* out_block[FW];
#pragma unroll
  for (int f = 0; f < FW; ++f)
    out_block[f] = out_n + min(k0 + f, p.filters - 1) * out_plane + static_cast<long long>(oy0) * p.out_width;

#pragma unroll 1
  for (int g = 0; g < GROUPS; ++g) {
    const int row0 = g * RT;  // first output row of the group within the block
    if (oy0 + row0 >= p.out_height) break;
    float acc[RT][FW][4] = {};
#pragma unroll
    for (int c = 0; c < C; ++c) {
#pragma unroll
      for (int ir = 0; ir < RT + kR - 1; ++ir) {  // input row of the tile, relative to row0
        const float4* src =
            reinterpret_cast<const float4*>(tile + (c * Tile::rows + row0 + ir) * kTileWidth + 4 * lane);
        const float4 lo = src[0], hi = src[1];
        const float x[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
        for (int t = 0; t < RT; ++t) {
          const int r = ir - t;  // filter row that meets output row t here
          if (r < 0 || r >= kR) continue;
#pragma unroll
          for (int s = 0; s < kR; ++s)
#pragma unroll
            for (int f = 0; f < FW; ++f)
#pragma unroll
              for (int px = 0; px < 4; ++px)
                acc[t][f][px] = fmaf(x[px + s], w[f][(c * kR + r) * kR + s], acc[t][f][px]);
        }
      }
    }
    // Each output once. Common case (whole group inside the image, every filter real, 16-byte
    // aligned columns): straight-line stores.
    if (vector_store && k0 + FW <= p.filters && oy0 + row0 + RT <= p.out_height) {
#pragma unroll
      for (int t = 0; t < RT; ++t)
#pragma unroll
        for (int f = 0; f < FW; ++f)
          __stcs(reinterpret_cast<float4*>(out_block[f] + (row0 + t) * p.out_width),
                 make_float4(acc[t][f][0], acc[t][f][1], acc[t][f][2], acc[t][f][3]));
      continue;
    }
#pragma unroll
    for (int t = 0; t < RT; ++t) {
      const int oy = oy0 + row0 + t;
      if (oy >= p.out_height) break;
#pragma unroll
      for (int f = 0; f < FW; ++f) {
        if (k0 + f >= p.filters) break;
        float* dst = out_n + (k0 + f) * out_plane + static_cast<long long>(oy) * p.out_width;
        if (vector_store) {
          __stcs(reinterpret_cast<float4*>(dst), make_float4(acc[t][f][0], acc[t][f][1], acc[t][f][2], acc[t][f][3]));
        } else {
#pragma unroll
          for (int px = 0; px < 4; ++px)
            if (ox + px < p.out_width) __stcs(dst + px, acc[t][f][px]);
        }
      }
    }
  }
}

// Copies the weights into this file's constant bank on `stream`, then launches the
// <C, FW, RT, GROUPS> instance over the whole output.
template <int C, int FW, int RT, int GROUPS>
void launch_register_filters_instance(const ConvShape& s, const float* in, const float* w, float* out,
                                      cudaStream_t stream) {
  using Tile = RegisterFilterTile<C, RT, GROUPS>;
  MLBENCH_CUDA_CHECK(cudaMemcpyToSymbolAsync(c_register_filters, w, sizeof(float) * s.filters * C * kR * kR, 0,
                                             cudaMemcpyDeviceToDevice, stream));
  RegisterFilterArgs args{};
  args.height = static_cast<int>(s.height);
  args.width = static_cast<int>(s.width);
  args.filters = static_cast<int>(s.filters);
  args.pad = static_cast<int>(s.pad);
  args.out_height = static_cast<int>(s.out_height());
  args.out_width = static_cast<int>(s.out_width());
  args.vector_input = args.width % 4 == 0 && reinterpret_cast<std::uintptr_t>(in) % 16 == 0;
  args.vector_output = args.out_width % 4 == 0 && reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
  const int warps = static_cast<int>((s.filters + FW - 1) / FW);
  if (warps > kMaxWarps) throw std::invalid_argument("register-filter convolution: too many filters for the blocking");
  const dim3 grid(static_cast<unsigned>((args.out_width + kColumns - 1) / kColumns),
                  static_cast<unsigned>((args.out_height + Tile::out_rows - 1) / Tile::out_rows),
                  static_cast<unsigned>(s.batch));
  auto kernel = conv2d_register_filters_kernel<C, FW, RT, GROUPS>;
  constexpr int shared_bytes = Tile::floats * static_cast<int>(sizeof(float));
  if constexpr (shared_bytes > 48 * 1024)
    MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes));
  kernel<<<grid, 32 * warps, shared_bytes, stream>>>(in, out, args);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

}  // namespace mlbench::kernels
