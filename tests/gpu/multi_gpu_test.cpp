// Several GPUs (--gpus, the nccl backends). Runs everywhere: the --gpus selection, the runner's
// plan and results against a registry that pretends a GPU count, the reports' multi-GPU fields,
// and the arithmetic that cuts a convolution into row bands with halos (checked against a
// whole-image convolution on the CPU). On a machine with a CUDA device and NCCL: every
// multi-GPU backend the registry holds (the nccl rows of kernels/gpu_backends.cpp, whatever their
// workload: walked, not listed) on one GPU (two when there are two) against Problem::verify(),
// and the splits of the convolution and the reduction on their own shapes; skipped otherwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/gpu_selection.h"
#include "bench/reduction.h"
#include "bench/runner.h"
#include "bench/workloads.h"
#include "kernels/gpu_backends.h"
#include "kernels/multi_gpu_partition.h"
#include "reports/csv.h"
#include "reports/json_report.h"
#include "reports/markdown.h"
#include "tests/gpu/gpu_test_support.h"

#if MLBENCH_TEST_BUILT_WITH_CUDA
#include "kernels/multi_gpu.h"
#endif

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

std::string input_error(const std::string& spec, int device_count) {
  try {
    select_gpus(spec, device_count);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---- --gpus N|all|LIST ----

TEST(GpuSelection, CountsArePowersOfTwoUpToNPlusN) {
  const GpuSelection four = select_gpus("4", 8);
  EXPECT_EQ(four.devices, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(four.counts, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(select_gpus("6", 8).counts, (std::vector<int>{1, 2, 4, 6}));
  EXPECT_EQ(select_gpus("1", 1).counts, (std::vector<int>{1}));
  const GpuSelection all = select_gpus(" all ", 3);
  EXPECT_EQ(all.devices, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(all.counts, (std::vector<int>{1, 2, 3}));
}

TEST(GpuSelection, ListKeepsItsOrderAndRunsEveryPrefix) {
  const GpuSelection list = select_gpus("2, 0,3", 4);
  EXPECT_EQ(list.devices, (std::vector<int>{2, 0, 3}));
  EXPECT_EQ(list.counts, (std::vector<int>{1, 2, 3}));
}

TEST(GpuSelection, RejectsWhatCannotRunInOneLine) {
  const std::vector<std::pair<std::string, int>> bad = {{"2", 1},
                                                        {"all", 0},
                                                        {"0", 4},
                                                        {"-2", 4},
                                                        {"0,0", 2},
                                                        {"0,-1", 2},
                                                        {"0,2", 2},
                                                        {"two", 2},
                                                        {"0,", 2},
                                                        {"", 2},
                                                        {"1", 0},
                                                        {"1", -1},
                                                        {"99999999999999999999", 2}};
  for (const auto& [spec, count] : bad) {
    const std::string message = input_error(spec, count);
    EXPECT_FALSE(message.empty()) << "--gpus '" << spec << "' with " << count << " GPUs was accepted";
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_NE(input_error("2", 1).find("only 1 GPU"), std::string::npos) << input_error("2", 1);
  EXPECT_NE(input_error("0,0", 2).find("twice"), std::string::npos);
  EXPECT_NE(input_error("0,2", 2).find("no GPU 2"), std::string::npos) << input_error("0,2", 2);
  EXPECT_NE(input_error("1", 0).find("no CUDA device"), std::string::npos);
  EXPECT_NE(input_error("1", -1).find("without CUDA"), std::string::npos);
  // A typo is named as such even where there is no GPU to check against.
  EXPECT_NE(input_error("two", 0).find("'two'"), std::string::npos) << input_error("two", 0);
}

// ---- the runner, with a test registry that pretends a GPU count ----

// Computes the exact output once; run() returns a made-up time that halves with every doubling
// of the GPU count, of which 10 % per extra GPU is communication, so that the derived figures
// are known exactly. gpus 0: a CPU backend (timed as host).
class FakeMultiGpuVariant : public Variant {
 public:
  FakeMultiGpuVariant(const Problem& p, int gpus) : gpus_(gpus), out_(p.output_precision(), p.output_size()) {
    const auto& g = problem_cast<GemmProblem>(p);
    const auto [m, n, k] = g.shape();
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (std::int64_t q = 0; q < k; ++q) acc += g.a().get(i * k + q) * g.b().get(q * n + j);
        out_.set(i * n + j, acc);
      }
  }
  std::vector<TimingMode> timing_modes() const override {
    if (gpus_ == 0) return {TimingMode::host};
    return {TimingMode::kernel, TimingMode::end_to_end};
  }
  double run(TimingMode) override { return seconds(std::max(gpus_, 1)); }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, out_.get(i));
  }
  double communication_seconds() const override { return gpus_ == 0 ? 0.0 : 0.1 * (gpus_ - 1) * seconds(gpus_); }
  static double seconds(int gpus) { return 0.008 / gpus; }

 private:
  int gpus_;
  HostBuffer out_;
};

Registry multi_gpu_registry(int gpus_here, bool nccl_available = true) {
  Registry r;
  BackendInfo serial;
  serial.name = "serial";
  serial.workload = "gemm";
  serial.availability = [] { return Availability::yes(); };
  serial.prepare = [](const Problem& p, const ExecutionConfig&) { return std::make_unique<FakeMultiGpuVariant>(p, 0); };
  r.add(serial);
  BackendInfo nccl;
  nccl.name = "nccl";
  nccl.workload = "gemm";
  nccl.kind = BackendKind::gpu;
  nccl.multi_gpu = true;
  nccl.availability = [nccl_available] {
    return nccl_available ? Availability::yes() : Availability::no("built without NCCL");
  };
  nccl.prepare = [](const Problem& p, const ExecutionConfig& c) {
    if (c.devices.empty() || c.device != c.devices.front()) throw std::logic_error("devices not passed on");
    return std::make_unique<FakeMultiGpuVariant>(p, static_cast<int>(c.devices.size()));
  };
  r.add(nccl);
  if (gpus_here >= 0) r.gpu_count = [gpus_here] { return gpus_here; };  // < 0: a build without CUDA
  return r;
}

RunOptions gemm_options() {
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {8};
  o.seed = fresh_seed();
  o.repetitions = 3;
  return o;
}

std::vector<std::vector<int>> planned_devices(const RunPlan& plan, const std::string& backend) {
  std::vector<std::vector<int>> out;
  for (const auto& v : plan.variants)
    if (v.backend->name == backend) out.push_back(v.devices);
  return out;
}

TEST(MultiGpuPlan, RunsOnlyWithGpusAndOncePerGpuCount) {
  const Registry registry = multi_gpu_registry(4);
  RunOptions o = gemm_options();
  const RunPlan plain = Runner(registry, o).plan();
  EXPECT_TRUE(planned_devices(plain, "nccl").empty());
  EXPECT_TRUE(plain.absent.empty()) << "a backend that needs --gpus is not absent, just not asked for";

  o.gpus = "4";
  const RunPlan four = Runner(registry, o).plan();
  EXPECT_EQ(planned_devices(four, "nccl"), (std::vector<std::vector<int>>{{0}, {0, 1}, {0, 1, 2, 3}}));
  EXPECT_EQ(planned_devices(four, "serial").size(), 1u);
  EXPECT_EQ(four.timed_rows, 1 + 3 * 2);

  o.gpus = "3,1";
  EXPECT_EQ(planned_devices(Runner(registry, o).plan(), "nccl"), (std::vector<std::vector<int>>{{3}, {3, 1}}));

  // --gpus adds the multi-GPU backend to what --backends names.
  o.backends = {"serial"};
  EXPECT_EQ(planned_devices(Runner(registry, o).plan(), "nccl").size(), 2u);
}

TEST(MultiGpuPlan, RefusesWhatCannotRun) {
  auto plan = [](const Registry& registry, auto change) {
    RunOptions o = gemm_options();
    change(o);
    return Runner(registry, o).plan();
  };
  const Registry four = multi_gpu_registry(4);
  EXPECT_THROW(plan(four, [](RunOptions& o) { o.gpus = "5"; }), InputError);
  EXPECT_THROW(plan(four, [](RunOptions& o) { o.gpus = "0,4"; }), InputError);
  try {
    plan(four, [](RunOptions& o) { o.backends = {"nccl"}; });
    FAIL() << "nccl without --gpus must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--gpus"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plan(multi_gpu_registry(0), [](RunOptions& o) { o.gpus = "1"; }), InputError);
  EXPECT_THROW(plan(multi_gpu_registry(-1), [](RunOptions& o) { o.gpus = "1"; }), InputError);
  try {
    plan(multi_gpu_registry(2, false), [](RunOptions& o) { o.gpus = "2"; });
    FAIL() << "--gpus with the multi-GPU backend unavailable must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("built without NCCL"), std::string::npos) << e.what();
  }
  // fp32 and fp64 only: asking for another precision with --gpus is refused, not skipped.
  EXPECT_THROW(plan(four,
                    [](RunOptions& o) {
                      o.gpus = "2";
                      o.precision = Precision::bf16;
                    }),
               InputError);
}

TEST(MultiGpuResults, SpeedupEfficiencyAndCommunicationShareFollowFromMedians) {
  const Registry registry = multi_gpu_registry(4);
  RunOptions o = gemm_options();
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  o.gpus = "4";
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u + 3 * 2);
  int multi = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.name() << ": " << r.error_message << r.verification.detail;
    if (r.backend == "serial") {
      EXPECT_EQ(r.gpus, 0);
      EXPECT_EQ(r.speedup_vs_one_gpu, 0);
      continue;
    }
    ++multi;
    EXPECT_NE(r.name().find("/nccl/gpus=" + std::to_string(r.gpus) + "/"), std::string::npos) << r.name();
    EXPECT_DOUBLE_EQ(r.stats.median_s, FakeMultiGpuVariant::seconds(r.gpus));
    EXPECT_NEAR(r.speedup_vs_one_gpu, r.gpus, 1e-9);
    EXPECT_NEAR(r.parallel_efficiency, 1.0, 1e-9);
    EXPECT_NEAR(r.communication_s, 0.1 * (r.gpus - 1) * r.stats.median_s, 1e-12);
    EXPECT_NEAR(r.communication_share, 0.1 * (r.gpus - 1), 1e-9);
  }
  EXPECT_EQ(multi, 6);
}

TEST(MultiGpuResults, EfficiencyBelowOneWhenScalingIsImperfect) {
  auto row = [](int gpus, double median, double communication) {
    VariantResult r;
    r.workload = "gemm";
    r.shape_label = "M=N=K=8";
    r.backend = "nccl";
    r.backend_kind = BackendKind::gpu;
    r.timing = TimingMode::kernel;
    r.gpus = gpus;
    r.stats.median_s = median;
    r.stats.runs = 1;
    r.communication_s = communication;
    return r;
  };
  std::vector<VariantResult> rs = {row(1, 2.0, 0.0), row(2, 1.25, 0.25), row(4, 1.0, 0.5)};
  rs[2].status = ResultStatus::failed_verification;  // never part of a speedup
  finalize_results(rs);
  EXPECT_DOUBLE_EQ(rs[0].speedup_vs_one_gpu, 1.0);
  EXPECT_DOUBLE_EQ(rs[1].speedup_vs_one_gpu, 1.6);
  EXPECT_DOUBLE_EQ(rs[1].parallel_efficiency, 0.8);
  EXPECT_DOUBLE_EQ(rs[1].communication_share, 0.2);
  EXPECT_EQ(rs[2].speedup_vs_one_gpu, 0);
  EXPECT_EQ(rs[2].communication_share, 0);
}

// ---- reports ----

RunReport fake_multi_gpu_report() {
  const Registry registry = multi_gpu_registry(2);
  RunOptions o = gemm_options();
  o.gpus = "2";
  Runner runner(registry, o);
  RunReport report;
  report.run.mlbench_version = "test";
  report.run.seed = o.seed;
  report.results = runner.run(runner.plan());
  return report;
}

TEST(MultiGpuReports, JsonKeepsTheMultiGpuFieldsAndOldReportsReadAsSingleDevice) {
  const RunReport report = fake_multi_gpu_report();
  const RunReport back = reports::parse_report(reports::render_json(report), "test.json");
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < back.results.size(); ++i) {
    const VariantResult& a = report.results[i];
    const VariantResult& b = back.results[i];
    EXPECT_EQ(b.name(), a.name());
    EXPECT_EQ(b.gpus, a.gpus);
    EXPECT_DOUBLE_EQ(b.communication_s, a.communication_s);
    EXPECT_DOUBLE_EQ(b.speedup_vs_one_gpu, a.speedup_vs_one_gpu);
    EXPECT_DOUBLE_EQ(b.parallel_efficiency, a.parallel_efficiency);
    EXPECT_DOUBLE_EQ(b.communication_share, a.communication_share);
  }
  // A report from before --gpus existed: one device per row (so one row per name) and no
  // multi-GPU fields anywhere.
  RunReport single_device = report;
  auto& rows = single_device.results;
  rows.erase(std::remove_if(rows.begin(), rows.end(), [](const VariantResult& r) { return r.gpus > 1; }), rows.end());
  ASSERT_FALSE(rows.empty());
  auto json = reports::to_json(single_device);
  for (auto& entry : json["benchmarks"])
    if (entry.contains("mlbench"))  // the row's fields ride on one entry per row
      for (const char* key :
           {"gpus", "communication_s", "speedup_vs_one_gpu", "parallel_efficiency", "communication_share"})
        entry["mlbench"].erase(key);
  const RunReport old = reports::parse_report(json.dump(), "old.json");
  ASSERT_EQ(old.results.size(), rows.size());
  for (const VariantResult& r : old.results) EXPECT_EQ(r.gpus, 0);
}

