// Softmax and layer norm on the GPU: the hand-written row kernels (`cuda`) and cuDNN's softmax
// (`cudnn`) at every precision, on awkward row lengths (1, 7, 33, 257: scalar accesses; 4096
// and 5000: vector loads, one or several warps per row; 20000 and 40000: the rows the
// registers cannot hold), every element checked against fp64 by the problem. Skips without
// a CUDA device; every test prints its seed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/layernorm.h"
#include "bench/softmax.h"
#include "bench/workloads.h"
#include "tests/gpu/gpu_test_support.h"

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

std::unique_ptr<Problem> rows_problem(const char* workload, std::int64_t rows, std::int64_t cols, Precision precision,
                                      std::uint64_t seed) {
  WorkloadOptions o;
  o.get<RowOptions>().rows = rows;
  return make_problem(workload, cols, precision, seed, o);
}

// Prepares `info`, runs it once in `mode`, returns the verification of its output.
Verification run_and_verify(const BackendInfo& info, const Problem& problem, TimingMode mode) {
  const auto variant = info.prepare(problem, ExecutionConfig{});
  const double seconds = variant->run(mode);
  EXPECT_TRUE(seconds > 0.0 && std::isfinite(seconds)) << seconds;
  HostBuffer out(problem.output_precision(), problem.output_size());
  variant->read_output(out);
  return problem.verify(out, variant->input_rounding());
}

struct RowCase {
  std::int64_t rows, cols;
};
const std::vector<RowCase> kAwkward = {{1, 1},     {3, 7},    {100, 33},  {9, 257},   {1000, 64},
                                       {17, 4096}, {5, 5000}, {3, 20000}, {2, 40000}, {33, 1024}};

// The row-wise workloads; the test walks every GPU backend the registry holds for each.
const std::vector<std::string> kRowWorkloads = {"softmax", "layernorm"};
// Every precision a row-wise problem exists at (there is no tf32 one).
const std::vector<Precision> kRowPrecisions = {Precision::fp64, Precision::fp32, Precision::bf16, Precision::fp16};

TEST(RowwiseGpu, EveryBackendAtEveryPrecisionVerifiesOnAwkwardRowLengths) {
  for (const std::string& workload : kRowWorkloads) print_gpu_walk(workload, kRowPrecisions);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::map<std::string, int> checked;
  for (Precision precision : kRowPrecisions) {
    for (const RowCase& c : kAwkward) {
      for (const std::string& workload : kRowWorkloads) {
        const auto problem = rows_problem(workload.c_str(), c.rows, c.cols, precision, seed);
        for (const BackendInfo* info : gpu_backends_for(workload)) {
          if (!gpu_backend_takes(*info, *problem)) continue;
          ++checked[workload + "/" + info->name];
          SCOPED_TRACE(workload + "/" + info->name + " " + to_string(precision) + " " + problem->shape_label());
          const Verification v = run_and_verify(*info, *problem, TimingMode::kernel);
          EXPECT_TRUE(v.passed) << "error " << v.max_error << " > tolerance " << v.tolerance << " (" << v.method << ") "
                                << v.detail;
        }
      }
    }
  }
  for (const std::string& workload : kRowWorkloads)
    expect_every_available_backend_checked(workload, kRowPrecisions, checked);
}

TEST(RowwiseGpu, EndToEndModeVerifies) {
  for (const std::string& workload : kRowWorkloads) print_gpu_walk(workload, {Precision::bf16});
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const std::string& workload : kRowWorkloads) {
    const auto problem = rows_problem(workload.c_str(), 300, 2048, Precision::bf16, seed);
    for (const BackendInfo* info : gpu_backends_for(workload)) {
      if (!gpu_backend_takes(*info, *problem)) continue;
      SCOPED_TRACE(workload + "/" + info->name);
      const Verification v = run_and_verify(*info, *problem, TimingMode::end_to_end);
      EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
    }
  }
}

TEST(RowwiseGpu, CudaKernelsSayHowTheyHoldTheRow) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  for (const char* workload : {"softmax", "layernorm"}) {
    const auto fits = rows_problem(workload, 4, 4096, Precision::fp32, seed);
    const auto long_row = rows_problem(workload, 2, 40000, Precision::fp32, seed);
    auto kernel_note = [&](const Problem& p) {
      const auto variant = gpu_registry().find(workload, "cuda")->prepare(p, ExecutionConfig{});
      for (const auto& [k, v] : variant->notes())
        if (k == "kernel") return v;
      return std::string();
    };
    EXPECT_NE(kernel_note(*fits).find("row in registers: 8 warp(s) per row, 4 x 4-element loads"), std::string::npos)
        << kernel_note(*fits);
    EXPECT_NE(kernel_note(*long_row).find("two reads of the row"), std::string::npos) << kernel_note(*long_row);
  }
}

TEST(RowwiseGpu, RepeatedRunsGiveBitIdenticalOutputs) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const char* workload : {"softmax", "layernorm"}) {
    const auto problem = rows_problem(workload, 257, 3000, Precision::fp32, seed);
    const auto variant = gpu_registry().find(workload, "cuda")->prepare(*problem, ExecutionConfig{});
    HostBuffer first(problem->output_precision(), problem->output_size());
    HostBuffer again(problem->output_precision(), problem->output_size());
    variant->run(TimingMode::kernel);
    variant->read_output(first);
    variant->run(TimingMode::kernel);
    variant->read_output(again);
    EXPECT_EQ(std::memcmp(first.raw(), again.raw(), first.bytes()), 0) << workload;
  }
}

}  // namespace
}  // namespace mlbench
