// The CPU backends at the reduced precisions: the SIMD conversions they use, that a 16-bit
// output is one rounding of an fp32 accumulation, what their notes say, and that the runner
// refuses a backend asked by name for a precision it does not declare.
// (Every backend verifying at every declared precision is in cpu_backends_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/attention.h"
#include "bench/backend.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/reduction.h"
#include "bench/runner.h"
#include "bench/softmax.h"
#include "bench/workloads.h"
#include "cpu/reduced_precision.h"
#include "tests/cpu/cpu_test_support.h"

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// fp32 values that exercise every rounding path: random bit patterns over the whole range,
// values near the 16-bit types' limits, halfway cases, subnormals, infinities, NaN.
std::vector<float> awkward_floats(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> v;
  for (int i = 0; i < 20000; ++i) v.push_back(bits_to_float(static_cast<std::uint32_t>(rng())));
  std::uniform_real_distribution<float> unit(-4.0f, 4.0f);
  for (int i = 0; i < 20000; ++i) v.push_back(unit(rng));
  std::uniform_int_distribution<int> exponent(-30, 17);
  for (int i = 0; i < 20000; ++i) v.push_back(std::ldexp(unit(rng), exponent(rng)));
  for (float x : {0.0f,
                  -0.0f,
                  1.0f,
                  65504.0f,
                  65519.0f,
                  65520.0f,
                  1e6f,
                  std::ldexp(1.0f, -24),
                  std::ldexp(1.0f, -25),
                  std::ldexp(3.0f, -26),
                  std::ldexp(1.0f, -14),
                  1.0f + std::ldexp(1.0f, -8),
                  1.0f + std::ldexp(1.0f, -11),
                  1.0f + 3 * std::ldexp(1.0f, -8),
                  1.0f + 3 * std::ldexp(1.0f, -11),
                  INFINITY,
                  -INFINITY,
                  NAN,
                  std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::denorm_min()})
    v.push_back(x), v.push_back(-x);
  return v;
}

template <class T>
std::uint16_t reference_bits(float x) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return to_bfloat16(x).bits;
  else
    return to_float16(x).bits;
}

// NaN payloads may differ between the F16C instructions and the portable code; NaN-ness may not.
template <class T>
void expect_same_16bit(std::uint16_t got, std::uint16_t want, float from) {
  const bool got_nan = std::isnan(to_double(T{got})), want_nan = std::isnan(to_double(T{want}));
  if (got_nan || want_nan)
    EXPECT_EQ(got_nan, want_nan) << "from " << from;
  else
    EXPECT_EQ(got, want) << "from " << from << " (" << std::hexfloat << from << ")";
}

template <class T>
void check_conversions(std::uint64_t seed) {
  SCOPED_TRACE((std::is_same_v<T, bfloat16> ? "bf16" : "fp16"));
  const std::vector<float> values = awkward_floats(seed);
  // Whole array (SIMD body plus scalar tail), then short runs at odd offsets so that every
  // tail length and unaligned start is taken.
  std::vector<T> narrowed(values.size());
  cpu::narrow(values.data(), narrowed.data(), static_cast<std::int64_t>(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i)
    expect_same_16bit<T>(narrowed[i].bits, reference_bits<T>(values[i]), values[i]);
  for (std::int64_t offset = 1; offset < 4; ++offset)
    for (std::int64_t count = 0; count < 70; ++count) {
      std::vector<T> out(static_cast<std::size_t>(count + 2), T{0x5555});
      cpu::narrow(values.data() + offset * 97, out.data() + 1, count);
      for (std::int64_t i = 0; i < count; ++i)
        expect_same_16bit<T>(out[i + 1].bits, reference_bits<T>(values[offset * 97 + i]), values[offset * 97 + i]);
      EXPECT_EQ(out[0].bits, 0x5555);  // nothing written outside [0, count)
      EXPECT_EQ(out[count + 1].bits, 0x5555);
    }

  // Widening: every one of the 65536 bit patterns, through the array and the scalar path.
  std::vector<T> all(65536);
  for (std::size_t i = 0; i < all.size(); ++i) all[i].bits = static_cast<std::uint16_t>(i);
  std::vector<float> widened(all.size());
  cpu::widen(all.data() + 1, widened.data() + 1, static_cast<std::int64_t>(all.size()) - 1);
  widened[0] = cpu::widen(all[0]);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const float want = to_float(all[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(widened[i])) << "bits " << i;
    } else {
      EXPECT_EQ(std::memcmp(&widened[i], &want, sizeof want), 0)
          << "bits " << i << ": " << widened[i] << " vs " << want;
      EXPECT_EQ(cpu::widen(all[i]), want) << "bits " << i;
    }
  }
}

