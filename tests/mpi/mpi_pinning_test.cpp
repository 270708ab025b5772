// The default pinning of an MPI rank (mpi/mpi_launch.h plan_rank_cpus, docs/cluster.md "Thread
// pinning under MPI") on fabricated nodes: any core count, hardware threads per core, launcher
// binding and local rank, so that what holds on the 2-core CI machine is checked for the
// 16-core GPU host and SMT nodes too; the launch environment it reads (detect_launch); and what
// becomes of GPU rows under MPI: the GPU of each rank (choose_rank_gpu) and the rows kept or
// left out (account_for_gpu_rows), which no GPU-less machine plans.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/thread_binding.h"
#include "mpi/mpi_launch.h"
#include "tests/test_support.h"

namespace mlbench::mpi {
namespace {

using ::mlbench::test_support::fresh_seed;

// `cores` physical cores with `smt` hardware threads each, numbered like Linux does on x86
// (core c's threads are c, c + cores, ...), from CPU `first`.
std::vector<std::vector<int>> node(int cores, int smt, int first = 0) {
  std::vector<std::vector<int>> out(static_cast<std::size_t>(cores));
  for (int c = 0; c < cores; ++c)
    for (int t = 0; t < smt; ++t) out[static_cast<std::size_t>(c)].push_back(first + c + t * cores);
  return out;
}

LaunchEnvironment launch(int size, int rank, int local_rank, int local_size) {
  LaunchEnvironment l;
  l.size_variable = "OMPI_COMM_WORLD_SIZE";
  l.size = size;
  l.rank = rank;
  l.local_rank = local_rank;
  l.local_size = local_size;
  return l;
}

// Unbound ranks of one node split its cores into disjoint contiguous blocks that cover them
// all, the first `cores mod ranks` one core more, a core's hardware threads kept together.
TEST(MpiPinning, UnboundRanksOfANodeSplitItsCoresIntoDisjointBlocksThatCoverThem) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 50; ++trial) {
    const int cores = std::uniform_int_distribution<int>(1, 128)(rng);
    const int smt = std::uniform_int_distribution<int>(1, 2)(rng);
    const int ranks = std::uniform_int_distribution<int>(2, cores + 2)(rng);  // sometimes more ranks than cores
    SCOPED_TRACE(std::to_string(ranks) + " ranks on " + std::to_string(cores) + " cores x" + std::to_string(smt));
    const auto topology = node(cores, smt);
    std::set<int> covered;
    for (int local = 0; local < ranks; ++local) {
      const RankCpuPlan plan = plan_rank_cpus(launch(ranks, local, local, ranks), topology, false);
      if (ranks > cores) {  // more ranks than cores: not pinned, and why
        EXPECT_FALSE(plan.pin);
        EXPECT_TRUE(plan.cpus.empty());
        EXPECT_NE(plan.note.find("not pinned: " + std::to_string(ranks) + " ranks on its node share"),
                  std::string::npos)
            << plan.note;
        continue;
      }
      ASSERT_TRUE(plan.pin) << plan.note;
      const int expected_cores = cores / ranks + (local < cores % ranks ? 1 : 0);
      EXPECT_EQ(static_cast<int>(plan.cpus.size()), expected_cores * smt);
      EXPECT_TRUE(std::is_sorted(plan.cpus.begin(), plan.cpus.end()));
      for (int cpu : plan.cpus) {
        EXPECT_TRUE(covered.insert(cpu).second) << "CPU " << cpu << " given twice";
        // every hardware thread of its core comes with it
        for (int t = 0; t < smt; ++t)
          EXPECT_NE(std::find(plan.cpus.begin(), plan.cpus.end(), cpu % cores + t * cores), plan.cpus.end());
      }
      EXPECT_NE(plan.note.find("its share as local rank " + std::to_string(local) + " of " + std::to_string(ranks)),
                std::string::npos)
          << plan.note;
      EXPECT_NE(plan.note.find("MPI rank " + std::to_string(local) + ": CPUs " + cpu_list_text(plan.cpus)),
                std::string::npos)
          << plan.note;
    }
    if (ranks <= cores) {
      EXPECT_EQ(static_cast<int>(covered.size()), cores * smt) << "cores left idle";
    }
  }
}

TEST(MpiPinning, TheGpuHostsSixteenCoresGoFourToEachOfFourRanks) {
  for (int local = 0; local < 4; ++local) {
    const RankCpuPlan plan = plan_rank_cpus(launch(8, 4 + local, local, 4), node(16, 1), false);
    std::vector<int> expected;
    for (int c = 4 * local; c < 4 * local + 4; ++c) expected.push_back(c);
    EXPECT_EQ(plan.cpus, expected);
    EXPECT_EQ(plan.note.rfind("MPI rank " + std::to_string(4 + local) + ": CPUs ", 0), 0u) << plan.note;
  }
}

