// The convolution and reduction GPU backends at every precision they declare (tf32, bf16, fp16
// next to fp32 and fp64): each verifies against Problem::verify() on awkward shapes, with fresh
// random seeds printed. Without a CUDA device the GPU tests skip with the reason. Timing them
// at the reduced precisions is the tuning lab's job: `mlbench_tune_conv` and
// `mlbench_tune_reduce` with `--precision fp32,tf32,bf16,fp16`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/backend.h"
#include "bench/convolution.h"
#include "bench/reduction.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/conv2d_tiled.h"
#include "kernels/gpu_variant.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

const BackendInfo& backend(const std::string& workload, const std::string& name) {
  const BackendInfo* info = gpu_registry().find(workload, name);
  if (info == nullptr) throw std::logic_error("no backend " + workload + "/" + name);
  return *info;
}

const std::vector<Precision> kReduced = {Precision::tf32, Precision::bf16, Precision::fp16};

std::string note(const Variant& variant, const std::string& key) {
  for (const auto& [k, v] : variant.notes())
    if (k == key) return v;
  return {};
}

// Prepares the backend, runs it once in `mode`, reads the output in output_precision() and
// verifies it. Returns the variant's notes for further checks.
std::vector<std::pair<std::string, std::string>> expect_verifies(const BackendInfo& info, const Problem& problem,
                                                                 TimingMode mode = TimingMode::kernel) {
  SCOPED_TRACE(info.workload + "/" + info.name + "/" + to_string(problem.precision()) + "/" + problem.shape_label() +
               "/" + to_string(mode));
  // A backend that throws (no algorithm for the type, a launch error) fails this combination
  // only; the loop goes on with the others.
  std::unique_ptr<Variant> variant;
  try {
    variant = info.prepare(problem, ExecutionConfig{});
  } catch (const std::exception& e) {
    ADD_FAILURE() << "prepare threw: " << e.what();
    return {};
  }
  EXPECT_NE(variant, nullptr);
  if (variant == nullptr) return {};
  const double seconds = variant->run(mode);
  EXPECT_GT(seconds, 0.0);
  EXPECT_TRUE(std::isfinite(seconds));
  HostBuffer out(problem.output_precision(), problem.output_size());
  variant->read_output(out);
  // Inputs are used as given (tf32 values are multiplied exactly by TF32 tensor cores).
  EXPECT_EQ(variant->input_rounding(), 0.0);
  const Verification v = problem.verify(out, variant->input_rounding());
  EXPECT_TRUE(v.passed) << "error " << v.max_error << " > tolerance " << v.tolerance << " (" << v.method << ") "
                        << v.detail;
  return variant->notes();
}

std::string find_note(const std::vector<std::pair<std::string, std::string>>& notes, const std::string& key) {
  for (const auto& [k, v] : notes)
    if (k == key) return v;
  return {};
}

// batch, channels, height, width, filters, kernel, stride, pad (as gpu_backends_test.cpp): tiny,
// odd sizes, strides, wide images, deep layers (implicit GEMM), odd depths (C*R*R not a
// multiple of 4: element-wise filter loads) and odd output planes (element-wise stores).
const std::vector<ConvShape>& conv_shapes() {
  static const std::vector<ConvShape> shapes = {
      {1, 1, 1, 1, 1, 1, 1, 0},      {2, 3, 7, 9, 5, 3, 1, 1},      {1, 4, 33, 33, 16, 3, 2, 1},
      {3, 5, 17, 31, 7, 5, 1, 2},    {1, 2, 20, 20, 3, 3, 3, 0},    {2, 17, 12, 12, 33, 1, 1, 0},
      {1, 3, 257, 257, 16, 3, 1, 1}, {1, 3, 40, 1000, 16, 3, 1, 1}, {4, 64, 14, 14, 64, 3, 1, 1},
      {1, 2, 9, 9, 40, 7, 2, 3},     {2, 8, 15, 70, 12, 2, 1, 0},   {1, 1, 5, 5, 1, 5, 1, 0},
      {2, 3, 66, 130, 9, 3, 1, 1},   {2, 17, 12, 12, 33, 3, 1, 1},  {1, 9, 30, 31, 40, 3, 2, 1},
      {3, 16, 7, 7, 48, 5, 1, 2},    {2, 32, 9, 11, 70, 3, 1, 0},   {1, 5, 40, 260, 130, 2, 1, 0}};
  return shapes;
}

// (rows, cols): tiny, odd, wide-and-short (block per row), many rows (warp per row), rows whose
// length is a multiple of 4 but not of 8 (16-bit rows not 16-byte aligned: element-wise path),
// totals with a tail of fewer than 8 elements.
const std::vector<std::pair<std::int64_t, std::int64_t>>& reduction_shapes() {
  static const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
      {1, 1},    {7, 7},     {33, 33},     {257, 257},   {1000, 1000}, {3, 1001}, {1001, 3},
      {5, 5000}, {5000, 64}, {4300, 1030}, {4300, 1028}, {1, 9},       {3, 8},    {17, 2052}};
  return shapes;
}

// ---------------------------------------------------------------- registration (runs everywhere)

