// Internal to kernels/: the factories and checks the backend table (gpu_backends.cpp) wires into
// BackendInfo.
#pragma once

#include <memory>

#include "bench/backend.h"

namespace mlbench::kernels {

// Whether a CUDA device can be used, asked once per process.
Availability cuda_availability();
// GPU facts (device 0) and the CUDA library versions, or why there is no GPU.
void fill_gpu_context(MachineContext& context);

std::unique_ptr<Variant> make_cuda_gemm(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> make_cublas_gemm(const Problem& problem, const ExecutionConfig& config, bool tf32);
Availability cuda_gemm_supports(const Problem& problem);

std::unique_ptr<Variant> make_cuda_conv(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> make_cudnn_conv(const Problem& problem, const ExecutionConfig& config);
Availability cuda_conv_supports(const Problem& problem);
Availability cudnn_availability();

std::unique_ptr<Variant> make_cuda_reduction(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> make_cub_reduction(const Problem& problem, const ExecutionConfig& config);

std::unique_ptr<Variant> make_cuda_attention(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> make_cublas_attention(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> make_cudnn_attention(const Problem& problem, const ExecutionConfig& config);
Availability cuda_attention_supports(const Problem& problem);
Availability cublas_attention_supports(const Problem& problem);
Availability cudnn_attention_supports(const Problem& problem);

std::unique_ptr<Variant> make_cuda_softmax(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> make_cudnn_softmax(const Problem& problem, const ExecutionConfig& config);
Availability cudnn_softmax_supports(const Problem& problem);
std::unique_ptr<Variant> make_cuda_layernorm(const Problem& problem, const ExecutionConfig& config);

}  // namespace mlbench::kernels