TEST(MpiPinning, ALaunchersBindingIsKeptAndNamed) {
  const RankCpuPlan plan = plan_rank_cpus(launch(2, 1, 1, 2), node(8, 2, 8), true);
  EXPECT_TRUE(plan.pin);
  EXPECT_TRUE(plan.cpus.empty()) << "the mask is left as the launcher set it";
  EXPECT_EQ(plan.note, "MPI rank 1: CPUs 8-23 (8 cores), as the launcher bound it");
}

TEST(MpiPinning, AnUnboundRankWhoseLocalRankIsUnknownIsNotPinned) {
  const RankCpuPlan plan = plan_rank_cpus(launch(4, 3, -1, 0), node(16, 1), false);
  EXPECT_FALSE(plan.pin);
  EXPECT_NE(plan.note.find("not pinned: the launcher neither bound it nor said how many ranks share its node"),
            std::string::npos)
      << plan.note;
}

TEST(MpiPinning, TheOnlyRankOfItsNodeAndASingleProcessArePinnedAsWithoutMpi) {
  const RankCpuPlan alone = plan_rank_cpus(launch(4, 2, 0, 1), node(16, 1), false);
  EXPECT_TRUE(alone.pin);
  EXPECT_TRUE(alone.cpus.empty());
  EXPECT_EQ(alone.note, "MPI rank 2: CPUs 0-15, the only rank on its node");
  const RankCpuPlan single = plan_rank_cpus(LaunchEnvironment{}, node(16, 1), false);
  EXPECT_TRUE(single.pin);
  EXPECT_TRUE(single.cpus.empty());
  EXPECT_TRUE(single.note.empty());
}

// ---- one GPU per rank: the choice, and what becomes of GPU rows under MPI ----

TEST(RankGpuChoice, EachLocalRankGetsTheGpuOfItsNumberWhenTheNodeHasOneForEveryRank) {
  std::mt19937_64 random(mlbench::test_support::fresh_seed());
  for (int trial = 0; trial < 200; ++trial) {
    const int gpus = std::uniform_int_distribution<int>(1, 16)(random);
    const int ranks = std::uniform_int_distribution<int>(1, gpus)(random);
    std::set<int> devices;
    for (int local = 0; local < ranks; ++local) {
      const RankGpuChoice choice = choose_rank_gpu(local, ranks, gpus);
      ASSERT_TRUE(choice.chosen()) << local << " of " << ranks << " on " << gpus << " GPUs: " << choice.refusal;
      EXPECT_EQ(choice.device, local);
      EXPECT_TRUE(choice.refusal.empty());
      devices.insert(choice.device);
    }
    EXPECT_EQ(devices.size(), static_cast<std::size_t>(ranks));  // no GPU shared by two ranks
  }
}

TEST(RankGpuChoice, MoreRanksOnANodeThanGpusAreRefusedNamingBoth) {
  std::mt19937_64 random(mlbench::test_support::fresh_seed());
  for (int trial = 0; trial < 100; ++trial) {
    const int gpus = std::uniform_int_distribution<int>(1, 8)(random);
    const int ranks = gpus + std::uniform_int_distribution<int>(1, 8)(random);
    for (int local : {0, gpus - 1, ranks - 1}) {  // even the ranks whose number has a GPU
      const RankGpuChoice choice = choose_rank_gpu(local, ranks, gpus);
      EXPECT_FALSE(choice.chosen());
      EXPECT_EQ(choice.device, -1);
      EXPECT_EQ(
          choice.refusal.rfind(std::to_string(ranks) + " ranks on a node with " + std::to_string(gpus) + " GPU", 0), 0u)
          << choice.refusal;
      EXPECT_NE(choice.refusal.find("not a measurement"), std::string::npos) << choice.refusal;
    }
  }
  EXPECT_EQ(choose_rank_gpu(0, 2, 1).refusal,
            "2 ranks on a node with 1 GPU: each rank needs a GPU of its own (two ranks timing one GPU at the same time "
            "is not a measurement); run at most 1 rank per node");
}

