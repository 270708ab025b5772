// GEMM on the GPU at every precision: the tensor-core kernel (bf16/fp16) and cuBLAS at fp64,
// fp32, tf32, bf16, fp16. Registration checks run everywhere; the rest skips without a CUDA
// device. Every GPU test draws fresh random inputs and prints its seed. Timing the kernel's
// tiles next to cuBLAS is the tuning lab's job: `mlbench_tune_gemm --precision bf16,fp16`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/gemm.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/gemm_tensor_core.h"
#include "kernels/gpu_variant.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

const std::vector<std::string> kGemmGpuBackends = {"cuda", "cublas", "cublas-tf32"};

std::string note(const Variant& variant, const std::string& key) {
  for (const auto& [k, v] : variant.notes())
    if (k == key) return v;
  return "";
}

// Prepares `info` on `problem`, runs it once in `mode`, and returns its verification.
Verification run_and_verify(const BackendInfo& info, const GemmProblem& problem, TimingMode mode,
                            HostBuffer* output = nullptr) {
  const auto variant = info.prepare(problem, ExecutionConfig{});
  const double seconds = variant->run(mode);
  EXPECT_TRUE(seconds > 0.0 && std::isfinite(seconds)) << seconds;
  HostBuffer out(problem.output_precision(), problem.output_size());
  variant->read_output(out);
  const Verification v = problem.verify(out, variant->input_rounding());
  if (output != nullptr) *output = std::move(out);
  return v;
}

// ---------------------------------------------------------------- registration (runs everywhere)

TEST(TensorCoreRegistration, GemmBackendsDeclareTheirPrecisions) {
  const Registry& registry = gpu_registry();
  for (const std::string& name : kGemmGpuBackends) ASSERT_NE(registry.find("gemm", name), nullptr) << name;
#if MLBENCH_TEST_BUILT_WITH_CUDA
  for (const char* name : {"cuda", "cublas"}) {
    for (Precision p : all_precisions()) {
      EXPECT_TRUE(registry.find("gemm", name)->supports_precision(p)) << name << " " << to_string(p);
    }
  }
  const BackendInfo* tf32 = registry.find("gemm", "cublas-tf32");
  EXPECT_TRUE(tf32->supports_precision(Precision::fp32));
  EXPECT_TRUE(tf32->supports_precision(Precision::tf32));
  for (Precision p : {Precision::fp64, Precision::bf16, Precision::fp16}) EXPECT_FALSE(tf32->supports_precision(p));
#else
  GTEST_SKIP() << "built without CUDA: the GEMM backends register as unavailable";
#endif
}

// ---------------------------------------------------------------- on a GPU

// Shapes chosen to hit every path of the tensor-core kernel: single elements, K below one
// mma step, K and N not multiples of 8 (element-wise loads), partial tiles in every
// dimension, K = 8, and enough tiles for the 128x256 tile (>= one block per SM on an H100).
const std::vector<GemmShape> kAwkwardShapes = {{1, 1, 1},          {7, 5, 3},        {65, 33, 70},     {129, 257, 65},
                                               {1000, 1000, 1000}, {130, 136, 8},    {200, 256, 13},   {256, 131, 64},
                                               {300, 264, 136},    {17, 1000, 1001}, {2304, 2048, 72}, {3, 8, 4096}};

TEST(TensorCoreGemm, EveryGemmBackendAtEveryDeclaredPrecisionVerifiesOnAwkwardShapes) {
  print_gpu_walk("gemm", all_precisions());
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::map<std::string, int> checked;
  for (Precision precision : all_precisions()) {
    for (const GemmShape& shape : kAwkwardShapes) {
      const GemmProblem problem(shape, precision, seed, shape.m);
      for (const BackendInfo* info : gpu_backends_for("gemm")) {
        if (!gpu_backend_takes(*info, problem)) continue;
        ++checked["gemm/" + info->name];
        SCOPED_TRACE(info->name + " " + to_string(precision) + " " + problem.shape_label());
        const Verification v = run_and_verify(*info, problem, TimingMode::kernel);
        EXPECT_TRUE(v.passed) << "error " << v.max_error << " > tolerance " << v.tolerance << " (" << v.method << ") "
                              << v.detail;
      }
    }
  }
  expect_every_available_backend_checked("gemm", all_precisions(), checked);
}

