// bench/: problems, verification, the registry and the runner, with test-only backends.
#include <gtest/gtest.h>
#include <algorithm>

#include <limits>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "bench/analyze.h"
#include "bench/attention.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/reduction.h"
#include "bench/runner.h"
#include "bench/softmax.h"
#include "bench/workloads.h"
#include "tests/test_support.h"

using namespace mlbench;

namespace {

using namespace ::mlbench::test_support;

// Straightforward fp64 evaluation of each workload, written independently of bench/.
HostBuffer naive_output(const Problem& p) {
  HostBuffer out(p.output_precision(), p.output_size());
  if (auto* g = dynamic_cast<const GemmProblem*>(&p)) {
    const auto [m, n, k] = g->shape();
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (std::int64_t q = 0; q < k; ++q) acc += g->a().get(i * k + q) * g->b().get(q * n + j);
        out.set(i * n + j, acc);
      }
  } else if (auto* c = dynamic_cast<const ConvProblem*>(&p)) {
    const ConvShape& s = c->shape();
    const auto OH = s.out_height(), OW = s.out_width();
    for (std::int64_t b = 0; b < s.batch; ++b)
      for (std::int64_t k = 0; k < s.filters; ++k)
        for (std::int64_t oh = 0; oh < OH; ++oh)
          for (std::int64_t ow = 0; ow < OW; ++ow) {
            double acc = 0;
            for (std::int64_t ch = 0; ch < s.channels; ++ch)
              for (std::int64_t r = 0; r < s.kernel; ++r)
                for (std::int64_t q = 0; q < s.kernel; ++q) {
                  const auto ih = oh * s.stride - s.pad + r, iw = ow * s.stride - s.pad + q;
                  if (ih < 0 || iw < 0 || ih >= s.height || iw >= s.width) continue;
                  acc += c->weights().get(((k * s.channels + ch) * s.kernel + r) * s.kernel + q) *
                         c->input().get(((b * s.channels + ch) * s.height + ih) * s.width + iw);
                }
            out.set(((b * s.filters + k) * OH + oh) * OW + ow, acc);
          }
  } else if (auto* r = dynamic_cast<const ReductionProblem*>(&p)) {
    const auto& s = r->shape();
    const std::int64_t segments = static_cast<std::int64_t>(r->output_size());
    const std::int64_t length = s.rows * s.cols / segments;
    for (std::int64_t seg = 0; seg < segments; ++seg) {
      double acc = s.op == ReduceOp::max ? -INFINITY : 0.0;
      for (std::int64_t i = seg * length; i < (seg + 1) * length; ++i)
        acc = s.op == ReduceOp::max ? std::max(acc, r->input().get(i)) : acc + r->input().get(i);
      out.set(seg, s.op == ReduceOp::mean ? acc / length : acc);
    }
  }
  return out;
}

std::vector<std::unique_ptr<Problem>> small_problems(std::uint64_t seed, Precision precision) {
  std::vector<std::unique_ptr<Problem>> problems;
  WorkloadOptions o;
  for (std::int64_t size : {1, 7, 33}) {
    problems.push_back(make_problem("gemm", size, precision, seed, o));
    o.get<ConvolutionOptions>() = {2, 3, 5, 3, 1, -1};
    problems.push_back(make_problem("convolution", size, precision, seed, o));
    if (precision == Precision::tf32) continue;  // reductions have no tf32 (nothing is multiplied)
    for (auto op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean})
      for (auto axis : {ReduceAxis::all, ReduceAxis::rows}) {
        o.get<ReductionOptions>() = {op, axis};
        problems.push_back(make_problem("reduction", size, precision, seed, o));
      }
  }
  o.get<ConvolutionOptions>() = {1, 2, 3, 4, 2, 0};  // even kernel, stride 2, no padding
  problems.push_back(make_problem("convolution", 9, precision, seed, o));
  return problems;
}

}  // namespace

TEST(Verification, AcceptsCorrectOutputOfEveryWorkload) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (auto precision : all_precisions())
    for (const auto& p : small_problems(seed, precision)) {
      SCOPED_TRACE(to_string(precision));
      const Verification v = p->verify(naive_output(*p));
      EXPECT_TRUE(v.passed) << p->workload() << " " << p->shape_label() << ": " << v.max_error << " > " << v.tolerance
                            << " " << v.detail;
    }
}

