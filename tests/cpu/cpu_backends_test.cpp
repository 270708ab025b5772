// CPU backends (serial, openmp, openblas, onednn) against Problem::verify() on awkward shapes,
// at every precision each backend declares (tests/cpu/cpu_precision_test.cpp has the conversions).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/machine_context.h"
#include "bench/reduction.h"
#include "tests/cpu/cpu_test_support.h"

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

// Thread counts each backend is tried with: openmp on 1, 2 and an odd 3; others on 1 and 2.
std::vector<int> thread_counts(const std::string& backend) {
  if (backend == "openmp") return {1, 2, 3};
  if (backend == "openblas" || backend == "onednn") return {1, 2};
  return {1};
}

// Prepares, runs once and returns the output of `backend` on `problem`.
HostBuffer run_backend(const std::string& backend, const Problem& problem, int threads) {
  const BackendInfo* info = cpu_registry().find(problem.workload(), backend);
  if (info == nullptr) throw std::runtime_error("backend " + backend + " not registered for " + problem.workload());
  auto variant = info->prepare(problem, threads_config(threads));
  const double seconds = variant->run(TimingMode::host);
  EXPECT_GE(seconds, 0.0);
  HostBuffer output;
  variant->read_output(output);
  return output;
}

void expect_verified(const std::string& backend, const Problem& problem, int threads) {
  SCOPED_TRACE(backend + " " + to_string(problem.precision()) + " " + problem.shape_label() +
               " threads=" + std::to_string(threads));
  const HostBuffer output = run_backend(backend, problem, threads);
  ASSERT_EQ(output.size(), problem.output_size());
  const Verification v = problem.verify(output);
  EXPECT_TRUE(v.passed) << v.method << ": error " << v.max_error << " > tolerance " << v.tolerance << " " << v.detail;
}

TEST(CpuRegistration, RegistersEveryBackendForItsWorkloads) {
  const Registry& r = cpu_registry();
  for (const char* workload : {"gemm", "convolution", "reduction"}) {
    for (const char* backend : {"serial", "openmp"}) {
      const BackendInfo* info = r.find(workload, backend);
      ASSERT_NE(info, nullptr) << workload << "/" << backend;
      EXPECT_EQ(info->kind, BackendKind::cpu);
      EXPECT_TRUE(info->availability().available);
    }
  }
  const BackendInfo* openblas = r.find("gemm", "openblas");
  ASSERT_NE(openblas, nullptr);
  EXPECT_EQ(openblas->kind, BackendKind::cpu_library);
  EXPECT_EQ(r.find("convolution", "openblas"), nullptr);
  const BackendInfo* onednn = r.find("convolution", "onednn");
  ASSERT_NE(onednn, nullptr);
  EXPECT_EQ(onednn->kind, BackendKind::cpu_library);
  EXPECT_EQ(r.find("gemm", "onednn"), nullptr);
}

TEST(CpuRegistration, OnednnIsAvailableExactlyWhenBuiltWithIt) {
  const Availability availability = cpu_registry().find("convolution", "onednn")->availability();
#if defined(MLBENCH_TEST_BUILT_WITH_ONEDNN) && MLBENCH_TEST_BUILT_WITH_ONEDNN
  EXPECT_TRUE(availability.available) << availability.reason;
  MachineContext context;
  for (const auto& provide : cpu_registry().context_providers) provide(context);
  bool listed = false;
  for (const auto& [name, version] : context.libraries)
    if (name == "oneDNN") listed = !version.empty() && std::isdigit(static_cast<unsigned char>(version[0]));
  EXPECT_TRUE(listed) << "no {\"oneDNN\", version} in MachineContext::libraries";
#else
  EXPECT_FALSE(availability.available);
  EXPECT_EQ(availability.reason, "built without oneDNN");
#endif
}

TEST(CpuRegistration, ContextProviderReportsOpenblasCoreAndVersion) {
  const BackendInfo* openblas = cpu_registry().find("gemm", "openblas");
  ASSERT_NE(openblas, nullptr);
  if (!openblas->availability().available) GTEST_SKIP() << "built without OpenBLAS";
  MachineContext context;
  for (const auto& provide : cpu_registry().context_providers) provide(context);
  EXPECT_FALSE(context.openblas_core.empty());
  EXPECT_NE(context.openblas_config.find("OpenBLAS"), std::string::npos) << context.openblas_config;
  bool listed = false;
  for (const auto& [name, version] : context.libraries)
    if (name == "OpenBLAS") listed = !version.empty() && std::isdigit(static_cast<unsigned char>(version[0]));
  EXPECT_TRUE(listed);
  const bool warned = !context.warnings.empty();
  EXPECT_EQ(warned, is_generic_openblas_core(context.openblas_core));
}

TEST(CpuVariant, OpenmpReportsTheThreadsItWasGiven) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  GemmProblem problem({9, 9, 9}, Precision::fp32, seed, 9);
  auto variant = cpu_registry().find("gemm", "openmp")->prepare(problem, threads_config(3));
  EXPECT_EQ(variant->threads(), 3);
  EXPECT_EQ(cpu_registry().find("gemm", "serial")->prepare(problem, threads_config(3))->threads(), 1);
}