TEST(TensorCoreGemm, EndToEndModeAlsoVerifiesAtTheReducedPrecisions) {
  const std::vector<Precision> reduced = {Precision::tf32, Precision::bf16, Precision::fp16};
  print_gpu_walk("gemm", reduced);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : reduced) {
    const GemmProblem problem(GemmShape{65, 136, 70}, precision, seed, 65);
    for (const BackendInfo* info : gpu_backends_for("gemm")) {
      if (!gpu_backend_takes(*info, problem)) continue;
      SCOPED_TRACE(info->name + " " + to_string(precision));
      const Verification v = run_and_verify(*info, problem, TimingMode::end_to_end);
      EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
    }
  }
}

TEST(TensorCoreGemm, VariantsSayWhichMathTheyUse) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  const GemmProblem bf16(GemmShape{64, 64, 64}, Precision::bf16, seed, 64);
  const GemmProblem fp16(GemmShape{64, 64, 64}, Precision::fp16, seed, 64);
  const GemmProblem tf32(GemmShape{64, 64, 64}, Precision::tf32, seed, 64);
  const GemmProblem fp32(GemmShape{64, 64, 64}, Precision::fp32, seed, 64);
  auto prepare = [](const char* backend, const Problem& p) {
    return gpu_registry().find("gemm", backend)->prepare(p, ExecutionConfig{});
  };
  EXPECT_NE(note(*prepare("cuda", bf16), "math").find("bf16 tensor cores"), std::string::npos);
  EXPECT_NE(note(*prepare("cuda", fp16), "math").find("fp16 tensor cores"), std::string::npos);
  EXPECT_EQ(note(*prepare("cublas", bf16), "math"), "bf16 tensor cores");
  EXPECT_EQ(note(*prepare("cublas", fp16), "math"), "fp16 tensor cores");
  EXPECT_EQ(note(*prepare("cublas", tf32), "math"), "tf32 tensor cores");
  EXPECT_EQ(note(*prepare("cublas", fp32), "math"), "pedantic (no tf32)");
  EXPECT_NE(note(*prepare("cuda", tf32), "compute").find("CUDA cores"), std::string::npos);
  // TF32 inputs are already TF32: nothing is rounded; fp32 inputs on cublas-tf32 are.
  EXPECT_EQ(prepare("cublas-tf32", tf32)->input_rounding(), 0.0);
  EXPECT_EQ(prepare("cublas", tf32)->input_rounding(), 0.0);
  EXPECT_EQ(prepare("cublas-tf32", fp32)->input_rounding(), std::ldexp(1.0, -11));
}

TEST(TensorCoreGemm, RepeatedRunsGiveBitIdenticalOutputs) {
  // The kernel has no atomics and a fixed summation order: a differing bit means a race.
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : {Precision::bf16, Precision::fp16}) {
    const GemmProblem problem(GemmShape{777, 1032, 520}, precision, seed, 777);
    const auto variant = gpu_registry().find("gemm", "cuda")->prepare(problem, ExecutionConfig{});
    HostBuffer first(problem.output_precision(), problem.output_size());
    HostBuffer again(problem.output_precision(), problem.output_size());
    variant->run(TimingMode::kernel);
    variant->read_output(first);
    for (int i = 0; i < 3; ++i) {
      variant->run(TimingMode::kernel);
      variant->read_output(again);
      EXPECT_EQ(std::memcmp(first.raw(), again.raw(), first.bytes()), 0) << to_string(precision) << " run " << i;
    }
    EXPECT_TRUE(problem.verify(first).passed);
  }
}

