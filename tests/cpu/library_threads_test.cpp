// Where the threads a CPU backend starts may run under mlbench's default pinning. libgomp binds
// the main thread to one core (OMP_PROC_BIND=close OMP_PLACES=cores); a library that starts its
// own pool threads from it (OpenBLAS's pthread build) hands them that one-core mask unless the
// backend widens it first (cpu/openblas_threads.h), and then all its threads share one core: on
// the 16-core H200 host the mpi GEMM took 4x as long pinned as unpinned. Each backend runs in a
// child process of its own (OMP_PROC_BIND is read when libgomp loads, and OpenBLAS's pool lives
// as long as the process), under `mpirun -np 1` when mpirun is there so that the mpi backends
// run too; the child lists every thread the backend started and fails when one of them may run
// only on the main thread's core. OPENBLAS_NUM_THREADS=1 keeps OpenBLAS from starting its pool
// when it loads: whether it does depends on whether libgomp's constructor (which binds the main
// thread) ran first, the order of the libraries in the executable; this way the backend always
// starts the pool, as it does in mlbench. Needs 2 CPUs; the timing itself is docs/cluster.md's.
#include <gtest/gtest.h>

#include <dirent.h>
#include <omp.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/softmax.h"
#include "bench/workloads.h"
#include "mpi/mpi_launch.h"
#include "tests/test_support.h"