#if MLBENCH_TEST_BUILT_WITH_CUDA
TEST(GpuPrecisionRegistration, ConvolutionBackendsDeclareEveryPrecision) {
  for (const char* name : {"cuda", "cudnn"}) {
    for (Precision p : all_precisions())
      EXPECT_TRUE(backend("convolution", name).supports_precision(p)) << name << " " << to_string(p);
  }
}

TEST(GpuPrecisionRegistration, ReductionBackendsDeclareThe16BitTypesButNotTf32) {
  for (const char* name : {"cuda", "cub"}) {
    const BackendInfo& info = backend("reduction", name);
    for (Precision p : {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16})
      EXPECT_TRUE(info.supports_precision(p)) << name << " " << to_string(p);
    EXPECT_FALSE(info.supports_precision(Precision::tf32)) << name;
  }
}
#endif

// ---------------------------------------------------------------- on a GPU

TEST(GpuPrecisionConvolution, EveryBackendAtEveryDeclaredPrecisionVerifies) {
  print_gpu_walk("convolution", all_precisions());
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  std::map<std::string, int> checked;
  for (const BackendInfo* info : gpu_backends_for("convolution")) {
    for (Precision precision : info->precisions) {
      for (const ConvShape& shape : conv_shapes()) {
        const ConvProblem problem(shape, precision, seed, shape.height);
        if (!gpu_backend_takes(*info, problem)) continue;
        ++checked["convolution/" + info->name];
        const auto notes = expect_verifies(*info, problem);
        if (info->kind == BackendKind::gpu && is_reduced(precision) && !info->uses_tensor_cores_at(precision)) {
          // mlbench's own kernels off the tensor cores say what they did with the type.
          EXPECT_EQ(find_note(notes, "math").find("tensor"), std::string::npos);
          EXPECT_NE(find_note(notes, "compute").find(to_string(precision)), std::string::npos);
        }
        if (info->kind == BackendKind::gpu_library) {
          EXPECT_FALSE(find_note(notes, "math").empty()) << "a library names the math it chose";
        }
      }
    }
  }
  expect_every_available_backend_checked("convolution", all_precisions(), checked);
}

TEST(GpuPrecisionReduction, EveryOpAxisBackendAndDeclaredPrecisionVerifies) {
  print_gpu_walk("reduction", all_precisions());
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  std::map<std::string, int> checked;
  for (const BackendInfo* info : gpu_backends_for("reduction")) {
    for (Precision precision : info->precisions) {
      for (const auto& [rows, cols] : reduction_shapes()) {
        for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean}) {
          for (ReduceAxis axis : {ReduceAxis::all, ReduceAxis::rows}) {
            const ReductionProblem problem(ReductionShape{rows, cols, op, axis}, precision, seed, rows);
            if (!gpu_backend_takes(*info, problem)) continue;
            ++checked["reduction/" + info->name];
            const auto notes = expect_verifies(*info, problem);
            if (is_16bit(precision)) {
              EXPECT_NE(find_note(notes, "compute").find("fp32"), std::string::npos);
            }
          }
        }
      }
    }
  }
  expect_every_available_backend_checked("reduction", all_precisions(), checked);
}

TEST(GpuPrecisionReduction, SixteenBitSumsAccumulateInFp32) {
  // 2^16 ones: a bf16 accumulator would stop at 256 and an fp16 one at 2048; fp32 is exact.
  print_gpu_walk("reduction", {Precision::bf16, Precision::fp16});
  SKIP_WITHOUT_GPU();
  for (Precision precision : {Precision::bf16, Precision::fp16}) {
    ReductionProblem problem(ReductionShape{256, 256, ReduceOp::sum, ReduceAxis::all}, precision, 1, 256);
    HostBuffer& input = const_cast<HostBuffer&>(problem.input());  // the test's own problem
    for (std::size_t i = 0; i < input.size(); ++i) input.set(i, 1.0);
    for (const BackendInfo* info : gpu_backends_for("reduction")) {
      if (!gpu_backend_takes(*info, problem)) continue;
      SCOPED_TRACE(info->name + " " + to_string(precision));
      const auto variant = info->prepare(problem, ExecutionConfig{});
      variant->run(TimingMode::kernel);
      HostBuffer out(problem.output_precision(), problem.output_size());
      variant->read_output(out);
      EXPECT_EQ(out.precision(), Precision::fp32);
      EXPECT_EQ(out.get(0), 65536.0);
    }
  }
}

TEST(GpuPrecision, EndToEndModeCopiesInputsAndTheOutputAtTheirOwnSizes) {
  print_gpu_walk("convolution", kReduced);
  print_gpu_walk("reduction", kReduced);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : kReduced) {
    const ConvProblem conv(ConvShape{2, 3, 19, 23, 6, 3, 1, 1}, precision, seed, 19);
    for (const BackendInfo* info : gpu_backends_for("convolution"))
      if (gpu_backend_takes(*info, conv)) expect_verifies(*info, conv, TimingMode::end_to_end);
    if (precision == Precision::tf32) continue;  // no tf32 reduction problem
    const ReductionProblem reduction(ReductionShape{37, 129, ReduceOp::mean, ReduceAxis::rows}, precision, seed, 37);
    for (const BackendInfo* info : gpu_backends_for("reduction"))
      if (gpu_backend_takes(*info, reduction)) expect_verifies(*info, reduction, TimingMode::end_to_end);
  }
}

