// The GPU's measured ceilings (device bandwidth, FMA rate, cuBLAS tensor-core rate), registered
// as a peak provider by kernels::register_backends; and the device code they time (peaks.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "bench/peaks.h"

namespace mlbench::kernels {

// Fills peaks.gpu, or peaks.gpu_absent_reason when there is no device or a step failed.
void measure_gpu_peaks(PeakFigures& peaks);

// peaks.cu
// `blocks` x `threads_per_block` threads, each running kFmaChains independent FMA chains for
// `iterations` steps; each thread stores its sum to out[thread] so nothing is optimized away.
inline constexpr int kFmaChains = 8;
void launch_fma_chains(float* out, int blocks, int threads_per_block, int iterations, cudaStream_t stream);
void launch_fma_chains(double* out, int blocks, int threads_per_block, int iterations, cudaStream_t stream);
// Pseudo-random values in [-1, 1) (a hash of the index and seed; no state).
void launch_fill_uniform(float* out, std::size_t count, std::uint32_t seed, cudaStream_t stream);
// Same, rounded to bfloat16 (`out` holds `count` __nv_bfloat16).
void launch_fill_uniform_bf16(void* out, std::size_t count, std::uint32_t seed, cudaStream_t stream);
// cub::DeviceReduce::Sum; temp == nullptr asks for temp_bytes.
void cub_sum(void* temp, std::size_t& temp_bytes, const float* in, float* out, std::int64_t count, cudaStream_t stream);

}  // namespace mlbench::kernels
