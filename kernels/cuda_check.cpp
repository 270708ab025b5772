#include "kernels/cuda_check.h"

#include <fmt/format.h>

#include <stdexcept>

namespace mlbench::kernels {

void throw_gpu_error(const char* call, const char* file, int line, const char* message, bool out_of_memory) {
  throw GpuError(fmt::format("{}:{}: {} failed: {}", file, line, call, message), out_of_memory);
}

}  // namespace mlbench::kernels
