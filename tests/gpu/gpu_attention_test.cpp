// Attention on the GPU: the hand-written kernels (`cuda`), cuDNN's fused attention (`cudnn`)
// and the unfused cuBLAS baseline (`cublas`) at every precision each declares, on awkward
// shapes (S = 1, 7, 33, 257: partial tiles, single rows; head dims padded inside the kernel;
// several batches and heads), causal and not, every element checked against fp64 by the
// problem. Registration checks run everywhere; the rest skips without a CUDA device. Every
// test draws fresh random inputs and prints its seed. Timing each compiled tile configuration
// at the benchmark shapes is the tuning lab's job: `mlbench_tune_attention`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/attention.h"
#include "bench/backend.h"
#include "bench/workloads.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/attention_flash.h"
#include "kernels/gpu_variant.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

const std::vector<std::string> kAttentionBackends = {"cuda", "cudnn", "cublas"};

std::unique_ptr<AttentionProblem> attention(std::int64_t b, std::int64_t h, std::int64_t s, std::int64_t d, bool causal,
                                            Precision precision, std::uint64_t seed) {
  WorkloadOptions o;
  o.get<AttentionOptions>() = {b, h, d, causal};
  auto problem = make_problem("attention", s, precision, seed, o);
  return std::unique_ptr<AttentionProblem>(static_cast<AttentionProblem*>(problem.release()));
}

std::string note(const Variant& variant, const std::string& key) {
  for (const auto& [k, v] : variant.notes())
    if (k == key) return v;
  return "";
}

// Prepares `info`, runs it once in `mode`, returns the verification of its output.
Verification run_and_verify(const BackendInfo& info, const Problem& problem, TimingMode mode,
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

// Every precision an attention problem exists at (there is no tf32 one).
const std::vector<Precision> kAttentionPrecisions = {Precision::fp64, Precision::fp32, Precision::bf16,
                                                     Precision::fp16};

// ---------------------------------------------------------------- registration (runs everywhere)

TEST(AttentionGpuRegistration, BackendsExistWithTheirPrecisions) {
  const Registry& registry = gpu_registry();
  for (const std::string& name : kAttentionBackends) ASSERT_NE(registry.find("attention", name), nullptr) << name;
  ASSERT_NE(registry.find("softmax", "cuda"), nullptr);
  ASSERT_NE(registry.find("softmax", "cudnn"), nullptr);
  ASSERT_NE(registry.find("layernorm", "cuda"), nullptr);
  for (const char* name : {"cuda", "cublas"}) {
    for (Precision p : {Precision::fp64, Precision::fp32, Precision::bf16, Precision::fp16})
      EXPECT_TRUE(registry.find("attention", name)->supports_precision(p)) << name << " " << to_string(p);
    EXPECT_FALSE(registry.find("attention", name)->supports_precision(Precision::tf32)) << name;
  }
  const BackendInfo* cudnn = registry.find("attention", "cudnn");
  EXPECT_TRUE(cudnn->supports_precision(Precision::bf16));
  EXPECT_TRUE(cudnn->supports_precision(Precision::fp16));
  EXPECT_FALSE(cudnn->supports_precision(Precision::fp32));
  EXPECT_FALSE(cudnn->supports_precision(Precision::fp64));
  EXPECT_EQ(registry.find("attention", "cuda")->vendor_reference, "cudnn");
  EXPECT_EQ(registry.find("softmax", "cuda")->vendor_reference, "cudnn");
#if !MLBENCH_TEST_BUILT_WITH_CUDA
  // Without CUDA every one says why it cannot run.
  for (const std::string& name : kAttentionBackends) {
    const Availability a = registry.find("attention", name)->availability();
    EXPECT_FALSE(a.available);
    EXPECT_NE(a.reason.find("CUDA"), std::string::npos) << a.reason;
  }
#endif
}

// ---------------------------------------------------------------- on a GPU

struct AttentionCase {
  std::int64_t batch, heads, seq, head_dim;
};
// S = 1 and 7 (one partial tile), 33, 257 (partial last tiles of 64 and 128); head dims
// padded to 32 (24), exactly 64 and 128; two batches of three heads (the head offsets).
const std::vector<AttentionCase> kAwkward = {{1, 1, 1, 64},    {1, 2, 7, 24},   {2, 3, 33, 64},
                                             {1, 2, 257, 128}, {2, 1, 257, 24}, {1, 1, 130, 64}};

TEST(AttentionGpu, EveryBackendAtEveryDeclaredPrecisionVerifiesOnAwkwardShapes) {
  print_gpu_walk("attention", kAttentionPrecisions);
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::map<std::string, int> checked;
  for (Precision precision : kAttentionPrecisions) {
    for (const AttentionCase& c : kAwkward) {
      for (bool causal : {false, true}) {
        const auto problem = attention(c.batch, c.heads, c.seq, c.head_dim, causal, precision, seed);
        for (const BackendInfo* info : gpu_backends_for("attention")) {
          if (!gpu_backend_takes(*info, *problem)) continue;
          ++checked["attention/" + info->name];
          SCOPED_TRACE(info->name + " " + to_string(precision) + " " + problem->shape_label());
          const Verification v = run_and_verify(*info, *problem, TimingMode::kernel);
          EXPECT_TRUE(v.passed) << "error " << v.max_error << " > tolerance " << v.tolerance << " (" << v.method << ") "
                                << v.detail;
        }
      }
    }
  }
  expect_every_available_backend_checked("attention", kAttentionPrecisions, checked);
}

TEST(AttentionGpu, CudaCoreKernelTakesHeadDimsThatAreNoMultipleOfEight) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : {Precision::fp64, Precision::fp32}) {
    for (std::int64_t d : {1, 13, 100}) {
      const auto problem = attention(1, 2, 70, d, true, precision, seed);
      SCOPED_TRACE(to_string(precision) + " " + problem->shape_label());
      const BackendInfo& cuda = *gpu_registry().find("attention", "cuda");
      const Availability supported = cuda.supports(*problem);
      ASSERT_TRUE(supported.available) << supported.reason;
      const Verification v = run_and_verify(cuda, *problem, TimingMode::kernel);
      EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
    }
  }
}