TEST(Verification, RejectsOneWrongElement) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const auto& p : small_problems(seed, Precision::fp32)) {
    HostBuffer out = naive_output(*p);
    const std::size_t at = rng() % out.size();
    // Moved away from zero by 1e-3 of its magnitude plus 1e-3 (v * 1.001 + 1e-3 cancelled to
    // almost nothing when v was near -1: seeds 7252858138954829997, 14415948073669919907). The
    // change is >= 1e-3, 15 times the largest fp32 tolerance here (2.0e-6 of sum|a*b| <= 33:
    // GEMM K = 33; the convolutions have 27 and 32 taps), and >= 1e-3 of the reductions'
    // sum|x| (their inputs are in [0, 1), so v >= 0 and the change is 1e-3 * v + 1e-3).
    const double v = out.get(at);
    out.set(at, v + std::copysign(1e-3 * std::fabs(v) + 1e-3, v));
    EXPECT_FALSE(p->verify(out).passed) << p->workload() << " " << p->shape_label() << " element " << at;
  }
  // bf16 outputs are checked with a wider tolerance (~1e-2 of sum|a*b|); 0.5 + 1/8 of the element still fails
  for (const auto& p : small_problems(seed, Precision::bf16)) {
    HostBuffer out = naive_output(*p);
    const std::size_t at = rng() % out.size();
    const double v = out.get(at);
    out.set(at, v + std::copysign(0.125 * std::fabs(v) + 0.5, v));  // moves away from v by >= 0.5
    EXPECT_FALSE(p->verify(out).passed) << "bf16 " << p->workload() << " " << p->shape_label() << " element " << at;
  }
}

TEST(Verification, RejectsUnwrittenElement) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (const auto& p : small_problems(seed, Precision::fp64)) {
    HostBuffer out = naive_output(*p);
    out.set(out.size() / 2, NAN);
    const Verification v = p->verify(out);
    EXPECT_FALSE(v.passed);
    EXPECT_NE(v.detail.find("non-finite"), std::string::npos) << v.detail;
  }
}

TEST(Verification, LargeGemmUsesFreivaldsAndCatchesAWrongRow) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  GemmProblem p({300, 280, 900}, Precision::fp32, seed, 300);  // above the exhaustive limit
  HostBuffer out = naive_output(p);
  Verification ok = p.verify(out);
  EXPECT_TRUE(ok.passed) << ok.max_error << " " << ok.detail;
  EXPECT_NE(ok.method.find("freivalds"), std::string::npos);
  for (std::int64_t j = 0; j < 280; ++j) out.set(17 * 280 + j, out.get(17 * 280 + j) + 0.5);
  EXPECT_FALSE(p.verify(out).passed);
}

TEST(Verification, LargeConvolutionUsesWeightedSumAndCatchesAWrongPlane) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  ConvShape s;
  s.height = s.width = 700;
  s.channels = 3;
  s.filters = 8;
  ConvProblem p(s, Precision::fp32, seed, 700);
  HostBuffer out = naive_output(p);
  Verification ok = p.verify(out);
  EXPECT_TRUE(ok.passed) << ok.max_error << " " << ok.detail;
  EXPECT_NE(ok.method.find("weighted-sum"), std::string::npos);
  const std::size_t plane = 700 * 700;
  for (std::size_t i = 0; i < 700; ++i) out.set(3 * plane + i, out.get(3 * plane + i) + 1.0);  // one row of filter 3
  EXPECT_FALSE(p.verify(out).passed);
}

TEST(Problems, InputsAreRandomAndReproducible) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  GemmProblem a({64, 64, 64}, Precision::fp32, seed, 64), b({64, 64, 64}, Precision::fp32, seed, 64),
      c({64, 64, 64}, Precision::fp32, seed + 7, 64);
  int distinct = 0;
  for (std::size_t i = 0; i < a.a().size(); ++i) {
    EXPECT_EQ(a.a().get(i), b.a().get(i));
    distinct += a.a().get(i) != c.a().get(i);
    EXPECT_GE(a.a().get(i), -1.0);
    EXPECT_LT(a.a().get(i), 1.0);
  }
  EXPECT_GT(distinct, 4000);
}