TEST(GpuPrecisionConvolution, CudnnNamesTheMathOfTheChosenAlgorithm) {
  SKIP_WITHOUT_GPU();
  if (!backend("convolution", "cudnn").availability().available) GTEST_SKIP() << "built without cuDNN";
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : all_precisions()) {
    const ConvProblem problem(ConvShape{2, 16, 30, 30, 32, 3, 1, 1}, precision, seed, 30);
    const auto variant = backend("convolution", "cudnn").prepare(problem, ExecutionConfig{});
    const std::string math = note(*variant, "math");
    std::printf("cudnn %s: algorithm %s, math %s\n", to_string(precision).c_str(), note(*variant, "algorithm").c_str(),
                math.c_str());
    // fp32 never runs on TF32 tensor cores; the reduced types name their type with the math.
    if (precision == Precision::fp32) {
      EXPECT_EQ(math.find("tensor"), std::string::npos) << math;
    }
    // The run's tensor-core answer, which the roofline follows (Variant::uses_tensor_cores): the
    // algorithm search decides it, so the variant always gives one; never at fp32, and at the
    // reduced types only where the backend declares tensor cores.
    const std::optional<bool> tensor_cores = variant->uses_tensor_cores();
    ASSERT_TRUE(tensor_cores.has_value());
    if (precision == Precision::fp32) {
      EXPECT_FALSE(*tensor_cores) << math;
    }
    if (is_reduced(precision) && *tensor_cores) {
      EXPECT_TRUE(backend("convolution", "cudnn").uses_tensor_cores_at(precision)) << to_string(precision);
    }
    if (is_reduced(precision) && math.find("tensor") != std::string::npos) {
      EXPECT_NE(math.find(to_string(precision)), std::string::npos) << math;
    }
  }
}

#if MLBENCH_TEST_BUILT_WITH_CUDA
// Runs one convolution plan on the problem's inputs (element type T) and returns the output.
template <class T>
HostBuffer run_conv_plan(const ConvProblem& problem, const kernels::Conv2dPlan& plan) {
  kernels::DeviceBuffer in(problem.input().bytes()), w(problem.weights().bytes());
  kernels::DeviceBuffer out_device(problem.output_bytes());
  HostBuffer out(problem.output_precision(), problem.output_size());
  EXPECT_EQ(cudaMemcpy(in.get(), problem.input().raw(), in.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(w.get(), problem.weights().raw(), w.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(out_device.get(), 0xFF, out_device.bytes()), cudaSuccess);
  kernels::launch_conv2d_tiled<T>(plan, in.as<T>(), w.as<T>(), out_device.as<T>(), nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(out.raw(), out_device.get(), out.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

HostBuffer run_conv_plan_at(const ConvProblem& problem, const kernels::Conv2dPlan& plan) {
  switch (problem.precision()) {
    case Precision::bf16: return run_conv_plan<bfloat16>(problem, plan);
    case Precision::fp16: return run_conv_plan<float16>(problem, plan);
    case Precision::fp64: return run_conv_plan<double>(problem, plan);
    default: return run_conv_plan<float>(problem, plan);
  }
}

TEST(GpuPrecisionConvolution, EveryDirectBlockingAndImplicitGemmVerifiesAtReducedPrecisions) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  const std::vector<ConvShape> shapes = {{1, 1, 1, 1, 1, 1, 1, 0},      {2, 5, 19, 150, 37, 3, 1, 1},
                                         {1, 3, 21, 70, 9, 3, 2, 0},    {2, 17, 12, 12, 33, 3, 1, 1},
                                         {1, 5, 40, 260, 130, 2, 1, 0}, {4, 64, 14, 14, 64, 3, 1, 1}};
  for (Precision precision : {Precision::tf32, Precision::bf16, Precision::fp16}) {
    for (const ConvShape& shape : shapes) {
      const ConvProblem problem(shape, precision, seed, shape.height);
      std::vector<std::pair<std::string, kernels::Conv2dPlan>> plans;
      plans.emplace_back("implicit GEMM",
                         kernels::plan_conv2d_tiled(shape, false, 0, kernels::ConvAlgorithm::implicit_gemm));
      for (int pixels : {1, 2, 4})
        for (int filters : {4, 8, 16, 32})
          if (filters * pixels <= 64)
            plans.emplace_back("direct px=" + std::to_string(pixels) + " kg=" + std::to_string(filters),
                               kernels::plan_conv2d_direct(shape, false, 0, pixels, filters));
      for (const auto& [label, plan] : plans) {
        SCOPED_TRACE(problem.shape_label() + " " + to_string(precision) + " " + label);
        const HostBuffer out = run_conv_plan_at(problem, plan);
        const Verification v = problem.verify(out);
        EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
      }
    }
  }
}
#endif

}  // namespace
}  // namespace mlbench
