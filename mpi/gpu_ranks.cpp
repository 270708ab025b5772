// The nccl backends under an MPI launch: one GPU per rank (settle_rank_gpu), the NCCL
// communicator built across the ranks through a RankGroup (bench/rank_group.h), which kernels/
// uses without linking MPI. Rows run at the job's rank counts like the `mpi` backends
// (ranks=1 is the baseline). Rank 0 prepares its variant and tells the followers of the row to
// prepare theirs (each builds the problem from the seed and the shape, and the nccl variant of
// its one rank on its own GPU); every run, rank 0 broadcasts *run*, each rank's variant starts
// after the group's barrier and the run's time is the slowest rank's (GpuVariant::run).
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/reduction.h"
#include "mpi/mpi_launch.h"
#include "mpi/session.h"

namespace mlbench::mpi {

namespace {

using PrepareFunction = std::function<std::unique_ptr<Variant>(const Problem&, const ExecutionConfig&)>;
// kernels/'s one-process nccl factories, by workload: the followers prepare their rank with them.
std::map<std::string, PrepareFunction>& gpu_factories() {
  static std::map<std::string, PrepareFunction> factories;
  return factories;
}

constexpr std::size_t kStatusBytes = 256;

double wait_limit(const ExecutionConfig& config) { return config.timeout_s > 0 ? config.timeout_s : 300; }

// The problem rank 0 holds, rebuilt on a follower from the seed and the shape (the same values).
std::unique_ptr<Problem> rebuild_problem(const Command& c) {
  const auto precision = static_cast<Precision>(c.precision);
  const std::string workload = c.workload_name;
  std::unique_ptr<Problem> problem;
  if (workload == "gemm") {
    problem = std::make_unique<GemmProblem>(GemmShape{c.m, c.n, c.k}, precision, c.seed, c.size);
  } else if (workload == "reduction") {
    ReductionShape shape;
    shape.rows = c.m;
    shape.cols = c.n;
    shape.op = static_cast<ReduceOp>(c.reduce_op);
    shape.axis = static_cast<ReduceAxis>(c.reduce_axis);
    problem = std::make_unique<ReductionProblem>(shape, precision, c.seed, c.size);
  } else if (workload == "convolution") {
    ConvShape shape;
    shape.batch = c.batch;
    shape.channels = c.channels;
    shape.height = c.height;
    shape.width = c.width;
    shape.filters = c.filters;
    shape.kernel = c.kernel;
    shape.stride = c.stride;
    shape.pad = c.pad;
    problem = std::make_unique<ConvProblem>(shape, precision, c.seed, c.size);
  } else {
    throw std::logic_error("no cross-rank GPU workload '" + workload + "'");
  }
  return c.exact_twin ? problem->exact_twin() : std::move(problem);
}

// What rank 0 tells the followers about the problem of a row.
Command describe(const Problem& problem, int ranks, double limit_s) {
  Command c;
  c.op = Op::prepare;
  c.work = Work::gpu_variant;
  c.ranks = ranks;
  c.wait_limit_s = limit_s;
  c.seed = problem.seed();
  c.size = problem.size();
  c.precision = static_cast<std::int32_t>(problem.precision());
  c.exact_twin = problem.is_exact_twin() ? 1 : 0;
  std::snprintf(c.workload_name, sizeof c.workload_name, "%s", problem.workload().c_str());
  if (const auto* gemm = dynamic_cast<const GemmProblem*>(&problem)) {
    c.m = gemm->shape().m;
    c.n = gemm->shape().n;
    c.k = gemm->shape().k;
  } else if (const auto* reduction = dynamic_cast<const ReductionProblem*>(&problem)) {
    c.m = reduction->shape().rows;
    c.n = reduction->shape().cols;
    c.reduce_op = static_cast<std::int32_t>(reduction->shape().op);
    c.reduce_axis = static_cast<std::int32_t>(reduction->shape().axis);
  } else if (const auto* conv = dynamic_cast<const ConvProblem*>(&problem)) {
    const ConvShape& s = conv->shape();
    c.batch = s.batch;
    c.channels = s.channels;
    c.height = s.height;
    c.width = s.width;
    c.filters = s.filters;
    c.kernel = s.kernel;
    c.stride = s.stride;
    c.pad = s.pad;
  } else {
    throw std::logic_error("no cross-rank GPU workload '" + problem.workload() + "'");
  }
  return c;
}

// Rank 0's variant of a row: its own rank's nccl variant, the group it was built over, and the
// followers it drives (ranks 1 .. ranks-1 of the row).
class CrossRankVariant final : public Variant {
 public:
  CrossRankVariant(const PrepareFunction& prepare, const Problem& problem, const ExecutionConfig& config)
      : command_(describe(problem, std::max(1, config.ranks), wait_limit(config))),
        group_(make_rank_group(command_.ranks, command_.wait_limit_s)) {
    if (!group_) throw std::logic_error("rank 0 outside the group of its own row");
    if (command_.ranks > 1) broadcast_command(command_);  // the followers prepare theirs meanwhile
    followers_told_ = command_.ranks > 1;
    ExecutionConfig mine = config;
    mine.devices = {config.device};  // this rank's one GPU
    mine.rank_group = group_.get();
    std::string failure;
    try {
      inner_ = prepare(problem, mine);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    // Every follower says whether it could prepare its rank; a failure anywhere fails the row.
    for (const auto& [rank, why] : follower_statuses())
      if (failure.empty() && !why.empty()) failure = rank_label(rank) + ": " + why;
    if (!failure.empty()) {
      inner_.reset();
      throw std::runtime_error(failure);  // the destructor does not run: release here
    }
  }
  ~CrossRankVariant() override {
    inner_.reset();
    release_followers();
  }

  std::vector<TimingMode> timing_modes() const override { return inner_->timing_modes(); }
  double run(TimingMode mode) override {
    if (command_.ranks > 1) {
      Command run = command_;
      run.op = Op::run;
      run.mode = static_cast<std::int32_t>(mode);
      broadcast_command(run);
    }
    return inner_->run(mode);  // after the group's barrier; the slowest rank's time
  }
  void read_output(HostBuffer& out) override { inner_->read_output(out); }
  std::vector<std::pair<std::string, std::string>> notes() const override {
    auto notes = inner_->notes();
    notes.emplace_back("mpi_ranks",
                       fmt::format("{} (one GPU per rank; NCCL id broadcast over MPI{})", command_.ranks,
                                   command_.ranks > 1 ? "; each follower rebuilt the problem from the seed" : ""));
    return notes;
  }
  int threads() const override { return inner_->threads(); }
  double input_rounding() const override { return inner_->input_rounding(); }
  bool reproducible() const override { return inner_->reproducible(); }
  double communication_seconds() const override { return inner_->communication_seconds(); }

 private:
  std::vector<std::pair<int, std::string>> follower_statuses() {
    std::vector<std::pair<int, std::string>> statuses;
    if (command_.ranks <= 1) return statuses;
    std::vector<int> peers;
    for (int r = 1; r < command_.ranks; ++r) peers.push_back(r);
    std::vector<std::vector<char>> texts(peers.size(), std::vector<char>(kStatusBytes));
    std::vector<MPI_Request> requests(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i)
      MPI_Irecv(texts[i].data(), kStatusBytes, MPI_CHAR, peers[i], kTagGpuStatus, MPI_COMM_WORLD, &requests[i]);
    wait_or_abort(requests, peers, command_.wait_limit_s, "its GPU variant's preparation", true);
    for (std::size_t i = 0; i < peers.size(); ++i) statuses.emplace_back(peers[i], std::string(texts[i].data()));
    return statuses;
  }
  void release_followers() {
    if (!followers_told_) return;
    followers_told_ = false;
    Command release = command_;
    release.op = Op::release;
    broadcast_command(release);
  }

  Command command_;
  std::unique_ptr<RankGroup> group_;  // declared before inner_: destroyed after it
  std::unique_ptr<Variant> inner_;
  bool followers_told_ = false;

 public:
  // A failed constructor runs no destructor: the caller releases the followers it told.
  static std::unique_ptr<Variant> prepare_or_release(const PrepareFunction& prepare, const Problem& problem,
                                                     const ExecutionConfig& config) {
    try {
      return std::make_unique<CrossRankVariant>(prepare, problem, config);
    } catch (...) {
      if (config.ranks > 1) {
        Command release = describe(problem, config.ranks, wait_limit(config));
        release.op = Op::release;
        broadcast_command(release);
      }
      throw;
    }
  }
};

// A follower's rank of a row.
class GpuFollower final : public FollowerWork {
 public:
  GpuFollower(std::unique_ptr<RankGroup> group, std::unique_ptr<Problem> problem, std::unique_ptr<Variant> variant)
      : group_(std::move(group)), problem_(std::move(problem)), variant_(std::move(variant)) {}
  void run(const Command& command) override {
    inject_fault_if_asked();
    try {
      variant_->run(static_cast<TimingMode>(command.mode));
    } catch (const std::exception& e) {
      // Rank 0 waits on this rank in a collective: end the job, saying why.
      fmt::print(stderr, "mlbench: error: {}: its GPU run failed: {}; aborting the MPI job\n", rank_label(world_rank()),
                 e.what());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }

 private:
  std::unique_ptr<RankGroup> group_;  // outlives the variant's communicator
  std::unique_ptr<Problem> problem_;  // the variant may keep pointers into its inputs
  std::unique_ptr<Variant> variant_;
};

}  // namespace

std::vector<std::string> cross_rank_gpu_workloads() { return {"gemm", "reduction"}; }

std::unique_ptr<FollowerWork> prepare_gpu_follower(const Command& command) {
  std::string failure;
  std::unique_ptr<FollowerWork> work;
  try {
    const auto factory = gpu_factories().find(command.workload_name);
    if (factory == gpu_factories().end())
      throw std::runtime_error(fmt::format("no nccl {} backend registered on this rank", command.workload_name));
    const RankGpuChoice& gpu = rank_gpu();
    if (!gpu.chosen()) throw std::runtime_error("no GPU of its own: " + gpu.refusal);
    std::unique_ptr<RankGroup> group = make_rank_group(command.ranks, command.wait_limit_s);
    std::unique_ptr<Problem> problem = rebuild_problem(command);
    ExecutionConfig config;
    config.device = gpu.device;
    config.devices = {gpu.device};
    config.ranks = command.ranks;
    config.timeout_s = command.wait_limit_s;
    config.rank_group = group.get();
    std::unique_ptr<Variant> variant = factory->second(*problem, config);
    work = std::make_unique<GpuFollower>(std::move(group), std::move(problem), std::move(variant));
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "unknown error";
  }
  char status[kStatusBytes] = {};
  std::snprintf(status, sizeof status, "%s", failure.c_str());
  MPI_Send(status, static_cast<int>(kStatusBytes), MPI_CHAR, 0, kTagGpuStatus, MPI_COMM_WORLD);
  return work;
}

void make_nccl_rows_cross_rank(Registry& registry) {
  for (const char* workload : {"gemm", "reduction", "convolution"}) {
    const BackendInfo* one_process = registry.find(workload, "nccl");
    if (one_process == nullptr) continue;
    if (!initialized()) continue;  // an ordinary process: the one-process multi-GPU backend, as registered
    gpu_factories()[workload] = one_process->prepare;
    BackendInfo info = *one_process;
    info.multi_gpu = false;  // one GPU per rank, not --gpus
    info.description += "; under mpirun/srun: across MPI ranks, one GPU per rank";
    info.ranks = world_size();
    info.rank_counts = rank_counts();
    info.availability = [inner = one_process->availability] {
      if (fleet_mode())  // entered after registration: asked when the plan is made
        return Availability::no("a fleet run times every rank on its own (run the nccl backends without fleet)");
      Availability a = inner ? inner() : Availability::yes();
      if (!a.available) a.reason = "nccl across MPI ranks: " + a.reason;
      return a;
    };
    info.prepare = [inner = one_process->prepare](const Problem& problem,
                                                  const ExecutionConfig& config) -> std::unique_ptr<Variant> {
      return CrossRankVariant::prepare_or_release(inner, problem, config);
    };
    registry.replace(std::move(info));
  }
}

}  // namespace mlbench::mpi
