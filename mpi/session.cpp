#include "mpi/session.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "bench/gpu_selection.h"
#include "mpi/mpi_launch.h"

namespace mlbench::mpi {

namespace {
bool g_initialized = false;
int g_rank = 0, g_size = 1;
std::vector<std::string> g_hosts;                       // rank 0: every rank's host name
std::vector<std::pair<int, MPI_Comm>> g_communicators;  // rank count -> communicator of ranks 0..count-1
bool g_fleet = false;
int g_node_ranks = 1;
int g_max_node_ranks = 1;  // the most ranks any node of the job runs
int g_node_rank = 0;       // this rank's place among its node's ranks (MPI shared-memory split)
RankGpuChoice g_rank_gpu{0, {}};

// FNV-1a over the arguments after the program name (the path may differ between hosts).
std::uint64_t hash_arguments(int argc, char** argv) {
  std::uint64_t h = 1469598103934665603ull;
  for (int i = 1; i < argc; ++i) {
    for (const char* c = argv[i];; ++c) {
      h = (h ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
      if (*c == '\0') break;
    }
  }
  return h;
}

void free_communicators() {
  for (auto& entry : g_communicators)
    if (entry.second != MPI_COMM_NULL) MPI_Comm_free(&entry.second);
  g_communicators.clear();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::function<MachineContext(int)> g_context_collector;

// A RankContext as text for one MPI message: every field as "<length>:<bytes>".
std::string encode_rank_context(const RankContext& r) {
  std::string cpus, load;
  for (int cpu : r.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
  for (double v : r.load_average) load += (load.empty() ? "" : " ") + fmt::format("{:.17g}", v);
  std::string text;
  for (const std::string& field :
       {std::to_string(r.rank), r.hostname, r.cpu_model, std::to_string(r.logical_cpus),
        std::to_string(r.physical_cores), cpus, std::to_string(r.threads), std::to_string(r.omp_num_places),
        r.thread_pinning, load, r.openblas_core, r.gpu, r.mpi_library})
    text += std::to_string(field.size()) + ":" + field;
  return text;
}

RankContext decode_rank_context(const std::string& text) {
  std::vector<std::string> fields;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t colon = text.find(':', at);
    if (colon == std::string::npos) throw std::runtime_error("a malformed rank context");
    const std::size_t length = std::stoull(text.substr(at, colon - at));
    if (colon + 1 + length > text.size()) throw std::runtime_error("a truncated rank context");
    fields.push_back(text.substr(colon + 1, length));
    at = colon + 1 + length;
  }
  if (fields.size() != 13) throw std::runtime_error("a rank context of " + std::to_string(fields.size()) + " fields");
  RankContext r;
  r.rank = std::stoi(fields[0]);
  r.hostname = fields[1];
  r.cpu_model = fields[2];
  r.logical_cpus = std::stoi(fields[3]);
  r.physical_cores = std::stoi(fields[4]);
  for (std::size_t at = 0; at < fields[5].size();) {
    std::size_t end = fields[5].find(',', at);
    if (end == std::string::npos) end = fields[5].size();
    r.cpus.push_back(std::stoi(fields[5].substr(at, end - at)));
    at = end + 1;
  }
  r.threads = std::stoi(fields[6]);
  r.omp_num_places = std::stoi(fields[7]);
  r.thread_pinning = fields[8];
  std::istringstream load(fields[9]);
  for (double v; load >> v;) r.load_average.push_back(v);
  r.openblas_core = fields[10];
  r.gpu = fields[11];
  r.mpi_library = fields[12];
  return r;
}

// A follower's answer to Op::context: its own context, to rank 0.
void send_rank_context(const Command& command) {
  const MachineContext context =
      g_context_collector ? g_context_collector(command.threads) : collect_machine_context(command.threads, Registry{});
  RankContext mine = rank_context_of(context, g_rank);
  mine.threads = command.threads;  // what rank 0 runs with: every rank's part runs at --threads
  const std::string text = encode_rank_context(mine);
  const long long length = static_cast<long long>(text.size());
  MPI_Send(&length, 1, MPI_LONG_LONG, 0, kTagContextLength, MPI_COMM_WORLD);
  MPI_Send(text.data(), message_count(length, "a rank context"), MPI_CHAR, 0, kTagContext, MPI_COMM_WORLD);
}
}  // namespace

void set_context_collector(std::function<MachineContext(int)> collect) { g_context_collector = std::move(collect); }

std::vector<RankContext> gather_rank_contexts(const RankContext& mine, int threads, double limit_s) {
  std::vector<RankContext> ranks{mine};
  if (!g_initialized || g_rank != 0 || g_size <= 1) return ranks;
  Command command;
  command.op = Op::context;
  command.threads = threads;
  command.wait_limit_s = limit_s;
  broadcast_command(command);
  std::vector<long long> lengths(static_cast<std::size_t>(g_size));
  std::vector<MPI_Request> requests;
  std::vector<int> peers;
  for (int r = 1; r < g_size; ++r) {
    requests.emplace_back();
    peers.push_back(r);
    MPI_Irecv(&lengths[static_cast<std::size_t>(r)], 1, MPI_LONG_LONG, r, kTagContextLength, MPI_COMM_WORLD,
              &requests.back());
  }
  wait_or_abort(requests, peers, limit_s, "its machine context", true);
  std::vector<std::string> texts(static_cast<std::size_t>(g_size));
  for (int r = 1; r < g_size; ++r) {
    texts[static_cast<std::size_t>(r)].resize(static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)]));
    MPI_Irecv(texts[static_cast<std::size_t>(r)].data(),
              message_count(lengths[static_cast<std::size_t>(r)], "a rank context"), MPI_CHAR, r, kTagContext,
              MPI_COMM_WORLD, &requests[static_cast<std::size_t>(r - 1)]);
  }
  wait_or_abort(requests, peers, limit_s, "its machine context", true);
  for (int r = 1; r < g_size; ++r) ranks.push_back(decode_rank_context(texts[static_cast<std::size_t>(r)]));
  return ranks;
}

