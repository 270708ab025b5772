#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include <fmt/format.h>

#include "bench/runner.h"
#include "bench/thread_binding.h"

#include "mpi/mpi_launch.h"

namespace mlbench::mpi {

namespace {
int positive_int(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return (*end == '\0' && value > 0 && value < (1L << 30)) ? static_cast<int>(value) : 0;
}
int non_negative_int(const char* text) {
  if (text == nullptr || *text == '\0') return -1;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return (*end == '\0' && value >= 0 && value < (1L << 30)) ? static_cast<int>(value) : -1;
}

// Slurm's tasks per node of the step, "2(x3),1" (nodes 0-2 run 2, node 3 runs 1): node `node`'s.
int slurm_tasks_on_node(const char* spec, int node) {
  if (spec == nullptr || node < 0) return 0;
  const std::string text = spec;
  int first = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    const int tasks = positive_int(item.substr(0, item.find('(')).c_str());
    int repeat = 1;
    if (const auto x = item.find("(x"); x != std::string::npos)
      repeat = positive_int(item.substr(x + 2, item.size() - x - 3).c_str());
    if (tasks <= 0 || repeat <= 0) return 0;
    if (node < first + repeat) return tasks;
    first += repeat;
    at = end + 1;
  }
  return 0;
}

// The CPUs of a "0-3,8" list (a /proc/PID/status Cpus_allowed_list).
std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    const auto dash = item.find('-');
    const int low = non_negative_int(item.substr(0, dash).c_str());
    const int high = dash == std::string::npos ? low : non_negative_int(item.substr(dash + 1).c_str());
    if (low < 0 || high < low) return {};
    for (int cpu = low; cpu <= high; ++cpu) cpus.push_back(cpu);
    at = end + 1;
  }
  return cpus;
}

std::vector<int> allowed_cpus_of(const std::string& status_path) {
  std::ifstream in(status_path);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Cpus_allowed_list:", 0) == 0) {
      std::string list = line.substr(line.find(':') + 1);
      list.erase(std::remove_if(list.begin(), list.end(), [](char c) { return c == ' ' || c == '\t'; }), list.end());
      return parse_cpu_list(list);
    }
  return {};
}

std::string read_word(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  in >> word;
  return word;
}
}  // namespace