TEST(CpuConversion, SimdAndScalarConversionsMatchTheReferenceRoundingBitForBit) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  check_conversions<bfloat16>(seed);
  check_conversions<float16>(seed);
  for (float x : awkward_floats(seed)) {
    if (std::isnan(x)) continue;
    EXPECT_EQ(cpu::narrow<float16>(x).bits, to_float16(x).bits) << x;
    EXPECT_EQ(cpu::narrow<bfloat16>(x).bits, to_bfloat16(x).bits) << x;
  }
}

// ---- 16-bit outputs: one rounding of an fp32-accumulated result ----

// Largest distance from the exact value of an output of precision p that was accumulated in
// fp32 over `terms` products (sum of magnitudes `scale`) and rounded once to p: half an ulp
// of the value (unit roundoff times it, plus fp16's subnormal spacing) plus twice the worst
// fp32 accumulation error. Accumulating in the 16-bit type, or rounding partial sums to it,
// lands several ulps away and fails.
double once_rounded_bound(Precision p, double exact, double scale, double terms) {
  const double subnormal = p == Precision::fp16 ? std::ldexp(1.0, -25) : 0.0;
  return unit_roundoff(p) * std::fabs(exact) + subnormal + 2.0 * terms * std::ldexp(1.0, -24) * scale;
}

HostBuffer run_backend(const std::string& backend, const Problem& problem, int threads) {
  const BackendInfo* info = cpu_registry().find(problem.workload(), backend);
  auto variant = info->prepare(problem, threads_config(threads));
  variant->run(TimingMode::host);
  HostBuffer output;
  variant->read_output(output);
  return output;
}

TEST(CpuPrecision, SixteenBitGemmOutputIsOneRoundingOfAnFp32Accumulation) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // K past the openmp backend's KC slab (C summed over slabs in fp32), N past its NC columns,
  // and sizes off every tile.
  const std::vector<GemmShape> shapes = {{37, 70, 1100}, {5, 3100, 40}, {13, 29, 300}};
  for (Precision precision : {Precision::bf16, Precision::fp16})
    for (const char* backend : {"serial", "openmp", "openblas"}) {
      const BackendInfo* info = cpu_registry().find("gemm", backend);
      if (!info->availability().available || !info->supports_precision(precision)) continue;
      for (const GemmShape& s : shapes) {
        SCOPED_TRACE(std::string(backend) + " " + to_string(precision) + " M=" + std::to_string(s.m) +
                     " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k));
        GemmProblem problem(s, precision, seed, s.m);
        const HostBuffer c = run_backend(backend, problem, 2);
        ASSERT_EQ(c.precision(), precision);
        int failures = 0;
        for (std::int64_t i = 0; i < s.m && failures < 5; ++i)
          for (std::int64_t j = 0; j < s.n && failures < 5; ++j) {
            double exact = 0, scale = 0;
            for (std::int64_t p = 0; p < s.k; ++p) {
              const double prod = problem.a().get(i * s.k + p) * problem.b().get(p * s.n + j);
              exact += prod;
              scale += std::fabs(prod);
            }
            const double got = c.get(i * s.n + j);
            const double bound = once_rounded_bound(precision, exact, scale, static_cast<double>(s.k));
            if (!(std::fabs(got - exact) <= bound)) {
              ++failures;
              ADD_FAILURE() << "C[" << i << "][" << j << "] = " << got << ", exact " << exact << ", bound " << bound;
            }
          }
      }
    }
}