TEST(MultiGpuReports, MarkdownConsoleAndCsvShowTheScaling) {
  const RunReport report = fake_multi_gpu_report();
  const std::string markdown = reports::render_markdown(report);
  EXPECT_NE(markdown.find("Multi-GPU scaling"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| nccl | kernel | 2 |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("nccl x2"), std::string::npos) << markdown;
  const std::string console = reports::render_console_table(report);
  EXPECT_NE(console.find("multi-GPU scaling"), std::string::npos) << console;
  EXPECT_NE(console.find("2.00x"), std::string::npos) << console;  // speedup over one GPU
  const std::string csv = reports::render_csv(report);
  const std::string header = csv.substr(0, csv.find('\n'));
  for (const char* column :
       {"gpus", "communication_s", "speedup_vs_one_gpu", "parallel_efficiency", "communication_share"})
    EXPECT_NE(header.find(column), std::string::npos) << column;
}

// ---- cutting a convolution into row bands ----

// Direct convolution of `planes_in / channels` images: input [N][C][H][W] (zero padding `pad`),
// filters [K][C][R][R], output [N][K][OH][OW]; fp64, the same summation order for every caller.
std::vector<double> convolve(const std::vector<double>& in, const std::vector<double>& w, const ConvShape& s) {
  const std::int64_t oh = s.out_height(), ow = s.out_width();
  std::vector<double> out(static_cast<std::size_t>(s.batch * s.filters * oh * ow));
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t k = 0; k < s.filters; ++k)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t x = 0; x < ow; ++x) {
          double acc = 0;
          for (std::int64_t c = 0; c < s.channels; ++c)
            for (std::int64_t r = 0; r < s.kernel; ++r)
              for (std::int64_t q = 0; q < s.kernel; ++q) {
                const std::int64_t iy = y * s.stride - s.pad + r, ix = x * s.stride - s.pad + q;
                if (iy < 0 || ix < 0 || iy >= s.height || ix >= s.width) continue;
                acc += w[static_cast<std::size_t>(((k * s.channels + c) * s.kernel + r) * s.kernel + q)] *
                       in[static_cast<std::size_t>(((n * s.channels + c) * s.height + iy) * s.width + ix)];
              }
          out[static_cast<std::size_t>(((n * s.filters + k) * oh + y) * ow + x)] = acc;
        }
  return out;
}

