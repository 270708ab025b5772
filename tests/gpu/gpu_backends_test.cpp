// The GPU backends of kernels/: registration (runs everywhere) and, on a machine with a CUDA
// device, every backend x workload x precision against Problem::verify() on awkward shapes.
// Without a device the GPU tests skip with the reason. The tile sweeps and the timing runs are
// programs of their own: tuning/ (mlbench_tune_gemm, mlbench_tune_conv).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/reduction.h"
#include "bench/workloads.h"
#include "kernels/gpu_backends.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/conv2d_tiled.h"
#include "kernels/gpu_variant.h"
#endif
#if MLBENCH_TEST_BUILT_WITH_CUDNN
#include <stdexcept>

#include "kernels/cudnn_convolution.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

// The precisions the correctness tests below walk each backend at (those it declares); the
// other precisions have their own test programs (gpu_tensor_core_test, gpu_precision_test).
const std::vector<Precision> kWalkedPrecisions = {Precision::fp32, Precision::fp64};
// The workloads this program walks; the others have theirs (gpu_attention_test, gpu_rowwise_test).
const std::vector<std::string> kWalkedWorkloads = {"gemm", "convolution", "reduction"};

// Prepares `backend`, runs it once in `mode`, and checks the time and the output.
void expect_backend_verifies(const BackendInfo& backend, const Problem& problem, TimingMode mode = TimingMode::kernel) {
  SCOPED_TRACE(backend.workload + "/" + backend.name + "/" + to_string(problem.precision()) + "/" +
               problem.shape_label() + "/" + to_string(mode));
  const auto variant = backend.prepare(problem, ExecutionConfig{});
  ASSERT_NE(variant, nullptr);
  const auto modes = variant->timing_modes();
  ASSERT_EQ(modes, (std::vector<TimingMode>{TimingMode::kernel, TimingMode::end_to_end}));
  const double seconds = variant->run(mode);
  EXPECT_GT(seconds, 0.0);
  EXPECT_TRUE(std::isfinite(seconds));
  HostBuffer out(problem.output_precision(), problem.output_size());
  variant->read_output(out);
  const auto* gemm = dynamic_cast<const GemmProblem*>(&problem);
  if (gemm != nullptr && problem.precision() == Precision::fp32 && backend.uses_tensor_cores_at(Precision::fp32)) {
    // fp32 on tensor cores is TF32: the inputs are rounded to 10 mantissa bits; the variant says
    // so and verification widens its tolerance by exactly that, and no more.
    EXPECT_EQ(variant->input_rounding(), std::ldexp(1.0, -11));
    EXPECT_FALSE(problem.verify(out).passed && gemm->shape().k >= 64)
        << "TF32 results should not meet the pure fp32 tolerance at K >= 64";
  }
  const Verification v = problem.verify(out, variant->input_rounding());
  EXPECT_TRUE(v.passed) << "error " << v.max_error << " > tolerance " << v.tolerance << " (" << v.method << ") "
                        << v.detail;
}

// Checks every walked GPU backend of the problem's workload that takes it (gpu_backend_takes),
// counting the checks per backend ("workload/name") in `checked`.
void expect_walked_backends_verify(const Problem& problem, std::map<std::string, int>& checked,
                                   TimingMode mode = TimingMode::kernel) {
  for (const BackendInfo* backend : gpu_backends_for(problem.workload())) {
    if (!gpu_backend_takes(*backend, problem)) continue;
    ++checked[backend->workload + "/" + backend->name];
    expect_backend_verifies(*backend, problem, mode);
  }
}

// ---------------------------------------------------------------- registration (runs everywhere)