LaunchEnvironment detect_launch() {
  // Open MPI's mpirun, PMI-1/2 launchers (MPICH hydra, Intel MPI, srun --mpi=pmi2), MVAPICH,
  // and srun itself (SLURM_STEP_NUM_TASKS describes a job step; SLURM_NTASKS is not used: it is
  // also set in a batch script that runs one process). Not tried under Slurm yet.
  static const struct {
    const char* size;
    const char* rank;
  } kLaunchers[] = {{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"},
                    {"PMI_SIZE", "PMI_RANK"},
                    {"MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"},
                    {"SLURM_STEP_NUM_TASKS", "SLURM_PROCID"}};
  for (const auto& launcher : kLaunchers)
    if (const int size = positive_int(std::getenv(launcher.size)); size > 0) {
      const char* rank = std::getenv(launcher.rank);
      LaunchEnvironment launch{launcher.size, size, rank && *rank ? positive_int(rank) : 0};
      static const struct {
        const char* rank;
        const char* size;
      } kLocal[] = {{"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
                    {"MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
                    {"MV2_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_SIZE"}};
      for (const auto& local : kLocal)
        if (non_negative_int(std::getenv(local.rank)) >= 0 && positive_int(std::getenv(local.size)) > 0) {
          launch.local_rank = non_negative_int(std::getenv(local.rank));
          launch.local_size = positive_int(std::getenv(local.size));
          return launch;
        }
      if (const int local = non_negative_int(std::getenv("SLURM_LOCALID")); local >= 0) {
        const int tasks = slurm_tasks_on_node(std::getenv("SLURM_STEP_TASKS_PER_NODE"),
                                              non_negative_int(std::getenv("SLURM_NODEID")));
        if (tasks > local) {
          launch.local_rank = local;
          launch.local_size = tasks;
        }
      }
      return launch;
    }
  return {};
}

RankCpuPlan plan_rank_cpus(const LaunchEnvironment& launch, const std::vector<std::vector<int>>& cores,
                           bool launcher_bound) {
  RankCpuPlan plan;
  if (launch.size <= 1) return plan;  // one process: the ordinary pinning
  std::vector<int> mask;
  for (const auto& core : cores) mask.insert(mask.end(), core.begin(), core.end());
  std::sort(mask.begin(), mask.end());
  const int count = static_cast<int>(cores.size());
  if (launcher_bound) {
    plan.note = fmt::format("MPI rank {}: CPUs {} ({} core{}), as the launcher bound it", launch.rank,
                            cpu_list_text(mask), count, count == 1 ? "" : "s");
    return plan;
  }
  if (launch.local_size <= 0 || launch.local_rank < 0) {
    plan.pin = false;
    plan.note = fmt::format(
        "MPI rank {}: not pinned: the launcher neither bound it nor said how many ranks share its node, so "
        "pinning could stack several ranks on the same cores",
        launch.rank);
    return plan;
  }
  if (launch.local_size == 1) {
    plan.note = fmt::format("MPI rank {}: CPUs {}, the only rank on its node", launch.rank, cpu_list_text(mask));
    return plan;
  }
  if (launch.local_size > count) {
    plan.pin = false;
    plan.note = fmt::format(
        "MPI rank {}: not pinned: {} ranks on its node share {} core{} (CPUs {}), so they cannot have cores of their "
        "own; pinned, some cores would carry two ranks and others one, so the OS schedules them",
        launch.rank, launch.local_size, count, count == 1 ? "" : "s", cpu_list_text(mask));
    return plan;
  }
  // A contiguous block of cores per local rank, the first `count mod local_size` one core more.
  const int base = count / launch.local_size, extra = count % launch.local_size;
  const int first = launch.local_rank * base + std::min(launch.local_rank, extra);
  const int take = base + (launch.local_rank < extra ? 1 : 0);
  for (int c = first; c < first + take; ++c) plan.cpus.insert(plan.cpus.end(), cores[c].begin(), cores[c].end());
  std::sort(plan.cpus.begin(), plan.cpus.end());
  plan.note = fmt::format(
      "MPI rank {}: CPUs {} ({} of the {} cores {}), its share as local rank {} of {} (the launcher did not bind "
      "it; mlbench split the cores)",
      launch.rank, cpu_list_text(plan.cpus), take, count, cpu_list_text(mask), launch.local_rank, launch.local_size);
  return plan;
}

std::vector<std::vector<int>> affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
  std::map<std::pair<std::string, std::string>, std::vector<int>> by_core;
  std::vector<std::pair<std::string, std::string>> order;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    const std::string topology = fmt::format("/sys/devices/system/cpu/cpu{}/topology/", cpu);
    std::string package = read_word(topology + "physical_package_id"), core = read_word(topology + "core_id");
    if (core.empty()) core = "cpu" + std::to_string(cpu);  // no topology: every CPU its own core
    auto& cpus = by_core[{package, core}];
    if (cpus.empty()) order.push_back({package, core});
    cpus.push_back(cpu);
  }
  std::vector<std::vector<int>> cores;
  for (const auto& key : order) cores.push_back(by_core[key]);
  return cores;
}

bool launcher_bound_this_process() {
  // A binding to a socket that is the whole machine (Open MPI's default above 2 ranks) narrows
  // nothing: the parent's mask decides; Open MPI's own word only where that cannot be read.
  const std::vector<int> mine = allowed_cpus_of("/proc/self/status");
  const std::vector<int> parent = allowed_cpus_of(fmt::format("/proc/{}/status", getppid()));
  if (!mine.empty() && !parent.empty()) return mine.size() < parent.size();
  const char* open_mpi = std::getenv("OMPI_MCA_orte_bound_at_launch");
  return open_mpi != nullptr && std::string(open_mpi) == "1";
}

RankGpuChoice choose_rank_gpu(int local_rank, int node_ranks, int device_count) {
  RankGpuChoice choice;
  if (device_count < 0) {
    choice.refusal = "built without CUDA";
  } else if (device_count == 0) {
    choice.refusal = "no CUDA device on its node";
  } else if (local_rank < 0 || node_ranks <= 0) {
    choice.refusal = "its node-local rank is unknown, so ranks of one node could pick the same GPU";
  } else if (node_ranks > device_count) {
    choice.refusal = fmt::format(
        "{} ranks on a node with {} GPU{}: each rank needs a GPU of its own (two ranks timing one GPU at the same "
        "time is not a measurement); run at most {} rank{} per node",
        node_ranks, device_count, device_count == 1 ? "" : "s", device_count, device_count == 1 ? "" : "s");
  } else {
    choice.device = local_rank;
  }
  return choice;
}

void account_for_gpu_rows(RunPlan& plan, bool fleet, int world_size, const RankGpuChoice& gpu,
                          const std::vector<std::string>& cross_rank_workloads) {
  if (world_size <= 1) return;
  auto absent = [&plan](const std::string& name, const std::string& why) {
    for (const auto& entry : plan.absent)
      if (entry.first == name) return;
    plan.absent.emplace_back(name, why);
  };
  // Cross-rank rows (a GPU backend with rank counts) of more than one rank.
  auto cross_rank = [](const PlannedVariant& v) { return is_gpu(v.backend->kind) && v.ranks > 1; };
  std::vector<PlannedVariant> kept;
  for (const PlannedVariant& v : plan.variants) {
    std::string why;
    if (fleet && is_gpu(v.backend->kind) && !gpu.chosen()) {
      why = fmt::format("a fleet rank has no GPU of its own: {} (docs/cluster.md)", gpu.refusal);
      absent(v.backend->name, why);
    } else if (!fleet && cross_rank(v) && !gpu.chosen()) {
      why = fmt::format("no GPU per rank: {} (docs/cluster.md)", gpu.refusal);
      absent(fmt::format("{} ranks={}", v.backend->name, v.ranks), why);
    } else if (!fleet && cross_rank(v) &&
               std::find(cross_rank_workloads.begin(), cross_rank_workloads.end(), v.workload) ==
                   cross_rank_workloads.end()) {
      why = fmt::format(
          "not built: the {} {} pipeline across MPI ranks (one process drives every GPU of it); the one-rank row runs "
          "(docs/cluster.md)",
          v.backend->name, v.workload);
      absent(fmt::format("{} ranks={}", v.backend->name, v.ranks), why);
    }
    if (why.empty()) {
      kept.push_back(v);
      continue;
    }
    plan.timed_rows -= is_gpu(v.backend->kind) ? 2 : 1;  // a GPU variant's kernel and end-to-end rows
  }
  plan.variants = std::move(kept);
}

}  // namespace mlbench::mpi