TEST(CpuPrecision, SixteenBitConvolutionOutputIsOneRoundingOfAnFp32Accumulation) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  const std::vector<ConvShape> shapes = {
      {2, 5, 19, 75, 11, 5, 1, 2},  // 125 taps, filter block tail, several SIMD tiles per row
      {1, 3, 23, 40, 9, 3, 2, 1},   // stride 2: the gathered loads
  };
  for (Precision precision : {Precision::bf16, Precision::fp16})
    for (const char* backend : {"serial", "openmp", "onednn"}) {
      const BackendInfo* info = cpu_registry().find("convolution", backend);
      if (!info->availability().available || !info->supports_precision(precision)) continue;
      for (const ConvShape& s : shapes) {
        ConvProblem problem(s, precision, seed, s.height);
        if (!info->supports(problem).available) continue;
        SCOPED_TRACE(std::string(backend) + " " + to_string(precision) + " " + problem.shape_label());
        const HostBuffer out = run_backend(backend, problem, 2);
        ASSERT_EQ(out.precision(), precision);
        const std::int64_t OH = s.out_height(), OW = s.out_width();
        int failures = 0;
        for (std::int64_t n = 0; n < s.batch; ++n)
          for (std::int64_t k = 0; k < s.filters; ++k)
            for (std::int64_t oh = 0; oh < OH; ++oh)
              for (std::int64_t ow = 0; ow < OW && failures < 5; ++ow) {
                double exact = 0, scale = 0;
                for (std::int64_t c = 0; c < s.channels; ++c)
                  for (std::int64_t r = 0; r < s.kernel; ++r)
                    for (std::int64_t q = 0; q < s.kernel; ++q) {
                      const std::int64_t ih = oh * s.stride - s.pad + r, iw = ow * s.stride - s.pad + q;
                      if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
                      const double prod = problem.weights().get(((k * s.channels + c) * s.kernel + r) * s.kernel + q) *
                                          problem.input().get(((n * s.channels + c) * s.height + ih) * s.width + iw);
                      exact += prod;
                      scale += std::fabs(prod);
                    }
                const double got = out.get(((n * s.filters + k) * OH + oh) * OW + ow);
                const double bound =
                    once_rounded_bound(precision, exact, scale, static_cast<double>(s.channels * s.kernel * s.kernel));
                if (!(std::fabs(got - exact) <= bound)) {
                  ++failures;
                  ADD_FAILURE() << "out[" << n << "][" << k << "][" << oh << "][" << ow << "] = " << got << ", exact "
                                << exact << ", bound " << bound;
                }
              }
      }
    }
}

TEST(CpuPrecision, SixteenBitReductionsWriteFp32) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : {Precision::bf16, Precision::fp16})
    for (const char* backend : {"serial", "openmp"}) {
      // 70001 values near 0.5 sum to ~35000: past fp16's 2048 exact integers and bf16's 256,
      // so a 16-bit accumulator or output would be off by far more than the tolerance.
      ReductionProblem problem({1, 70001, ReduceOp::sum, ReduceAxis::all}, precision, seed, 1);
      const HostBuffer out = run_backend(backend, problem, 2);
      ASSERT_EQ(out.precision(), Precision::fp32) << backend;
      const Verification v = problem.verify(out);
      EXPECT_TRUE(v.passed) << backend << " " << to_string(precision) << ": " << v.max_error << " > " << v.tolerance;
    }
}

// ---- notes ----

TEST(CpuPrecision, NotesSayHowEachReducedPrecisionIsComputed) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const BackendInfo& info : cpu_registry().all()) {
    if (!info.availability().available) continue;
    for (Precision precision : info.precisions) {
      if (info.workload == "reduction" && precision == Precision::tf32) continue;
      WorkloadOptions options;
      options.get<RowOptions>().rows = 5;  // softmax / layer norm: a few rows (the default fills 256 MiB)
      options.get<AttentionOptions>().heads = 2;
      const auto problem = make_problem(info.workload, 9, precision, seed, options);
      if (!info.supports(*problem).available) continue;
      SCOPED_TRACE(info.workload + "/" + info.name + " " + to_string(precision));
      const auto note_list = info.prepare(*problem, threads_config(1))->notes();
      const std::map<std::string, std::string> notes(note_list.begin(), note_list.end());
      // No tensor-core math on the CPU: the roofline must hold these rows against the FMA peak.
      if (notes.count("math") != 0) {
        EXPECT_EQ(notes.at("math").find("tensor"), std::string::npos);
      }
      const auto compute = notes.find("compute");
      if (precision == Precision::fp32 || precision == Precision::fp64) {
        EXPECT_EQ(compute, notes.end()) << compute->second;
        continue;
      }
      ASSERT_NE(compute, notes.end()) << "no 'compute' note";
      EXPECT_NE(compute->second.find(precision == Precision::tf32 ? "fp32" : "fp32 accumulation"), std::string::npos)
          << compute->second;
      if (is_16bit(precision)) {
        EXPECT_NE(compute->second.find(to_string(precision)), std::string::npos) << compute->second;
      }
    }
  }
}

// ---- the runner and the declared precisions ----

