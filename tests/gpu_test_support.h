// Helpers of the GPU test programs: the registry of kernels/ and a skip with the reason on a
// machine without a usable GPU (CI has none; the tests run on the H100 machine).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
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

// The GPU backends the correctness tests walk for `workload`: every single-device GPU backend the
// registry holds for it, in registration order, so that a new GPU backend is verified without
// editing a test (issue 16). Multi-GPU backends (--gpus) have their own tests (multi_gpu_test.cpp).
inline std::vector<const BackendInfo*> gpu_backends_for(const std::string& workload) {
  std::vector<const BackendInfo*> walked;
  for (const BackendInfo* b : gpu_registry().backends_for(workload))
    if (is_gpu(b->kind) && !b->multi_gpu) walked.push_back(b);
  return walked;
}

// "gemm: cuda (fp32 fp64), cublas (fp32 fp64), cublas-tf32 (fp32)": each walked backend with the
// ones of `precisions` it declares (a test walks a backend only at those).
inline std::string gpu_walk_description(const std::string& workload, const std::vector<Precision>& precisions) {
  std::string text = workload + ":";
  const char* separator = " ";
  for (const BackendInfo* b : gpu_backends_for(workload)) {
    text += separator + b->name + " (";
    separator = ", ";
    std::string declared;
    for (Precision p : precisions)
      if (b->supports_precision(p)) declared += (declared.empty() ? "" : " ") + to_string(p);
    text += (declared.empty() ? "none of them" : declared) + ")";
  }
  return text;
}

// Prints what a walking test checks; called before it skips without a GPU, so that every
// machine shows what a GPU would run.
inline void print_gpu_walk(const std::string& workload, const std::vector<Precision>& precisions) {
  std::printf("[ GPU WALK ] %s\n", gpu_walk_description(workload, precisions).c_str());
}

// Whether a walking test checks `backend` on `problem`: it declares the problem's precision and
// its supports() takes the problem. A declared precision it refuses is printed with its reason.
inline bool gpu_backend_takes(const BackendInfo& backend, const Problem& problem) {
  if (!backend.supports_precision(problem.precision())) return false;
  const Availability a = backend.supports ? backend.supports(problem) : Availability::yes();
  if (!a.available)
    std::printf("[ SKIPPED  ] %s/%s on %s/%s: %s\n", backend.workload.c_str(), backend.name.c_str(),
                to_string(problem.precision()).c_str(), problem.shape_label().c_str(), a.reason.c_str());
  return a.available;
}

// A walking test's count of problems checked per backend ("workload/name"): every available walked backend
// that declares one of `precisions` must have been checked at least once (a supports() that
// refuses every shape would otherwise pass unnoticed).
inline void expect_every_available_backend_checked(const std::string& workload,
                                                   const std::vector<Precision>& precisions,
                                                   const std::map<std::string, int>& checked) {
  for (const BackendInfo* b : gpu_backends_for(workload)) {
    const bool declares =
        std::any_of(precisions.begin(), precisions.end(), [&](Precision p) { return b->supports_precision(p); });
    if (!declares || !b->availability().available) continue;
    const auto it = checked.find(workload + "/" + b->name);
    EXPECT_TRUE(it != checked.end() && it->second > 0) << workload << "/" << b->name << " was never checked";
  }
}

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