TEST(CpuVariant, OutputIsPoisonedBeforeTheFirstRun) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  GemmProblem gemm({5, 6, 7}, Precision::fp32, seed, 5);
  ConvProblem conv({1, 2, 6, 6, 3, 3, 1, 1}, Precision::fp64, seed, 6);
  ConvProblem conv_fp32({1, 2, 6, 6, 3, 3, 1, 1}, Precision::fp32, seed, 6);  // onednn is fp32 only
  ReductionProblem reduction({4, 9, ReduceOp::sum, ReduceAxis::rows}, Precision::fp32, seed, 4);
  for (const Problem* problem : std::vector<const Problem*>{&gemm, &conv, &conv_fp32, &reduction})
    for (const BackendInfo* info : cpu_registry().backends_for(problem->workload())) {
      if (!info->availability().available || !info->supports(*problem).available) continue;
      SCOPED_TRACE(problem->workload() + "/" + info->name);
      auto variant = info->prepare(*problem, threads_config(2));
      HostBuffer output;
      variant->read_output(output);
      ASSERT_EQ(output.size(), problem->output_size());
      for (std::size_t i = 0; i < output.size(); ++i) EXPECT_TRUE(std::isnan(output.get(i))) << "element " << i;
    }
}

// With more than 2 threads the OpenMP GEMM packs each B slab together into one shared,
// double-buffered slab: shapes with several NC-wide column slabs (n > 3072) and KC-deep slabs
// (k > 512), and teams larger than the rows' micro-panels (threads with no rows still take part
// in the barriers), must give every element within the fp32 dot-product bound of fp64.
TEST(CpuGemm, OpenmpSharedBSlabMatchesFp64OnEveryElement) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const GemmShape& shape : {GemmShape{20, 3100, 1100}, GemmShape{7, 3200, 600}}) {
    const GemmProblem problem(shape, Precision::fp32, seed, shape.m);
    const float* a = problem.a().data<float>();
    const float* b = problem.b().data<float>();
    for (int threads : {3, 5, 8}) {
      SCOPED_TRACE(problem.shape_label() + " threads=" + std::to_string(threads));
      const HostBuffer out = run_backend("openmp", problem, threads);
      const float* c = out.data<float>();
      std::int64_t wrong = 0;
      for (std::int64_t i = 0; i < shape.m; ++i)
        for (std::int64_t j = 0; j < shape.n; ++j) {
          double sum = 0, magnitude = 0;
          for (std::int64_t p = 0; p < shape.k; ++p) {
            const double t = static_cast<double>(a[i * shape.k + p]) * b[p * shape.n + j];
            sum += t;
            magnitude += std::fabs(t);
          }
          if (!(std::fabs(c[i * shape.n + j] - sum) <= (shape.k + 2) * std::ldexp(1.0, -24) * magnitude)) ++wrong;
        }
      EXPECT_EQ(wrong, 0);
    }
  }
}

TEST(CpuGemm, EveryBackendMatchesReferenceOnAwkwardShapes) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // Square sizes around and off the micro-kernel tiles, plus non-square shapes.
  const std::vector<GemmShape> shapes = {{1, 1, 1},       {7, 7, 7},    {33, 33, 33},  {100, 100, 100}, {131, 131, 131},
                                         {257, 257, 257}, {13, 200, 5}, {300, 17, 61}, {1, 257, 300},   {65, 1, 513}};
  for (const char* backend : {"serial", "openmp", "openblas"}) {
    const BackendInfo* info = cpu_registry().find("gemm", backend);
    if (!info->availability().available) continue;
    for (Precision precision : info->precisions)
      for (const GemmShape& shape : shapes) {
        GemmProblem problem(shape, precision, seed, shape.m);
        ASSERT_TRUE(info->supports(problem).available) << backend << " declares " << to_string(precision);
        for (int threads : thread_counts(backend)) expect_verified(backend, problem, threads);
      }
  }
}

TEST(CpuGemm, VerifyRejectsOneCorruptedElementOfACorrectOutput) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  GemmProblem problem({131, 131, 131}, Precision::fp32, seed, 131);
  HostBuffer output = run_backend("openmp", problem, 2);
  ASSERT_TRUE(problem.verify(output).passed);
  const std::size_t victim = std::mt19937_64(seed)() % output.size();
  output.set(victim, output.get(victim) + 1000.0);
  EXPECT_FALSE(problem.verify(output).passed) << "element " << victim << " off by 1000 went unnoticed";
}

ConvShape conv(std::int64_t batch, std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t filters,
               std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
  return ConvShape{batch, channels, height, width, filters, kernel, stride, pad};
}

