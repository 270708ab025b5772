// A build without MPI: the `mpi` backends (the rows of mpi_backend_table.cpp, compiled here
// without their factories) are registered as unavailable, and a launch of several processes is
// refused (each would run the whole suite alone, as rank 0).
#include <fmt/format.h>

#include "mpi/mpi_backend_table.h"
#include "mpi/mpi_launch.h"

namespace mlbench::mpi {

std::optional<int> start(int, char**) {
  const LaunchEnvironment launch = detect_launch();
  if (launch.size <= 1) return std::nullopt;
  if (launch.rank == 0)
    fmt::print(stderr,
               "mlbench: error: started as {} processes ({}={}) but this mlbench was built without MPI "
               "(install libopenmpi-dev and rebuild; docs/cluster.md)\n",
               launch.size, launch.size_variable, launch.size);
  return 2;
}

bool is_follower() { return false; }
bool is_fleet_command(int argc, char** argv) { return argc > 1 && std::string(argv[1]) == "fleet"; }
void enter_fleet_mode() {}
bool fleet_mode() { return false; }
int rank() { return 0; }
int size() { return 1; }
int node_ranks() { return 1; }
int max_node_ranks() { return 1; }
void fleet_barrier(double, const std::string&) {}
std::vector<std::string> gather_to_rank0(const std::string& mine, double) { return {mine}; }
std::string this_rank_label() { return "rank 0"; }
void set_context_collector(std::function<MachineContext(int)>) {}
int follow() { return 0; }

namespace {
RankGpuChoice g_rank_gpu{0, {}};
}
RankGpuChoice settle_rank_gpu(int) { return g_rank_gpu; }  // one process: device 0, as without a launch
const RankGpuChoice& rank_gpu() { return g_rank_gpu; }
std::unique_ptr<RankGroup> make_rank_group(int, double) { return nullptr; }
std::vector<std::string> cross_rank_gpu_workloads() { return {}; }
int finish(int exit_code) { return exit_code; }

void register_backends(Registry& registry) {
  for (const MpiBackendDefinition& definition : mpi_backend_definitions()) {
    BackendInfo info = describe(definition);
    info.availability = [] { return Availability::no("built without MPI"); };
    info.prepare = [](const Problem&, const ExecutionConfig&) -> std::unique_ptr<Variant> {
      throw std::logic_error("mpi backend prepared in a build without MPI");
    };
    registry.add(std::move(info));
  }
}

}  // namespace mlbench::mpi
