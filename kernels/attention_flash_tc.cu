// Attention forward for bf16/fp16 on tensor cores: O = softmax(Q K^T * scale) V, one pass.
//
// Idea and lineage: FlashAttention-2 (Dao 2023; the flash-attn repository's sm80 forward
// kernel, and the llm.c / "flash attention from scratch" mma.sync walk-throughs). A block
// owns kBlockM query rows of one batch-head; each of its kWarps warps owns kBlockM / kWarps
// rows (kMTiles 16-row mma tiles), so warps never exchange softmax statistics. K and V are
// streamed through shared memory kBlockN keys at a time with cp.async, two barriers per tile.
// kStages = 1 (FlashAttention-2's schedule): one K and one V buffer; V_j's copy flies while
// S = Q K_j^T is computed, K_{j+1}'s while O += P V_j is. kStages = 2: two buffers each, so
// K_{j+1} and V_{j+1} are copied a whole tile ahead of their use. Both products are mma.sync m16n8k16 (HMMA) with fp32
// accumulators: Q and K fragments come from ldmatrix, V fragments from ldmatrix.trans (V is
// stored key-major), and the probabilities P go from the S accumulators straight into A
// fragments (the accumulator layout of two adjacent 8-column tiles is the A layout of one
// 16-deep step), so P never touches shared memory. Online softmax in the exp2 domain
// (scale * log2 e folded into one FMA, ex2.approx), each thread keeping the running max and a partial
// row sum for its two rows per mma tile; the quad reduces the sums once at the end.
// Causal: key tiles past the block's last query are never loaded (half the work), and only
// tiles crossing the diagonal (or the end of the sequence) evaluate the mask; blocks run
// heaviest first. Shared rows of kD/8 16-byte chunks are XOR-swizzled (tensor_core_ptx.cuh)
// so every ldmatrix phase hits 8 distinct bank groups. head_dim is padded to kD (32, 64 or
// 128) with zero-filled chunks, so any multiple of 8 up to 128 runs; queries and keys past
// the sequence are zero-filled and masked, so any sequence length runs.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/attention_flash.h"
#include "kernels/cuda_check.h"
#include "kernels/element_types.cuh"
#include "kernels/tensor_core_ptx.cuh"

namespace mlbench::kernels {

namespace {

using namespace tensor_core;

template <int kD, int kBlockM, int kBlockN, int kWarps, int kStages>
struct FlashTcConfig {
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kChunks = kD / 8;  // 16-byte chunks per shared row
  static constexpr int kMTiles = kBlockM / (16 * kWarps);
  static constexpr int kNTiles = kBlockN / 8;          // 8-key score tiles
  static constexpr int kDTiles = kD / 8;               // 8-column output tiles
  static constexpr int kTileBytes = kBlockN * kD * 2;  // one K or V tile
  static constexpr int kSharedBytes = kBlockM * kD * 2 + 2 * kStages * kTileBytes;
  static_assert(kBlockM % (16 * kWarps) == 0 && kBlockN % 16 == 0 && kD % 16 == 0, "whole mma tiles");
  static_assert(kStages == 1 || kStages == 2, "one or two K/V buffers");
};

// 2^x by the SFU (MUFU.EX2, relative error about 2^-22; -inf gives 0, subnormal results flush).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Copies rows [row0, row0 + rows) of a [seq][head_dim] matrix into a swizzled shared tile of
// `rows` x kD; rows past `seq` and columns past `head_dim` are zero-filled.
template <int kD, int kThreads>
__device__ __forceinline__ void copy_tile(unsigned shared_tile, const void* global_matrix, int rows, long long row0,
                                          long long seq, int head_dim) {
  constexpr int kChunks = kD / 8;
  const char* base = static_cast<const char*>(global_matrix);
  for (int c = threadIdx.x; c < rows * kChunks; c += kThreads) {
    const int r = c / kChunks, chunk = c % kChunks;
    const long long row = row0 + r;
    const bool valid = row < seq && chunk * 8 < head_dim;
    const char* src = valid ? base + (row * head_dim + chunk * 8) * 2 : base;
    copy_async_16(shared_tile + (r * kChunks + swizzle<kChunks>(r, chunk)) * 16, src, valid);
  }
}

template <class T, int kD, int kBlockM, int kBlockN, int kWarps, int kStages, int kMinBlocks>
__global__ void __launch_bounds__(kWarps * 32, kMinBlocks)
    attention_flash_tc_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                              T* __restrict__ o, long long seq, int head_dim, float scale_log2, bool causal) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // mma.sync bf16 and cp.async need sm_80; the backend refuses older devices
#else
  using C = FlashTcConfig<kD, kBlockM, kBlockN, kWarps, kStages>;
  constexpr int kChunks = C::kChunks, kMTiles = C::kMTiles, kNTiles = C::kNTiles, kDTiles = C::kDTiles;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  const unsigned sq = shared_address(shared_bytes);
  // kStages buffers each of K and V: with two, tile t + 1's copy overlaps all of tile t.
  const unsigned sk0 = sq + kBlockM * kD * 2;
  const unsigned sv0 = sk0 + kStages * C::kTileBytes;
  auto k_buffer = [&](int tile) { return sk0 + (kStages == 2 ? (tile & 1) : 0) * C::kTileBytes; };
  auto v_buffer = [&](int tile) { return sv0 + (kStages == 2 ? (tile & 1) : 0) * C::kTileBytes; };

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int m_blocks = static_cast<int>((seq + kBlockM - 1) / kBlockM);
  const int m_block = causal ? m_blocks - 1 - static_cast<int>(blockIdx.x) : static_cast<int>(blockIdx.x);
  const long long m0 = static_cast<long long>(m_block) * kBlockM;
  const long long head_offset = static_cast<long long>(blockIdx.y) * seq * head_dim;
  const T* qh = q + head_offset;
  const T* kh = k + head_offset;
  const T* vh = v + head_offset;