// mpi/ ranks build only their shard: every slice UniformStream draws must be bitwise the same
// slice of the whole input fill_uniform draws (chunk boundaries at 2^20 elements crossed, thin
// slices in increasing order, a jump back, every storage type).
TEST(Problems, AShardDrawnAloneEqualsTheSameSliceOfTheWholeInput) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : {Precision::fp32, Precision::fp64, Precision::tf32, Precision::bf16}) {
    SCOPED_TRACE(to_string(precision));
    const std::size_t count = (std::size_t{5} << 19) + rng() % 1000;  // 2.5 chunks
    HostBuffer whole(precision, count);
    const UniformInput input{seed ^ 0x5eedULL, -1.0, 1.0};
    fill_uniform(whole, input.seed, input.lo, input.hi);
    HostBuffer shard(precision, count);
    shard.poison();
    UniformStream stream(input);
    // slices of 1 .. 3000 elements with gaps, in increasing order, then one jump back
    std::vector<std::pair<std::size_t, std::size_t>> slices;
    for (std::size_t at = rng() % 100; at < count;) {
      const std::size_t length = std::min<std::size_t>(1 + rng() % 3000, count - at);
      slices.emplace_back(at, length);
      at += length + rng() % 200000;
    }
    slices.emplace_back(0, 1000);
    slices.emplace_back((std::size_t{1} << 20) - 10, 20);  // across a chunk boundary
    std::size_t offset = 0, checked = 0;
    for (const auto& [first, length] : slices) {
      if (offset + length > count) offset = 0;
      stream.fill(shard, offset, first, length);
      for (std::size_t i = 0; i < length; ++i) {
        ASSERT_EQ(std::memcmp(static_cast<const char*>(shard.raw()) + (offset + i) * element_size(precision),
                              static_cast<const char*>(whole.raw()) + (first + i) * element_size(precision),
                              element_size(precision)),
                  0)
            << "element " << first + i << " of the stream";
        ++checked;
      }
      offset += length;
    }
    EXPECT_GT(checked, 1000u);
  }
  // The problem classes draw their inputs from the streams they name.
  GemmProblem gemm({40, 24, 33}, Precision::fp32, seed, 40);
  HostBuffer b_slice(Precision::fp32, 50);
  UniformStream(GemmProblem::b_input(seed)).fill(b_slice, 0, 100, 50);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(b_slice.get(i), gemm.b().get(100 + i));
}

TEST(Problems, BadShapesAreInputErrors) {
  WorkloadOptions o;
  EXPECT_THROW(make_problem("gemm", 0, Precision::fp32, 1, o), InputError);
  EXPECT_THROW(make_problem("gemm", -5, Precision::fp32, 1, o), InputError);
  EXPECT_THROW(make_problem("nonsense", 8, Precision::fp32, 1, o), InputError);
  o.get<ConvolutionOptions>().kernel = 9;
  o.get<ConvolutionOptions>().pad = 0;
  EXPECT_THROW(make_problem("convolution", 4, Precision::fp32, 1, o), InputError);  // kernel larger than image
  o = {};
  o.get<ConvolutionOptions>().batch = std::int64_t{1} << 20;
  o.get<ConvolutionOptions>().channels = std::int64_t{1} << 20;
  EXPECT_THROW(estimate_host_bytes("convolution", 1 << 20, Precision::fp64, o), InputError);  // overflow caught
  EXPECT_THROW(checked_mul(std::int64_t{1} << 40, std::int64_t{1} << 40, "x"), InputError);
}

