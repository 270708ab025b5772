// How many GPUs --gpus may use: built into every CUDA build, with or without NCCL.
#include <cuda_runtime_api.h>

#include "kernels/multi_gpu.h"

namespace mlbench::kernels {

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the error so that later calls start clean
    return 0;
  }
  return count;
}

}  // namespace mlbench::kernels
