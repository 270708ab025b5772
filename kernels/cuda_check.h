// One error check for every CUDA runtime, cuBLAS and cuDNN call:
//   MLBENCH_CUDA_CHECK(cudaMalloc(&p, bytes));
//   MLBENCH_CUDA_CHECK(cublasSgemm(...));
// and MLBENCH_CUDA_CHECK_LAUNCH() after each kernel launch. A failure throws GpuError (a
// std::runtime_error) naming file:line, the call and the library's error string, and saying
// whether the device ran out of memory (the runner then resets the device, gpu_variant.h).
#pragma once

#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#if MLBENCH_HAVE_CUDNN
#include <cudnn.h>
#endif

namespace mlbench::kernels {

// A failed GPU library call.
class GpuError : public std::runtime_error {
 public:
  GpuError(const std::string& what, bool out_of_memory) : std::runtime_error(what), out_of_memory_(out_of_memory) {}
  // The device (or the library's workspace on it) ran out of memory.
  bool out_of_memory() const { return out_of_memory_; }

 private:
  bool out_of_memory_;
};

[[noreturn]] void throw_gpu_error(const char* call, const char* file, int line, const char* message,
                                  bool out_of_memory = false);

inline void check_status(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    throw_gpu_error(call, file, line, cudaGetErrorString(status), status == cudaErrorMemoryAllocation);
}
inline void check_status(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw_gpu_error(call, file, line, cublasGetStatusString(status), status == CUBLAS_STATUS_ALLOC_FAILED);
}
#if MLBENCH_HAVE_CUDNN
inline void check_status(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS) throw_gpu_error(call, file, line, cudnnGetErrorString(status));
}
#endif

}  // namespace mlbench::kernels

#define MLBENCH_CUDA_CHECK(call) ::mlbench::kernels::check_status((call), #call, __FILE__, __LINE__)
// A launch reports a bad configuration only through the last-error slot.
#define MLBENCH_CUDA_CHECK_LAUNCH() MLBENCH_CUDA_CHECK(cudaGetLastError())