  const long long key_end = causal ? min(seq, m0 + kBlockM) : seq;
  const int n_tiles = static_cast<int>((key_end + kBlockN - 1) / kBlockN);

  copy_tile<kD, C::kThreads>(sq, qh, kBlockM, m0, seq, head_dim);
  copy_tile<kD, C::kThreads>(k_buffer(0), kh, kBlockN, 0, seq, head_dim);
  commit_copies();
  if constexpr (kStages == 2) {
    copy_tile<kD, C::kThreads>(v_buffer(0), vh, kBlockN, 0, seq, head_dim);
    commit_copies();
  }

  float acc_o[kMTiles][kDTiles][4];
  float row_max[kMTiles][2], row_sum[kMTiles][2];
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[mt][dt][e] = 0.f;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      row_max[mt][h] = -INFINITY;
      row_sum[mt][h] = 0.f;
    }
  }
  const int warp_row0 = warp * kMTiles * 16;  // first row of this warp in the block's tile

  for (int tile = 0; tile < n_tiles; ++tile) {
    const long long n0 = static_cast<long long>(tile) * kBlockN;
    const unsigned sk = k_buffer(tile), sv = v_buffer(tile);
    if constexpr (kStages == 2) {
      // Pending: K_tile, V_tile. K_tile landed (and Q); every warp is done with K_{tile-1},
      // whose buffer K_{tile+1} takes (one commit group per step, empty at the end).
      wait_copies<1>();
      __syncthreads();
      if (tile + 1 < n_tiles) copy_tile<kD, C::kThreads>(k_buffer(tile + 1), kh, kBlockN, n0 + kBlockN, seq, head_dim);
      commit_copies();
    } else {
      wait_copies<0>();
      __syncthreads();  // K_tile (and Q) landed; every warp is done with V_{tile-1}
      copy_tile<kD, C::kThreads>(sv, vh, kBlockN, n0, seq, head_dim);
      commit_copies();
    }

    // S = Q K^T for this warp's rows and the tile's kBlockN keys.
    float acc_s[kMTiles][kNTiles][4];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc_s[mt][nt][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      std::uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        const int r = warp_row0 + mt * 16 + lane % 16;
        ldmatrix_x4(a[mt], sq + (r * kChunks + swizzle<kChunks>(r, kk * 2 + lane / 16)) * 16);
      }
#pragma unroll
      for (int nj = 0; nj < kNTiles / 2; ++nj) {
        std::uint32_t b[4];
        const int r = nj * 16 + lane % 8 + 8 * (lane / 16);
        ldmatrix_x4(b, sk + (r * kChunks + swizzle<kChunks>(r, kk * 2 + (lane / 8) % 2)) * 16);
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          mma_m16n8k16<T>(acc_s[mt][2 * nj], a[mt], b[0], b[1]);
          mma_m16n8k16<T>(acc_s[mt][2 * nj + 1], a[mt], b[2], b[3]);
        }
      }
    }

    // Mask keys past the sequence and, on tiles crossing the diagonal, keys after the query.
    const bool needs_mask = n0 + kBlockN > seq || (causal && n0 + kBlockN - 1 > m0);
    if (needs_mask) {
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const long long key = n0 + nt * 8 + 2 * (lane % 4) + (e & 1);
            const long long query = m0 + warp_row0 + mt * 16 + lane / 4 + 8 * (e / 2);
            if (key >= seq || (causal && key > query)) acc_s[mt][nt][e] = -INFINITY;
          }
    }

    // Online softmax: new running max, rescale of the output and sum, probabilities.
    std::uint32_t p[kMTiles][kNTiles / 2][4];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float tile_max = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kNTiles; ++nt)
          tile_max = fmaxf(tile_max, fmaxf(acc_s[mt][nt][2 * h], acc_s[mt][nt][2 * h + 1]));
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
        const float new_max = fmaxf(row_max[mt][h], tile_max * scale_log2);
        const float base = new_max == -INFINITY ? 0.f : new_max;  // a row with nothing unmasked yet
        const float rescale = fast_exp2(row_max[mt][h] - base);
        row_max[mt][h] = new_max;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNTiles; ++nt) {
          const float p0 = fast_exp2(fmaf(acc_s[mt][nt][2 * h], scale_log2, -base));
          const float p1 = fast_exp2(fmaf(acc_s[mt][nt][2 * h + 1], scale_log2, -base));
          acc_s[mt][nt][2 * h] = p0;
          acc_s[mt][nt][2 * h + 1] = p1;
          sum += p0 + p1;
        }
        row_sum[mt][h] = row_sum[mt][h] * rescale + sum;