TEST(ConvRowSplit, SplitEvenlyCoversEverythingWithSizesOneApart) {
  for (std::int64_t total : {0, 1, 5, 16, 17}) {
    for (int parts : {1, 2, 3, 4, 8}) {
      const auto ranges = kernels::split_evenly(total, parts);
      ASSERT_EQ(static_cast<int>(ranges.size()), parts);
      EXPECT_EQ(ranges.front().begin, 0);
      EXPECT_EQ(ranges.back().end, total);
      for (std::size_t i = 1; i < ranges.size(); ++i) {
        EXPECT_EQ(ranges[i].begin, ranges[i - 1].end);
        EXPECT_LE(ranges[i].size(), ranges[i - 1].size());
        EXPECT_LE(ranges.front().size() - ranges[i].size(), 1);
      }
    }
  }
}

// Every part convolves its zero-padded slab with padding 0, holding before the exchange only the
// rows it owns and receiving the others by halo_transfers(); the bands put together must equal
// the convolution of the whole image exactly (same sums in the same order).
TEST(ConvRowSplit, SlabsWithTheirHalosReproduceTheWholeConvolution) {
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  for (int trial = 0; trial < 60; ++trial) {
    ConvShape s;
    s.batch = pick(1, 2);
    s.channels = pick(1, 3);
    s.filters = pick(1, 3);
    s.kernel = pick(1, 5);
    s.stride = pick(1, 3);
    s.pad = pick(0, s.kernel);
    s.height = pick(std::max<std::int64_t>(1, s.kernel - 2 * s.pad), 19);
    s.width = pick(std::max<std::int64_t>(1, s.kernel - 2 * s.pad), 7);
    const int parts = static_cast<int>(pick(1, 6));
    SCOPED_TRACE(testing::Message() << "N" << s.batch << " C" << s.channels << " K" << s.filters << " H" << s.height
                                    << " W" << s.width << " R" << s.kernel << " s" << s.stride << " p" << s.pad
                                    << " parts " << parts);
    std::vector<double> in(static_cast<std::size_t>(s.batch * s.channels * s.height * s.width));
    std::vector<double> w(static_cast<std::size_t>(s.filters * s.channels * s.kernel * s.kernel));
    for (double& v : in) v = value(rng);
    for (double& v : w) v = value(rng);
    const std::vector<double> whole = convolve(in, w, s);

    const auto split = kernels::split_conv_rows(s, parts);
    const auto transfers = kernels::halo_transfers(split);
    ASSERT_EQ(static_cast<int>(split.size()), parts);
    // The owned rows do not overlap and each lies within what its part needs.
    for (int p = 0; p < parts; ++p) {
      const auto& part = split[static_cast<std::size_t>(p)];
      if (!part.owned_rows.empty()) {
        EXPECT_GE(part.owned_rows.begin, part.needed_rows.begin);
        EXPECT_LE(part.owned_rows.end, part.needed_rows.end);
      }
      for (int q = p + 1; q < parts; ++q)
        EXPECT_TRUE(kernels::intersect(part.owned_rows, split[static_cast<std::size_t>(q)].owned_rows).empty());
    }

    const std::int64_t planes = s.batch * s.channels, wp = s.width + 2 * s.pad;
    std::vector<std::vector<double>> slabs(split.size());
    std::vector<std::vector<bool>> filled(split.size());
    for (std::size_t p = 0; p < split.size(); ++p) {
      const auto& part = split[p];
      slabs[p].assign(static_cast<std::size_t>(planes * part.slab_rows * wp), 0.0);
      filled[p].assign(static_cast<std::size_t>(part.slab_rows), false);
      for (std::int64_t row = part.owned_rows.begin; row < part.owned_rows.end; ++row) {
        filled[p][static_cast<std::size_t>(row - part.slab_top)] = true;
        for (std::int64_t plane = 0; plane < planes; ++plane)
          for (std::int64_t x = 0; x < s.width; ++x)
            slabs[p][static_cast<std::size_t>((plane * part.slab_rows + row - part.slab_top) * wp + s.pad + x)] =
                in[static_cast<std::size_t>((plane * s.height + row) * s.width + x)];
      }
    }
    // The exchange copies whole padded rows from the owner's slab, as the GPUs do.
    for (const auto& t : transfers) {
      const auto& from = split[static_cast<std::size_t>(t.from)];
      const auto& to = split[static_cast<std::size_t>(t.to)];
      ASSERT_FALSE(t.rows.empty());
      for (std::int64_t row = t.rows.begin; row < t.rows.end; ++row) {
        ASSERT_TRUE(filled[static_cast<std::size_t>(t.from)][static_cast<std::size_t>(row - from.slab_top)])
            << "part " << t.from << " sends row " << row << " it does not hold";
        filled[static_cast<std::size_t>(t.to)][static_cast<std::size_t>(row - to.slab_top)] = true;
        for (std::int64_t plane = 0; plane < planes; ++plane)
          for (std::int64_t x = 0; x < wp; ++x)
            slabs[static_cast<std::size_t>(t.to)]
                 [static_cast<std::size_t>((plane * to.slab_rows + row - to.slab_top) * wp + x)] =
                     slabs[static_cast<std::size_t>(t.from)]
                          [static_cast<std::size_t>((plane * from.slab_rows + row - from.slab_top) * wp + x)];
      }
    }
    std::vector<double> assembled(whole.size(), std::nan(""));
    const std::int64_t oh = s.out_height(), ow = s.out_width();
    for (std::size_t p = 0; p < split.size(); ++p) {
      const auto& part = split[p];
      if (part.out_rows.empty()) continue;
      for (std::int64_t row = part.needed_rows.begin; row < part.needed_rows.end; ++row)
        EXPECT_TRUE(filled[p][static_cast<std::size_t>(row - part.slab_top)]) << "part " << p << " lacks row " << row;
      ConvShape slab = s;
      slab.height = part.slab_rows;
      slab.width = wp;
      slab.pad = 0;
      ASSERT_EQ(slab.out_height(), part.out_rows.size());
      ASSERT_EQ(slab.out_width(), ow);
      const std::vector<double> band = convolve(slabs[p], w, slab);
      for (std::int64_t plane = 0; plane < s.batch * s.filters; ++plane)
        for (std::int64_t y = 0; y < part.out_rows.size(); ++y)
          for (std::int64_t x = 0; x < ow; ++x)
            assembled[static_cast<std::size_t>((plane * oh + part.out_rows.begin + y) * ow + x)] =
                band[static_cast<std::size_t>((plane * part.out_rows.size() + y) * ow + x)];
    }
    for (std::size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(assembled[i], whole[i]) << "output element " << i;
  }
}

// ---- the nccl variants on real GPUs ----

// The multi-GPU backends (BackendInfo::multi_gpu, run with --gpus) the tests walk: every one the
// registry holds, workload by workload in the order of workloads(), so that a new workload's nccl
// backend is verified without editing a list (issue 16).
std::vector<const BackendInfo*> multi_gpu_backends() {
  std::vector<const BackendInfo*> walked;
  for (const auto& w : workloads())
    for (const BackendInfo* b : gpu_registry().backends_for(w.name))
      if (b->multi_gpu) walked.push_back(b);
  return walked;
}

// Available when one of the walked backends can run here (each walked one is checked for its own).
Availability multi_gpu_availability() {
  const std::vector<const BackendInfo*> walked = multi_gpu_backends();
  if (walked.empty()) return Availability::no("no multi-GPU backend is registered");
  for (const BackendInfo* b : walked)
    if (b->availability().available) return Availability::yes();
  return walked.front()->availability();
}

#define SKIP_WITHOUT_NCCL_GPU()                                                                \
  do {                                                                                         \
    const Availability nccl = multi_gpu_availability();                                        \
    if (!nccl.available) GTEST_SKIP() << "the nccl backends cannot run here: " << nccl.reason; \
  } while (0)

std::string backend_key(const std::string& workload, const std::string& name) { return workload + "/" + name; }

// The walked backends are the multi-GPU rows of kernels/'s table, each once; every `nccl` row is a
// multi-GPU one on GPUs (`--gpus`), and a workload has at most one.
TEST(MultiGpuRegistration, TheMultiGpuWorkloadsHaveAnNcclBackendThatNeedsGpus) {
  std::vector<std::string> table_rows, walked;
  for (const auto& row : kernels::gpu_backend_definitions())
    if (row.multi_gpu) table_rows.push_back(backend_key(row.workload, row.name));
  std::map<std::string, int> per_workload;
  for (const BackendInfo* b : multi_gpu_backends()) {
    walked.push_back(backend_key(b->workload, b->name));
    EXPECT_TRUE(is_gpu(b->kind)) << b->workload << "/" << b->name;
    ++per_workload[b->workload];
  }
  for (const auto& w : workloads()) {
    if (const BackendInfo* b = gpu_registry().find(w.name, "nccl")) {
      EXPECT_TRUE(b->multi_gpu) << w.name;
    }
  }
  for (const auto& [workload, count] : per_workload) EXPECT_EQ(count, 1) << workload;
  EXPECT_FALSE(walked.empty());
  std::sort(table_rows.begin(), table_rows.end());
  std::vector<std::string> sorted = walked;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, table_rows);
  std::string list;
  for (const std::string& key : walked) list += " " + key;
  std::printf("[ GPU WALK ] multi-GPU:%s\n", list.c_str());
#if MLBENCH_TEST_BUILT_WITH_CUDA
  EXPECT_TRUE(static_cast<bool>(gpu_registry().gpu_count)) << "a CUDA build reports its device count";
#else
  EXPECT_FALSE(static_cast<bool>(gpu_registry().gpu_count));
#endif
}