bool initialized() { return g_initialized; }
int world_rank() { return g_rank; }
int world_size() { return g_size; }

std::string rank_label(int rank) {
  if (rank >= 0 && rank < static_cast<int>(g_hosts.size())) return fmt::format("rank {} ({})", rank, g_hosts[rank]);
  return fmt::format("rank {}", rank);
}

std::optional<int> start(int argc, char** argv) {
  const LaunchEnvironment launch = detect_launch();
  if (launch.size == 0) return std::nullopt;  // not under mpirun/srun: an ordinary process
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  g_initialized = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  if (g_size != launch.size) {
    // The classic mismatch: the launcher started N processes, but this MPI sees each alone.
    if (launch.rank == 0)
      fmt::print(stderr,
                 "mlbench: error: the launcher started {} processes ({}={}) but MPI reports a world of {}: "
                 "mlbench was built against another MPI than the launcher's (docs/cluster.md)\n",
                 launch.size, launch.size_variable, launch.size, g_size);
    MPI_Finalize();
    g_initialized = false;
    return 2;
  }
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(host, &length);
  std::vector<char> hosts(g_rank == 0 ? static_cast<std::size_t>(g_size) * MPI_MAX_PROCESSOR_NAME : 1);
  MPI_Gather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (g_rank == 0)
    for (int r = 0; r < g_size; ++r)
      g_hosts.emplace_back(hosts.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);

  // Every rank must run the same command: rank 0's argument hash against each rank's own.
  std::uint64_t mine = hash_arguments(argc, argv), rank0 = mine;
  MPI_Bcast(&rank0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  const int differs = rank0 != mine ? 1 : 0;
  std::vector<int> differing(g_rank == 0 ? g_size : 1);
  MPI_Gather(&differs, 1, MPI_INT, differing.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int refuse = 0;
  if (g_rank == 0)
    for (int r = 1; r < g_size; ++r)
      if (differing[r]) {
        fmt::print(stderr,
                   "mlbench: error: {} was started with other arguments than rank 0 (every rank must get the same "
                   "command line)\n",
                   rank_label(r));
        refuse = 1;
        break;
      }
  MPI_Bcast(&refuse, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (refuse) {
    MPI_Finalize();
    g_initialized = false;
    return 2;
  }
  MPI_Comm node = MPI_COMM_NULL;  // the ranks of this node: a fleet rank's share of its CPUs
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &g_node_ranks);
  MPI_Comm_rank(node, &g_node_rank);
  MPI_Comm_free(&node);
  MPI_Allreduce(&g_node_ranks, &g_max_node_ranks, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  for (int count : rank_counts()) {  // collective: the same order on every rank
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, g_rank < count ? 0 : MPI_UNDEFINED, g_rank, &comm);
    g_communicators.emplace_back(count, comm);
  }
  return std::nullopt;
}

std::vector<int> rank_counts() {
  std::vector<int> counts;
  for (int count = 1; count < g_size; count *= 2) counts.push_back(count);
  counts.push_back(g_size);
  return counts;
}

MPI_Comm communicator(int ranks) {
  for (const auto& [count, comm] : g_communicators)
    if (count == ranks) return comm;
  throw std::logic_error(fmt::format("no MPI communicator of {} ranks", ranks));
}

bool is_follower() { return g_initialized && g_rank > 0; }

void broadcast_command(const Command& command) {
  Command copy = command;
  std::vector<MPI_Request> request(1);
  MPI_Ibcast(&copy, sizeof copy, MPI_BYTE, 0, MPI_COMM_WORLD, &request[0]);
  wait_or_abort(request, {-1}, command.wait_limit_s > 0 ? command.wait_limit_s : 300, "a command");
}

void wait_or_abort(std::vector<MPI_Request>& requests, const std::vector<int>& peers, double limit_s,
                   const std::string& what, bool idle) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    bool pending = false;
    for (MPI_Request& r : requests) {
      if (r == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&r, &done, MPI_STATUS_IGNORE);
      pending = pending || !done;
    }
    if (!pending) return;
    if (seconds_since(start) > limit_s) break;
    if (idle) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  std::string missing;
  for (std::size_t i = 0; i < requests.size(); ++i)
    if (requests[i] != MPI_REQUEST_NULL) {
      const int peer = i < peers.size() ? peers[i] : -1;
      const std::string who = peer >= 0 ? rank_label(peer) : std::string("a rank");
      if (missing.find(who) == std::string::npos) missing += (missing.empty() ? "" : ", ") + who;
    }
  fmt::print(stderr, "mlbench: error: {} did not answer within {:g} s (waiting for {}); aborting the MPI job\n",
             missing, limit_s, what);
  if (g_rank != 0) fmt::print(stderr, "mlbench: (seen from {})\n", rank_label(g_rank));
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);  // MPI_Abort does not return; in case it does
}