namespace mlbench {
namespace {

constexpr const char* kChildVariable = "MLBENCH_LIBRARY_THREADS_CHILD";  // "workload/backend/seed"
constexpr int kSkipped = 77;  // the child could not run the backend here (says why)

// Linux's "0-3,8" CPU list of /proc/self/task/<tid>/status.
std::set<int> parse_cpu_list(const std::string& text) {
  std::set<int> cpus;
  std::stringstream in(text);
  std::string range;
  while (std::getline(in, range, ',')) {
    if (range.empty()) continue;
    const auto dash = range.find('-');
    const int first = std::stoi(range.substr(0, dash));
    const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
    for (int c = first; c <= last; ++c) cpus.insert(c);
  }
  return cpus;
}

// Every thread of this process and the CPUs it may run on.
std::map<int, std::set<int>> thread_masks() {
  std::map<int, std::set<int>> masks;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return masks;
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream status(std::string("/proc/self/task/") + entry->d_name + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0)
        masks[std::atoi(entry->d_name)] = parse_cpu_list(line.substr(line.find(':') + 1));
  }
  closedir(tasks);
  return masks;
}

// Small shapes: what is checked is where threads may run, not how fast.
std::int64_t small_size(const std::string& workload) {
  if (workload == "convolution") return 32;
  if (workload == "attention") return 64;
  return 128;
}

int check_backend_threads(const std::string& spec) {
  const auto first = spec.find('/'), second = spec.rfind('/');
  const std::string workload = spec.substr(0, first), backend = spec.substr(first + 1, second - first - 1);
  const std::uint64_t seed = std::strtoull(spec.c_str() + second + 1, nullptr, 10);
  Registry registry;
  cpu::register_backends(registry);
  mpi::register_backends(registry);
  const BackendInfo* info = registry.find(workload, backend);
  const int places = omp_get_num_places();
  const std::map<int, std::set<int>> before = thread_masks();
  const std::set<int> main_mask = before.at(static_cast<int>(getpid()));
  if (info == nullptr || !info->availability().available || places < 2 || main_mask.size() != 1) {
    std::printf("skipped: %s\n", info == nullptr                   ? "not registered"
                                 : !info->availability().available ? info->availability().reason.c_str()
                                                                   : "the main thread is not bound to one core");
    return kSkipped;
  }
  WorkloadOptions options;
  options.get<RowOptions>().rows = 64;
  const auto problem = make_problem(workload, small_size(workload), Precision::fp32, seed, options);
  if (info->supports && !info->supports(*problem).available) {
    std::printf("skipped: %s\n", info->supports(*problem).reason.c_str());
    return kSkipped;
  }
  ExecutionConfig config;
  config.threads = std::min(places, 8);
  config.ranks = info->rank_counts.empty() ? 0 : info->rank_counts.front();
  auto variant = info->prepare(*problem, config);
  for (int run = 0; run < 2; ++run) variant->run(TimingMode::host);
  int confined = 0, started = 0;
  for (const auto& [tid, mask] : thread_masks()) {
    if (before.count(tid) != 0) continue;  // the runtime's own (MPI's progress threads), not the backend's
    ++started;
    std::printf("thread %d may run on %zu CPU(s)%s\n", tid, mask.size(),
                mask == main_mask ? ": the main thread's" : "");
    if (mask == main_mask) ++confined;
  }
  std::printf("%s/%s on %d threads (%d places): %d threads started, %d confined to the main thread's core %d\n",
              workload.c_str(), backend.c_str(), config.threads, places, started, confined, *main_mask.begin());
  return confined == 0 ? 0 : 1;
}

int run_child(int argc, char** argv) {
  if (const std::optional<int> refused = mpi::start(argc, argv)) return *refused;
  int code = 1;
  try {
    code = check_backend_threads(std::getenv(kChildVariable));
  } catch (const std::exception& e) {
    std::printf("failed: %s\n", e.what());
  }
  std::fflush(stdout);
  if (mpi::is_follower()) return mpi::follow();
  return mpi::finish(code);
}

bool have_mpirun() {
  return MLBENCH_TEST_BUILT_WITH_MPI && !std::string(MLBENCH_MPIEXEC).empty() && access(MLBENCH_MPIEXEC, X_OK) == 0;
}

TEST(LibraryThreads, NoCpuBackendLeavesAThreadItStartsOnTheMainThreadsOneCore) {
  cpu_set_t mine;
  if (sched_getaffinity(0, sizeof mine, &mine) != 0 || CPU_COUNT(&mine) < 2)
    GTEST_SKIP() << "needs 2 CPUs to tell a thread confined to one core from one that is not";
  const std::uint64_t seed = test_support::fresh_seed();
  Registry registry;
  cpu::register_backends(registry);
  mpi::register_backends(registry);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  // --bind-to none: mpirun binds a lone rank to one core by default, and the places would be one.
  const std::string launcher =
      have_mpirun() ? std::string(MLBENCH_MPIEXEC) + " --allow-run-as-root --oversubscribe --bind-to none -np 1 " : "";
  const std::string out =
      (std::filesystem::temp_directory_path() / ("mlbench_library_threads_" + std::to_string(getpid()))).string();
  int checked = 0;
  for (const WorkloadInfo& w : workloads())
    for (const BackendInfo* b : registry.backends_for(w.name)) {
      if (!is_cpu(b->kind)) continue;
      const std::string spec = w.name + "/" + b->name + "/" + std::to_string(seed);
      const std::string line = std::string(kChildVariable) + "=" + spec +
                               " OMP_PROC_BIND=close OMP_PLACES=cores OPENBLAS_NUM_THREADS=1 timeout -k 5 120 " +
                               launcher + self + " >" + out + " 2>&1";
      const int status = std::system(line.c_str());
      const std::string text = test_support::slurp(out);
      std::printf("%s: %s", spec.c_str(),
                  text.empty() ? "(no output)\n" : text.substr(text.rfind('\n', text.size() - 2) + 1).c_str());
      if (WIFEXITED(status) && WEXITSTATUS(status) == kSkipped) continue;
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << line << "\n" << text;
      ++checked;
    }
  std::filesystem::remove(out);
  EXPECT_GT(checked, 0) << "no CPU backend ran: the test checked nothing";
}

}  // namespace
}  // namespace mlbench

int main(int argc, char** argv) {
  if (std::getenv(mlbench::kChildVariable) != nullptr) return mlbench::run_child(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