// The device lists to run on: one GPU, and two where there are two.
std::vector<std::vector<int>> device_lists() {
  std::vector<std::vector<int>> lists = {{0}};
  if (gpu_registry().gpu_count && gpu_registry().gpu_count() >= 2) lists.push_back({0, 1});
  return lists;
}

// Both timing modes, the output verified after each, the communication time within the run's.
void expect_verified(const Problem& problem, Variant& variant, const std::string& label) {
  for (TimingMode mode : variant.timing_modes()) {
    SCOPED_TRACE(label + " " + to_string(mode));
    double seconds = 0;
    for (int i = 0; i < 2; ++i) seconds = variant.run(mode);
    EXPECT_GT(seconds, 0);
    EXPECT_GE(variant.communication_seconds(), 0);
    EXPECT_LE(variant.communication_seconds(), seconds * 1.001);
    HostBuffer out(problem.output_precision(), problem.output_size());
    out.poison();
    variant.read_output(out);
    const Verification v = problem.verify(out, variant.input_rounding());
    EXPECT_TRUE(v.passed) << "error " << v.max_error << " > " << v.tolerance << ": " << v.detail;
  }
}

std::string run_label(const std::string& workload, const std::string& shape, Precision p, int gpus) {
  return workload + " " + shape + " " + to_string(p) + " on " + std::to_string(gpus) + " GPU(s)";
}