#pragma unroll
        for (int dt = 0; dt < kDTiles; ++dt) {
          acc_o[mt][dt][2 * h] *= rescale;
          acc_o[mt][dt][2 * h + 1] *= rescale;
        }
      }
#pragma unroll
      for (int kk = 0; kk < kNTiles / 2; ++kk) {
        p[mt][kk][0] = pack2<T>(acc_s[mt][2 * kk][0], acc_s[mt][2 * kk][1]);
        p[mt][kk][1] = pack2<T>(acc_s[mt][2 * kk][2], acc_s[mt][2 * kk][3]);
        p[mt][kk][2] = pack2<T>(acc_s[mt][2 * kk + 1][0], acc_s[mt][2 * kk + 1][1]);
        p[mt][kk][3] = pack2<T>(acc_s[mt][2 * kk + 1][2], acc_s[mt][2 * kk + 1][3]);
      }
    }

    if constexpr (kStages == 2) {
      // Pending: V_tile, K_{tile+1}. V_tile landed; every warp is done with V_{tile-1}.
      wait_copies<1>();
      __syncthreads();
      if (tile + 1 < n_tiles) copy_tile<kD, C::kThreads>(v_buffer(tile + 1), vh, kBlockN, n0 + kBlockN, seq, head_dim);
      commit_copies();
    } else {
      wait_copies<0>();
      __syncthreads();  // V_tile landed; every warp is done with K_tile
      if (tile + 1 < n_tiles) {
        copy_tile<kD, C::kThreads>(sk, kh, kBlockN, n0 + kBlockN, seq, head_dim);
        commit_copies();
      }
    }

    // O += P V_tile.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
