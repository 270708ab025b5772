// GPU faults and GPU state (issue 6), with the real CUDA backends and test-only ones registered
// here alone:
//   - a variant that runs the device out of memory, and one that leaves a sticky CUDA error
//     (an illegal address), are recorded as failed with the error text; the device is reset
//     (the rows say so) and the next variant still runs and verifies;
//   - NVML readings around every GPU measurement: figures on a GPU machine, the reason
//     elsewhere; throttle-reason bits named as nvml.h defines them.
// Without a GPU the device tests skip; the naming tests run in every CUDA build.
//
// Note for compute-sanitizer runs: these tests provoke a failed cudaMalloc and an illegal
// address on purpose; leave this binary out of them (scripts/gpu_evidence.sh lists its own).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/gemm.h"
#include "bench/runner.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda_check.h"
#include "kernels/gemm_tiled.h"
#include "kernels/gpu_variant.h"
#include "kernels/nvml_monitor.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

#if MLBENCH_TEST_BUILT_WITH_CUDA

// A GPU-kind GEMM backend for this test only, whose preparation or run fails as `fault` says.
enum class Fault { out_of_memory, illegal_address };

class FaultyVariant final : public Variant {
 public:
  explicit FaultyVariant(std::int64_t n) : n_(n) {}
  std::vector<TimingMode> timing_modes() const override { return {TimingMode::kernel, TimingMode::end_to_end}; }
  double run(TimingMode) override {
    // The hand-written GEMM kernel reading and writing through pointers into unmapped memory:
    // the launch succeeds, the kernel faults, the context keeps the error (sticky).
    auto* bogus = reinterpret_cast<float*>(std::uintptr_t{0x1000});
    kernels::launch_gemm_tiled<float>(bogus, bogus, bogus, n_, n_, n_, nullptr);
    MLBENCH_CUDA_CHECK(cudaDeviceSynchronize());
    return 1e-3;
  }
  void read_output(HostBuffer&) override {}

 private:
  std::int64_t n_;
};

BackendInfo faulty_backend(const std::string& name, Fault fault) {
  BackendInfo b;
  b.name = name;
  b.workload = "gemm";
  b.kind = BackendKind::gpu;
  b.availability = gpu_availability;
  b.prepare = [fault](const Problem& problem, const ExecutionConfig& config) -> std::unique_ptr<Variant> {
    MLBENCH_CUDA_CHECK(cudaSetDevice(config.device));
    if (fault == Fault::out_of_memory) {
      std::size_t free_bytes = 0, total_bytes = 0;
      MLBENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
      kernels::DeviceBuffer too_big(2 * total_bytes);  // cudaMalloc fails: cudaErrorMemoryAllocation
    }
    return std::make_unique<FaultyVariant>(problem.size());
  };
  return b;
}

std::string note(const VariantResult& r, const std::string& key) {
  for (const auto& [k, v] : r.notes)
    if (k == key) return v;
  return "";
}

// Runs `faulty` and then the real cuda and cublas GEMMs in one suite; returns the rows.
std::vector<VariantResult> run_after_fault(Fault fault) {
  Registry registry;
  registry.add(faulty_backend("faulty", fault));  // first: it runs before the real ones
  kernels::register_backends(registry);
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {256};
  o.backends = {"faulty", "cuda", "cublas"};
  o.seed = fresh_seed();
  o.repetitions = 3;
  Runner runner(registry, o);
  return runner.run(runner.plan());
}

void expect_failed_then_reset_then_fine(const std::vector<VariantResult>& rows, const std::string& error_text,
                                        const std::string& reset_reason) {
  int failed = 0, fine = 0;
  for (const VariantResult& r : rows) {
    SCOPED_TRACE(r.name());
    if (r.backend == "faulty") {
      ++failed;
      EXPECT_EQ(r.status, ResultStatus::error);
      EXPECT_NE(r.error_message.find(error_text), std::string::npos) << r.error_message;
      EXPECT_NE(note(r, "device_reset").find("device 0 reset (cudaDeviceReset) after " + reset_reason),
                std::string::npos)
          << note(r, "device_reset");
      continue;
    }
    ++fine;
    EXPECT_TRUE(r.ok()) << to_string(r.status) << ": " << r.error_message;
    EXPECT_TRUE(r.verification.passed) << r.verification.detail;
    EXPECT_EQ(note(r, "device_reset"), "");
    EXPECT_GE(r.stats.runs, 1);
    ASSERT_TRUE(r.gpu_state.has_value());  // the NVML readings (or why none) ride on every GPU row
  }
  EXPECT_EQ(failed, 2);  // kernel and end to end
  EXPECT_EQ(fine, 4);    // cuda and cublas, kernel and end to end
}

TEST(GpuReset, AfterAnOutOfMemoryTheDeviceIsResetAndTheNextVariantsVerify) {
  SKIP_WITHOUT_GPU();
  const auto rows = run_after_fault(Fault::out_of_memory);
  expect_failed_then_reset_then_fine(rows, "out of memory", "running out of device memory");
}

// Set by the sticky-error test: after it the device may stay unusable for the rest of the process.
bool sticky_error_raised = false;

