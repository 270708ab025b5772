// 2D convolution forward as an implicit GEMM (fp32, and bf16/fp16 with fp32 accumulation), for
// deep layers (many channels x taps).
//
// Idea: output[n][k][p] = sum_{c,r,s} W[k][c,r,s] * X[n][c][p_y*S-P+r][p_x*S-P+s] is the GEMM
// C = A * B with A = the filters (K x C*R*R, row-major as stored), B = the im2col matrix
// (C*R*R x pixels) and C = the output (K x pixels, pixels contiguous as in NCHW). B is never
// materialized: each thread owns one pixel column of the B tile and gathers its C*R*R values
// from the input as the K loop advances (coalesced: a warp reads 32 neighbouring pixels),
// stepping (c, r, s) incrementally instead of dividing. The rest is kernels/gemm_tiled.cuh:
// double-buffered shared tiles, 8x8 outputs per thread in registers, 16-byte shared reads.
// bf16/fp16: filters are read 4 at a time (8 bytes), gathered pixels one at a time, and both
// are widened to fp32 before they reach shared memory, so the multiply loop is the fp32 one;
// outputs are rounded to the 16-bit type as they are stored (4 per 8-byte store).
#include "kernels/conv_implicit_gemm.h"
#include "kernels/cuda_check.h"
#include "kernels/device_vectors.cuh"
#include "kernels/element_types.cuh"
#include "kernels/register_tile.cuh"

namespace mlbench::kernels {

namespace {

struct ImplicitGemmArgs {
  int channels, height, width, filters, kernel, stride, pad, out_width;
  int out_plane;  // OH * OW
  int pixels;     // N * OH * OW: the GEMM's N
  int depth;      // C * R * R: the GEMM's K
};

constexpr int kTileFilters = 64;  // BM
constexpr int kTileDepth = 16;    // BK

// BN pixels per block, one per thread; each thread accumulates 8 filters x 8 pixels.
// T: the stored element (float, __half, __nv_bfloat16); tiles and accumulators are fp32.
template <int BN, class T>
__global__ void __launch_bounds__(BN, 2)
    conv_implicit_gemm_kernel(const T* __restrict__ input, const T* __restrict__ weights, T* __restrict__ output,
                              ImplicitGemmArgs p) {
  constexpr int BM = kTileFilters, BK = kTileDepth, V = 4, kThreads = BN;
  constexpr int kLoadsA = BM * BK / V / kThreads;  // 16-byte vectors of filters per thread
  static_assert(kLoadsA * V * kThreads == BM * BK, "filter tile not divisible");
  static_assert((BN / (2 * V)) * (BM / (2 * V)) == kThreads, "thread grid must cover the tile");
  __shared__ __align__(16) float a_tile[2][BK][BM + V];
  __shared__ __align__(16) float b_tile[2][BK][BN];

  const int tid = threadIdx.x;
  const int thread_col = tid % (BN / (2 * V));
  const int thread_row = tid / (BN / (2 * V));
  const int block_filter = blockIdx.y * BM;
  const int block_pixel = blockIdx.x * BN;
  const bool weights_vectorized = p.depth % V == 0;

  // This thread's pixel of the B tile, decomposed once.
  const int pixel = block_pixel + tid;
  const bool pixel_valid = pixel < p.pixels;
  const int n = pixel_valid ? pixel / p.out_plane : 0;
  const int rem = pixel_valid ? pixel % p.out_plane : 0;
  const int iy0 = (rem / p.out_width) * p.stride - p.pad, ix0 = (rem % p.out_width) * p.stride - p.pad;
  const T* image = input + static_cast<long long>(n) * p.channels * p.height * p.width;
  int c = 0, r = 0, s = 0;  // the (c, r, s) of the next depth index this thread gathers

  float4 next_a[kLoadsA];
  float next_b[BK];

  // Load tile: filters (dense, 16-byte when rows allow) and the gathered im2col column.
  auto load_tile = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kLoadsA; ++i) {
      const int idx = tid + i * kThreads;
      const int f = block_filter + idx / (BK / V), col = k0 + (idx % (BK / V)) * V;
      const T* src = weights + static_cast<long long>(f) * p.depth + col;
      if (weights_vectorized) {
        next_a[i] = (f < p.filters && col < p.depth) ? load4_as_float4(src) : float4{};
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e)
          element<float4, float>(next_a[i], e) = (f < p.filters && col + e < p.depth) ? widen(src[e]) : 0.0f;
      }
    }
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const int iy = iy0 + r, ix = ix0 + s;
      const bool inside = pixel_valid && c < p.channels && iy >= 0 && iy < p.height && ix >= 0 && ix < p.width;
      next_b[kk] = inside ? widen(image[(static_cast<long long>(c) * p.height + iy) * p.width + ix]) : 0.0f;
      // Advance (c, r, s) by one depth index.
      if (++s == p.kernel) {
        s = 0;
        if (++r == p.kernel) {
          r = 0;
          ++c;
        }
      }
    }
  };
  auto store_tile = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kLoadsA; ++i) {
      const int idx = tid + i * kThreads;
      const int row = idx / (BK / V), kk = (idx % (BK / V)) * V;
#pragma unroll
      for (int e = 0; e < V; ++e) a_tile[buf][kk + e][row] = element<float4, float>(next_a[i], e);
    }
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) b_tile[buf][kk][tid] = next_b[kk];
  };

  float acc[2 * V][2 * V] = {};
  const int tiles = (p.depth + BK - 1) / BK;
  load_tile(0);
  store_tile(0);
  __syncthreads();
  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    // Advance: gather the next slice while this one is multiplied.
    if (t + 1 < tiles) load_tile((t + 1) * BK);
    // Compute in registers.
    accumulate_register_tile<float, float4, V, BM, BN, BK, BM + V>(acc, a_tile[buf], b_tile[buf], thread_row,
                                                                   thread_col);
    if (t + 1 < tiles) store_tile(buf ^ 1);
    __syncthreads();
  }

  // Write back into NCHW: 4 neighbouring pixels of one image as one 16-byte store when the
  // plane size keeps them aligned and inside one image, else element by element.
  const bool vector_store = p.out_plane % V == 0;