TEST(Workloads, HostEstimateCountsTheProblemTheVerificationCopyAndTheFp32Widening) {
  const WorkloadOptions o;
  const std::size_t n2 = 100 * 100;
  // GEMM: A, B, C in the input type, C read back, and B widened to fp32 for the 16-bit types.
  // + the exact twin's A and B, and their int8 copies
  EXPECT_EQ(estimate_host_bytes("gemm", 100, Precision::fp32, o), 3 * n2 * 4 + n2 * 4 + 2 * n2 * (4 + 1));
  EXPECT_EQ(estimate_host_bytes("gemm", 100, Precision::bf16, o), 3 * n2 * 2 + n2 * 2 + n2 * 4 + 2 * n2 * (2 + 1));
  // Reduction: input and reference, one fp32 result per row read back.
  EXPECT_EQ(estimate_host_bytes("reduction", 100, Precision::fp64, o), (n2 + 100) * 8 + 100 * 4 + n2 * 8);
  // Convolution (3x3, same padding, C3 K16): input, filters, output; output read back; input
  // and filters widened for fp16.
  const std::size_t in = 3 * n2, weights = 16 * 3 * 9, out = 16 * n2;
  EXPECT_EQ(estimate_host_bytes("convolution", 100, Precision::fp16, o),
            (in + weights + out) * 2 + out * 2 + (in + weights) * 4 + (in + weights) * (2 + 1));
  EXPECT_THROW(checked_add(std::numeric_limits<std::int64_t>::max(), 1, "x"), InputError);
}

TEST(Workloads, AliasesResolve) {
  ASSERT_NE(find_workload("conv"), nullptr);
  EXPECT_EQ(find_workload("conv")->name, "convolution");
  EXPECT_EQ(find_workload("reduce")->name, "reduction");
  EXPECT_EQ(find_workload("gemmm"), nullptr);
}

// ---- the workload descriptors (bench/workload.h) ----

// The workload list MLBENCH_WORKLOADS as bench/CMakeLists.txt writes it: `set(MLBENCH_WORKLOADS`, then
// one name a line up to `)`.
std::vector<std::string> cmake_workload_list() {
  std::istringstream in(slurp(std::string(MLBENCH_SOURCE_DIR) + "/bench/CMakeLists.txt"));
  std::vector<std::string> names;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    for (std::string word; words >> word;) {
      if (!inside) {
        inside = word == "set(MLBENCH_WORKLOADS";
      } else if (word == ")") {
        return names;
      } else {
        names.push_back(word);
      }
    }
  }
  ADD_FAILURE() << "no set(MLBENCH_WORKLOADS ... ) in bench/CMakeLists.txt";
  return names;
}