// `backend` on `problem`, on every device list.
void run_multi_gpu_backend(const BackendInfo& backend, const Problem& problem) {
  for (const std::vector<int>& devices : device_lists()) {
    ExecutionConfig config;
    config.devices = devices;
    config.device = devices.front();
    auto variant = backend.prepare(problem, config);
    expect_verified(problem, *variant,
                    run_label(backend.workload + "/" + backend.name, problem.shape_label(), problem.precision(),
                              static_cast<int>(devices.size())));
  }
}

void run_nccl_backend(const std::string& workload, std::int64_t size, Precision precision,
                      const WorkloadOptions& options, std::uint64_t seed) {
  const auto problem = make_problem(workload, size, precision, seed, options);
  const BackendInfo* backend = gpu_registry().find(workload, "nccl");
  ASSERT_NE(backend, nullptr);
  run_multi_gpu_backend(*backend, *problem);
}

// Every walked multi-GPU backend, whatever its workload, at fp32 and fp64 where it declares them,
// on a size of 1, an awkward one and 256, with its workload's default options (`--preset quick`'s
// where the workload has one: no 256 MiB tensors); each available one must have been checked.
// The tests below add each split's own shapes and options.
TEST(MultiGpuVariants, EveryMultiGpuBackendIsVerifiedOnEveryGpuCount) {
  SKIP_WITHOUT_NCCL_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const BackendInfo* backend : multi_gpu_backends()) {
    const std::string key = backend_key(backend->workload, backend->name);
    SCOPED_TRACE(key);
    if (!backend->availability().available) {
      std::printf("[ SKIPPED  ] %s: %s\n", key.c_str(), backend->availability().reason.c_str());
      continue;
    }
    const WorkloadDescriptor* workload = find_workload(backend->workload);
    ASSERT_NE(workload, nullptr);
    WorkloadOptions options;
    if (workload->quick_preset) workload->quick_preset(options);
    int checked = 0;
    for (Precision p : {Precision::fp32, Precision::fp64}) {
      if (!backend->supports_precision(p)) continue;
      for (std::int64_t size : {1, 67, 256}) {
        const auto problem = make_problem(backend->workload, size, p, seed, options);
        if (!gpu_backend_takes(*backend, *problem)) continue;
        run_multi_gpu_backend(*backend, *problem);
        ++checked;
      }
    }
    EXPECT_GT(checked, 0) << key << " was never checked";
  }
}

