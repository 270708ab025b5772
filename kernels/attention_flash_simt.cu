// Attention forward for fp32/fp64 on CUDA cores: O = softmax(Q K^T * scale) V, one pass.
//
// Idea: the FlashAttention-2 loop (Dao 2023) with the register blocking of a CUDA-core SGEMM
// (siboehm/SGEMM_CUDA kernel 5, "2D blocktiling"). A block of 16 x 16 threads owns kBlockM
// query rows of one batch-head; Q's tile stays in shared memory, K and V tiles of kBlockN keys
// are loaded in turn. Each thread computes a kRowsPerThread x kColsPerThread piece of the
// score tile S = Q K^T (its keys strided by 16 so that the 16 threads of a half-warp read 16
// consecutive K rows: K rows padded by one element, no bank conflicts), then the row maximum
// and sum over the 16 threads of its half-warp (shuffles), the online-softmax rescale of its
// output rows, and writes its probabilities to shared memory; after a barrier every thread
// accumulates O += P V for its rows and its 1/16 of the head dimension (columns strided by 16:
// consecutive V elements across the half-warp). All arithmetic in T (fp32 or fp64, exp in T).
// Causal: key tiles past the block's last query are skipped, the diagonal tiles masked.
// head_dim up to kD (32, 64 or 128) with zero padding; any sequence length.
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/attention_flash.h"
#include "kernels/cuda_check.h"

namespace mlbench::kernels {

namespace {

constexpr int kThreadsX = 16, kThreadsY = 16, kThreads = kThreadsX * kThreadsY;

template <class T, int kD, int kBlockM, int kBlockN>
struct FlashSimtConfig {
  static constexpr int kRowsPerThread = kBlockM / kThreadsY;
  static constexpr int kColsPerThread = kBlockN / kThreadsX;  // score columns
  static constexpr int kOutPerThread = kD / kThreadsX;        // output columns
  static constexpr int kKStride = kD + 1;                     // padded K rows
  static constexpr std::size_t kSharedBytes =
      sizeof(T) * (static_cast<std::size_t>(kBlockM) * kD + kBlockN * kKStride + kBlockN * kD + kBlockM * kBlockN);
};

template <class T>
__device__ __forceinline__ T exp_of(T x);
template <>
__device__ __forceinline__ float exp_of<float>(float x) {
  return expf(x);
}
template <>
__device__ __forceinline__ double exp_of<double>(double x) {
  return exp(x);
}

template <class T, int kD, int kBlockM, int kBlockN>
__global__ void __launch_bounds__(kThreads)
    attention_flash_simt_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                T* __restrict__ o, long long seq, int head_dim, T scale, bool causal) {
  using C = FlashSimtConfig<T, kD, kBlockM, kBlockN>;
  constexpr int TM = C::kRowsPerThread, TN = C::kColsPerThread, TD = C::kOutPerThread;
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sq = reinterpret_cast<T*>(shared_bytes);  // [kBlockM][kD]
  T* sk = sq + kBlockM * kD;                   // [kBlockN][kD + 1]
  T* sv = sk + kBlockN * C::kKStride;          // [kBlockN][kD]
  T* sp = sv + kBlockN * kD;                   // [kBlockM][kBlockN]

  const int tx = threadIdx.x % kThreadsX, ty = threadIdx.x / kThreadsX;
  const int m_blocks = static_cast<int>((seq + kBlockM - 1) / kBlockM);
  const int m_block = causal ? m_blocks - 1 - static_cast<int>(blockIdx.x) : static_cast<int>(blockIdx.x);
  const long long m0 = static_cast<long long>(m_block) * kBlockM;
  const long long head_offset = static_cast<long long>(blockIdx.y) * seq * head_dim;
  const T* qh = q + head_offset;
  const T* kh = k + head_offset;
  const T* vh = v + head_offset;

  for (int i = threadIdx.x; i < kBlockM * kD; i += kThreads) {
    const int r = i / kD, c = i % kD;
    sq[i] = (m0 + r < seq && c < head_dim) ? qh[(m0 + r) * head_dim + c] : T(0);
  }

  T acc[TM][TD];
  T row_max[TM], row_sum[TM];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    row_max[i] = -INFINITY;
    row_sum[i] = 0;
#pragma unroll
    for (int d = 0; d < TD; ++d) acc[i][d] = 0;
  }

  const long long key_end = causal ? min(seq, m0 + kBlockM) : seq;
  for (long long n0 = 0; n0 < key_end; n0 += kBlockN) {
    __syncthreads();  // the previous tile's K, V and P are no longer read (and Q is stored)
    for (int i = threadIdx.x; i < kBlockN * kD; i += kThreads) {
      const int r = i / kD, c = i % kD;
      const bool valid = n0 + r < seq && c < head_dim;
      sk[r * C::kKStride + c] = valid ? kh[(n0 + r) * head_dim + c] : T(0);
      sv[i] = valid ? vh[(n0 + r) * head_dim + c] : T(0);
    }
    __syncthreads();

    T s[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) s[i][j] = 0;
#pragma unroll 8
    for (int d = 0; d < kD; ++d) {
      T qv[TM], kv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) qv[i] = sq[(ty * TM + i) * kD + d];
#pragma unroll
      for (int j = 0; j < TN; ++j) kv[j] = sk[(tx + j * kThreadsX) * C::kKStride + d];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) s[i][j] = fma(qv[i], kv[j], s[i][j]);
    }

    const bool needs_mask = n0 + kBlockN > seq || (causal && n0 + kBlockN - 1 > m0);
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const long long query = m0 + ty * TM + i;
      T tile_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const long long key = n0 + tx + j * kThreadsX;
        s[i][j] *= scale;
        if (needs_mask && (key >= seq || (causal && key > query))) s[i][j] = -INFINITY;
        tile_max = s[i][j] > tile_max ? s[i][j] : tile_max;
      }