#pragma unroll
      for (int dj = 0; dj < kDTiles / 2; ++dj) {
        std::uint32_t b[4];
        const int r = kk * 16 + lane % 8 + 8 * ((lane / 8) % 2);
        ldmatrix_x4_trans(b, sv + (r * kChunks + swizzle<kChunks>(r, 2 * dj + lane / 16)) * 16);
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          mma_m16n8k16<T>(acc_o[mt][2 * dj], p[mt][kk], b[0], b[1]);
          mma_m16n8k16<T>(acc_o[mt][2 * dj + 1], p[mt][kk], b[2], b[3]);
        }
      }
    }
  }

  // O / row sum, rounded once to T; 4-byte stores of column pairs (head_dim % 8 == 0).
  T* oh = o + head_offset;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float sum = row_sum[mt][h];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inv = 1.f / sum;
      const long long query = m0 + warp_row0 + mt * 16 + lane / 4 + 8 * h;
      if (query >= seq) continue;
#pragma unroll
      for (int dt = 0; dt < kDTiles; ++dt) {
        const int col = dt * 8 + 2 * (lane % 4);
        if (col < head_dim) {
          *reinterpret_cast<std::uint32_t*>(oh + query * head_dim + col) =
              pack2<T>(acc_o[mt][dt][2 * h] * inv, acc_o[mt][dt][2 * h + 1] * inv);
        }
      }
    }
  }
#endif
}

struct TcPlan {
  int d, block_m, block_n, warps, stages;
};

// Tile choices per padded head dimension, the default first: 128 queries x 64 keys, 4 warps
// of 32 rows each (FlashAttention-2's sm80 choice), K and V double-buffered; the others are
// measured at prepare (CudaAttentionVariant) and by mlbench_tune_attention. Measured on
// the H200 (docs/performance.md): single-buffered 128 x 64 was fastest of the first set.
constexpr TcPlan kPlans[] = {
    {128, 128, 64, 4, 2}, {128, 128, 64, 4, 1}, {128, 128, 32, 4, 2}, {128, 64, 64, 4, 2}, {64, 128, 64, 4, 2},
    {64, 128, 64, 4, 1},  {64, 64, 64, 4, 2},   {64, 128, 128, 8, 2}, {32, 128, 64, 4, 2}, {32, 128, 64, 4, 1},
};
constexpr int kPlanCount = sizeof(kPlans) / sizeof(kPlans[0]);

int padded_dim(std::int64_t head_dim) { return head_dim <= 32 ? 32 : head_dim <= 64 ? 64 : 128; }

// The plans for head_dim's padded dimension, default first.
std::vector<int> plans_for(std::int64_t head_dim) {
  std::vector<int> out;
  for (int i = 0; i < kPlanCount; ++i)
    if (kPlans[i].d == padded_dim(head_dim)) out.push_back(i);
  return out;
}

template <class T, int kD, int kBlockM, int kBlockN, int kWarps, int kStages>
void launch_tc(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, cudaStream_t stream) {
  using C = FlashTcConfig<kD, kBlockM, kBlockN, kWarps, kStages>;
  constexpr int kMinBlocks = kWarps == 8 ? 1 : 2;
  auto kernel = attention_flash_tc_kernel<T, kD, kBlockM, kBlockN, kWarps, kStages, kMinBlocks>;
  MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSharedBytes));
  const dim3 grid(static_cast<unsigned>((dims.seq + kBlockM - 1) / kBlockM), static_cast<unsigned>(dims.batch_heads));
  const float scale_log2 = static_cast<float>(dims.scale * 1.4426950408889634);
  kernel<<<grid, C::kThreads, C::kSharedBytes, stream>>>(q, k, v, o, dims.seq, static_cast<int>(dims.head_dim),
                                                         scale_log2, dims.causal);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