TEST(GpuBackendsRegistration, EveryGpuBackendIsListedAndSaysWhyWhenUnavailable) {
  const Registry& registry = gpu_registry();
  for (const auto& entry : kernels::gpu_backend_definitions()) {
    SCOPED_TRACE(std::string(entry.workload) + "/" + entry.name);
    const BackendInfo* info = registry.find(entry.workload, entry.name);
    ASSERT_NE(info, nullptr);
    EXPECT_TRUE(is_gpu(info->kind));
    // mlbench's own GPU code: the hand-written kernels and the multi-GPU (nccl) distribution.
    EXPECT_EQ(info->kind == BackendKind::gpu, std::string(entry.name) == "cuda" || std::string(entry.name) == "nccl");
    ASSERT_TRUE(info->availability);
    ASSERT_TRUE(info->prepare);
    const Availability a = info->availability();
    if (a.available) continue;
    EXPECT_FALSE(a.reason.empty());
#if MLBENCH_TEST_BUILT_WITH_CUDA
    const bool known_reason = a.reason == "no CUDA device" || a.reason.rfind("no CUDA driver (", 0) == 0 ||
                              a.reason.rfind("built without cuDNN", 0) == 0 ||
                              a.reason.rfind("built without NCCL", 0) == 0;
    EXPECT_TRUE(known_reason) << a.reason;
#else
    EXPECT_EQ(a.reason, MLBENCH_NO_CUDA_REASON);
    EXPECT_EQ(a.reason.rfind("built without CUDA (", 0), 0u) << a.reason;
#endif
  }
  for (const char* name : {"cuda", "cublas", "cublas-tf32", "cudnn", "cub"}) {
    const auto names = registry.backend_names();
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

// One table row per GPU backend (kernels/gpu_backends.cpp): with CUDA every row carries its
// wiring, without CUDA none does; the registry holds exactly the table's rows, each once.
TEST(GpuBackendsRegistration, RegistryHoldsExactlyTheTableRowsWiredOnlyWithCuda) {
  const auto& table = kernels::gpu_backend_definitions();
  std::size_t gpu_backends = 0;
  for (const BackendInfo& info : gpu_registry().all()) gpu_backends += is_gpu(info.kind) ? 1 : 0;
  EXPECT_EQ(gpu_backends, table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& row = table[i];
    SCOPED_TRACE(std::string(row.workload) + "/" + row.name);
    for (std::size_t j = 0; j < i; ++j)
      EXPECT_FALSE(std::string(table[j].name) == row.name && std::string(table[j].workload) == row.workload)
          << "listed twice";
    EXPECT_FALSE(kernels::expand(row.precisions).empty());
    EXPECT_EQ(row.availability != nullptr, MLBENCH_TEST_BUILT_WITH_CUDA == 1);
    EXPECT_EQ(row.prepare != nullptr, MLBENCH_TEST_BUILT_WITH_CUDA == 1);
  }
}

TEST(GpuBackendsRegistration, HandWrittenBackendsNameTheirVendorReference) {
  EXPECT_EQ(gpu_registry().find("gemm", "cuda")->vendor_reference, "cublas");
  EXPECT_EQ(gpu_registry().find("convolution", "cuda")->vendor_reference, "cudnn");
  EXPECT_EQ(gpu_registry().find("reduction", "cuda")->vendor_reference, "cub");
}

TEST(GpuBackendsRegistration, ContextProviderDescribesTheGpuOrWhyThereIsNone) {
  const Registry& registry = gpu_registry();
  ASSERT_FALSE(registry.context_providers.empty());
  MachineContext context;
  for (const auto& provide : registry.context_providers) provide(context);
  if (gpu_availability().available) {
    ASSERT_TRUE(context.gpu.has_value());
    EXPECT_FALSE(context.gpu->name.empty());
    EXPECT_GT(context.gpu->sm_count, 0);
    EXPECT_GT(context.gpu->memory_bytes, 0);
    EXPECT_GT(context.gpu->l2_bytes, 0);
    EXPECT_GT(context.gpu->peak_bandwidth_gbps, 0.0);
    EXPECT_GT(context.gpu->sm_clock_mhz, 0.0);
    EXPECT_GE(context.gpu->cc_major, 1);
  } else {
    EXPECT_FALSE(context.gpu.has_value());
    EXPECT_EQ(context.gpu_absent_reason, gpu_availability().reason);
  }
}

TEST(GpuBackendsRegistration, UnavailableBackendsSupportNothing) {
  if (gpu_availability().available) GTEST_SKIP() << "a GPU is present";
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const GemmProblem problem(GemmShape{7, 5, 3}, Precision::fp32, seed, 7);
  for (const auto* info : gpu_registry().backends_for("gemm")) {
    ASSERT_TRUE(info->supports);
    const Availability a = info->supports(problem);
    EXPECT_FALSE(a.available) << info->name;
    EXPECT_FALSE(a.reason.empty()) << info->name;
  }
}

// The correctness tests below walk gpu_backends_for(workload): it must hold exactly the table's
// single-device rows of the workload (so it cannot silently walk nothing, or miss a row), and
// every one of them must declare a precision those tests walk.
TEST(GpuBackendsRegistration, TheCorrectnessTestsWalkEverySingleGpuRowOfTheTable) {
  for (const std::string& workload : kWalkedWorkloads) {
    SCOPED_TRACE(workload);
    std::vector<std::string> table_rows, walked;
    for (const auto& row : kernels::gpu_backend_definitions())
      if (row.workload == workload && !row.multi_gpu) table_rows.push_back(row.name);
    for (const BackendInfo* b : gpu_backends_for(workload)) {
      walked.push_back(b->name);
      EXPECT_TRUE(std::any_of(kWalkedPrecisions.begin(), kWalkedPrecisions.end(),
                              [&](Precision p) { return b->supports_precision(p); }))
          << b->name << " declares none of the walked precisions";
    }
    EXPECT_FALSE(walked.empty());
    EXPECT_EQ(walked, table_rows);
    print_gpu_walk(workload, kWalkedPrecisions);
  }
}

// ---------------------------------------------------------------- on a GPU

TEST(GpuGemm, EveryBackendAndPrecisionVerifiesOnAwkwardShapes) {
  print_gpu_walk("gemm", kWalkedPrecisions);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const std::vector<GemmShape> shapes = {{1, 1, 1},          {7, 7, 7},      {33, 33, 33},   {257, 257, 257},
                                         {1000, 1000, 1000}, {33, 257, 7},   {1000, 7, 257}, {130, 260, 36},
                                         {129, 4, 1000},     {128, 128, 16}, {3, 1001, 5}};
  std::map<std::string, int> checked;
  for (Precision precision : kWalkedPrecisions) {
    for (const GemmShape& shape : shapes) {
      const GemmProblem problem(shape, precision, seed, shape.m);
      expect_walked_backends_verify(problem, checked);
    }
  }
  expect_every_available_backend_checked("gemm", kWalkedPrecisions, checked);
}

TEST(GpuGemm, Tf32BackendRefusesFp64) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const GemmProblem problem(GemmShape{8, 8, 8}, Precision::fp64, seed, 8);
  const Availability a = gpu_registry().find("gemm", "cublas-tf32")->supports(problem);
  EXPECT_FALSE(a.available);
  EXPECT_NE(a.reason.find("fp32"), std::string::npos) << a.reason;
}

TEST(GpuConvolution, EveryBackendAndPrecisionVerifiesOnShapeVariations) {
  print_gpu_walk("convolution", kWalkedPrecisions);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // batch, channels, height, width, filters, kernel, stride, pad
  const std::vector<ConvShape> shapes = {
      {1, 1, 1, 1, 1, 1, 1, 0},      {2, 3, 7, 9, 5, 3, 1, 1},      {1, 4, 33, 33, 16, 3, 2, 1},
      {3, 5, 17, 31, 7, 5, 1, 2},    {1, 2, 20, 20, 3, 3, 3, 0},    {2, 17, 12, 12, 33, 1, 1, 0},
      {1, 3, 257, 257, 16, 3, 1, 1}, {1, 3, 40, 1000, 16, 3, 1, 1}, {4, 64, 14, 14, 64, 3, 1, 1},
      {1, 2, 9, 9, 40, 7, 2, 3},     {2, 8, 15, 70, 12, 2, 1, 0},   {1, 1, 5, 5, 1, 5, 1, 0},
      {2, 3, 66, 130, 9, 3, 1, 1},   {2, 17, 12, 12, 33, 3, 1, 1},  {1, 9, 30, 31, 40, 3, 2, 1},
      {3, 16, 7, 7, 48, 5, 1, 2},    {2, 32, 9, 11, 70, 3, 1, 0}};
  std::map<std::string, int> checked;
  for (Precision precision : kWalkedPrecisions) {
    for (const ConvShape& shape : shapes) {
      const ConvProblem problem(shape, precision, seed, shape.height);
      expect_walked_backends_verify(problem, checked);
    }
  }
  expect_every_available_backend_checked("convolution", kWalkedPrecisions, checked);
}

TEST(GpuReduction, EveryOpAxisBackendAndPrecisionVerifies) {
  print_gpu_walk("reduction", kWalkedPrecisions);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // (rows, cols): tiny, odd, wide-and-short (block per row), many rows (warp per row),
  // rows not 16-byte aligned (scalar path).
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
      {1, 1},    {7, 7},    {33, 33},   {257, 257},   {1000, 1000}, {3, 1001},
      {1001, 3}, {5, 5000}, {5000, 64}, {4300, 1030}, {4300, 1028}};
  std::map<std::string, int> checked;
  for (Precision precision : kWalkedPrecisions) {
    for (const auto& [rows, cols] : shapes) {
      for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean}) {
        for (ReduceAxis axis : {ReduceAxis::all, ReduceAxis::rows}) {
          const ReductionProblem problem(ReductionShape{rows, cols, op, axis}, precision, seed, rows);
          expect_walked_backends_verify(problem, checked);
        }
      }
    }
  }
  expect_every_available_backend_checked("reduction", kWalkedPrecisions, checked);
}

