#include "kernels/cuda_check.h"

#include <fmt/format.h>

#include <stdexcept>

namespace mlbench::kernels {

void throw_gpu_error(const char* call, const char* file, int line, const char* message) {
  throw std::runtime_error(fmt::format("{}:{}: {} failed: {}", file, line, call, message));
}

}  // namespace mlbench::kernels