void wait_follower(MPI_Request& request, bool idle) {
  for (;;) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (idle) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

RowRange rows_of(int rank, int ranks, std::int64_t rows) {
  const std::int64_t base = rows / ranks, extra = rows % ranks;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

int message_count(std::int64_t elements, const char* what) {
  if (elements > INT_MAX)
    throw std::runtime_error(
        fmt::format("{} of {} elements exceeds one MPI message (INT_MAX); use more ranks", what, elements));
  return static_cast<int>(elements);
}

void inject_fault_if_asked() {
  static bool injected = false;
  const char* fault = std::getenv("MLBENCH_MPI_FAULT");
  if (injected || fault == nullptr) return;
  const char* colon = std::strchr(fault, ':');
  if (colon == nullptr || std::atoi(fault) != g_rank) return;
  injected = true;
  if (std::strcmp(colon + 1, "kill") == 0) std::raise(SIGKILL);
  if (std::strcmp(colon + 1, "exit") == 0) std::_Exit(3);
  if (std::strcmp(colon + 1, "hang") == 0)
    for (;;) pause();
}

int follow() {
  std::unique_ptr<FollowerWork> work;
  for (;;) {
    Command command;
    MPI_Request request;
    MPI_Ibcast(&command, sizeof command, MPI_BYTE, 0, MPI_COMM_WORLD, &request);
    wait_follower(request, true);
    switch (command.op) {
      case Op::prepare: work = prepare_follower(command); break;
      case Op::run:
        if (work) work->run(command);
        break;
      case Op::release: work.reset(); break;
      case Op::context: send_rank_context(command); break;
      case Op::exit:
        work.reset();
        free_communicators();
        MPI_Finalize();
        g_initialized = false;
        return command.exit_code;
    }
  }
}

int finish(int exit_code) {
  if (!g_initialized) return exit_code;
  if (g_rank == 0 && g_size > 1 && !g_fleet) {  // a fleet's ranks all ran the command themselves
    Command command;
    command.op = Op::exit;
    command.exit_code = exit_code;
    broadcast_command(command);
  }
  free_communicators();
  MPI_Finalize();
  g_initialized = false;
  return exit_code;
}

// ---- one GPU per rank ----------------------------------------------------------------------

namespace {
// Ranks 0 .. size-1 over their communicator (communicator(size)); MPI's collectives, each
// started non-blocking and awaited with wait_or_abort so that a missing rank ends the job.
class MpiRankGroup final : public RankGroup {
 public:
  MpiRankGroup(MPI_Comm comm, double limit_s) : comm_(comm), limit_s_(limit_s) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void broadcast(void* data, std::size_t bytes, int root) override {
    std::vector<MPI_Request> request(1);
    MPI_Ibcast(data, message_count(static_cast<std::int64_t>(bytes), "a broadcast"), MPI_BYTE, root, comm_,
               &request[0]);
    wait_or_abort(request, {-1}, limit_s_, "a broadcast of the GPU ranks");
  }
  void barrier() override {
    std::vector<MPI_Request> request(1);
    MPI_Ibarrier(comm_, &request[0]);
    wait_or_abort(request, {-1}, limit_s_, "the barrier of the GPU ranks", true);
  }
  double max(double value) override {
    double result = value;
    std::vector<MPI_Request> request(1);
    MPI_Iallreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, comm_, &request[0]);
    wait_or_abort(request, {-1}, limit_s_, "the slowest GPU rank's time");
    return result;
  }

 private:
  MPI_Comm comm_;
  double limit_s_;
  int rank_ = 0, size_ = 1;
};
}  // namespace

RankGpuChoice settle_rank_gpu(int device_count) {
  if (!g_initialized) return g_rank_gpu;
  const LaunchEnvironment launch = detect_launch();
  const int local_rank = launch.local_rank >= 0 ? launch.local_rank : g_node_rank;
  // The verdict must agree on every rank: the fewest GPUs and the most ranks of any node.
  int fewest_gpus = device_count;
  MPI_Allreduce(&device_count, &fewest_gpus, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  RankGpuChoice choice = choose_rank_gpu(local_rank, g_max_node_ranks, fewest_gpus);
  int chosen = choice.chosen() ? 1 : 0, all_chosen = chosen;
  MPI_Allreduce(&chosen, &all_chosen, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_chosen && chosen) {
    choice.device = -1;
    choice.refusal = "another rank of this job has no GPU of its own";
  }
  g_rank_gpu = choice;
  set_this_process_gpu(choice.chosen() ? choice.device : 0);
  return choice;
}

const RankGpuChoice& rank_gpu() { return g_rank_gpu; }

std::unique_ptr<RankGroup> make_rank_group(int ranks, double limit_s) {
  if (!g_initialized) return nullptr;
  MPI_Comm comm = communicator(ranks);
  if (comm == MPI_COMM_NULL) return nullptr;
  return std::make_unique<MpiRankGroup>(comm, limit_s);
}

// ---- fleet runs ----------------------------------------------------------------------------

namespace {
constexpr int kTagFleetArrive = 21, kTagFleetGo = 22, kTagFleetLength = 23, kTagFleetText = 24;
}  // namespace

bool is_fleet_command(int argc, char** argv) { return argc > 1 && std::strcmp(argv[1], "fleet") == 0; }
void enter_fleet_mode() { g_fleet = true; }
bool fleet_mode() { return g_fleet; }
int rank() { return g_rank; }
int size() { return g_initialized ? g_size : 1; }
int node_ranks() { return g_initialized ? g_node_ranks : 1; }
int max_node_ranks() { return g_initialized ? g_max_node_ranks : 1; }
std::string this_rank_label() {
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  if (g_initialized) MPI_Get_processor_name(host, &length);
  return fmt::format("rank {} ({})", g_rank, host);
}

void fleet_barrier(double limit_s, const std::string& what) {
  if (!g_initialized || g_size <= 1) return;
  int token = 1;
  if (g_rank == 0) {
    std::vector<int> arrived(static_cast<std::size_t>(g_size - 1));
    std::vector<MPI_Request> requests(arrived.size());
    std::vector<int> peers;
    for (int r = 1; r < g_size; ++r) {
      peers.push_back(r);
      MPI_Irecv(&arrived[static_cast<std::size_t>(r - 1)], 1, MPI_INT, r, kTagFleetArrive, MPI_COMM_WORLD,
                &requests[static_cast<std::size_t>(r - 1)]);
    }
    wait_or_abort(requests, peers, limit_s, what, true);
    for (int r = 1; r < g_size; ++r) MPI_Send(&token, 1, MPI_INT, r, kTagFleetGo, MPI_COMM_WORLD);
    return;
  }
  MPI_Send(&token, 1, MPI_INT, 0, kTagFleetArrive, MPI_COMM_WORLD);
  std::vector<MPI_Request> go(1);
  MPI_Irecv(&token, 1, MPI_INT, 0, kTagFleetGo, MPI_COMM_WORLD, &go[0]);
  wait_or_abort(go, {0}, limit_s, what, true);
}

std::vector<std::string> gather_to_rank0(const std::string& mine, double limit_s) {
  if (!g_initialized || g_size <= 1) return {mine};
  if (g_rank != 0) {
    const long long length = static_cast<long long>(mine.size());
    MPI_Send(&length, 1, MPI_LONG_LONG, 0, kTagFleetLength, MPI_COMM_WORLD);
    MPI_Send(mine.data(), message_count(length, "a fleet report"), MPI_CHAR, 0, kTagFleetText, MPI_COMM_WORLD);
    return {};
  }
  std::vector<long long> lengths(static_cast<std::size_t>(g_size));
  std::vector<MPI_Request> requests;
  std::vector<int> peers;
  for (int r = 1; r < g_size; ++r) {
    requests.emplace_back();
    peers.push_back(r);
    MPI_Irecv(&lengths[static_cast<std::size_t>(r)], 1, MPI_LONG_LONG, r, kTagFleetLength, MPI_COMM_WORLD,
              &requests.back());
  }
  wait_or_abort(requests, peers, limit_s, "its fleet report", true);
  std::vector<std::string> texts(static_cast<std::size_t>(g_size));
  texts[0] = mine;
  for (int r = 1; r < g_size; ++r) {
    texts[static_cast<std::size_t>(r)].resize(static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)]));
    MPI_Irecv(texts[static_cast<std::size_t>(r)].data(),
              message_count(lengths[static_cast<std::size_t>(r)], "a fleet report"), MPI_CHAR, r, kTagFleetText,
              MPI_COMM_WORLD, &requests[static_cast<std::size_t>(r - 1)]);
  }
  wait_or_abort(requests, peers, limit_s, "its fleet report", true);
  return texts;
}

}  // namespace mlbench::mpi