// The file a new workload's source is read from, whole.
std::string source_file(const std::string& path) { return slurp(std::string(MLBENCH_SOURCE_DIR) + "/" + path); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Whether `word` occurs in `text` as a word of its own (letters, digits and '_' around it end it).
bool has_word(const std::string& text, const std::string& word) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !is_word(text[at - 1]);
    const bool ends = at + word.size() == text.size() || !is_word(text[at + word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

// Every workload is the one line of MLBENCH_WORKLOADS that names it (its descriptor is collected
// from that list, in that order: the order of `all`, the help and `list`); this test names none.
TEST(WorkloadDescriptors, EveryWorkloadIsListedOnceInTheCMakeListsOrder) {
  std::vector<std::string> names;
  for (const WorkloadDescriptor& w : workloads()) names.push_back(w.name);
  const std::vector<std::string> listed = cmake_workload_list();
  EXPECT_FALSE(listed.empty());
  EXPECT_EQ(names, listed);
}

// Proof of "Adding a workload" (ARCHITECTURE.md): the files every workload shares (the descriptor
// type, the list of descriptors, make_problem and the memory estimate) name no workload, include
// none of their headers and hold none of their options, so a new workload edits none of them.
TEST(WorkloadRegistration, TheSharedWorkloadFilesNameNoWorkload) {
  const std::vector<std::string> shared = {"bench/workload.h", "bench/workloads.h", "bench/workloads.cpp"};
  for (const std::string& path : shared) {
    SCOPED_TRACE(path);
    std::string text = source_file(path);
    ASSERT_FALSE(text.empty());
    if (path == "bench/workload.h") {
      // The descriptor type's comments give examples ("convolution", {"conv"}): only its code counts.
      std::string code;
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) code += line.substr(0, line.find("//")) + "\n";
      text = code;
    }
    text = lower(text);
    for (const WorkloadDescriptor& w : workloads()) {
      std::vector<std::string> spellings = w.aliases;
      spellings.insert(spellings.begin(), w.name);
      for (const std::string& s : spellings) EXPECT_FALSE(has_word(text, lower(s))) << "names " << s;
      EXPECT_EQ(text.find("#include \"bench/" + w.name + ".h\""), std::string::npos) << "includes " << w.name;
      EXPECT_EQ(text.find("#include \"bench/" + w.name + "_workload"), std::string::npos) << "includes " << w.name;
    }
  }
}

// The options of a run are found by type: a struct never set reads as its defaults (and is not
// stored by reading), one set is the run's, and a copy is a value of its own.
TEST(WorkloadRegistration, OptionsAreFoundByTypeDefaultedAndCopiedAsValues) {
  struct Mine {
    std::int64_t n = 7;
  };
  struct Other {
    double x = 0.5;
  };
  WorkloadOptions o;
  const WorkloadOptions& read = o;
  EXPECT_EQ(read.get<Mine>().n, 7);
  o.get<Mine>().n = 3;
  EXPECT_EQ(read.get<Mine>().n, 3);
  EXPECT_EQ(read.get<Other>().x, 0.5);
  WorkloadOptions copy = o;
  copy.get<Mine>().n = 9;
  copy.get<Other>().x = 2;
  EXPECT_EQ(read.get<Mine>().n, 3);
  EXPECT_EQ(read.get<Other>().x, 0.5);
  EXPECT_EQ(static_cast<const WorkloadOptions&>(copy).get<Mine>().n, 9);
  o = copy;
  EXPECT_EQ(read.get<Other>().x, 2);
}

// An option that several workloads declare (`all --batch 2`) is one value applied by each of
// them to its own options: every workload that declares --batch sees the batch.
TEST(WorkloadRegistration, ASharedOptionReachesEveryWorkloadThatDeclaresIt) {
  WorkloadOptions o;
  WorkloadOptionValue v;
  v.integer = 2;
  std::vector<std::string> declaring;
  for (const WorkloadDescriptor& w : workloads())
    for (const WorkloadOption& option : w.options)
      if (option.name == "--batch") {
        option.apply(v, o);
        declaring.push_back(w.name);
      }
  EXPECT_EQ(declaring, (std::vector<std::string>{"convolution", "attention"}));
  EXPECT_EQ(o.get<ConvolutionOptions>().batch, 2);
  EXPECT_EQ(o.get<AttentionOptions>().batch, 2);
}

TEST(WorkloadDescriptors, NamesAndAliasesAreUniqueAndResolveToTheirDescriptor) {
  std::set<std::string> seen;
  for (const WorkloadDescriptor& w : workloads()) {
    std::vector<std::string> spellings = w.aliases;
    spellings.insert(spellings.begin(), w.name);
    for (const std::string& s : spellings) {
      EXPECT_TRUE(seen.insert(s).second) << s << " names two workloads";
      EXPECT_EQ(find_workload(s), &w) << s;
    }
  }
  EXPECT_EQ(find_workload("sdpa")->name, "attention");
  EXPECT_EQ(find_workload("layer-norm")->name, "layernorm");
  EXPECT_EQ(find_workload(""), nullptr);
}

TEST(WorkloadDescriptors, EachIsCompleteAndItsOptionsAreWellFormed) {
  for (const WorkloadDescriptor& w : workloads()) {
    SCOPED_TRACE(w.name);
    EXPECT_FALSE(w.description.empty());
    EXPECT_FALSE(w.command_description.empty());
    EXPECT_FALSE(w.size_meaning.empty());
    EXPECT_GT(w.default_size, 0);
    EXPECT_TRUE(w.make_problem);
    EXPECT_TRUE(w.footprint);
    EXPECT_EQ(w.refused_precisions.empty(), w.refusal.empty());
    std::set<std::string> names;
    for (const WorkloadOption& o : w.options) {
      SCOPED_TRACE(o.name);
      EXPECT_EQ(o.name.rfind("--", 0), 0u);
      EXPECT_TRUE(names.insert(o.name).second) << "declared twice";
      EXPECT_FALSE(o.help.empty());
      EXPECT_FALSE(o.group.empty());
      EXPECT_EQ(static_cast<bool>(o.apply), o.type != WorkloadOption::Type::sizes);
      if (o.type == WorkloadOption::Type::integer && o.show_default) {
        EXPECT_LE(o.integer_min, o.integer_default);
        EXPECT_LE(o.integer_default, o.integer_max);
      }
      if (o.type == WorkloadOption::Type::text && !o.choices.empty()) {
        EXPECT_NE(std::find(o.choices.begin(), o.choices.end(), o.text_default), o.choices.end());
      }
    }
  }
}

// The command line's defaults are bench's: applying every option's default leaves the options
// as a default WorkloadOptions has them (same problem, same memory estimate).
TEST(WorkloadDescriptors, OptionDefaultsApplyToTheDefaultOptions) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const std::int64_t size = std::uniform_int_distribution<std::int64_t>(8, 40)(rng);
  const WorkloadOptions defaults;
  for (const WorkloadDescriptor& w : workloads()) {
    SCOPED_TRACE(w.name + " size " + std::to_string(size));
    WorkloadOptions applied;
    for (const WorkloadOption& o : w.options) {
      if (!o.apply) continue;
      WorkloadOptionValue v;
      v.integer = o.integer_default;
      v.real = o.real_default;
      v.text = o.text_default;
      o.apply(v, applied);
    }
    WorkloadOptions small = applied;
    small.get<RowOptions>().rows = 3;  // not a 256 MiB tensor
    WorkloadOptions small_defaults = defaults;
    small_defaults.get<RowOptions>().rows = 3;
    EXPECT_EQ(estimate_host_bytes(w.name, size, Precision::fp32, applied),
              estimate_host_bytes(w.name, size, Precision::fp32, defaults));
    const auto a = make_problem(w.name, size, Precision::fp32, seed, small);
    const auto b = make_problem(w.name, size, Precision::fp32, seed, small_defaults);
    EXPECT_EQ(a->workload(), w.name);
    EXPECT_EQ(a->shape_label(), b->shape_label());
  }
}

TEST(WorkloadDescriptors, OptionsCheckTheirValues) {
  auto option = [](const std::string& workload, const std::string& name) {
    for (const WorkloadOption& o : find_workload(workload)->options)
      if (o.name == name) return o;
    throw std::logic_error(workload + " has no " + name);
  };
  WorkloadOptions o;
  WorkloadOptionValue v;
  v.integer = 4;
  option("convolution", "--kernel").apply(v, o);
  v.text = "same";
  EXPECT_THROW(option("convolution", "--padding").apply(v, o), InputError);  // an even kernel has no "same"
  v.text = "2";
  option("convolution", "--padding").apply(v, o);
  EXPECT_EQ(o.get<ConvolutionOptions>().pad, 2);
  v.text = "02";
  EXPECT_THROW(option("convolution", "--padding").apply(v, o), InputError);
  v.text = "rows";
  option("reduction", "--axis").apply(v, o);
  EXPECT_EQ(o.get<ReductionOptions>().axis, ReduceAxis::rows);
  v.real = 0;
  EXPECT_THROW(option("layernorm", "--epsilon").apply(v, o), InputError);
  v.flag = true;
  option("attention", "--causal").apply(v, o);
  EXPECT_TRUE(o.get<AttentionOptions>().causal);
}

TEST(WorkloadDescriptors, PrecisionRefusalsAndTheReadRoofComeFromTheDescriptor) {
  for (const WorkloadDescriptor& w : workloads()) {
    SCOPED_TRACE(w.name);
    const bool refuses_tf32 = !precision_refusal(w.name, Precision::tf32).empty();
    EXPECT_EQ(refuses_tf32, w.name != "gemm" && w.name != "convolution");
    EXPECT_EQ(precision_refusal(w.name, Precision::fp32), "");
    EXPECT_EQ(w.memory_read_bound, w.name == "reduction");
  }
  EXPECT_EQ(precision_refusal("no such workload", Precision::tf32), "");
}

// ---- runner, with test-only backends ----

namespace {

class NaiveVariant : public Variant {
 public:
  NaiveVariant(const Problem& p, double corrupt) : problem_(p), corrupt_(corrupt) {}
  double run(TimingMode) override {
    const auto t0 = std::chrono::steady_clock::now();
    out_ = naive_output(problem_);
    if (corrupt_ != 0) out_.set(0, out_.get(0) + corrupt_);
    ++runs;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, out_.get(i));
  }
  static inline int runs = 0;

 private:
  const Problem& problem_;
  double corrupt_;
  HostBuffer out_;
};

Registry test_registry() {
  Registry r;
  auto add = [&r](std::string name, BackendKind kind, double corrupt, bool available, bool baseline = false) {
    BackendInfo b;
    b.name = std::move(name);
    b.is_baseline = baseline;
    b.workload = "gemm";
    b.kind = kind;
    b.availability = [available] { return available ? Availability::yes() : Availability::no("no such device here"); };
    b.prepare = [corrupt](const Problem& p, const ExecutionConfig&) {
      return std::make_unique<NaiveVariant>(p, corrupt);
    };
    r.add(std::move(b));
  };
  add("serial", BackendKind::cpu, 0, true, true);
  add("fast", BackendKind::cpu, 0, true);
  add("broken", BackendKind::cpu, 100.0, true);
  add("phantom", BackendKind::gpu, 0, false);
  return r;
}

RunOptions small_gemm_options() {
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {16};
  o.seed = fresh_seed();
  o.time_budget_s = 0.02;
  o.max_repetitions = 5;
  return o;
}

}  // namespace

