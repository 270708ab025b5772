// MPI launches: detecting mpirun / srun from the environment, starting and ending MPI, the
// follower loop of ranks > 0, and the `mpi` backends. The CLI calls these; bench/ knows nothing
// of MPI (the `mpi` backends reach it only through the registry).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/runner.h"
#include "bench/machine_context.h"
#include "bench/rank_group.h"

namespace mlbench::mpi {

// What the environment says about the launch: the variable that gave the process count and
// the count ("OMPI_COMM_WORLD_SIZE", 3); size 0 when no launcher set one.
struct LaunchEnvironment {
  std::string size_variable;
  int size = 0;
  int rank = 0;  // this process's rank as the launcher numbered it (0 when unknown)
  // Its rank among the processes of its node and their count, where the launcher says
  // (OMPI_COMM_WORLD_LOCAL_RANK/_SIZE, MPI_LOCALRANKID/MPI_LOCALNRANKS, SLURM_LOCALID with
  // SLURM_STEP_TASKS_PER_NODE); -1 and 0 when it does not.
  int local_rank = -1, local_size = 0;
};
LaunchEnvironment detect_launch();

// ---- default thread pinning of a rank (cli/thread_pinning.cpp applies it before it re-executes) ----
// Ranks on one node must not pin their OpenMP threads to the same cores (OMP_PLACES=cores in
// every rank would put every rank's thread 0 on the first core of its mask).
struct RankCpuPlan {
  bool pin = true;        // false: leave OpenMP threads unpinned (`note` says why)
  std::vector<int> cpus;  // non-empty: confine the process to these CPUs first (its share of the node)
  std::string note;       // how this rank's CPUs were chosen, for the report ("" outside a launch)
};
// `cores`: the CPUs the process may use now, grouped by physical core (cores in order of their
// first CPU); `launcher_bound`: the launcher confined the process to a part of what it had.
// The launcher's binding is kept; an unbound rank gets a contiguous block of the cores, split
// among its node's ranks by local rank; with more ranks than cores (or without a local rank)
// it is not pinned, and the note says why.
RankCpuPlan plan_rank_cpus(const LaunchEnvironment& launch, const std::vector<std::vector<int>>& cores,
                           bool launcher_bound);
// The CPUs of this process's affinity mask, grouped by physical core (sysfs topology).
std::vector<std::vector<int>> affinity_cores();
// Whether the launcher bound this process to a part of what the launcher had: its mask is
// narrower than its parent's (the launcher's daemon: mpirun/orted, slurmstepd); where that
// cannot be read, Open MPI's OMPI_MCA_orte_bound_at_launch=1.
bool launcher_bound_this_process();

// First thing in main (after the thread-pinning re-exec): under mpirun/srun, initializes MPI,
// refuses a launch whose environment counts N > 1 processes while MPI's world has another size
// (a program built against another MPI than the launcher's: every process is rank 0), a
// multi-process launch of a build without MPI, and ranks whose arguments differ from rank 0's.
// Returns the exit code to leave with at once (2, one line on stderr from one process), or
// nothing to go on.
std::optional<int> start(int argc, char** argv);
// True on ranks > 0 of an MPI launch: they run follow() instead of the command.
bool is_follower();
// How a follower reads its own machine context when rank 0 asks for it (the report of an MPI
// job holds every rank's, MachineContext::mpi_ranks); `threads` is rank 0's thread count. The
// CLI sets it to collect_machine_context with the full registry (GPU, OpenBLAS); without it a
// follower collects with an empty registry.
void set_context_collector(std::function<MachineContext(int threads)> collect);
// Ranks > 0: executes what rank 0 broadcasts (prepare, run, release) until rank 0 ends the
// job; returns rank 0's exit code.
int follow();
// Rank 0 (and any process outside an MPI launch): tells the followers to exit with
// `exit_code`, ends MPI, returns `exit_code`.
int finish(int exit_code);

// ---- one GPU per rank (docs/cluster.md) ----
// A rank's GPU: `device` (its ordinal) or, when it cannot have one of its own, -1 and
// `refusal` (why, naming the ranks and GPUs).
struct RankGpuChoice {
  int device = -1;
  std::string refusal;
  bool chosen() const { return device >= 0; }
};
// Local rank `local_rank` of the `node_ranks` ranks on its node, which has `device_count`
// GPUs (-1: a build without CUDA): device = local_rank when every rank of the node gets a GPU
// of its own; refused when the node runs more ranks than it has GPUs (two ranks timing one GPU
// at the same time is not a measurement), has no GPU, or the local rank is unknown.
RankGpuChoice choose_rank_gpu(int local_rank, int node_ranks, int device_count);
// Every rank, once, right after start() (a collective under MPI): this rank's GPU from its
// node-local rank (the launcher's OMPI_COMM_WORLD_LOCAL_RANK / SLURM_LOCALID, else its rank in
// an MPI shared-memory split), judged by the most ranks and the fewest GPUs of any node, so
// every rank reaches the same verdict. Sets bench's this_process_gpu() (device 0 when refused:
// the rows that still run, run on rank 0's device 0). Outside a launch: device 0.
RankGpuChoice settle_rank_gpu(int device_count);
// What settle_rank_gpu decided (device 0 before it ran).
const RankGpuChoice& rank_gpu();
// The ranks 0 .. ranks-1 of the job as a RankGroup (bench/rank_group.h) for the cross-rank GPU
// backends; every wait in it bounded by `limit_s` (then the job is aborted, naming what was
// awaited). nullptr outside an MPI launch and on the ranks outside the group.
std::unique_ptr<RankGroup> make_rank_group(int ranks, double limit_s);

// GPU rows under an MPI launch of `world_size` ranks, `gpu` being settle_rank_gpu()'s verdict
// (the same on every rank). A fleet keeps its GPU rows when every rank has a GPU of its own
// (each times its own) and leaves them out otherwise, naming why in plan.absent. An ordinary job
// runs the single-GPU rows in rank 0 alone; its cross-rank nccl rows of more than one rank are
// left out with the reason when the ranks cannot have a GPU each, or when their workload is not
// in `cross_rank_workloads` (its pipeline across processes is not built).
void account_for_gpu_rows(RunPlan& plan, bool fleet, int world_size, const RankGpuChoice& gpu,
                          const std::vector<std::string>& cross_rank_workloads);
// The workloads whose nccl rows run across several MPI ranks in this build (gemm, reduction;
// none without MPI).
std::vector<std::string> cross_rank_gpu_workloads();

// ---- fleet runs (mlbench fleet, docs/cluster.md): every rank runs the command itself ----
// True when the command line is a fleet run (`mlbench fleet ...`): main() then runs the
// command on every rank instead of the follower loop, and finish() ends MPI without telling
// followers to exit.
bool is_fleet_command(int argc, char** argv);
void enter_fleet_mode();
bool fleet_mode();
int rank();            // 0 outside an MPI launch
int size();            // 1 outside an MPI launch
int node_ranks();      // ranks on this node (MPI shared-memory split; 1 outside an MPI launch)
int max_node_ranks();  // the most ranks any node of the job runs (the same on every rank)
// Every rank: waits until every rank arrived. Each wait is bounded by `limit_s`; past it, one
// line naming the rank(s) that did not arrive and `what`, then the job is aborted.
void fleet_barrier(double limit_s, const std::string& what);
// Every rank sends `mine`; rank 0 returns every rank's text in rank order, the others {} .
std::vector<std::string> gather_to_rank0(const std::string& mine, double limit_s);
// This rank's label, "rank 2 (host-b)".
std::string this_rank_label();

// The `mpi` backends, every row of the table (mpi_backend_table.h): available under an MPI launch
// of a build with MPI; otherwise registered as unavailable with the reason.
void register_backends(Registry& registry);

}  // namespace mlbench::mpi
