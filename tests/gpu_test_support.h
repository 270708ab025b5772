// Helpers of the GPU test programs: the registry of kernels/ and a skip with the reason on a
// machine without a usable GPU (CI has none; the tests run on the H100 machine).
#pragma once

#include <gtest/gtest.h>

#include "bench/backend.h"
#include "tests/test_support.h"

namespace mlbench::test_support {

inline const Registry& gpu_registry() {
  static const Registry registry = [] {
    Registry r;
    kernels::register_backends(r);
    return r;
  }();
  return registry;
}

inline Availability gpu_availability() { return gpu_registry().find("gemm", "cuda")->availability(); }

}  // namespace mlbench::test_support

#define SKIP_WITHOUT_GPU()                                                                              \
  do {                                                                                                  \
    const ::mlbench::Availability gpu = ::mlbench::test_support::gpu_availability();                         \
    if (!gpu.available) GTEST_SKIP() << "no usable CUDA GPU here: " << gpu.reason;                      \
  } while (0)
