// Device code of the GPU peak measurement: FMA chains, a fill, and CUB's sum.
#include <cuda_bf16.h>

#include <cub/device/device_reduce.cuh>

#include "kernels/cuda_check.h"
#include "kernels/peaks.h"

namespace mlbench::kernels {

namespace {

// m slightly below 1 and a small keep the chains bounded; both come from kernel arguments so
// the compiler cannot fold them.
template <class T>
__global__ void fma_chains_kernel(T* out, int iterations, T m, T a) {
  const int thread = blockIdx.x * blockDim.x + threadIdx.x;
  T acc[kFmaChains];
#pragma unroll
  for (int c = 0; c < kFmaChains; ++c) acc[c] = a * static_cast<T>(threadIdx.x + c);
  for (int i = 0; i < iterations; ++i) {
#pragma unroll
    for (int c = 0; c < kFmaChains; ++c) acc[c] = fma(acc[c], m, a);
  }
  T sum = 0;
#pragma unroll
  for (int c = 0; c < kFmaChains; ++c) sum += acc[c];
  out[thread] = sum;
}

__device__ float uniform_at(std::size_t i, std::uint32_t seed) {
  // splitmix-style hash of (index, seed) -> 24 random bits -> [-1, 1)
  unsigned long long z = (static_cast<unsigned long long>(i) + 0x9E3779B97F4A7C15ull * (seed + 1ull));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

__global__ void fill_kernel(float* out, std::size_t count, std::uint32_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    out[i] = uniform_at(i, seed);
}

__global__ void fill_bf16_kernel(__nv_bfloat16* out, std::size_t count, std::uint32_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16(uniform_at(i, seed));
}

constexpr int kFillBlocks = 4096, kFillThreads = 256;

}  // namespace

void launch_fma_chains(float* out, int blocks, int threads_per_block, int iterations, cudaStream_t stream) {
  fma_chains_kernel<float><<<blocks, threads_per_block, 0, stream>>>(out, iterations, 0.999999f, 1e-6f);
  MLBENCH_CUDA_CHECK_LAUNCH();
}
void launch_fma_chains(double* out, int blocks, int threads_per_block, int iterations, cudaStream_t stream) {
  fma_chains_kernel<double><<<blocks, threads_per_block, 0, stream>>>(out, iterations, 0.999999, 1e-6);
  MLBENCH_CUDA_CHECK_LAUNCH();
}
void launch_fill_uniform(float* out, std::size_t count, std::uint32_t seed, cudaStream_t stream) {
  fill_kernel<<<kFillBlocks, kFillThreads, 0, stream>>>(out, count, seed);
  MLBENCH_CUDA_CHECK_LAUNCH();
}
void launch_fill_uniform_bf16(void* out, std::size_t count, std::uint32_t seed, cudaStream_t stream) {
  fill_bf16_kernel<<<kFillBlocks, kFillThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(out), count, seed);
  MLBENCH_CUDA_CHECK_LAUNCH();
}
void cub_sum(void* temp, std::size_t& temp_bytes, const float* in, float* out, std::int64_t count,
             cudaStream_t stream) {
  MLBENCH_CUDA_CHECK(cub::DeviceReduce::Sum(temp, temp_bytes, in, out, count, stream));
}

}  // namespace mlbench::kernels
