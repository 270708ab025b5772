// Helpers of the GPU test programs: the registry of kernels/ and a skip with the reason on a
// machine without a usable GPU (CI has none; the tests run on the H100 machine).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/host_buffer.h"
#include "bench/problem.h"
#include "tests/test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/gpu_variant.h"
#endif

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

// Median of `runs` kernel-mode runs of a registered GPU backend (L2 flushed before each) after
// 3 warm-ups, its output verified once; NAN when the backend cannot run this problem here. The
// variant's notes are appended to `notes` as "key=value; ".
inline double median_verified_kernel_seconds(const std::string& workload, const std::string& backend,
                                             const Problem& problem, int runs, std::string* notes) {
  const BackendInfo* info = gpu_registry().find(workload, backend);
  if (info == nullptr || !info->availability().available || !info->supports_precision(problem.precision())) return NAN;
  const auto variant = info->prepare(problem, ExecutionConfig{});
  for (int i = 0; i < 3; ++i) variant->run(TimingMode::kernel);
  HostBuffer out(problem.output_precision(), problem.output_size());
  variant->read_output(out);
  const Verification v = problem.verify(out, variant->input_rounding());
  EXPECT_TRUE(v.passed) << backend << " " << v.max_error << " > " << v.tolerance;
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) times.push_back(variant->run(TimingMode::kernel));
  std::sort(times.begin(), times.end());
  for (const auto& [key, value] : variant->notes()) *notes += key + "=" + value + "; ";
  return times[times.size() / 2];
}

#if MLBENCH_TEST_BUILT_WITH_CUDA
// Times a hand-launched GEMM kernel: A and B copied to the device, C poisoned, then
// `launch(a, b, c)` `runs` times between CUDA events; C is copied into `out`. Returns the
// median kernel seconds.
template <class T, class Launch>
double median_gemm_launch_seconds(const HostBuffer& a_host, const HostBuffer& b_host, HostBuffer& out, int runs,
                                  Launch launch) {
  kernels::DeviceBuffer a(a_host.bytes()), b(b_host.bytes()), c(out.bytes());
  EXPECT_EQ(cudaMemcpy(a.get(), a_host.raw(), a_host.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(b.get(), b_host.raw(), b_host.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(c.get(), 0xFF, out.bytes()), cudaSuccess);
  cudaEvent_t start, stop;
  EXPECT_EQ(cudaEventCreate(&start), cudaSuccess);
  EXPECT_EQ(cudaEventCreate(&stop), cudaSuccess);
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    EXPECT_EQ(cudaEventRecord(start), cudaSuccess);
    launch(a.as<T>(), b.as<T>(), c.as<T>());
    EXPECT_EQ(cudaEventRecord(stop), cudaSuccess);
    EXPECT_EQ(cudaEventSynchronize(stop), cudaSuccess);
    float ms = 0;
    EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
    times.push_back(ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  EXPECT_EQ(cudaMemcpy(out.raw(), c.get(), out.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}
#endif

}  // namespace mlbench::test_support

#define SKIP_WITHOUT_GPU()                                                           \
  do {                                                                               \
    const ::mlbench::Availability gpu = ::mlbench::test_support::gpu_availability(); \
    if (!gpu.available) GTEST_SKIP() << "no usable CUDA GPU here: " << gpu.reason;   \
  } while (0)