TEST(AttentionGpu, TensorCoreKernelRefusesHeadDimsItCannotLoadAndSaysWhy) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  for (std::int64_t d : {13, 136}) {
    const auto problem = attention(1, 1, 16, d, false, Precision::bf16, seed);
    const Availability a = gpu_registry().find("attention", "cuda")->supports(*problem);
    EXPECT_FALSE(a.available) << d;
    EXPECT_NE(a.reason.find("head_dim"), std::string::npos) << a.reason;
  }
}

TEST(AttentionGpu, CudnnRefusesHeadDimsItsEnginesDoNotTakeAndSaysWhy) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  for (std::int64_t d : {12, 264}) {
    const auto problem = attention(1, 1, 16, d, false, Precision::bf16, seed);
    const Availability a = gpu_registry().find("attention", "cudnn")->supports(*problem);
    EXPECT_FALSE(a.available) << d;
    EXPECT_NE(a.reason.find("head_dim"), std::string::npos) << a.reason;
  }
}

TEST(AttentionGpu, EndToEndModeVerifies) {
  print_gpu_walk("attention", {Precision::fp32, Precision::bf16});
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : {Precision::fp32, Precision::bf16}) {
    const auto problem = attention(2, 2, 100, 64, true, precision, seed);
    for (const BackendInfo* info : gpu_backends_for("attention")) {
      if (!gpu_backend_takes(*info, *problem)) continue;
      SCOPED_TRACE(info->name + " " + to_string(precision));
      const Verification v = run_and_verify(*info, *problem, TimingMode::end_to_end);
      EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
    }
  }
}

TEST(AttentionGpu, SampledCheckAtALargerShapeVerifies) {
  // Above the exhaustive limit the problem checks sampled rows exactly and the rest by random
  // projections: the kernels pass that scheme too (lowered limit, moderate size).
  print_gpu_walk("attention", {Precision::bf16});
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto problem = attention(1, 4, 1000, 128, false, Precision::bf16, seed);
  problem->set_exhaustive_work(1e6);
  for (const BackendInfo* info : gpu_backends_for("attention")) {
    if (!gpu_backend_takes(*info, *problem)) continue;
    SCOPED_TRACE(info->name);
    const Verification v = run_and_verify(*info, *problem, TimingMode::kernel);
    EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
  }
}