TEST(Runner, TimesVerifiedVariantsAndNeverTimesAWrongOne) {
  const Registry registry = test_registry();
  RunOptions o = small_gemm_options();
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  o.repetitions = 3;
  Runner runner(registry, o);
  const RunPlan plan = runner.plan();
  ASSERT_EQ(plan.absent.size(), 1u);
  EXPECT_EQ(plan.absent[0].first, "phantom");
  EXPECT_EQ(plan.absent[0].second, "no such device here");
  const auto results = runner.run(plan);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    if (r.backend == "broken") {
      EXPECT_EQ(r.status, ResultStatus::failed_verification);
      EXPECT_EQ(r.stats.runs, 0);
      EXPECT_EQ(r.gflops, 0);
      EXPECT_GT(r.verification.max_error, r.verification.tolerance);
    } else {
      EXPECT_EQ(r.status, ResultStatus::ok) << r.verification.detail;
      EXPECT_EQ(r.stats.runs, 3);
      ASSERT_EQ(r.stats.run_times_s.size(), 3u);
      EXPECT_GT(r.stats.median_s, 0);
      EXPECT_GE(r.stats.cv, 0);
      EXPECT_NEAR(r.gflops, r.flops / r.stats.median_s / 1e9, 1e-9 * r.gflops);
      EXPECT_GT(r.speedup_vs_serial, 0);
      EXPECT_GT(r.speedup_vs_best_cpu, 0);
      EXPECT_LE(r.speedup_vs_best_cpu, 1.0 + 1e-12);  // nobody beats the best CPU among CPUs
    }
  }
}