TEST(MultiGpuVariants, ConvolutionIsVerifiedSplitByBatchAndByRows) {
  SKIP_WITHOUT_NCCL_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  WorkloadOptions options;
  for (std::int64_t batch : {1, 3}) {
    options.get<ConvolutionOptions>().batch = batch;
    for (Precision p : {Precision::fp32, Precision::fp64}) run_nccl_backend("convolution", 45, p, options, seed);
  }
  options.get<ConvolutionOptions>() = {};
  options.get<ConvolutionOptions>().stride = 2;
  options.get<ConvolutionOptions>().kernel = 5;
  run_nccl_backend("convolution", 33, Precision::fp32, options, seed);
}

#if MLBENCH_TEST_BUILT_WITH_CUDA
// The row split (slab, zero padding, halo buffers, placing the band) runs on one GPU too.
TEST(MultiGpuVariants, ConvolutionRowSplitIsVerifiedOnOneGpu) {
  SKIP_WITHOUT_NCCL_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (std::int64_t batch : {1, 2}) {
    WorkloadOptions options;
    options.get<ConvolutionOptions>().batch = batch;
    options.get<ConvolutionOptions>().kernel = batch == 1 ? 3 : 5;
    options.get<ConvolutionOptions>().stride = batch;
    const auto problem = make_problem("convolution", 37, Precision::fp32, seed, options);
    for (const std::vector<int>& devices : device_lists()) {
      ExecutionConfig config;
      config.devices = devices;
      auto variant = kernels::make_multi_gpu_conv(*problem, config, kernels::ConvSplit::rows);
      expect_verified(*problem, *variant, "row split, " + problem->shape_label());
    }
  }
}