TEST(AttentionGpu, VariantsSayWhatTheyRun) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  const auto bf16 = attention(1, 1, 64, 64, true, Precision::bf16, seed);
  const auto fp32 = attention(1, 1, 64, 64, false, Precision::fp32, seed);
  auto prepare = [](const char* backend, const Problem& p) {
    return gpu_registry().find("attention", backend)->prepare(p, ExecutionConfig{});
  };
  EXPECT_NE(note(*prepare("cuda", *bf16), "kernel").find("mma.sync"), std::string::npos);
  EXPECT_NE(note(*prepare("cuda", *bf16), "kernel").find("causal"), std::string::npos);
  EXPECT_NE(note(*prepare("cuda", *fp32), "kernel").find("CUDA cores"), std::string::npos);
  EXPECT_NE(note(*prepare("cublas", *fp32), "steps").find("no TF32"), std::string::npos);
  EXPECT_NE(note(*prepare("cudnn", *bf16), "algorithm").find("cuDNN backend graph"), std::string::npos);
}

TEST(AttentionGpu, RepeatedRunsGiveBitIdenticalOutputs) {
  // No atomics and a fixed order of summation: a differing bit means a race.
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : {Precision::bf16, Precision::fp32}) {
    const auto problem = attention(2, 2, 300, 64, true, precision, seed);
    const auto variant = gpu_registry().find("attention", "cuda")->prepare(*problem, ExecutionConfig{});
    HostBuffer first(problem->output_precision(), problem->output_size());
    HostBuffer again(problem->output_precision(), problem->output_size());
    variant->run(TimingMode::kernel);
    variant->read_output(first);
    for (int i = 0; i < 3; ++i) {
      variant->run(TimingMode::kernel);
      variant->read_output(again);
      EXPECT_EQ(std::memcmp(first.raw(), again.raw(), first.bytes()), 0) << to_string(precision) << " run " << i;
    }
  }
}

#if MLBENCH_TEST_BUILT_WITH_CUDA
// Runs tile configuration `tile` of the tensor-core kernel once on `problem`'s inputs (output
// poisoned first); the output lands in `out`.
void run_tile(const AttentionProblem& problem, int tile, HostBuffer& out) {
  const AttentionShape& s = problem.shape();
  const kernels::AttentionDims dims{s.batch * s.heads, s.seq, s.head_dim, s.causal, problem.scale()};
  kernels::DeviceBuffer q(problem.q().bytes()), k(problem.k().bytes()), v(problem.v().bytes()), o(out.bytes());
  ASSERT_EQ(cudaMemcpy(q.get(), problem.q().raw(), q.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(k.get(), problem.k().raw(), k.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(v.get(), problem.v().raw(), v.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(o.get(), 0xFF, o.bytes()), cudaSuccess);
  if (problem.precision() == Precision::bf16)
    kernels::launch_attention_flash_tile(q.as<bfloat16>(), k.as<bfloat16>(), v.as<bfloat16>(), o.as<bfloat16>(), dims,
                                         tile, nullptr);
  else
    kernels::launch_attention_flash_tile(q.as<float16>(), k.as<float16>(), v.as<float16>(), o.as<float16>(), dims, tile,
                                         nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(out.raw(), o.get(), out.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
}

TEST(AttentionGpu, EveryCompiledTileConfigurationVerifies) {
  SKIP_WITHOUT_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : {Precision::bf16, Precision::fp16}) {
    for (std::int64_t d : {32, 64, 128}) {
      for (bool causal : {false, true}) {
        const auto problem = attention(1, 2, 257, d, causal, precision, seed);
        const AttentionShape& s = problem->shape();
        const kernels::AttentionDims dims{s.batch * s.heads, s.seq, s.head_dim, s.causal, problem->scale()};
        const int tiles = precision == Precision::bf16 ? kernels::attention_flash_tile_count<bfloat16>(dims)
                                                       : kernels::attention_flash_tile_count<float16>(dims);
        ASSERT_GE(tiles, 1);
        for (int tile = 0; tile < tiles; ++tile) {
          SCOPED_TRACE(to_string(precision) + " " + problem->shape_label() + " tile " + std::to_string(tile));
          HostBuffer out(problem->output_precision(), problem->output_size());
          run_tile(*problem, tile, out);
          const Verification v = problem->verify(out);
          EXPECT_TRUE(v.passed) << v.max_error << " > " << v.tolerance << " " << v.detail;
        }
      }
    }
  }
}
#endif

}  // namespace
}  // namespace mlbench
