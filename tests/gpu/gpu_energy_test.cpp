// Energy of GPU rows (issue 19): NVML's total-energy counter behind Registry::gpu_energy_meter.
// Without NVML or a GPU the meter says why and gives no figure (runs here); on a GPU every
// verified GPU row of a real run carries a measured window of at least a second with a
// plausible board power (runs on the GPU machine only).
#include <gtest/gtest.h>

#include "bench/backend.h"
#include "bench/runner.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include "kernels/nvml_monitor.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

#if MLBENCH_TEST_BUILT_WITH_CUDA

TEST(GpuEnergy, TheMeterSaysWhyWithoutNvmlAndMeasuresWithIt) {
  const auto meter = kernels::make_nvml_energy_meter({0});
  const std::string why = meter->unavailable_reason();
  if (!why.empty()) {
    EXPECT_TRUE(why.rfind("NVML not available", 0) == 0 || why.rfind("NVML total energy not available", 0) == 0) << why;
    meter->start();
    const EnergyWindow w = meter->stop();
    EXPECT_FALSE(w.measured);
    EXPECT_EQ(w.unavailable_reason, why);
    if (gpu_availability().available && kernels::nvml_unavailable_reason().empty())
      ADD_FAILURE() << "a CUDA GPU and NVML, but no energy counter: " << why;
    return;
  }
  std::uint64_t before = 0, after = 0;
  ASSERT_EQ(kernels::read_total_energy_mj(0, before), "");
  meter->start();
  ASSERT_EQ(kernels::read_total_energy_mj(0, after), "");
  EXPECT_GE(after, before);  // a cumulative counter
  EXPECT_EQ(meter->minimum_window_s(), 1.0);
}

TEST(GpuEnergy, EveryVerifiedGpuRowOfARunCarriesItsEnergy) {
  SKIP_WITHOUT_GPU();
  if (!kernels::nvml_unavailable_reason().empty()) GTEST_SKIP() << kernels::nvml_unavailable_reason();
  Registry registry;
  cpu::register_backends(registry);
  kernels::register_backends(registry);
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {1024};
  o.backends = {"openmp", "cublas"};
  o.seed = fresh_seed();
  o.time_budget_s = 0.2;  // shorter than NVML's window: the runner must extend it
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  int gpu_rows = 0;
  for (const VariantResult& r : results) {
    SCOPED_TRACE(r.name());
    ASSERT_TRUE(r.ok()) << r.error_message;
    ASSERT_TRUE(r.energy);
    if (!is_gpu(r.backend_kind)) continue;
    ++gpu_rows;
    ASSERT_TRUE(r.energy->measured) << r.energy->unavailable_reason;
    EXPECT_EQ(r.energy->source, "NVML total energy (board): GPU 0");
    EXPECT_GE(r.energy->window_s, 1.0);
    // A working board draws tens to hundreds of watts; more than 2 kW or nothing is a wrong reading.
    EXPECT_GT(r.average_watts, 10);
    EXPECT_LT(r.average_watts, 2000);
    EXPECT_NEAR(r.joules_per_run, r.energy->joules / static_cast<double>(r.energy->runs), 1e-12 * r.joules_per_run);
    EXPECT_GT(r.gflops_per_joule, 0);
  }
  EXPECT_EQ(gpu_rows, 2);  // kernel and end to end
}

#else

TEST(GpuEnergy, ABuildWithoutCudaRegistersNoGpuMeter) {
  Registry registry;
  kernels::register_backends(registry);
  EXPECT_FALSE(registry.gpu_energy_meter);
}

#endif

}  // namespace
}  // namespace mlbench
