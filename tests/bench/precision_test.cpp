// The reduced precisions: storage conversions, TF32 rounding, what each problem stores, and
// tolerances that pass an fp32-accumulated result yet stay tight enough to fail a wrong one.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bench/gemm.h"
#include "bench/reduced_float.h"
#include "bench/reduction.h"
#include "bench/workloads.h"
#include "tests/test_support.h"

using namespace mlbench;

namespace {

using namespace ::mlbench::test_support;
}  // namespace

TEST(ReducedFloat, Bf16RoundsToNearestEven) {
  EXPECT_EQ(to_bfloat16(1.0f).bits, 0x3f80);
  EXPECT_EQ(to_float(to_bfloat16(1.0f)), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0)
  EXPECT_EQ(to_float(to_bfloat16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  // 1 + 3*2^-8 is halfway between 1+2^-7 and 1+2^-6: ties to even (1 + 2^-6)
  EXPECT_EQ(to_float(to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(to_float(to_bfloat16(NAN))));
  EXPECT_TRUE(std::isinf(to_float(to_bfloat16(INFINITY))));
}

TEST(ReducedFloat, Fp16CoversNormalsSubnormalsAndOverflow) {
  EXPECT_EQ(to_float16(1.0f).bits, 0x3c00);
  EXPECT_EQ(to_float16(-2.0f).bits, 0xc000);
  EXPECT_EQ(to_float(to_float16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(to_float(to_float16(65520.0f))));  // rounds past the largest finite value
  EXPECT_EQ(to_float(to_float16(65519.0f)), 65504.0f);
  EXPECT_EQ(to_float(to_float16(std::ldexp(1.0f, -24))), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(to_float(to_float16(std::ldexp(1.0f, -26))), 0.0f);
  EXPECT_EQ(to_float(to_float16(std::ldexp(3.0f, -16))), std::ldexp(3.0f, -16));  // subnormal, exact
  EXPECT_EQ(to_float(to_float16(1.0f + std::ldexp(1.0f, -11))), 1.0f);            // tie to even
  EXPECT_TRUE(std::isnan(to_float(to_float16(NAN))));
}

TEST(ReducedFloat, RoundTripErrorStaysWithinTheUnitRoundoff) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> value(-1000.0f, 1000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float x = value(rng);
    const double ax = std::fabs(static_cast<double>(x));
    EXPECT_LE(std::fabs(to_float(to_bfloat16(x)) - static_cast<double>(x)), unit_roundoff(Precision::bf16) * ax) << x;
    EXPECT_LE(std::fabs(to_float(to_float16(x)) - static_cast<double>(x)), unit_roundoff(Precision::fp16) * ax) << x;
    const float t = round_to_tf32(x);
    EXPECT_LE(std::fabs(t - static_cast<double>(x)), unit_roundoff(Precision::tf32) * ax) << x;
    EXPECT_EQ(round_to_tf32(t), t);  // idempotent: a TF32 value has 13 zero low bits
  }
}

TEST(Precision, InputsAreStoredInTheChosenTypeAndOutputsWhereTheyBelong) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  WorkloadOptions o;
  const auto gemm = make_problem("gemm", 16, Precision::bf16, seed, o);
  EXPECT_EQ(gemm->output_precision(), Precision::bf16);
  EXPECT_EQ(gemm->min_bytes(), 3.0 * 16 * 16 * 2);
  const auto tf32 = make_problem("gemm", 16, Precision::tf32, seed, o);
  EXPECT_EQ(tf32->output_precision(), Precision::fp32);
  const auto& a = dynamic_cast<const GemmProblem&>(*tf32).a();
  bool any_nonzero = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float v = a.data<float>()[i];
    EXPECT_EQ(v, round_to_tf32(v));
    any_nonzero = any_nonzero || v != 0.0f;
  }
  EXPECT_TRUE(any_nonzero);
  o.get<ReductionOptions>() = {ReduceOp::sum, ReduceAxis::rows};
  const auto sum = make_problem("reduction", 16, Precision::fp16, seed, o);
  EXPECT_EQ(sum->output_precision(), Precision::fp32);  // fp32 accumulation, fp32 result
  EXPECT_EQ(sum->min_bytes(), 16.0 * 16 * 2 + 16 * 4);
  EXPECT_THROW(make_problem("reduction", 16, Precision::tf32, seed, o), InputError);
}

TEST(Precision, ToleranceGrowsWithTheStoredOutputsRoundoff) {
  const auto seed = fresh_seed();
  WorkloadOptions o;
  const double fp32 = make_problem("gemm", 64, Precision::fp32, seed, o)->tolerance();
  const double tf32 = make_problem("gemm", 64, Precision::tf32, seed, o)->tolerance();
  const double fp16 = make_problem("gemm", 64, Precision::fp16, seed, o)->tolerance();
  const double bf16 = make_problem("gemm", 64, Precision::bf16, seed, o)->tolerance();
  EXPECT_DOUBLE_EQ(fp32, tf32);  // tf32 inputs are exact in TF32, output stays fp32
  EXPECT_LT(fp32, fp16);
  EXPECT_LT(fp16, bf16);
  EXPECT_LT(bf16, 0.05);  // still catches a wrong result
}

TEST(Precision, ParsesEveryNameItPrints) {
  for (Precision p : all_precisions()) EXPECT_EQ(parse_precision(to_string(p)), p);
  EXPECT_FALSE(parse_precision("fp8").has_value());
}