#if MLBENCH_TEST_BUILT_WITH_CUDNN
// Each GPU's part runs the cuDNN algorithm the search measured and the gathered output verified
// (the single-GPU cudnn backend's choice), named in the notes; split by rows and by batch.
TEST(MultiGpuVariants, ConvolutionRunsTheCudnnAlgorithmWhoseGatheredOutputVerified) {
  SKIP_WITHOUT_NCCL_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (kernels::ConvSplit split : {kernels::ConvSplit::rows, kernels::ConvSplit::batch})
    for (Precision p : {Precision::fp32, Precision::fp64}) {
      WorkloadOptions options;
      options.get<ConvolutionOptions>().batch = 2;
      options.get<ConvolutionOptions>().kernel = 5;
      const auto problem = make_problem("convolution", 64, p, seed, options);
      for (const std::vector<int>& devices : device_lists()) {
        ExecutionConfig config;
        config.devices = std::vector<int>(devices);  // a copy-assignment trips gcc 12 -Wnonnull here
        auto variant = kernels::make_multi_gpu_conv(*problem, config, split);
        const auto listed = variant->notes();
        std::map<std::string, std::string> notes(listed.begin(), listed.end());
        SCOPED_TRACE(notes["split"]);
        EXPECT_EQ(notes["compute"].rfind("cuDNN ", 0), 0u) << notes["compute"];
        EXPECT_EQ(notes["compute"].find("UNKNOWN"), std::string::npos) << notes["compute"];
        if (notes.count("rejected_algorithms")) {
          EXPECT_NE(notes["rejected_algorithms"].find(" > "), std::string::npos) << notes["rejected_algorithms"];
        }
        std::printf("[ CUDNN    ] %s on %zu GPU(s): %s%s%s\n", notes["split"].c_str(), devices.size(),
                    notes["compute"].c_str(), notes.count("rejected_algorithms") ? "; rejected " : "",
                    notes.count("rejected_algorithms") ? notes["rejected_algorithms"].c_str() : "");
        expect_verified(*problem, *variant, "cuDNN " + notes["split"]);
      }
    }
}
#endif
#endif

TEST(MultiGpuVariants, ReductionAllReduceAndRowsAreVerified) {
  SKIP_WITHOUT_NCCL_GPU();
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (ReduceAxis axis : {ReduceAxis::all, ReduceAxis::rows})
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean}) {
      WorkloadOptions options;
      options.get<ReductionOptions>().axis = axis;
      options.get<ReductionOptions>().op = op;
      for (Precision p : {Precision::fp32, Precision::fp64})
        for (std::int64_t size : {1, 300}) run_nccl_backend("reduction", size, p, options, seed);
    }
}

}  // namespace
}  // namespace mlbench