// Declared before the sticky-error test: run as one process (the binary alone, not ctest's one
// process per test), that test may leave the device unusable for the rest of the process.
TEST(GpuReset, AHealthyDeviceIsNotReset) {
  SKIP_WITHOUT_GPU();
  // A failure that is not the device's (thrown before any CUDA call): nothing to reset.
  std::vector<int> devices = {0};
  if (sticky_error_raised && cudaSetDevice(0) == cudaErrorDevicesUnavailable) {
    cudaGetLastError();
    GTEST_SKIP() << "device 0 is unusable in this process (an earlier test's sticky CUDA error): run the test in a "
                    "process of its own, as ctest does";
  }
  MLBENCH_CUDA_CHECK(cudaSetDevice(0));
  EXPECT_EQ(kernels::recover_devices(devices, std::make_exception_ptr(std::runtime_error("bad shape"))), "");
  EXPECT_EQ(kernels::recover_devices(devices, nullptr), "");
}

// An illegal address is sticky: CUDA documents that the process must end before the device can
// be used again, and on the H100 (driver 580) the device stayed "busy or unavailable" after
// cudaDeviceReset. What mlbench owes then: the faulty row failed with the error, the reset tried
// and its outcome said, the suite carried on, and every later GPU row either verified (where
// CUDA allowed the reset) or failed with an error rather than a wrong number.
TEST(GpuReset, AfterAStickyIllegalAddressTheSuiteGoesOnAndSaysWhetherTheDeviceRecovered) {
  SKIP_WITHOUT_GPU();
  sticky_error_raised = true;
  const auto rows = run_after_fault(Fault::illegal_address);
  ASSERT_EQ(rows.size(), 6u);  // faulty, cuda, cublas; kernel and end to end
  bool recovered = false;
  for (const VariantResult& r : rows) {
    SCOPED_TRACE(r.name());
    if (r.backend == "faulty") {
      EXPECT_EQ(r.status, ResultStatus::error);
      EXPECT_NE(r.error_message.find("illegal memory access"), std::string::npos) << r.error_message;
      const std::string reset = note(r, "device_reset");
      EXPECT_NE(reset.find("device 0 reset (cudaDeviceReset) after a sticky CUDA error"), std::string::npos) << reset;
      recovered = reset.find("unusable") == std::string::npos;
      continue;
    }
    if (recovered) {
      EXPECT_TRUE(r.ok()) << to_string(r.status) << ": " << r.error_message;
      EXPECT_TRUE(r.verification.passed) << r.verification.detail;
    } else {
      EXPECT_EQ(r.status, ResultStatus::error) << "a row on an unusable device must not carry a time";
      EXPECT_FALSE(r.error_message.empty());
    }
  }
}

TEST(GpuState, NvmlGivesFiguresOnAGpuAndSaysWhyElsewhere) {
  const GpuStateSample s = kernels::read_gpu_state(0);
  if (!s.available) {
    EXPECT_EQ(s.unavailable_reason.rfind("NVML not available: ", 0), 0u) << s.unavailable_reason;
    EXPECT_EQ(kernels::nvml_unavailable_reason().rfind("NVML not available: ", 0), 0u);
    if (gpu_availability().available) ADD_FAILURE() << "a CUDA GPU but no NVML: " << s.unavailable_reason;
    return;
  }
  EXPECT_TRUE(s.unavailable_reason.empty());
  EXPECT_GT(s.sm_clock_mhz, 0);
  EXPECT_GT(s.memory_clock_mhz, 0);
  EXPECT_GT(s.temperature_c, 0);
  EXPECT_LT(s.temperature_c, 130);
  EXPECT_GT(s.power_w, 0);
  EXPECT_EQ(s.throttle_reasons, kernels::performance_throttle_reasons(s.throttle_reason_bits));
  // A second reading: the violation counters only grow.
  const GpuStateSample later = kernels::read_gpu_state(0);
  if (s.power_violation_ns >= 0) {
    EXPECT_GE(later.power_violation_ns, s.power_violation_ns);
  }
  if (s.thermal_violation_ns >= 0) {
    EXPECT_GE(later.thermal_violation_ns, s.thermal_violation_ns);
  }
}

TEST(GpuState, ThrottleReasonsAreNamedAndIdleOrSettingsAreNot) {
  using namespace kernels::nvml_reason;
  EXPECT_TRUE(kernels::performance_throttle_reasons(0).empty());
  EXPECT_TRUE(
      kernels::performance_throttle_reasons(kGpuIdle | kApplicationsClocksSetting | kDisplayClockSetting).empty());
  EXPECT_EQ(kernels::performance_throttle_reasons(kSwPowerCap), std::vector<std::string>({"power cap"}));
  EXPECT_EQ(kernels::performance_throttle_reasons(kHwSlowdown | kHwThermalSlowdown | kGpuIdle),
            std::vector<std::string>({"HW slowdown", "thermal (HW)"}));
  // Every named reason comes from a bit that is set; every stability-relevant bit is named.
  std::mt19937_64 rng(fresh_seed());
  const std::uint64_t relevant =
      kSwPowerCap | kHwSlowdown | kSyncBoost | kSwThermalSlowdown | kHwThermalSlowdown | kHwPowerBrakeSlowdown;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t bits = rng() & 0x1ff;
    EXPECT_EQ(kernels::performance_throttle_reasons(bits).size(),
              static_cast<std::size_t>(__builtin_popcountll(bits & relevant)))
        << std::hex << bits;
  }
}

#else

TEST(GpuReset, NeedsACudaBuild) { GTEST_SKIP() << "built without CUDA"; }

#endif

}  // namespace
}  // namespace mlbench