TEST(TensorCoreGemm, ALostKSliceFailsVerification) {
  // The check must be able to fail: a 16-bit result that misses one term of each dot product
  // (the product with the last K column zeroed) is caught.
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  const GemmProblem problem(GemmShape{96, 72, 40}, Precision::bf16, seed, 96);
  HostBuffer out;
  const BackendInfo& cuda = *gpu_registry().find("gemm", "cuda");
  ASSERT_TRUE(cuda.supports(problem).available) << cuda.supports(problem).reason;
  ASSERT_TRUE(run_and_verify(cuda, problem, TimingMode::kernel, &out).passed);
  const auto& s = problem.shape();
  for (std::int64_t i = 0; i < s.m; ++i)
    for (std::int64_t j = 0; j < s.n; ++j) {
      const std::size_t idx = static_cast<std::size_t>(i * s.n + j);
      out.set(idx, out.get(idx) - problem.a().get(i * s.k + s.k - 1) * problem.b().get((s.k - 1) * s.n + j));
    }
  EXPECT_FALSE(problem.verify(out).passed);
}

#if MLBENCH_TEST_BUILT_WITH_CUDA
// Runs the tensor-core kernel once with an explicit tile on device copies of the problem's
// inputs (output poisoned first) and copies the output into `out`.
template <class T>
void run_tile(const GemmProblem& p, kernels::TensorCoreTile tile, HostBuffer& out) {
  const auto& s = p.shape();
  kernels::DeviceBuffer a(p.a().bytes()), b(p.b().bytes()), c(out.bytes());
  ASSERT_EQ(cudaMemcpy(a.get(), p.a().raw(), a.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(b.get(), p.b().raw(), b.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(c.get(), 0xFF, c.bytes()), cudaSuccess);
  kernels::launch_gemm_tensor_core<T>(a.as<T>(), b.as<T>(), c.as<T>(), s.m, s.n, s.k, nullptr, tile);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(out.raw(), c.get(), out.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
}

void run_tile(const GemmProblem& p, kernels::TensorCoreTile tile, HostBuffer& out) {
  if (p.precision() == Precision::bf16) {
    run_tile<bfloat16>(p, tile, out);
  } else {
    run_tile<float16>(p, tile, out);
  }
}

TEST(TensorCoreGemm, EveryTileVerifiesOnEdgeShapes) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // Aligned shapes (cp.async path) with partial tiles in M, N and K, and one unaligned shape.
  const std::vector<GemmShape> shapes = {{200, 264, 72}, {129, 520, 1000}, {77, 136, 40}, {300, 301, 97}};
  for (Precision precision : {Precision::bf16, Precision::fp16}) {
    for (const GemmShape& shape : shapes) {
      const GemmProblem problem(shape, precision, seed, shape.m);
      for (kernels::TensorCoreTile tile : kernels::tensor_core_tiles()) {
        if (kernels::is_wgmma(tile) && !kernels::tensor_core_wgmma_available(0)) continue;
        SCOPED_TRACE(kernels::to_string(tile) + " " + to_string(precision) + " " + problem.shape_label());
        HostBuffer out(problem.output_precision(), problem.output_size());
        run_tile(problem, tile, out);
        const Verification v = problem.verify(out);
        EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
      }
    }
  }
}

TEST(TensorCoreGemm, AutomaticTilePicksByBlockCountAndDevice) {
  using kernels::TensorCoreTile;
  EXPECT_EQ(kernels::pick_tensor_core_tile(8192, 8192, 132, true), TensorCoreTile::wgmma_m128n256k64s4);
  EXPECT_EQ(kernels::pick_tensor_core_tile(8192, 8192, 132, false), TensorCoreTile::m128n128k32s4);
  EXPECT_EQ(kernels::pick_tensor_core_tile(2048, 2048, 132, true), TensorCoreTile::wgmma_m128n256k64s4);
  EXPECT_EQ(kernels::pick_tensor_core_tile(1024, 1024, 132, true), TensorCoreTile::m64n64k32s4);
  EXPECT_EQ(kernels::pick_tensor_core_tile(7, 5, 132, true), TensorCoreTile::m64n64k32s4);
  EXPECT_TRUE(kernels::tensor_core_vectorized(nullptr, nullptr, 64, 8));
  EXPECT_FALSE(kernels::tensor_core_vectorized(nullptr, nullptr, 64, 12));
  EXPECT_FALSE(kernels::tensor_core_vectorized(nullptr, nullptr, 63, 8));
}
#endif

}  // namespace
}  // namespace mlbench
