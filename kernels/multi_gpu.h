// The multi-GPU backends ("nccl": one problem spread over the GPUs of ExecutionConfig::devices
// with NCCL collectives; docs/multi_gpu.md). Built from kernels/multi_gpu_*.cpp when NCCL is
// found at configure time, else from multi_gpu_unavailable.cpp, which says why not.
#pragma once

#include <memory>

#include "bench/backend.h"

namespace mlbench::kernels {

// CUDA usable and mlbench built with NCCL.
Availability nccl_availability();
// CUDA devices this process can use; 0 when there is no device or driver.
int cuda_device_count();

std::unique_ptr<Variant> make_multi_gpu_gemm(const Problem& problem, const ExecutionConfig& config);

// How the convolution is cut: automatic is by batch when there are at least as many images as
// GPUs, else by output rows with halos; tests force the row split on one GPU.
enum class ConvSplit { automatic, batch, rows };
std::unique_ptr<Variant> make_multi_gpu_conv(const Problem& problem, const ExecutionConfig& config,
                                             ConvSplit split = ConvSplit::automatic);

std::unique_ptr<Variant> make_multi_gpu_reduction(const Problem& problem, const ExecutionConfig& config);

}  // namespace mlbench::kernels