TEST(GpuBackends, BothTimingModesGivePositiveTimesAndVerifiedOutputs) {
  for (const std::string& workload : kWalkedWorkloads) print_gpu_walk(workload, {Precision::fp32});
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const GemmProblem gemm(GemmShape{65, 33, 70}, Precision::fp32, seed, 65);
  const ConvProblem conv(ConvShape{2, 3, 19, 23, 6, 3, 1, 1}, Precision::fp32, seed, 19);
  const ReductionProblem reduction(ReductionShape{37, 129, ReduceOp::mean, ReduceAxis::rows}, Precision::fp32, seed,
                                   37);
  std::map<std::string, int> checked;
  for (TimingMode mode : {TimingMode::kernel, TimingMode::end_to_end})
    for (const Problem* problem : std::initializer_list<const Problem*>{&gemm, &conv, &reduction})
      expect_walked_backends_verify(*problem, checked, mode);
  for (const std::string& workload : kWalkedWorkloads)
    expect_every_available_backend_checked(workload, {Precision::fp32}, checked);
}

// The tensor-core capability the roofline follows (BackendInfo::tensor_core_precisions, narrowed
// per run by Variant::uses_tensor_cores) agrees with the math each variant says it runs: every
// single-GPU backend of every workload, at every precision it declares, on a small problem.
TEST(GpuBackends, DeclaredTensorCoresAgreeWithTheMathTheVariantsName) {
  std::vector<std::string> walked_workloads;
  for (const WorkloadInfo& w : workloads()) {
    walked_workloads.push_back(w.name);
    print_gpu_walk(w.name, all_precisions());
  }
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const std::string& workload : walked_workloads) {
    for (const BackendInfo* info : gpu_backends_for(workload)) {
      for (Precision precision : info->precisions) {
        const auto problem = make_problem(workload, 64, precision, seed, WorkloadOptions{});
        if (!gpu_backend_takes(*info, *problem)) continue;
        SCOPED_TRACE(workload + "/" + info->name + "/" + to_string(precision));
        const auto variant = info->prepare(*problem, ExecutionConfig{});
        const bool tensor_cores = info->uses_tensor_cores_at(precision) && variant->uses_tensor_cores().value_or(true);
        std::string math;
        for (const auto& [key, value] : variant->notes())
          if (key == "math") math = value;
        if (tensor_cores) {
          EXPECT_NE(math.find("tensor"), std::string::npos) << "held against the tensor-core roof, math: " << math;
        } else {
          EXPECT_TRUE(math.find("tensor cores") == std::string::npos ||
                      math.find("no tensor cores") != std::string::npos)
              << "held against the CUDA-core roof, math: " << math;
        }
      }
    }
  }
}

