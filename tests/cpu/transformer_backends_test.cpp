// The CPU backends of attention, softmax and layer norm (issue 17): every backend registered for
// these workloads, at every precision it declares and at awkward sizes (1, 7, 33, 257 ...,
// sizes that are no multiple of any vector width or block), verified against fp64, with one
// thread and with three (uneven shares of rows and tiles).
#include <gtest/gtest.h>

#include <omp.h>

#include <tuple>

#include "bench/attention.h"
#include "bench/layernorm.h"
#include "bench/softmax.h"
#include "bench/workloads.h"
#include "tests/cpu/cpu_test_support.h"

namespace mlbench {
namespace {

using test_support::cpu_registry;
using test_support::fresh_seed;

HostBuffer run_backend(const BackendInfo& backend, const Problem& problem, int threads) {
  ExecutionConfig config;
  config.threads = threads;
  auto variant = backend.prepare(problem, config);
  variant->run(TimingMode::host);
  variant->run(TimingMode::host);  // a second run must not depend on state the first left
  HostBuffer out;
  variant->read_output(out);
  return out;
}

void expect_every_backend_verifies(const Problem& problem) {
  int ran = 0;
  for (const BackendInfo* backend : cpu_registry().backends_for(problem.workload())) {
    if (!backend->supports_precision(problem.precision())) continue;
    if (backend->availability && !backend->availability().available) continue;
    if (backend->supports && !backend->supports(problem).available) continue;
    for (int threads : {1, 3}) {
      SCOPED_TRACE(backend->name + " " + to_string(problem.precision()) + " " + problem.shape_label() +
                   " threads=" + std::to_string(threads));
      const HostBuffer out = run_backend(*backend, problem, threads);
      const Verification v = problem.verify(out);
      EXPECT_TRUE(v.passed) << v.method << ": error " << v.max_error << " > tolerance " << v.tolerance << " "
                            << v.detail;
      ++ran;
      // the exact twin (issue 13): the same backend on inputs whose output is known exactly
      if (const auto twin = problem.exact_twin()) {
        const Verification e = twin->verify_exact(run_backend(*backend, *twin, threads));
        EXPECT_TRUE(e.passed) << "exact twin: " << e.method << ": " << e.detail;
      }
    }
  }
  EXPECT_GE(ran, 2) << "serial at least, with both thread counts, for " << problem.workload();
}

const Precision kPrecisions[] = {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16};

TEST(TransformerCpuRegistration, SerialAndOpenmpForEveryWorkloadAndPrecision) {
  for (const char* workload : {"attention", "softmax", "layernorm"})
    for (const char* name : {"serial", "openmp"}) {
      const BackendInfo* b = cpu_registry().find(workload, name);
      ASSERT_NE(b, nullptr) << workload << "/" << name;
      EXPECT_EQ(b->kind, BackendKind::cpu);
      for (Precision p : kPrecisions) EXPECT_TRUE(b->supports_precision(p)) << workload << "/" << name;
      EXPECT_FALSE(b->supports_precision(Precision::tf32));
    }
}

TEST(SoftmaxCpuBackends, VerifyAtAwkwardSizesAndEveryPrecision) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision p : kPrecisions)
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {7, 7}, {33, 33}, {5, 257}, {3, 4103}}) {
      WorkloadOptions o;
      o.get<RowOptions>().rows = rows;
      expect_every_backend_verifies(*make_problem("softmax", cols, p, seed, o));
    }
}

TEST(LayerNormCpuBackends, VerifyAtAwkwardSizesAndEveryPrecision) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision p : kPrecisions)
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {7, 7}, {33, 33}, {5, 257}, {3, 4103}}) {
      WorkloadOptions o;
      o.get<RowOptions>().rows = rows;
      o.get<RowOptions>().epsilon = rows == 7 ? 1e-3 : 1e-5;
      expect_every_backend_verifies(*make_problem("layernorm", cols, p, seed, o));
    }
}

TEST(AttentionCpuBackends, VerifyAtAwkwardShapesEveryPrecisionCausalOrNot) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision p : kPrecisions)
    for (bool causal : {false, true})
      for (auto [b, h, s, d] : {std::tuple<int, int, int, int>{1, 1, 1, 1},
                                {1, 2, 7, 3},
                                {2, 1, 33, 17},
                                {1, 1, 257, 64},
                                {1, 1, 130, 128}}) {
        WorkloadOptions o;
        o.get<AttentionOptions>() = {b, h, d, causal};
        expect_every_backend_verifies(*make_problem("attention", s, p, seed, o));
      }
}

}  // namespace
}  // namespace mlbench
