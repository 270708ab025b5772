// Host entries of the hand-written attention kernels: attention_flash_tc.cu (bf16/fp16 on
// tensor cores) and attention_flash_simt.cu (fp32/fp64 on CUDA cores). Both compute
// O = softmax(Q K^T * scale) V per batch-head in one pass over K and V (FlashAttention-2
// style: online softmax, the S x S score matrix never leaves the chip).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "kernels/element_types.h"

namespace mlbench::kernels {

// Q, K, V, O: [batch_heads][seq][head_dim] row-major, contiguous, device memory.
struct AttentionDims {
  std::int64_t batch_heads = 0;
  std::int64_t seq = 0;
  std::int64_t head_dim = 0;
  bool causal = false;  // query i attends to keys 0..i
  double scale = 0;     // usually 1/sqrt(head_dim)
};

// Why the hand-written kernel of precision T cannot run `dims` ("" when it can).
template <class T>
std::string attention_flash_unsupported(const AttentionDims& dims);

// Enqueues the attention on `stream`. T: bfloat16, float16 (tensor cores, fp32 accumulation
// and softmax, output rounded once), float, double (CUDA cores, softmax in T).
template <class T>
void launch_attention_flash(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, cudaStream_t stream);

// The tile configuration launch_attention_flash uses for `dims` (for the report's notes).
template <class T>
std::string attention_flash_plan(const AttentionDims& dims);

// Tuning sweep (bf16/fp16): the tile configurations compiled for `dims`' head dimension
// (index 0 is the one launch_attention_flash uses), their descriptions, and a launch of one.
template <class T>
int attention_flash_tile_count(const AttentionDims& dims);
template <class T>
std::string attention_flash_tile_plan(const AttentionDims& dims, int tile);
template <class T>
void launch_attention_flash_tile(const T* q, const T* k, const T* v, T* o, const AttentionDims& dims, int tile,
                                 cudaStream_t stream);

}  // namespace mlbench::kernels
