// The nccl backends under mpirun (mpi/gpu_ranks.cpp, docs/cluster.md): one GPU per rank, the
// NCCL id drawn on rank 0 and broadcast over MPI. Without a GPU (CI): `list` and the plan of an
// MPI job say why the cross-rank nccl rows are absent. With a GPU (the H200 host): one rank
// runs the gemm, reduction and convolution nccl rows verified; two ranks on a host with fewer
// GPUs than ranks leave the two-rank rows out, naming ranks and GPUs. Every mpirun is guarded
// by `timeout`; the tests skip, with the reason, without MPI, mpirun or (GPU tests) a GPU.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

const std::string kMpirun = std::string(MLBENCH_MPIEXEC) + " --allow-run-as-root --oversubscribe";

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

class MpiNccl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!MLBENCH_TEST_BUILT_WITH_MPI) GTEST_SKIP() << "built without MPI (libopenmpi-dev not found at configure time)";
    if (std::string(MLBENCH_MPIEXEC).empty() || access(MLBENCH_MPIEXEC, X_OK) != 0)
      GTEST_SKIP() << "mpirun not found (openmpi-bin)";
    dir_ = fs::temp_directory_path() / ("mlbench_mpi_nccl_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  Outcome run(const std::string& command) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string line = "timeout -k 5 300 " + command + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(line.c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.out = mlbench::test_support::slurp(out);
    o.err = mlbench::test_support::slurp(err);
    return o;
  }
  Outcome mpirun(int ranks, const std::string& args) {
    return run(kMpirun + " -np " + std::to_string(ranks) + " " + MLBENCH_EXE + " " + args);
  }
  // The nccl rows of `mpirun -np ranks mlbench list --json`: workload -> {available, reason}.
  std::map<std::string, std::pair<bool, std::string>> nccl_rows(int ranks) {
    const Outcome o = mpirun(ranks, "list --json");
    EXPECT_EQ(o.exit_code, 0) << o.err;
    std::map<std::string, std::pair<bool, std::string>> rows;
    const nlohmann::json list = nlohmann::json::parse(o.out, nullptr, false);
    if (!list.is_array()) return rows;
    for (const auto& row : list)
      if (row["backend"] == "nccl")
        rows[row["workload"].get<std::string>()] = {row["available"].get<bool>(),
                                                    row["unavailable_reason"].get<std::string>()};
    return rows;
  }
  // Skips unless the nccl rows can run here under mpirun (a CUDA device, NCCL built in).
  void require_gpu() {
    for (const auto& [workload, row] : nccl_rows(1))
      if (!row.first) GTEST_SKIP() << "nccl " << workload << " cannot run here: " << row.second;
  }
  nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    if (!in) return nullptr;
    return nlohmann::json::parse(in, nullptr, false);
  }
  // The GPUs nvidia-smi lists (the node's device count); -1 when it cannot say.
  int gpu_count() {
    const Outcome o = run("nvidia-smi -L");
    if (o.exit_code != 0) return -1;
    int count = 0;
    for (std::size_t at = 0; (at = o.out.find("GPU ", at)) != std::string::npos; ++at)
      if (at == 0 || o.out[at - 1] == '\n') ++count;
    return count;
  }

  fs::path dir_;
};

TEST_F(MpiNccl, WithoutAGpuListAndThePlanOfAnMpiJobSayWhyTheCrossRankNcclRowsAreAbsent) {
  if (IsSkipped()) return;
  const auto rows = nccl_rows(2);
  ASSERT_EQ(rows.size(), 3u) << "gemm, reduction and convolution each have an nccl row";
  for (const auto& [workload, row] : rows)
    if (row.first) GTEST_SKIP() << "nccl " << workload << " can run on this machine (it has a GPU)";
  for (const auto& [workload, row] : rows) {
    SCOPED_TRACE(workload);
    // The reason of this build: without CUDA, without NCCL, or without a device or driver.
    EXPECT_EQ(row.second.rfind("nccl across MPI ranks: ", 0), 0u) << row.second;
    EXPECT_GT(row.second.size(), std::string("nccl across MPI ranks: ").size()) << row.second;
  }
  // A default run under mpirun says it too, once, and its report records it.
  const fs::path json = dir_ / "report.json";
  const Outcome o = mpirun(2, "reduction --size 48 --repetitions 2 --no-peaks --json " + json.string());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE((o.out + o.err).find("nccl absent: " + rows.at("reduction").second), std::string::npos) << o.out << o.err;
  const nlohmann::json report = read_json(json);
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["mlbench"]["run"]["absent_backends"].value("nccl", ""), rows.at("reduction").second);
}