TEST(RankGpuChoice, NoGpuNoCudaOrAnUnknownLocalRankAreRefusedWithTheReason) {
  EXPECT_EQ(choose_rank_gpu(0, 1, -1).refusal, "built without CUDA");
  EXPECT_EQ(choose_rank_gpu(0, 1, 0).refusal, "no CUDA device on its node");
  EXPECT_NE(choose_rank_gpu(-1, 2, 4).refusal.find("node-local rank is unknown"), std::string::npos);
  for (const RankGpuChoice& c : {choose_rank_gpu(0, 1, -1), choose_rank_gpu(0, 1, 0), choose_rank_gpu(-1, 2, 4)})
    EXPECT_FALSE(c.chosen());
}

struct FakePlan {
  BackendInfo serial, cuda, cublas, nccl;
  RunPlan plan;
  FakePlan() {
    serial.name = "serial";
    serial.kind = BackendKind::cpu;
    cuda.name = "cuda";
    cuda.kind = BackendKind::gpu;
    cublas.name = "cublas";
    cublas.kind = BackendKind::gpu_library;
    nccl.name = "nccl";
    nccl.kind = BackendKind::gpu_library;
    nccl.rank_counts = {1, 2};
    for (const BackendInfo* b : {&serial, &cuda, &cublas, &cuda}) {
      plan.variants.push_back({"gemm", 256, b, {}, 0});
      plan.timed_rows += is_gpu(b->kind) ? 2 : 1;
    }
    for (int ranks : nccl.rank_counts) {  // a cross-rank row per rank count, as the runner plans them
      plan.variants.push_back({"gemm", 256, &nccl, {}, ranks});
      plan.timed_rows += 2;
    }
  }
  std::vector<std::string> backends() const {
    std::vector<std::string> names;
    for (const auto& v : plan.variants) names.push_back(v.backend->name + (v.ranks > 0 ? std::to_string(v.ranks) : ""));
    return names;
  }
};

TEST(MpiGpuRows, AFleetWhoseRanksCannotHaveAGpuEachLeavesItsGpuRowsOutSayingWhy) {
  FakePlan f;
  account_for_gpu_rows(f.plan, true, 6, choose_rank_gpu(0, 3, 1), {"gemm"});
  EXPECT_EQ(f.backends(), std::vector<std::string>{"serial"});
  EXPECT_EQ(f.plan.timed_rows, 1);
  ASSERT_EQ(f.plan.absent.size(), 3u);  // each backend once
  for (const auto& [name, why] : f.plan.absent) {
    EXPECT_TRUE(name == "cuda" || name == "cublas" || name == "nccl") << name;
    EXPECT_EQ(why,
              "a fleet rank has no GPU of its own: 3 ranks on a node with 1 GPU: each rank needs a GPU of its "
              "own (two ranks timing one GPU at the same time is not a measurement); run at most 1 rank per "
              "node (docs/cluster.md)");
  }
}

TEST(MpiGpuRows, AFleetWhoseRanksHaveAGpuEachKeepsItsGpuRows) {
  for (const RankGpuChoice& choice : {choose_rank_gpu(0, 1, 1), choose_rank_gpu(3, 4, 8)}) {
    FakePlan f;
    const int timed = f.plan.timed_rows;
    account_for_gpu_rows(f.plan, true, 4, choice, {});
    EXPECT_EQ(f.backends(), (std::vector<std::string>{"serial", "cuda", "cublas", "cuda", "nccl1", "nccl2"}));
    EXPECT_EQ(f.plan.timed_rows, timed);
    EXPECT_TRUE(f.plan.absent.empty());
  }
}

TEST(MpiGpuRows, AnOrdinaryJobRunsOneRankRowsAndLeavesCrossRankRowsOutWithTheReason) {
  // Ranks that cannot have a GPU each: the rows of several ranks are refused with the reason.
  FakePlan refused;
  account_for_gpu_rows(refused.plan, false, 2, choose_rank_gpu(0, 2, 1), {"gemm"});
  EXPECT_EQ(refused.backends(), (std::vector<std::string>{"serial", "cuda", "cublas", "cuda", "nccl1"}));
  EXPECT_EQ(refused.plan.timed_rows, 1 + 3 * 2 + 2);
  ASSERT_EQ(refused.plan.absent.size(), 1u);
  EXPECT_EQ(refused.plan.absent[0].first, "nccl ranks=2");
  EXPECT_EQ(refused.plan.absent[0].second.rfind("no GPU per rank: 2 ranks on a node with 1 GPU", 0), 0u)
      << refused.plan.absent[0].second;
  // A GPU each but the workload's pipeline across processes not built: left out, saying so.
  FakePlan unbuilt;
  account_for_gpu_rows(unbuilt.plan, false, 2, choose_rank_gpu(0, 2, 2), {"reduction"});
  EXPECT_EQ(unbuilt.backends(), (std::vector<std::string>{"serial", "cuda", "cublas", "cuda", "nccl1"}));
  ASSERT_EQ(unbuilt.plan.absent.size(), 1u);
  EXPECT_EQ(unbuilt.plan.absent[0].second.rfind("not built: the nccl gemm pipeline across MPI ranks", 0), 0u)
      << unbuilt.plan.absent[0].second;
  // Built and a GPU each: every row stays.
  FakePlan built;
  account_for_gpu_rows(built.plan, false, 2, choose_rank_gpu(1, 2, 2), {"gemm", "reduction"});
  EXPECT_EQ(built.plan.variants.size(), 6u);
  EXPECT_TRUE(built.plan.absent.empty());
  // One process: nothing to say, whatever the GPUs.
  FakePlan single;
  account_for_gpu_rows(single.plan, false, 1, choose_rank_gpu(0, 1, 0), {});
  account_for_gpu_rows(single.plan, true, 1, choose_rank_gpu(0, 1, 0), {});
  EXPECT_TRUE(single.plan.absent.empty());
  EXPECT_EQ(single.plan.variants.size(), 6u);
}

