// The `mpi` backends: one problem spread over the ranks of an MPI job by rows.
//   gemm:      rank r owns a band of rows of A and C; B goes to every rank; C is gathered to rank 0.
//   reduction: rank r owns a band of rows; over all elements the partials are combined with
//              MPI_Allreduce, per row the row results are gathered to rank 0.
// Rank 0 holds the whole problem (it generated it, and it verifies the output as for every
// other backend) and sends each follower its band when the variant is prepared (not timed).
// A measured run: rank 0 broadcasts "run", every rank reports ready, rank 0 releases them
// together (a barrier), each rank computes its band with OpenMP (--threads per rank) and
// takes part in the collection; the run's time is the slowest rank's, and the communication
// time the slowest rank's collection phase.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <type_traits>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "bench/gemm.h"
#include "bench/reduction.h"
#include "mpi/mpi_launch.h"
#include "mpi/session.h"

namespace mlbench::mpi {

namespace {

constexpr double kDefaultWaitLimitSeconds = 300;  // without --timeout
constexpr std::size_t kStatusBytes = 256;          // a rank's prepare status: "" or its error

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

template <class T>
MPI_Datatype mpi_type() {
  return std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
}

// C rows = A rows * B, row-major; the i-k-j order streams rows of B (vectorizes over j).
template <class T>
void gemm_rows(const T* a, const T* b, T* c, std::int64_t rows, std::int64_t n, std::int64_t k, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) {
    T* ci = c + i * n;
    std::fill(ci, ci + n, T(0));
    for (std::int64_t p = 0; p < k; ++p) {
      const T aip = a[i * k + p];
      const T* bp = b + p * n;
      for (std::int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

// One row's sum (fp64 accumulation) or maximum.
template <class T>
double reduce_row(const T* row, std::int64_t cols, ReduceOp op) {
  if (op == ReduceOp::max) {
    T best = row[0];
    for (std::int64_t j = 1; j < cols; ++j) best = std::max(best, row[j]);
    return best;
  }
  double sum = 0;
  for (std::int64_t j = 0; j < cols; ++j) sum += row[j];
  return sum;
}

// The computation of one band, the same on every rank.
template <class T>
struct Band {
  Command command;
  RowRange rows;
  // gemm: a = rows x K, b = K x N, c = rows x N; reduction: a = rows x cols, c = rows (per row).
  const T* a = nullptr;
  const T* b = nullptr;
  T* c = nullptr;
  double partial = 0;  // reduction over all: this band's sum or max

  void compute() {
    const int threads = std::max(1, command.threads);
    if (command.work == Work::gemm) {
      gemm_rows(a, b, c, rows.count(), command.n, command.k, threads);
      return;
    }
    const auto op = static_cast<ReduceOp>(command.reduce_op);
    const std::int64_t cols = command.n, count = rows.count();
    if (static_cast<ReduceAxis>(command.reduce_axis) == ReduceAxis::rows) {
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t i = 0; i < count; ++i) {
        const double v = reduce_row(a + i * cols, cols, op);
        c[i] = static_cast<T>(op == ReduceOp::mean ? v / static_cast<double>(cols) : v);
      }
      return;
    }
    if (op == ReduceOp::max) {
      double best = -INFINITY;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(max : best)
      for (std::int64_t i = 0; i < count; ++i) best = std::max(best, reduce_row(a + i * cols, cols, op));
      partial = best;
    } else {
      double sum = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : sum)
      for (std::int64_t i = 0; i < count; ++i) sum += reduce_row(a + i * cols, cols, op);
      partial = sum;
    }
  }
  bool all_reduce() const {
    return command.work == Work::reduction && static_cast<ReduceAxis>(command.reduce_axis) == ReduceAxis::all;
  }
  std::int64_t input_columns() const { return command.work == Work::gemm ? command.k : command.n; }
  std::int64_t output_columns() const { return command.work == Work::gemm ? command.n : 1; }
  // The combined partials, as the output element (rank 0 after the all-reduce).
  double combined_value(double total) const {
    if (static_cast<ReduceOp>(command.reduce_op) == ReduceOp::mean)
      return total / (static_cast<double>(command.m) * static_cast<double>(command.n));
    return total;
  }
};

MPI_Op reduce_op_of(const Command& command) {
  return static_cast<ReduceOp>(command.reduce_op) == ReduceOp::max ? MPI_MAX : MPI_SUM;
}

// ---- followers -----------------------------------------------------------------------------

template <class T>
class FollowerBand final : public FollowerWork {
 public:
  explicit FollowerBand(const Command& command) {
    band_.command = command;
    band_.rows = rows_of(world_rank(), world_size(), command.m);
    a_.resize(static_cast<std::size_t>(band_.rows.count() * band_.input_columns()));
    if (command.work == Work::gemm) b_.resize(static_cast<std::size_t>(command.k * command.n));
    c_.resize(static_cast<std::size_t>(band_.rows.count() * band_.output_columns()));
    band_.a = a_.data();
    band_.b = b_.data();
    band_.c = c_.data();
  }

  void receive_inputs() {
    MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    MPI_Irecv(a_.data(), message_count(static_cast<std::int64_t>(a_.size()), "a band"), mpi_type<T>(), 0, kTagData,
              MPI_COMM_WORLD, &requests[0]);
    if (!b_.empty())
      MPI_Irecv(b_.data(), message_count(static_cast<std::int64_t>(b_.size()), "B"), mpi_type<T>(), 0, kTagData + 1,
                MPI_COMM_WORLD, &requests[1]);
    MPI_Waitall(2, requests, MPI_STATUSES_IGNORE);
  }

  void run(const Command&) override {
    int ready = 1, go = 0;
    MPI_Send(&ready, 1, MPI_INT, 0, kTagReady, MPI_COMM_WORLD);
    MPI_Request request;
    MPI_Ibcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
    wait_follower(request, false);
    inject_fault_if_asked();
    const auto start = Clock::now();
    band_.compute();
    const auto computed = Clock::now();
    if (band_.all_reduce()) {
      double total = 0;
      MPI_Iallreduce(&band_.partial, &total, 1, MPI_DOUBLE, reduce_op_of(band_.command), MPI_COMM_WORLD, &request);
      MPI_Wait(&request, MPI_STATUS_IGNORE);
    } else {
      MPI_Send(c_.data(), message_count(static_cast<std::int64_t>(c_.size()), "an output band"), mpi_type<T>(), 0,
               kTagData, MPI_COMM_WORLD);
    }
    const auto done = Clock::now();
    const double times[2] = {seconds(start, done), seconds(computed, done)};
    MPI_Send(times, 2, MPI_DOUBLE, 0, kTagStatus, MPI_COMM_WORLD);
  }

 private:
  Band<T> band_;
  std::vector<T> a_, b_, c_;
};

template <class T>
std::unique_ptr<FollowerWork> prepare_typed(const Command& command) {
  char status[kStatusBytes] = {};
  std::unique_ptr<FollowerBand<T>> work;
  try {
    work = std::make_unique<FollowerBand<T>>(command);
  } catch (const std::bad_alloc&) {
    std::snprintf(status, sizeof status, "out of host memory for its band");
  } catch (const std::exception& e) {
    std::snprintf(status, sizeof status, "%s", e.what());
  }
  MPI_Send(status, sizeof status, MPI_CHAR, 0, kTagStatus, MPI_COMM_WORLD);
  int proceed = 0;
  MPI_Request request;
  MPI_Ibcast(&proceed, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_follower(request, true);
  if (!proceed || !work) return nullptr;
  work->receive_inputs();
  return work;
}

// ---- rank 0 --------------------------------------------------------------------------------

std::vector<int> followers() {
  std::vector<int> ranks;
  for (int r = 1; r < world_size(); ++r) ranks.push_back(r);
  return ranks;
}

template <class T>
class DistributedVariant final : public Variant {
 public:
  DistributedVariant(const Problem& problem, const ExecutionConfig& config, Command command, const T* a, const T* b)
      : output_(problem.output_precision(), problem.output_size()), command_(command) {
    output_.poison();
    command_.threads = std::max(1, config.threads);
    command_.wait_limit_s = config.timeout_s > 0 ? config.timeout_s : kDefaultWaitLimitSeconds;
    band_.command = command_;
    band_.rows = rows_of(0, world_size(), command_.m);
    band_.a = a;
    band_.b = b;
    band_.c = output_.data<T>();
    const std::int64_t in_cols = band_.input_columns();
    for (int r = 1; r < world_size(); ++r) {  // refuse messages MPI cannot count before starting
      message_count(rows_of(r, world_size(), command_.m).count() * in_cols, "a band");
      if (b) message_count(command_.k * command_.n, "B");
    }

    command_.op = Op::prepare;
    broadcast_command(command_);
    // Every follower allocates its band and says whether it could.
    const std::vector<int> peers = followers();
    std::vector<std::vector<char>> statuses(peers.size(), std::vector<char>(kStatusBytes));
    std::vector<MPI_Request> requests(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i)
      MPI_Irecv(statuses[i].data(), kStatusBytes, MPI_CHAR, peers[i], kTagStatus, MPI_COMM_WORLD, &requests[i]);
    wait_or_abort(requests, peers, command_.wait_limit_s, "its band's allocation");
    std::string failure;
    for (std::size_t i = 0; i < peers.size() && failure.empty(); ++i)
      if (statuses[i][0] != '\0') failure = rank_label(peers[i]) + ": " + std::string(statuses[i].data());
    int proceed = failure.empty() ? 1 : 0;
    std::vector<MPI_Request> verdict(1);
    MPI_Ibcast(&proceed, 1, MPI_INT, 0, MPI_COMM_WORLD, &verdict[0]);
    wait_or_abort(verdict, {-1}, command_.wait_limit_s, "the prepare verdict");
    if (!proceed) throw std::runtime_error(failure);
    // Each follower's band of the input, and B to every follower.
    requests.clear();
    std::vector<int> request_peers;
    for (int r : peers) {
      const RowRange rows = rows_of(r, world_size(), command_.m);
      requests.emplace_back();
      request_peers.push_back(r);
      MPI_Isend(a + rows.begin * in_cols, static_cast<int>(rows.count() * in_cols), mpi_type<T>(), r, kTagData,
                MPI_COMM_WORLD, &requests.back());
      if (b) {
        requests.emplace_back();
        request_peers.push_back(r);
        MPI_Isend(b, static_cast<int>(command_.k * command_.n), mpi_type<T>(), r, kTagData + 1, MPI_COMM_WORLD,
                  &requests.back());
      }
    }
    wait_or_abort(requests, request_peers, command_.wait_limit_s, "its band of the inputs");
    prepared_ = true;
  }

  ~DistributedVariant() override {
    if (!prepared_) return;
    Command release = command_;
    release.op = Op::release;
    broadcast_command(release);
  }

  double run(TimingMode) override {
    Command run = command_;
    run.op = Op::run;
    broadcast_command(run);
    const std::vector<int> peers = followers();
    // Barrier: every rank ready, then released together.
    std::vector<int> ready(peers.size());
    std::vector<MPI_Request> requests(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i)
      MPI_Irecv(&ready[i], 1, MPI_INT, peers[i], kTagReady, MPI_COMM_WORLD, &requests[i]);
    wait_or_abort(requests, peers, command_.wait_limit_s, "the start of a run");
    int go = 1;
    std::vector<MPI_Request> release(1);
    MPI_Ibcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD, &release[0]);
    wait_or_abort(release, {-1}, command_.wait_limit_s, "the start of a run");

    const auto start = Clock::now();
    band_.compute();
    const auto computed = Clock::now();
    if (band_.all_reduce()) {
      double total = 0;
      std::vector<MPI_Request> reduce(1);
      MPI_Iallreduce(&band_.partial, &total, 1, MPI_DOUBLE, reduce_op_of(command_), MPI_COMM_WORLD, &reduce[0]);
      wait_or_abort(reduce, {-1}, command_.wait_limit_s, "the all-reduce of the partial results");
      output_.set(0, band_.combined_value(total));
    } else {
      const std::int64_t out_cols = band_.output_columns();
      for (std::size_t i = 0; i < peers.size(); ++i) {
        const RowRange rows = rows_of(peers[i], world_size(), command_.m);
        MPI_Irecv(output_.data<T>() + rows.begin * out_cols, static_cast<int>(rows.count() * out_cols), mpi_type<T>(),
                  peers[i], kTagData, MPI_COMM_WORLD, &requests[i]);
      }
      wait_or_abort(requests, peers, command_.wait_limit_s, "its band of the output");
    }
    const auto done = Clock::now();
    double slowest = seconds(start, done), communication = seconds(computed, done);
    std::vector<std::array<double, 2>> times(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i)
      MPI_Irecv(times[i].data(), 2, MPI_DOUBLE, peers[i], kTagStatus, MPI_COMM_WORLD, &requests[i]);
    wait_or_abort(requests, peers, command_.wait_limit_s, "its time of the run");
    for (const auto& t : times) {
      slowest = std::max(slowest, t[0]);
      communication = std::max(communication, t[1]);
    }
    communication_s_ = communication;
    return slowest;
  }

  void read_output(HostBuffer& out) override {
    if (out.size() != output_.size() || out.precision() != output_.precision())
      out = HostBuffer(output_.precision(), output_.size());
    std::memcpy(out.raw(), output_.raw(), output_.bytes());
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    const bool gemm = command_.work == Work::gemm;
    return {{"ranks", std::to_string(world_size())},
            {"threads_per_rank", std::to_string(command_.threads)},
            {"distribution",
             gemm ? "rows of A and C split over the ranks, B sent to every rank, C gathered to rank 0"
                  : band_.all_reduce() ? "rows split over the ranks, partial results combined with MPI_Allreduce"
                                       : "rows split over the ranks, row results gathered to rank 0"},
            {"inputs", "generated on rank 0 and sent to the ranks when prepared (not timed)"}};
  }
  int threads() const override { return command_.threads; }
  double communication_seconds() const override { return communication_s_; }

 private:
  HostBuffer output_;
  Command command_;
  Band<T> band_;
  bool prepared_ = false;
  double communication_s_ = 0;
};

template <class T>
std::unique_ptr<Variant> prepare_gemm_typed(const Problem& problem, const ExecutionConfig& config) {
  const auto& gemm = problem_cast<GemmProblem>(problem);
  Command command;
  command.work = Work::gemm;
  command.fp64 = std::is_same_v<T, double>;
  command.m = gemm.shape().m;
  command.n = gemm.shape().n;
  command.k = gemm.shape().k;
  return std::make_unique<DistributedVariant<T>>(problem, config, command, gemm.a().data<T>(), gemm.b().data<T>());
}

template <class T>
std::unique_ptr<Variant> prepare_reduction_typed(const Problem& problem, const ExecutionConfig& config) {
  const auto& reduction = problem_cast<ReductionProblem>(problem);
  Command command;
  command.work = Work::reduction;
  command.fp64 = std::is_same_v<T, double>;
  command.m = reduction.shape().rows;
  command.n = reduction.shape().cols;
  command.reduce_op = static_cast<std::int32_t>(reduction.shape().op);
  command.reduce_axis = static_cast<std::int32_t>(reduction.shape().axis);
  return std::make_unique<DistributedVariant<T>>(problem, config, command, reduction.input().data<T>(), nullptr);
}

Availability launched() {
  if (!initialized()) return Availability::no("not started under mpirun or srun (docs/cluster.md)");
  return Availability::yes();
}

std::string library_version() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string text(version, static_cast<std::size_t>(std::max(0, length)));
  text = text.substr(0, text.find_first_of("\n,"));  // "Open MPI v4.1.4"
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

}  // namespace

std::unique_ptr<FollowerWork> prepare_follower(const Command& command) {
  return command.fp64 ? prepare_typed<double>(command) : prepare_typed<float>(command);
}

void register_backends(Registry& registry) {
  const int ranks = initialized() ? world_size() : 0;
  BackendInfo gemm;
  gemm.name = "mpi";
  gemm.workload = "gemm";
  gemm.kind = BackendKind::cpu;
  gemm.description = "rows of A over MPI ranks, B sent to all, C gathered to rank 0 (OpenMP per rank)";
  gemm.availability = launched;
  gemm.ranks = ranks;
  gemm.prepare = [](const Problem& p, const ExecutionConfig& c) {
    return p.precision() == Precision::fp64 ? prepare_gemm_typed<double>(p, c) : prepare_gemm_typed<float>(p, c);
  };
  registry.add(std::move(gemm));

  BackendInfo reduction;
  reduction.name = "mpi";
  reduction.workload = "reduction";
  reduction.kind = BackendKind::cpu;
  reduction.description = "rows over MPI ranks; MPI_Allreduce of the partials, or row results gathered (OpenMP per rank)";
  reduction.availability = launched;
  reduction.ranks = ranks;
  reduction.prepare = [](const Problem& p, const ExecutionConfig& c) {
    return p.precision() == Precision::fp64 ? prepare_reduction_typed<double>(p, c)
                                            : prepare_reduction_typed<float>(p, c);
  };
  registry.add(std::move(reduction));

  registry.context_providers.emplace_back([](MachineContext& context) {
    if (!initialized()) return;
    context.libraries.emplace_back("MPI", library_version());
    context.mpi_world_size = world_size();
  });
}

}  // namespace mlbench::mpi