TEST(GpuBackends, RepeatedRunsKeepTheOutputCorrect) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const ReductionProblem problem(ReductionShape{300, 301, ReduceOp::sum, ReduceAxis::all}, Precision::fp32, seed, 300);
  const auto variant = gpu_registry().find("reduction", "cuda")->prepare(problem, ExecutionConfig{});
  for (int i = 0; i < 3; ++i) {
    variant->run(i % 2 == 0 ? TimingMode::kernel : TimingMode::end_to_end);
    HostBuffer out(problem.output_precision(), problem.output_size());
    variant->read_output(out);
    EXPECT_TRUE(problem.verify(out).passed) << "run " << i;
  }
}

#if MLBENCH_TEST_BUILT_WITH_CUDA
// Runs one convolution plan on the problem's inputs and returns the output.
template <class T>
HostBuffer run_conv_plan(const ConvProblem& problem, const kernels::Conv2dPlan& plan) {
  kernels::DeviceBuffer in(problem.input().bytes()), w(problem.weights().bytes());
  kernels::DeviceBuffer out_device(problem.output_bytes());
  HostBuffer out(problem.output_precision(), problem.output_size());
  EXPECT_EQ(cudaMemcpy(in.get(), problem.input().raw(), in.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(w.get(), problem.weights().raw(), w.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(out_device.get(), 0xFF, out_device.bytes()), cudaSuccess);
  kernels::launch_conv2d_tiled<T>(plan, in.as<T>(), w.as<T>(), out_device.as<T>(), nullptr);
  EXPECT_EQ(cudaMemcpy(out.raw(), out_device.get(), out.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

TEST(GpuConvolution, DirectAndImplicitGemmKernelsBothVerifyWhenForced) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const std::vector<ConvShape> shapes = {{1, 1, 1, 1, 1, 1, 1, 0},     {2, 3, 7, 9, 5, 3, 1, 1},
                                         {2, 17, 12, 12, 33, 3, 1, 1}, {1, 9, 30, 31, 40, 3, 2, 1},
                                         {3, 16, 7, 7, 48, 5, 1, 2},   {1, 5, 40, 260, 130, 2, 1, 0},
                                         {4, 64, 14, 14, 64, 3, 1, 1}};
  for (const ConvShape& shape : shapes) {
    const ConvProblem problem(shape, Precision::fp32, seed, shape.height);
    for (auto algorithm : {kernels::ConvAlgorithm::direct, kernels::ConvAlgorithm::implicit_gemm}) {
      SCOPED_TRACE(problem.shape_label() + (algorithm == kernels::ConvAlgorithm::direct ? " direct" : " implicit"));
      const auto plan = kernels::plan_conv2d_tiled(shape, false, 0, algorithm);
      EXPECT_EQ(plan.implicit_gemm, algorithm == kernels::ConvAlgorithm::implicit_gemm);
      const HostBuffer out = run_conv_plan<float>(problem, plan);
      const Verification v = problem.verify(out);
      EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
    }
  }
}

// Every output element of an fp32 convolution against an fp64 direct sum, with a bound relative
// to sum |w * x| over the window (fp32 rounding of C*R*R products and sums).
::testing::AssertionResult every_conv_element_matches(const ConvProblem& problem, const HostBuffer& out) {
  const ConvShape& s = problem.shape();
  const float* x = problem.input().data<float>();
  const float* w = problem.weights().data<float>();
  const float* y = out.data<float>();
  const std::int64_t oh = s.out_height(), ow = s.out_width();
  const double eps = std::ldexp(1.0, -24) * static_cast<double>(s.channels * s.kernel * s.kernel + 2);
  std::int64_t wrong = 0;
  std::string first;
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t k = 0; k < s.filters; ++k)
      for (std::int64_t oy = 0; oy < oh; ++oy)
        for (std::int64_t ox = 0; ox < ow; ++ox) {
          double sum = 0, magnitude = 0;
          for (std::int64_t c = 0; c < s.channels; ++c)
            for (std::int64_t r = 0; r < s.kernel; ++r)
              for (std::int64_t q = 0; q < s.kernel; ++q) {
                const std::int64_t iy = oy * s.stride - s.pad + r, ix = ox * s.stride - s.pad + q;
                if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                const double p = static_cast<double>(w[((k * s.channels + c) * s.kernel + r) * s.kernel + q]) *
                                 x[((n * s.channels + c) * s.height + iy) * s.width + ix];
                sum += p;
                magnitude += std::fabs(p);
              }
          const double got = y[((n * s.filters + k) * oh + oy) * ow + ox];
          if (!(std::fabs(got - sum) <= eps * magnitude + 1e-30)) {
            if (wrong++ == 0)
              first = "n=" + std::to_string(n) + " k=" + std::to_string(k) + " y=" + std::to_string(oy) +
                      " x=" + std::to_string(ox) + " got " + std::to_string(got) + " want " + std::to_string(sum);
          }
        }
  if (wrong == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << wrong << " wrong elements, first " << first;
}

// Edge shapes of the first-layer (register-filter) kernel: widths that are and are not
// multiples of 4, that end inside a 128/256-column tile, heights that end inside a 16/32-row
// tile and a 4-row group, pads 0..2, 1..16 filters (odd counts leave a warp's second filter
// idle), batch 2. The tuning ctest Tuning.ConvFirstLayerKernelsValidateOnEdgeShapes runs the
// same shapes through the constant-filter experiment and the register-filter blockings.
std::vector<ConvShape> first_layer_edge_shapes() {
  return {{2, 3, 19, 37, 16, 3, 1, 1}, {1, 3, 33, 260, 16, 3, 1, 1}, {1, 3, 17, 130, 9, 3, 1, 0},
          {2, 1, 5, 257, 5, 3, 1, 2},  {1, 1, 1, 1, 1, 3, 1, 1},     {1, 3, 40, 516, 8, 3, 1, 1},
          {1, 3, 3, 3, 4, 3, 1, 0},    {2, 1, 34, 300, 16, 3, 1, 1}, {1, 3, 18, 132, 3, 3, 1, 2}};
}

TEST(GpuConvolution, RegisterFilterKernelMatchesFp64OnEveryElementOfEdgeShapes) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const ConvShape& shape : first_layer_edge_shapes()) {
    const ConvProblem problem(shape, Precision::fp32, seed, shape.height);
    SCOPED_TRACE(problem.shape_label());
    const auto plan = kernels::plan_conv2d_tiled(shape, false, 0, kernels::ConvAlgorithm::register_filters);
    ASSERT_TRUE(plan.register_filters);
    const HostBuffer out = run_conv_plan<float>(problem, plan);
    EXPECT_TRUE(every_conv_element_matches(problem, out));
    const Verification v = problem.verify(out);
    EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
  }
}

// Consecutive launches with different filters: each must see its own weights in the constant
// bank (the copy is ordered before the kernel on the stream).
TEST(GpuConvolution, RegisterFilterKernelUsesEachLaunchsOwnWeights) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const ConvShape shape{1, 3, 20, 140, 16, 3, 1, 1};
  const ConvProblem first(shape, Precision::fp32, seed, shape.height),
      second(shape, Precision::fp32, seed + 1, shape.height);
  const auto plan = kernels::plan_conv2d_tiled(shape, false, 0, kernels::ConvAlgorithm::register_filters);
  const HostBuffer out_first = run_conv_plan<float>(first, plan);
  const HostBuffer out_second = run_conv_plan<float>(second, plan);
  EXPECT_TRUE(every_conv_element_matches(first, out_first));
  EXPECT_TRUE(every_conv_element_matches(second, out_second));
}

TEST(GpuConvolution, AutomaticPlanPicksRegisterFiltersOnlyForEligibleFp32Shapes) {
  SKIP_WITHOUT_GPU();
  using kernels::ConvAlgorithm;
  const ConvShape main_job{1, 3, 4096, 4096, 16, 3, 1, 1};
  EXPECT_TRUE(kernels::plan_conv2d_tiled(main_job, false, 0, ConvAlgorithm::automatic, true).register_filters);
  // Elements not known to be fp32 (bf16/fp16 plan with fp64 = false), fp64, stride 2, 5x5,
  // 17 filters, 4 channels: the earlier kernels.
  EXPECT_FALSE(kernels::plan_conv2d_tiled(main_job, false, 0, ConvAlgorithm::automatic, false).register_filters);
  EXPECT_FALSE(kernels::plan_conv2d_tiled(main_job, true, 0, ConvAlgorithm::automatic, true).register_filters);
  for (const ConvShape& other : {ConvShape{1, 3, 64, 64, 16, 3, 2, 1}, ConvShape{1, 3, 64, 64, 16, 5, 1, 2},
                                 ConvShape{1, 3, 64, 64, 17, 3, 1, 1}, ConvShape{1, 4, 64, 64, 16, 3, 1, 1}}) {
    EXPECT_FALSE(kernels::plan_conv2d_tiled(other, false, 0, ConvAlgorithm::automatic, true).register_filters);
    EXPECT_THROW(kernels::plan_conv2d_tiled(other, false, 0, ConvAlgorithm::register_filters), std::invalid_argument);
  }
  EXPECT_THROW(kernels::plan_conv2d_tiled(main_job, true, 0, ConvAlgorithm::register_filters), std::invalid_argument);
}

#endif

#if MLBENCH_TEST_BUILT_WITH_CUDNN
// The cuDNN convolution's choice (single-GPU cudnn and the nccl engine alike), on the host: the
// candidates come fastest first and the first one whose output verifies is kept.
cudnnConvolutionFwdAlgoPerf_t candidate(cudnnConvolutionFwdAlgo_t algo) {
  cudnnConvolutionFwdAlgoPerf_t c{};
  c.algo = algo;
  c.mathType = CUDNN_FMA_MATH;
  return c;
}

TEST(CudnnAlgorithmChoice, TheFastestCandidateThatVerifiesIsKeptAndTheFasterOnesNamed) {
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates = {
      candidate(CUDNN_CONVOLUTION_FWD_ALGO_FFT), candidate(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD),
      candidate(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM), candidate(CUDNN_CONVOLUTION_FWD_ALGO_GEMM)};
  std::vector<cudnnConvolutionFwdAlgo_t> tried;
  const kernels::VerifiedAlgorithm verified = kernels::first_verified_algorithm(
      candidates, [&](const cudnnConvolutionFwdAlgoPerf_t& c) -> std::optional<std::string> {
        tried.push_back(c.algo);
        if (c.algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT) return std::string("error 3.0e-03 > 1.0e-05");
        if (c.algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD) return std::string("error 2.0e-04 > 1.0e-05");
        return std::nullopt;
      });
  EXPECT_EQ(verified.chosen.algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
  EXPECT_EQ(tried.size(), 3u) << "nothing slower than the first verified candidate is run";
  EXPECT_EQ(verified.rejected,
            (std::vector<std::string>{"FFT (error 3.0e-03 > 1.0e-05)", "WINOGRAD (error 2.0e-04 > 1.0e-05)"}));
}

TEST(CudnnAlgorithmChoice, WhenNoCandidateVerifiesTheErrorNamesEveryRejection) {
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates = {candidate(CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING),
                                                                 candidate(CUDNN_CONVOLUTION_FWD_ALGO_DIRECT)};
  try {
    kernels::first_verified_algorithm(candidates, [](const cudnnConvolutionFwdAlgoPerf_t& c) {
      return std::optional<std::string>(c.algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT ? "GPU 1: not supported"
                                                                                    : "error 1.0e+00 > 1.0e-05");
    });
    FAIL() << "no candidate verified, yet one was chosen";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "no cuDNN algorithm passed verification: FFT_TILING (error 1.0e+00 > 1.0e-05), "
              "DIRECT (GPU 1: not supported)");
  }
  EXPECT_THROW(kernels::first_verified_algorithm(
                   {}, [](const cudnnConvolutionFwdAlgoPerf_t&) { return std::optional<std::string>(); }),
               std::runtime_error);
}
#endif

}  // namespace
}  // namespace mlbench