// The launch environment: Open MPI's, MPICH hydra's and Slurm's local rank and node size.
class LaunchVariables : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : kVariables) {
      if (const char* old = std::getenv(v)) saved_.emplace_back(v, old);
      unsetenv(v);
    }
  }
  void TearDown() override {
    for (const char* v : kVariables) unsetenv(v);
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }
  static constexpr const char* kVariables[] = {"OMPI_COMM_WORLD_SIZE",
                                               "OMPI_COMM_WORLD_RANK",
                                               "OMPI_COMM_WORLD_LOCAL_RANK",
                                               "OMPI_COMM_WORLD_LOCAL_SIZE",
                                               "PMI_SIZE",
                                               "PMI_RANK",
                                               "MPI_LOCALRANKID",
                                               "MPI_LOCALNRANKS",
                                               "MV2_COMM_WORLD_SIZE",
                                               "MV2_COMM_WORLD_RANK",
                                               "MV2_COMM_WORLD_LOCAL_RANK",
                                               "MV2_COMM_WORLD_LOCAL_SIZE",
                                               "SLURM_STEP_NUM_TASKS",
                                               "SLURM_PROCID",
                                               "SLURM_LOCALID",
                                               "SLURM_NODEID",
                                               "SLURM_STEP_TASKS_PER_NODE"};
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(LaunchVariables, OpenMpiAndHydraSayTheLocalRankAndTheNodesRanks) {
  setenv("OMPI_COMM_WORLD_SIZE", "6", 1);
  setenv("OMPI_COMM_WORLD_RANK", "4", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "3", 1);
  LaunchEnvironment l = detect_launch();
  EXPECT_EQ(l.size, 6);
  EXPECT_EQ(l.rank, 4);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.local_size, 3);
  for (const char* v :
       {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"})
    unsetenv(v);
  setenv("PMI_SIZE", "4", 1);
  setenv("PMI_RANK", "0", 1);
  setenv("MPI_LOCALRANKID", "0", 1);
  setenv("MPI_LOCALNRANKS", "2", 1);
  l = detect_launch();
  EXPECT_EQ(l.size, 4);
  EXPECT_EQ(l.local_rank, 0);
  EXPECT_EQ(l.local_size, 2);
}

TEST_F(LaunchVariables, SlurmsTasksPerNodeGiveTheRanksOfThisNode) {
  setenv("SLURM_STEP_NUM_TASKS", "7", 1);
  setenv("SLURM_PROCID", "6", 1);
  setenv("SLURM_LOCALID", "0", 1);
  setenv("SLURM_STEP_TASKS_PER_NODE", "2(x3),1", 1);  // nodes 0-2: 2 tasks, node 3: 1
  for (const auto& [node_id, tasks] : std::vector<std::pair<const char*, int>>{{"0", 2}, {"2", 2}, {"3", 1}}) {
    setenv("SLURM_NODEID", node_id, 1);
    const LaunchEnvironment l = detect_launch();
    EXPECT_EQ(l.size, 7);
    EXPECT_EQ(l.local_rank, 0);
    EXPECT_EQ(l.local_size, tasks) << "node " << node_id;
  }
  setenv("SLURM_NODEID", "4", 1);  // beyond the list: unknown, never a guess
  EXPECT_EQ(detect_launch().local_size, 0);
  EXPECT_EQ(detect_launch().local_rank, -1);
}

}  // namespace
}  // namespace mlbench::mpi