template <class D>
void launch_plan(int plan, const D* q, const D* k, const D* v, D* o, const AttentionDims& dims, cudaStream_t s) {
  switch (plan) {
    case 0: return launch_tc<D, 128, 128, 64, 4, 2>(q, k, v, o, dims, s);
    case 1: return launch_tc<D, 128, 128, 64, 4, 1>(q, k, v, o, dims, s);
    case 2: return launch_tc<D, 128, 128, 32, 4, 2>(q, k, v, o, dims, s);
    case 3: return launch_tc<D, 128, 64, 64, 4, 2>(q, k, v, o, dims, s);
    case 4: return launch_tc<D, 64, 128, 64, 4, 2>(q, k, v, o, dims, s);
    case 5: return launch_tc<D, 64, 128, 64, 4, 1>(q, k, v, o, dims, s);
    case 6: return launch_tc<D, 64, 64, 64, 4, 2>(q, k, v, o, dims, s);
    case 7: return launch_tc<D, 64, 128, 128, 8, 2>(q, k, v, o, dims, s);
    case 8: return launch_tc<D, 32, 128, 64, 4, 2>(q, k, v, o, dims, s);
    default: return launch_tc<D, 32, 128, 64, 4, 1>(q, k, v, o, dims, s);
  }
}

std::string describe(const TcPlan& p, bool causal) {
  return "tensor cores (mma.sync m16n8k16, fp32 accumulation and softmax): " + std::to_string(p.block_m) +
         " queries x " + std::to_string(p.block_n) + " keys per tile, " + std::to_string(p.warps) + " warps, " +
         (p.stages == 2 ? "K/V double-buffered" : "K/V single-buffered") + ", head_dim padded to " +
         std::to_string(p.d) + (causal ? "; causal: key tiles past the diagonal skipped" : "");
}

}  // namespace

template <class T>
std::string attention_flash_unsupported(const AttentionDims& dims) {
  if (dims.head_dim % 8 != 0 || dims.head_dim > 128)
    return "the tensor-core kernel takes head_dim a multiple of 8 up to 128 (16-byte rows)";
  if (dims.batch_heads > 65535) return "batch x heads above 65535 (grid y)";
  if (dims.seq > (1LL << 31) - 1) return "sequence length above 2^31 - 1";
  return "";
}

template <class T>
void launch_attention_flash(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, cudaStream_t stream) {
  launch_attention_flash_tile(q, k, v, o, dims, 0, stream);
}

template <class T>
int attention_flash_tile_count(const AttentionDims& dims) {
  return static_cast<int>(plans_for(dims.head_dim).size());
}

template <class T>
std::string attention_flash_tile_plan(const AttentionDims& dims, int tile) {
  return describe(kPlans[plans_for(dims.head_dim).at(static_cast<std::size_t>(tile))], dims.causal);
}

template <class T>
void launch_attention_flash_tile(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, int tile,
                                 cudaStream_t stream) {
  if (const std::string why = attention_flash_unsupported<T>(dims); !why.empty()) throw std::invalid_argument(why);
  using D = device_element_t<T>;
  launch_plan<D>(plans_for(dims.head_dim).at(static_cast<std::size_t>(tile)), device_pointer(q), device_pointer(k),
                 device_pointer(v), device_pointer(o), dims, stream);
}

template <class T>
std::string attention_flash_plan(const AttentionDims& dims) {
  return attention_flash_tile_plan<T>(dims, 0);
}

template std::string attention_flash_unsupported<bfloat16>(const AttentionDims&);
template std::string attention_flash_unsupported<float16>(const AttentionDims&);
template void launch_attention_flash<bfloat16>(const bfloat16*, const bfloat16*, const bfloat16*, bfloat16*,
                                               const AttentionDims&, cudaStream_t);
template void launch_attention_flash<float16>(const float16*, const float16*, const float16*, float16*,
                                              const AttentionDims&, cudaStream_t);
template std::string attention_flash_plan<bfloat16>(const AttentionDims&);
template std::string attention_flash_plan<float16>(const AttentionDims&);
template int attention_flash_tile_count<bfloat16>(const AttentionDims&);
template int attention_flash_tile_count<float16>(const AttentionDims&);
template std::string attention_flash_tile_plan<bfloat16>(const AttentionDims&, int);
template std::string attention_flash_tile_plan<float16>(const AttentionDims&, int);
template void launch_attention_flash_tile<bfloat16>(const bfloat16*, const bfloat16*, const bfloat16*, bfloat16*,
                                                    const AttentionDims&, int, cudaStream_t);
template void launch_attention_flash_tile<float16>(const float16*, const float16*, const float16*, float16*,
                                                   const AttentionDims&, int, cudaStream_t);

}  // namespace mlbench::kernels