TEST(Runner, AdaptiveRepetitionsStayWithinTheCap) {
  const Registry registry = test_registry();
  RunOptions o = small_gemm_options();
  o.backends = {"serial"};
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_GE(results[0].stats.runs, 1);
  EXPECT_LE(results[0].stats.runs, o.max_repetitions);
}

TEST(Runner, PlanRejectsBadRequests) {
  const Registry registry = test_registry();
  auto plan_with = [&](auto change) {
    RunOptions o = small_gemm_options();
    change(o);
    return Runner(registry, o).plan();
  };
  EXPECT_THROW(plan_with([](RunOptions& o) { o.backends = {"nope"}; }), InputError);
  try {
    plan_with([](RunOptions& o) { o.backends = {"phantom"}; });
    FAIL() << "an unavailable backend asked for by name must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no such device here"), std::string::npos);
  }
  EXPECT_THROW(plan_with([](RunOptions& o) { o.sizes = {0}; }), InputError);
  EXPECT_THROW(plan_with([](RunOptions& o) { o.workloads = {"fft"}; }), InputError);
  try {
    plan_with([](RunOptions& o) { o.sizes = {std::int64_t{1} << 24}; });  // 3 x 2^48 x 4 bytes
    FAIL() << "a problem larger than memory must be refused before allocating";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("needs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("available"), std::string::npos) << e.what();
  }
}