TEST_F(MpiNccl, OneRankRunsTheGemmReductionAndConvolutionNcclRowsVerifiedOnItsGpu) {
  if (IsSkipped()) return;
  require_gpu();
  if (IsSkipped()) return;
  const std::uint64_t seed = mlbench::test_support::fresh_seed();
  for (const std::string workload : {"gemm", "reduction", "convolution"}) {
    SCOPED_TRACE(workload);
    const fs::path json = dir_ / (workload + ".json");
    const std::string size = workload == "convolution" ? "256" : "1024";
    const Outcome o = mpirun(1, workload + " --size " + size + " --backends nccl --repetitions 3 --no-peaks --seed " +
                                    std::to_string(seed) + " --json " + json.string());
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    const nlohmann::json report = read_json(json);
    ASSERT_FALSE(report.is_null()) << o.err;
    int rows = 0;
    for (const auto& entry : report["benchmarks"]) {
      if (!entry.contains("mlbench")) continue;
      const auto& r = entry["mlbench"];
      if (r["backend"] != "nccl") continue;
      ++rows;
      EXPECT_EQ(r["status"], "ok") << r.value("error_message", "");
      EXPECT_TRUE(r["verification"]["passed"]);
      EXPECT_EQ(r["ranks"], 1);
      EXPECT_EQ(r["notes"].value("mpi_ranks", ""), "1 (one GPU per rank; NCCL id broadcast over MPI)");
      EXPECT_EQ(r["notes"].value("gpus", ""), "0");
    }
    EXPECT_EQ(rows, 2) << "the kernel and end-to-end rows of one rank";
    // The rank's context names its GPU: name, ordinal and UUID.
    const std::string gpu = report["context"]["mlbench"]["mpi_ranks"][0]["gpu"].get<std::string>();
    EXPECT_NE(gpu.find("(device 0, GPU-"), std::string::npos) << gpu;
  }
}

TEST_F(MpiNccl, TwoRanksOnAHostWithFewerGpusThanRanksLeaveTheTwoRankRowsOutNamingBoth) {
  if (IsSkipped()) return;
  require_gpu();
  if (IsSkipped()) return;
  const int gpus = gpu_count();
  if (gpus != 1) GTEST_SKIP() << "this host has " << gpus << " GPUs (nvidia-smi -L); the test needs exactly 1";
  const fs::path json = dir_ / "gemm.json";
  const Outcome o = mpirun(2, "gemm --size 512 --backends nccl --repetitions 2 --no-peaks --json " + json.string());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  const std::string why =
      "no GPU per rank: 2 ranks on a node with 1 GPU: each rank needs a GPU of its own (two ranks timing one GPU at "
      "the same time is not a measurement); run at most 1 rank per node (docs/cluster.md)";
  EXPECT_NE((o.out + o.err).find("nccl ranks=2 absent: " + why), std::string::npos) << o.out << o.err;
  const nlohmann::json report = read_json(json);
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["mlbench"]["run"]["absent_backends"].value("nccl ranks=2", ""), why);
  for (const auto& entry : report["benchmarks"]) {
    if (!entry.contains("mlbench") || entry["mlbench"]["backend"] != "nccl") continue;
    EXPECT_EQ(entry["mlbench"]["ranks"], 1) << "only the one-rank rows run";
    EXPECT_TRUE(entry["mlbench"]["verification"]["passed"]);
  }
}

}  // namespace
