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

}  // namespace mlbench::test_support

#define SKIP_WITHOUT_GPU()                                                           \
  do {                                                                               \
    const ::mlbench::Availability gpu = ::mlbench::test_support::gpu_availability(); \
    if (!gpu.available) GTEST_SKIP() << "no usable CUDA GPU here: " << gpu.reason;   \
  } while (0)
