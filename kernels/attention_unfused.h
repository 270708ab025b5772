// The unfused attention a framework runs without a fused kernel: cuBLAS strided-batched GEMM
// for S = scale Q K^T (fp32 scores; fp64 for fp64), the row softmax of kernels/softmax_rows.cu
// writing P in the input precision (masked to 0 above the diagonal when causal), and a second
// strided-batched GEMM for O = P V. The S x S matrices go through device memory.
#pragma once

#include <cublas_v2.h>

#include <cstddef>

#include "bench/types.h"
#include "kernels/attention_flash.h"

namespace mlbench::kernels {

// Device bytes of the score matrix (fp32, fp64 for fp64) and of the probabilities (input type).
std::size_t attention_scores_bytes(Precision precision, const AttentionDims& dims);
std::size_t attention_probabilities_bytes(Precision precision, const AttentionDims& dims);

// Why cuBLAS cannot run `dims` (int dimensions), "" when it can.
std::string attention_unfused_unsupported(const AttentionDims& dims);

// Enqueues the three steps on the handle's stream. `scores` and `probabilities` hold the bytes
// above. T: float, double, bfloat16, float16.
template <class T>
void launch_attention_unfused(cublasHandle_t handle, const T* q, const T* k, const T* v, T* o, void* scores,
                              void* probabilities, const AttentionDims& dims, cudaStream_t stream);

}  // namespace mlbench::kernels