TEST(Results, SpeedupsAndVendorRatiosFollowFromMedians) {
  auto row = [](std::string backend, BackendKind kind, TimingMode mode, double median) {
    VariantResult r;
    r.workload = "gemm";
    r.shape_label = "M=N=K=8";
    r.backend = std::move(backend);
    r.backend_kind = kind;
    r.timing = mode;
    r.flops = 1e9;
    r.bytes = 1e6;
    r.stats.median_s = median;
    r.stats.runs = 1;
    return r;
  };
  std::vector<VariantResult> rs = {row("serial", BackendKind::cpu, TimingMode::host, 8.0),
                                   row("openblas", BackendKind::cpu_library, TimingMode::host, 2.0),
                                   row("cublas", BackendKind::gpu_library, TimingMode::kernel, 0.5),
                                   row("cuda", BackendKind::gpu, TimingMode::kernel, 1.0)};
  rs[0].is_baseline = true;
  rs[3].vendor_backend = "cublas";
  finalize_results(rs);
  EXPECT_DOUBLE_EQ(rs[1].speedup_vs_serial, 4.0);
  EXPECT_DOUBLE_EQ(rs[3].speedup_vs_serial, 8.0);
  EXPECT_DOUBLE_EQ(rs[3].speedup_vs_best_cpu, 2.0);
  EXPECT_EQ(rs[3].best_cpu_backend, "openblas");
  EXPECT_DOUBLE_EQ(rs[3].fraction_of_vendor, 0.5);
  EXPECT_DOUBLE_EQ(rs[0].gflops, 1e9 / 8.0 / 1e9);
}

// The charts' whiskers: each repetition's time as a rate and as a speedup over the best CPU
// backend's median; the extremes, for verified rows with 2+ repetitions only.
TEST(Results, RunSpreadsAreTheRatesAndSpeedupsOfTheSlowestAndFastestRepetitions) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto row = [&](std::string backend, BackendKind kind, double median, int runs) {
    VariantResult r;
    r.workload = "gemm";
    r.shape_label = "M=N=K=8";
    r.backend = std::move(backend);
    r.backend_kind = kind;
    r.flops = uniform(1e6, 1e12);
    r.stats.median_s = median;
    for (int i = 0; i < runs; ++i) r.stats.run_times_s.push_back(median * uniform(0.5, 2.0));
    r.stats.runs = runs;
    return r;
  };
  const double cpu_s = uniform(1e-3, 1.0), gpu_s = cpu_s / uniform(2, 100);
  std::vector<VariantResult> rs = {row("openmp", BackendKind::cpu, cpu_s, 5), row("cuda", BackendKind::gpu, gpu_s, 7),
                                   row("cublas", BackendKind::gpu_library, gpu_s, 1),
                                   row("broken", BackendKind::gpu, gpu_s, 4)};
  rs[3].status = ResultStatus::failed_verification;
  finalize_results(rs);

  for (const std::size_t i : {0, 1}) {
    const VariantResult& r = rs[i];
    SCOPED_TRACE(r.backend);
    const auto [fastest, slowest] = std::minmax_element(r.stats.run_times_s.begin(), r.stats.run_times_s.end());
    EXPECT_DOUBLE_EQ(r.run_gflops_min, r.flops / *slowest / 1e9);
    EXPECT_DOUBLE_EQ(r.run_gflops_max, r.flops / *fastest / 1e9);
    EXPECT_DOUBLE_EQ(r.run_speedup_vs_best_cpu_min, cpu_s / *slowest);
    EXPECT_DOUBLE_EQ(r.run_speedup_vs_best_cpu_max, cpu_s / *fastest);
  }
  for (const std::size_t i : {2, 3}) {  // one repetition; failed verification
    SCOPED_TRACE(rs[i].backend);
    EXPECT_EQ(rs[i].run_gflops_min, 0);
    EXPECT_EQ(rs[i].run_gflops_max, 0);
    EXPECT_EQ(rs[i].run_speedup_vs_best_cpu_min, 0);
    EXPECT_EQ(rs[i].run_speedup_vs_best_cpu_max, 0);
  }
}
