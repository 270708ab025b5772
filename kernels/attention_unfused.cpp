// Unfused attention: cuBLAS GEMM, softmax kernel, cuBLAS GEMM (see attention_unfused.h).
#include "kernels/attention_unfused.h"

#include <limits>
#include <string>
#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/softmax_rows.h"

namespace mlbench::kernels {

namespace {

std::size_t score_elements(const AttentionDims& d) {
  return static_cast<std::size_t>(d.batch_heads) * static_cast<std::size_t>(d.seq) * static_cast<std::size_t>(d.seq);
}

template <class T>
struct CublasTypes;
template <>
struct CublasTypes<float> {
  static constexpr cudaDataType_t data = CUDA_R_32F, scores = CUDA_R_32F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F_PEDANTIC;  // no TF32
  using Scalar = float;
  using Score = float;
};
template <>
struct CublasTypes<double> {
  static constexpr cudaDataType_t data = CUDA_R_64F, scores = CUDA_R_64F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_64F_PEDANTIC;
  using Scalar = double;
  using Score = double;
};
template <>
struct CublasTypes<bfloat16> {
  static constexpr cudaDataType_t data = CUDA_R_16BF, scores = CUDA_R_32F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  using Scalar = float;
  using Score = float;
};
template <>
struct CublasTypes<float16> {
  static constexpr cudaDataType_t data = CUDA_R_16F, scores = CUDA_R_32F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  using Scalar = float;
  using Score = float;
};

}  // namespace

std::size_t attention_scores_bytes(Precision precision, const AttentionDims& dims) {
  return score_elements(dims) * (precision == Precision::fp64 ? 8 : 4);
}

std::size_t attention_probabilities_bytes(Precision precision, const AttentionDims& dims) {
  return score_elements(dims) * element_size(precision == Precision::tf32 ? Precision::fp32 : precision);
}

std::string attention_unfused_unsupported(const AttentionDims& dims) {
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  if (dims.seq > kIntMax || dims.head_dim > kIntMax || dims.batch_heads > kIntMax)
    return "cuBLAS takes int matrix sizes and batch counts";
  return "";
}

template <class T>
void launch_attention_unfused(cublasHandle_t handle, const T* q, const T* k, const T* v, T* o, void* scores,
                              void* probabilities, const AttentionDims& dims, cudaStream_t stream) {
  using Types = CublasTypes<T>;
  using Scalar = typename Types::Scalar;
  using Score = typename Types::Score;
  const int s = static_cast<int>(dims.seq), d = static_cast<int>(dims.head_dim);
  const int batch = static_cast<int>(dims.batch_heads);
  const long long qkv_stride = static_cast<long long>(s) * d, score_stride = static_cast<long long>(s) * s;
  const Scalar scale = static_cast<Scalar>(dims.scale), one = 1, zero = 0;
  MLBENCH_CUDA_CHECK(cublasSetStream(handle, stream));
  // Column-major view: scores^T (keys x queries, ld S) = K (as D x S, transposed) times Q^T (D x S).
  MLBENCH_CUDA_CHECK(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, s, s, d, &scale, k, Types::data, d,
                                                qkv_stride, q, Types::data, d, qkv_stride, &zero, scores, Types::scores,
                                                s, score_stride, batch, Types::compute, CUBLAS_GEMM_DEFAULT));
  launch_softmax_rows<Score, T>(static_cast<const Score*>(scores), static_cast<T*>(probabilities),
                                dims.batch_heads * dims.seq, dims.seq, stream, dims.causal ? dims.seq : 0);
  // O^T (D x S, ld D) = V^T (D x S) times P^T (S x S).
  MLBENCH_CUDA_CHECK(cublasGemmStridedBatchedEx(
      handle, CUBLAS_OP_N, CUBLAS_OP_N, d, s, s, &one, v, Types::data, d, qkv_stride, probabilities, Types::data, s,
      score_stride, &zero, o, Types::data, d, qkv_stride, batch, Types::compute, CUBLAS_GEMM_DEFAULT));
}

template void launch_attention_unfused<float>(cublasHandle_t, const float*, const float*, const float*, float*, void*,
                                              void*, const AttentionDims&, cudaStream_t);
template void launch_attention_unfused<double>(cublasHandle_t, const double*, const double*, const double*, double*,
                                               void*, void*, const AttentionDims&, cudaStream_t);
template void launch_attention_unfused<bfloat16>(cublasHandle_t, const bfloat16*, const bfloat16*, const bfloat16*,
                                                 bfloat16*, void*, void*, const AttentionDims&, cudaStream_t);
template void launch_attention_unfused<float16>(cublasHandle_t, const float16*, const float16*, const float16*,
                                                float16*, void*, void*, const AttentionDims&, cudaStream_t);

}  // namespace mlbench::kernels