#pragma unroll
  for (int i = 0; i < 2 * V; ++i) {
    const int f = block_filter + thread_row * V + (i / V) * (BM / 2) + i % V;
    if (f >= p.filters) continue;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int first = block_pixel + thread_col * V + half * (BN / 2);
      if (vector_store && first < p.pixels) {
        const int img = first / p.out_plane, pos = first % p.out_plane;
        float4 out;
#pragma unroll
        for (int e = 0; e < V; ++e) element<float4, float>(out, e) = acc[i][half * V + e];
        store4_from_float4(output + (static_cast<long long>(img) * p.filters + f) * p.out_plane + pos, out);
      } else if (!vector_store) {
#pragma unroll
        for (int e = 0; e < V; ++e) {
          const int px = first + e;
          if (px < p.pixels) {
            output[(static_cast<long long>(px / p.out_plane) * p.filters + f) * p.out_plane + px % p.out_plane] =
                narrow<T>(acc[i][half * V + e]);
          }
        }
      }
    }
  }
}

constexpr int kPixelsPerBlock = 128;

}  // namespace

template <class T>
void launch_conv_implicit_gemm(const Conv2dPlan& plan, const T* input, const T* weights, T* output,
                               cudaStream_t stream) {
  const ConvShape& s = plan.shape;
  ImplicitGemmArgs args{};
  args.channels = static_cast<int>(s.channels);
  args.height = static_cast<int>(s.height);
  args.width = static_cast<int>(s.width);
  args.filters = static_cast<int>(s.filters);
  args.kernel = static_cast<int>(s.kernel);
  args.stride = static_cast<int>(s.stride);
  args.pad = static_cast<int>(s.pad);
  args.out_width = static_cast<int>(s.out_width());
  args.out_plane = static_cast<int>(s.out_height() * s.out_width());
  args.pixels = static_cast<int>(s.batch * s.out_height() * s.out_width());
  args.depth = static_cast<int>(s.channels * s.kernel * s.kernel);
  const dim3 grid((args.pixels + kPixelsPerBlock - 1) / kPixelsPerBlock,
                  (args.filters + kTileFilters - 1) / kTileFilters);
  conv_implicit_gemm_kernel<kPixelsPerBlock><<<grid, kPixelsPerBlock, 0, stream>>>(
      device_pointer(input), device_pointer(weights), device_pointer(output), args);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

template void launch_conv_implicit_gemm<float>(const Conv2dPlan&, const float*, const float*, float*, cudaStream_t);
template void launch_conv_implicit_gemm<bfloat16>(const Conv2dPlan&, const bfloat16*, const bfloat16*, bfloat16*,
                                                  cudaStream_t);
template void launch_conv_implicit_gemm<float16>(const Conv2dPlan&, const float16*, const float16*, float16*,
                                                 cudaStream_t);

}  // namespace mlbench::kernels