RunOptions options_for(const std::string& workload, Precision precision, std::vector<std::string> backends) {
  RunOptions o;
  o.workloads = {workload};
  o.sizes = {16};
  o.precision = precision;
  o.backends = std::move(backends);
  o.threads = 1;
  o.seed = 1;
  return o;
}

TEST(CpuPrecision, RunnerRefusesABackendAskedByNameForAPrecisionItDoesNotDeclare) {
  struct Case {
    const char* workload;
    const char* backend;
    Precision precision;
  };
  for (const Case& c : {Case{"convolution", "onednn", Precision::fp16}, Case{"convolution", "onednn", Precision::fp64},
                        Case{"gemm", "openblas", Precision::fp16}, Case{"reduction", "openmp", Precision::tf32}}) {
    const BackendInfo* info = cpu_registry().find(c.workload, c.backend);
    ASSERT_NE(info, nullptr);
    ASSERT_FALSE(info->supports_precision(c.precision)) << c.backend << " now declares " << to_string(c.precision);
    if (!info->availability().available) continue;  // refused for that reason first
    SCOPED_TRACE(std::string(c.workload) + "/" + c.backend + " " + to_string(c.precision));
    const Runner runner(cpu_registry(), options_for(c.workload, c.precision, {c.backend}));
    try {
      runner.plan();
      ADD_FAILURE() << "plan() accepted it";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(to_string(c.precision)), std::string::npos) << e.what();
    }
  }
}

TEST(CpuPrecision, DefaultRunLeavesOutBackendsWithoutThePrecisionAndRunsTheRest) {
  const Runner runner(cpu_registry(), options_for("convolution", Precision::fp16, {}));
  const RunPlan plan = runner.plan();
  std::vector<std::string> planned;
  for (const auto& v : plan.variants) planned.push_back(v.backend->name);
  EXPECT_EQ(planned, (std::vector<std::string>{"serial", "openmp"}));
  if (cpu_registry().find("convolution", "onednn")->availability().available) {
    bool absent_with_reason = false;
    for (const auto& [name, reason] : plan.absent)
      absent_with_reason = absent_with_reason || (name == "onednn" && reason.find("fp16") != std::string::npos);
    EXPECT_TRUE(absent_with_reason) << "onednn not listed as absent for fp16";
  }
}

// ---- library specifics ----

TEST(CpuPrecision, OnednnBf16NamesItsKernelOrSaysWhyNot) {
  const BackendInfo* onednn = cpu_registry().find("convolution", "onednn");
  if (!onednn->availability().available) GTEST_SKIP() << onednn->availability().reason;
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  ConvProblem fp16({1, 3, 9, 9, 4, 3, 1, 1}, Precision::fp16, seed, 9);
  EXPECT_FALSE(onednn->supports(fp16).available);
  ConvProblem bf16({1, 3, 9, 9, 4, 3, 1, 1}, Precision::bf16, seed, 9);
  const Availability supported = onednn->supports(bf16);
  if (!supported.available) {
    // Where oneDNN has no optimized bf16 kernel for this CPU (no AVX-512, or ONEDNN_MAX_CPU_ISA
    // below it) it has either only its reference kernel or no primitive at all: both refusals
    // name the precision and the CPU.
    EXPECT_NE(supported.reason.find("bf16"), std::string::npos) << supported.reason;
    EXPECT_NE(supported.reason.find("on this CPU"), std::string::npos) << supported.reason;
    return;
  }
  const auto note_list = onednn->prepare(bf16, threads_config(1))->notes();
  const std::map<std::string, std::string> notes(note_list.begin(), note_list.end());
  EXPECT_NE(notes.at("implementation").rfind("ref", 0), 0u) << notes.at("implementation");
  EXPECT_NE(notes.at("compute").find("AVX512-BF16"), std::string::npos) << notes.at("compute");
}

TEST(CpuPrecision, OpenblasOffersBf16ExactlyWhenItHasSbgemm) {
  const BackendInfo* openblas = cpu_registry().find("gemm", "openblas");
  if (!openblas->availability().available) GTEST_SKIP() << openblas->availability().reason;
  const auto seed = fresh_seed();
  GemmProblem bf16({4, 4, 4}, Precision::bf16, seed, 4);
  const Availability supported = openblas->supports(bf16);
  EXPECT_EQ(supported.available, openblas->supports_precision(Precision::bf16)) << supported.reason;
  if (!supported.available) {
    EXPECT_NE(supported.reason.find("sbgemm"), std::string::npos) << supported.reason;
  }
}

}  // namespace
}  // namespace mlbench