TEST(CpuConvolution, EveryBackendMatchesReferenceOnAwkwardShapes) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const std::vector<ConvShape> shapes = {
      conv(1, 3, 33, 33, 16, 3, 1, 1),    // the default shape, small
      conv(1, 1, 1, 1, 1, 1, 1, 0),       // a single multiply
      conv(2, 5, 17, 71, 7, 5, 1, 2),     // batch, odd filter count, 5x5
      conv(1, 4, 16, 40, 9, 2, 1, 0),     // even kernel, no padding
      conv(3, 2, 31, 67, 5, 4, 2, 1),     // even kernel, stride 2
      conv(1, 3, 100, 131, 17, 3, 2, 0),  // stride 2, pad 0, filter tail
      conv(2, 3, 9, 257, 10, 3, 1, 1),    // wide rows: many SIMD tiles plus leftovers
      conv(1, 2, 5, 5, 3, 7, 1, 3),       // kernel larger than the image
      conv(1, 2, 12, 50, 4, 3, 3, 2),     // stride 3, padding wider than one tap
      conv(2, 3, 10, 128, 16, 3, 1, 1),   // rows of whole SIMD vectors: aligned, streamed tiles
      conv(1, 2, 9, 192, 11, 3, 2, 1),    // the same at stride 2 (96 output columns)
  };
  for (const char* backend : {"serial", "openmp", "onednn"}) {
    const BackendInfo* info = cpu_registry().find("convolution", backend);
    if (!info->availability().available) continue;
    for (Precision precision : info->precisions)
      for (const ConvShape& shape : shapes) {
        ConvProblem problem(shape, precision, seed, shape.height);
        // onednn bf16 is declared but refused where oneDNN has only its reference kernel
        if (const Availability s = info->supports(problem); !s.available) {
          EXPECT_EQ(precision, Precision::bf16) << backend << " refuses a precision it declares: " << s.reason;
          EXPECT_FALSE(s.reason.empty());
          continue;
        }
        for (int threads : thread_counts(backend)) expect_verified(backend, problem, threads);
      }
  }
}

TEST(CpuConvolution, OnednnRefusesFp64WithAReasonAndNamesItsKernelAndLayouts) {
  const BackendInfo* onednn = cpu_registry().find("convolution", "onednn");
  if (!onednn->availability().available) GTEST_SKIP() << onednn->availability().reason;
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  ConvProblem fp64(conv(1, 3, 9, 9, 4, 3, 1, 1), Precision::fp64, seed, 9);
  const Availability refused = onednn->supports(fp64);
  EXPECT_FALSE(refused.available);
  EXPECT_NE(refused.reason.find("fp64"), std::string::npos) << refused.reason;

  ConvProblem fp32(conv(1, 3, 9, 9, 4, 3, 1, 1), Precision::fp32, seed, 9);
  ASSERT_TRUE(onednn->supports(fp32).available);
  auto variant = onednn->prepare(fp32, threads_config(2));
  EXPECT_EQ(variant->threads(), 2);
  const auto note_list = variant->notes();
  std::map<std::string, std::string> notes(note_list.begin(), note_list.end());
  EXPECT_FALSE(notes["implementation"].empty());
  EXPECT_NE(notes["layout"].find("src "), std::string::npos) << notes["layout"];
}

TEST(CpuConvolution, VerifyRejectsOneCorruptedElementOfACorrectOutput) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  ConvProblem problem(conv(1, 3, 40, 40, 16, 3, 1, 1), Precision::fp32, seed, 40);
  HostBuffer output = run_backend("openmp", problem, 2);
  ASSERT_TRUE(problem.verify(output).passed);
  const std::size_t victim = std::mt19937_64(seed)() % output.size();
  output.set(victim, std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(problem.verify(output).passed) << "NaN at element " << victim << " went unnoticed";
}

TEST(CpuReduction, EveryBackendMatchesReferenceForEveryOpAndAxis) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // Tiny, odd, one long row split across threads, few long rows, many short rows.
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1},     {7, 33},    {1, 100003},
                                                                     {3, 70001}, {257, 131}, {33, 257}};
  for (const char* backend : {"serial", "openmp"})
    for (Precision precision : cpu_registry().find("reduction", backend)->precisions)
      for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean})
        for (ReduceAxis axis : {ReduceAxis::all, ReduceAxis::rows})
          for (const auto& [rows, cols] : shapes) {
            ReductionProblem problem({rows, cols, op, axis}, precision, seed, rows);
            for (int threads : thread_counts(backend)) expect_verified(backend, problem, threads);
          }
}

TEST(CpuReduction, VerifyRejectsOneCorruptedElementOfACorrectOutput) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::max}) {
    ReductionProblem problem({33, 100, op, ReduceAxis::rows}, Precision::fp32, seed, 33);
    HostBuffer output = run_backend("openmp", problem, 2);
    ASSERT_TRUE(problem.verify(output).passed);
    const std::size_t victim = std::mt19937_64(seed)() % output.size();
    output.set(victim, output.get(victim) + 1000.0);
    EXPECT_FALSE(problem.verify(output).passed) << to_string(op) << ": row " << victim << " off by 1000 went unnoticed";
  }
}

}  // namespace
}  // namespace mlbench
