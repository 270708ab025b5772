// Internal to mpi/: the MPI job as the backends see it. Rank 0 drives, the followers (ranks > 0)
// execute; every wait of rank 0 on another rank is bounded and names the rank on expiry.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/machine_context.h"

namespace mlbench::mpi {

// What rank 0 broadcasts to the followers, one fixed-size message per step.
enum class Op : std::int32_t { prepare = 1, run = 2, release = 3, exit = 4, context = 5 };
enum class Work : std::int32_t {
  gemm = 1,
  reduction = 2,
  convolution = 3,
  // A cross-rank GPU row (gpu_ranks.cpp): every rank builds the problem and prepares the nccl
  // variant of `workload_name` on its own GPU.
  gpu_variant = 4
};
struct Command {
  Op op = Op::exit;
  Work work = Work::gemm;
  std::int32_t fp64 = 0;             // element type: 0 fp32, 1 fp64
  std::int32_t threads = 1;          // OpenMP threads per rank (--threads)
  std::int32_t ranks = 1;            // the ranks taking part: 0 .. ranks-1 (communicator(ranks)); the others idle
  std::int32_t exact_twin = 0;       // 1: the exact twin's inputs, sent by rank 0; 0: each rank generates its shard
  std::uint64_t seed = 0;            // the problem's seed (the streams of bench/ problem classes)
  std::int64_t m = 0, n = 0, k = 0;  // gemm: M, N, K; reduction: rows, cols
  std::int32_t reduce_op = 0, reduce_axis = 0;
  // convolution: N, C, H, W, K, R, stride, pad (ConvShape)
  std::int64_t batch = 0, channels = 0, height = 0, width = 0, filters = 0, kernel = 0, stride = 1, pad = 0;
  std::int32_t exit_code = 0;  // Op::exit
  double wait_limit_s = 0;     // how long a rank waits on another before the job is aborted
  // Work::gpu_variant: the workload ("gemm", ...), the precision, the problem's size label and,
  // for Op::run, the timing mode (bench/types.h enums as integers).
  char workload_name[16] = {};
  std::int32_t precision = 0, mode = 0;
  std::int64_t size = 0;
};

// Message tags of the steps after a command.
enum Tag : int {
  kTagStatus = 11,
  kTagData = 12,
  kTagReady = 14,
  kTagHalo = 15,
  kTagChecksum = 16,
  kTagTimes = 17,
  kTagContextLength = 18,
  kTagContext = 19,
  kTagGpuStatus = 20
};

// The communicator of ranks 0 .. ranks-1 (MPI_COMM_NULL on the ranks outside it), created for
// every count of rank_counts() when MPI starts.
MPI_Comm communicator(int ranks);
// The rank counts an `mpi` backend runs at, one row each: 1, 2, 4, ... below the world size,
// and the world size.
std::vector<int> rank_counts();

bool initialized();
int world_rank();
int world_size();
// "rank 2 (host-b)"
std::string rank_label(int rank);

// Rank 0: broadcasts a command (bounded wait).
void broadcast_command(const Command& command);
// Rank 0: waits for every request, each tied to the rank in `peers` (-1: a collective, any
// rank). Past `limit_s`: one line naming the ranks that did not answer and `what` was being
// waited for, then MPI_Abort (exit 1 for the whole job).
// `idle`: sleep between polls (a wait that may be long, while other ranks compute on the cores).
void wait_or_abort(std::vector<MPI_Request>& requests, const std::vector<int>& peers, double limit_s,
                   const std::string& what, bool idle = false);
// Followers: waits for one request; `idle` sleeps between polls (waiting for rank 0's next
// command must not keep a core busy while rank 0 runs other backends or verifies).
void wait_follower(MPI_Request& request, bool idle);

// Rows [begin, end) of `rows` that `rank` of `ranks` owns (the first ranks take one more).
struct RowRange {
  std::int64_t begin = 0, end = 0;
  std::int64_t count() const { return end - begin; }
};
RowRange rows_of(int rank, int ranks, std::int64_t rows);
// MPI counts are int: refuses a message above INT_MAX elements.
int message_count(std::int64_t elements, const char* what);

// A follower's part of one step, implemented in distributed.cpp.
class FollowerWork {
 public:
  virtual ~FollowerWork() = default;
  virtual void run(const Command& command) = 0;
};
// Rank 0: the factories of the `mpi` backends (the rows of mpi_backend_table.cpp), fp32 or fp64.
std::unique_ptr<Variant> prepare_distributed_gemm(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_distributed_reduction(const Problem& problem, const ExecutionConfig& config);
std::unique_ptr<Variant> prepare_distributed_convolution(const Problem& problem, const ExecutionConfig& config);
// Follower side of Op::prepare: allocates, reports its status to rank 0, receives its shard.
// nullptr when rank 0 abandoned the step (another rank could not allocate).
std::unique_ptr<FollowerWork> prepare_follower(const Command& command);

// Rank 0 (not in a fleet): asks every follower for its own machine context (Op::context) and
// returns every rank's, rank 0's (`mine`) first; each wait bounded by `limit_s`.
std::vector<RankContext> gather_rank_contexts(const RankContext& mine, int threads, double limit_s);

// One warning per host whose ranks run threads on CPUs another rank of that host also uses
// (RankContext::cpus intersect); none when every rank of a host has CPUs of its own.
std::vector<std::string> shared_cpu_warnings(const std::vector<RankContext>& ranks);
// One warning naming the ranks that run more OpenMP threads than they have CPUs (Open MPI binds
// 2 ranks to one core each by default, whatever --threads says).
std::vector<std::string> crowded_rank_warnings(const std::vector<RankContext>& ranks);

// Test hook (docs/cluster.md): MLBENCH_MPI_FAULT="RANK:hang", "RANK:kill" or "RANK:exit" makes
// that follower hang, kill itself, or exit with status 3 (without MPI_Finalize) at its first
// measured run.
void inject_fault_if_asked();

// mpi::register_backends, after kernels/ registered its nccl rows: under an MPI launch they
// become cross-rank rows (one GPU per rank, the job's rank counts; gpu_ranks.cpp).
void make_nccl_rows_cross_rank(Registry& registry);
// Follower side of Op::prepare for Work::gpu_variant (gpu_ranks.cpp).
std::unique_ptr<FollowerWork> prepare_gpu_follower(const Command& command);

}  // namespace mlbench::mpi
