// The attention / softmax / layernorm subcommands end to end (issue 17): bad option values
// give one line naming the problem and exit code 2; good ones run every CPU backend, verified,
// with the shape in the report; `all` includes the three workloads.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "bench/workloads.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

using ::mlbench::test_support::slurp;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

class TransformerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mlbench_tcli_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Outcome run(const std::string& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = std::string(MLBENCH_EXE) + " " + args + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(cmd.c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }
  void expect_bad_input(const std::string& args, const std::string& needle) {
    SCOPED_TRACE(args);
    const Outcome o = run(args);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  }
  fs::path dir_;
};

TEST_F(TransformerCli, BadOptionValuesGiveOneLineAndExitCode2) {
  expect_bad_input("attention --heads 0 --dry-run", "--heads");
  expect_bad_input("attention --head-dim 70000 --dry-run", "--head-dim");
  expect_bad_input("attention --batch -1 --dry-run", "--batch");
  expect_bad_input("attention --heads two --dry-run", "--heads");
  expect_bad_input("attention --seq 5 --size 7 --dry-run", "--seq");
  expect_bad_input("attention --seq 0 --dry-run", "size");
  expect_bad_input("sdpa --precision tf32 --size 8 --dry-run", "tf32");
  expect_bad_input("attention --causal=maybe --dry-run", "--causal");
  expect_bad_input("softmax --rows 0 --dry-run", "--rows");
  expect_bad_input("softmax --rows 1e3 --dry-run", "--rows");
  expect_bad_input("softmax --precision tf32 --rows 2 --size 8 --dry-run", "tf32");
  expect_bad_input("softmax --epsilon 0.1 --dry-run", "--epsilon");  // layer norm's option only
  expect_bad_input("layernorm --epsilon 0 --dry-run", "--epsilon");
  expect_bad_input("layernorm --epsilon -1e-5 --dry-run", "--epsilon");
  expect_bad_input("layernorm --epsilon nan --dry-run", "--epsilon");
  expect_bad_input("layer-norm --size 0 --dry-run", "size");
  expect_bad_input("all --seq 64 --dry-run", "--seq");  // in `all`, --size is every workload's size
  expect_bad_input("attention --backends onednn --size 8 --dry-run", "onednn");
  // an attention whose inputs cannot be held: refused before anything is allocated
  expect_bad_input("attention --batch 1048576 --heads 1048576 --size 1048576 --head-dim 65536 --dry-run", "attention");
}

TEST_F(TransformerCli, AllRunsTheWorkloadsThatTakeThePrecisionAndSaysWhichItLeftOut) {
  const Outcome o = run("all --precision tf32 --size 8 --backends serial --dry-run");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  // What each descriptor says of tf32 (bench/workloads.h precision_refusal): those that take it
  // run, in the workload list's order; the others are named once per reason.
  std::string runs;
  std::map<std::string, std::string> left_out;  // reason -> "a, b"
  for (const mlbench::WorkloadDescriptor& w : mlbench::workloads()) {
    const std::string why = mlbench::precision_refusal(w.name, mlbench::Precision::tf32);
    if (why.empty())
      runs += w.name + " size 8 serial\n";
    else
      left_out[why] += (left_out[why].empty() ? "" : ", ") + w.name;
  }
  EXPECT_EQ(o.out, runs);
  EXPECT_FALSE(left_out.empty());
  for (const auto& [why, names] : left_out)
    EXPECT_NE(o.err.find(names + " left out: " + (names.find(',') != std::string::npos ? "each " : "it ") + why),
              std::string::npos)
        << o.err;
  // Today: GEMM and convolution take tf32 (a math mode of multiplications), the other four refuse it.
  EXPECT_EQ(mlbench::precision_refusal("reduction", mlbench::Precision::tf32),
            "takes fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
  EXPECT_EQ(run("all --precision tf32 --size 8 --backends serial --dry-run -q").err, "");
  // Named on its own, a workload still refuses a precision it does not take.
  expect_bad_input("reduction --precision tf32 --size 8 --dry-run", "tf32");
  // Every workload takes bf16: nothing left out.
  const Outcome bf16 = run("all --precision bf16 --size 8 --backends serial --dry-run");
  EXPECT_EQ(bf16.exit_code, 0) << bf16.err;
  EXPECT_EQ(bf16.err.find("left out"), std::string::npos) << bf16.err;
}

TEST_F(TransformerCli, EachSubcommandRunsEveryCpuBackendVerifiedWithItsShape) {
  // The inputs' seed comes from the test's, so that MLBENCH_TEST_SEED replays a failure.
  const std::string common = " --no-peaks -q --time-budget 0.01 --max-repetitions 2 --backends serial,openmp --seed " +
                             std::to_string(::mlbench::test_support::fresh_seed());
  struct Case {
    std::string args, workload, label;
  };
  const std::vector<Case> cases = {
      {"attention --size 33 --batch 2 --heads 3 --head-dim 16 --causal", "attention", "B2 H3 S33 D16 causal"},
      {"sdpa --seq 17 --heads 1 --head-dim 8 --precision bf16", "attention", "B1 H1 S17 D8"},
      {"softmax --size 257 --rows 7 --precision fp16", "softmax", "7x257"},
      {"layernorm --size 33 --rows 5 --epsilon 0.001 --precision fp64", "layernorm", "5x33 eps=0.001"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const fs::path json = dir_ / "r.json";
    const Outcome o = run(c.args + common + " --json " + json.string());
    ASSERT_EQ(o.exit_code, 0) << o.err;
    const auto j = nlohmann::json::parse(slurp(json));
    std::set<std::string> backends;
    for (const auto& entry : j["benchmarks"]) {
      EXPECT_NE(entry["name"].get<std::string>().find(c.label), std::string::npos) << entry["name"];
      if (!entry.contains("mlbench")) continue;  // the row's fields ride on one entry per row
      const auto& m = entry["mlbench"];
      EXPECT_EQ(m["workload"], c.workload);
      EXPECT_TRUE(m["verification"]["passed"].get<bool>()) << m["verification"].dump();
      EXPECT_NE(entry["name"].get<std::string>().find(c.label), std::string::npos) << entry["name"];
      backends.insert(m["backend"].get<std::string>());
    }
    EXPECT_EQ(backends, (std::set<std::string>{"serial", "openmp"}));
  }
}

TEST_F(TransformerCli, AllIncludesTheThreeWorkloadsAndSharesBatch) {
  const Outcome o = run("all --size 16 --rows 4 --heads 2 --head-dim 8 --batch 2 --backends serial --dry-run");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  for (const char* w :
       {"attention size 16 serial", "softmax size 16 serial", "layernorm size 16 serial", "convolution size 16 serial"})
    EXPECT_NE(o.out.find(w), std::string::npos) << w << " in\n" << o.out;
  const Outcome help = run("all --help");
  EXPECT_EQ(std::count(help.out.begin(), help.out.end(), '\n') > 0, true);
  // one --batch, the convolution's and attention's batch at once
  std::size_t batches = 0;
  for (std::size_t at = help.out.find("--batch"); at != std::string::npos; at = help.out.find("--batch", at + 1))
    ++batches;
  EXPECT_EQ(batches, 1u) << help.out;
}

}  // namespace