#pragma unroll
      for (int offset = kThreadsX / 2; offset > 0; offset /= 2) {
        const T other = __shfl_xor_sync(0xffffffffu, tile_max, offset);
        tile_max = other > tile_max ? other : tile_max;
      }
      const T new_max = tile_max > row_max[i] ? tile_max : row_max[i];
      const T base = new_max == -INFINITY ? T(0) : new_max;
      const T rescale = exp_of(row_max[i] - base);
      row_max[i] = new_max;
      T sum = 0;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const T p = exp_of(s[i][j] - base);
        sp[(ty * TM + i) * kBlockN + tx + j * kThreadsX] = p;
        sum += p;
      }
#pragma unroll
      for (int offset = kThreadsX / 2; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
      row_sum[i] = row_sum[i] * rescale + sum;
#pragma unroll
      for (int d = 0; d < TD; ++d) acc[i][d] *= rescale;
    }
    __syncwarp();  // this thread's P rows are written by its own half-warp only

#pragma unroll 4
    for (int n = 0; n < kBlockN; ++n) {
      T pv[TM], vv[TD];
#pragma unroll
      for (int i = 0; i < TM; ++i) pv[i] = sp[(ty * TM + i) * kBlockN + n];
#pragma unroll
      for (int d = 0; d < TD; ++d) vv[d] = sv[n * kD + tx + d * kThreadsX];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int d = 0; d < TD; ++d) acc[i][d] = fma(pv[i], vv[d], acc[i][d]);
    }
  }

  T* oh = o + head_offset;
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const long long query = m0 + ty * TM + i;
    if (query >= seq) continue;
    const T inv = T(1) / row_sum[i];
#pragma unroll
    for (int d = 0; d < TD; ++d) {
      const int col = tx + d * kThreadsX;
      if (col < head_dim) oh[query * head_dim + col] = acc[i][d] * inv;
    }
  }
}

template <class T, int kD, int kBlockM, int kBlockN>
void launch_simt(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, cudaStream_t stream) {
  using C = FlashSimtConfig<T, kD, kBlockM, kBlockN>;
  auto kernel = attention_flash_simt_kernel<T, kD, kBlockM, kBlockN>;
  MLBENCH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(C::kSharedBytes)));
  const dim3 grid(static_cast<unsigned>((dims.seq + kBlockM - 1) / kBlockM), static_cast<unsigned>(dims.batch_heads));
  kernel<<<grid, kThreads, C::kSharedBytes, stream>>>(q, k, v, o, dims.seq, static_cast<int>(dims.head_dim),
                                                      static_cast<T>(dims.scale), dims.causal);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

// 64 x 64 tiles for fp32 (4 x 4 scores per thread); fp64 halves the key tile to fit shared memory.
template <class T>
constexpr int block_n() {
  return sizeof(T) == 8 ? 32 : 64;
}

}  // namespace

template <class T>
std::string attention_flash_unsupported(const AttentionDims& dims) {
  if (dims.head_dim > 128) return "the CUDA-core attention kernel takes head_dim up to 128";
  if (dims.batch_heads > 65535) return "batch x heads above 65535 (grid y)";
  if (dims.seq > (1LL << 31) - 1) return "sequence length above 2^31 - 1";
  return "";
}

template <class T>
void launch_attention_flash(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, cudaStream_t stream) {
  if (const std::string why = attention_flash_unsupported<T>(dims); !why.empty()) throw std::invalid_argument(why);
  constexpr int kN = block_n<T>();
  if (dims.head_dim <= 32) return launch_simt<T, 32, 64, kN>(q, k, v, o, dims, stream);
  if (dims.head_dim <= 64) return launch_simt<T, 64, 64, kN>(q, k, v, o, dims, stream);
  return launch_simt<T, 128, 64, kN>(q, k, v, o, dims, stream);
}

template <class T>
std::string attention_flash_plan(const AttentionDims& dims) {
  const int d = dims.head_dim <= 32 ? 32 : dims.head_dim <= 64 ? 64 : 128;
  return std::string("CUDA cores, ") + (sizeof(T) == 8 ? "fp64" : "fp32") + " FMA and softmax: 64 queries x " +
         std::to_string(block_n<T>()) + " keys per tile, 16x16 threads, head_dim padded to " + std::to_string(d) +
         (dims.causal ? "; causal: key tiles past the diagonal skipped" : "");
}

template std::string attention_flash_unsupported<float>(const AttentionDims&);
template std::string attention_flash_unsupported<double>(const AttentionDims&);
template void launch_attention_flash<float>(const float*, const float*, const float*, float*, const AttentionDims&,
                                            cudaStream_t);
template void launch_attention_flash<double>(const double*, const double*, const double*, double*, const AttentionDims&,
                                             cudaStream_t);
template std::string attention_flash_plan<float>(const AttentionDims&);
template std::string attention_flash_plan<double>(const AttentionDims&);

}  // namespace mlbench::kernels
