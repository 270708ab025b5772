// The tables of CPU and MPI backends (cpu/cpu_backend_table.cpp, mpi/mpi_backend_table.cpp):
// the registry holds exactly their rows, each once, with the fields the row declares; a row whose
// library this build lacks is listed, unwired, and says "built without ..." (checked against what
// CMake found, MLBENCH_TEST_BUILT_WITH_*, not against the table's own answer).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/gemm.h"
#include "cpu/cpu_backend_table.h"
#include "mpi/mpi_backend_table.h"
#include "mpi/mpi_launch.h"
#include "tests/cpu/cpu_test_support.h"

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

// What CMake found: the library's rows must be wired exactly then.
bool cmake_found(cpu::CpuLibrary library) {
  switch (library) {
    case cpu::CpuLibrary::openblas: return MLBENCH_TEST_BUILT_WITH_OPENBLAS == 1;
    case cpu::CpuLibrary::onednn: return MLBENCH_TEST_BUILT_WITH_ONEDNN == 1;
    case cpu::CpuLibrary::none: break;
  }
  return true;
}

std::string absent_reason(cpu::CpuLibrary library) {
  return library == cpu::CpuLibrary::openblas ? "built without OpenBLAS" : "built without oneDNN";
}

// The registry's entries of `workload`/`name`: exactly one expected.
std::vector<const BackendInfo*> entries(const Registry& registry, const std::string& workload,
                                        const std::string& name) {
  std::vector<const BackendInfo*> found;
  for (const BackendInfo& info : registry.all())
    if (info.workload == workload && info.name == name) found.push_back(&info);
  return found;
}

TEST(CpuBackendTable, RegistryHoldsEveryRowOnceWithItsDeclaredFields) {
  const auto& table = cpu::cpu_backend_definitions();
  const Registry& registry = cpu_registry();
  ASSERT_EQ(registry.all().size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const cpu::CpuBackendDefinition& row = table[i];
    SCOPED_TRACE(std::string(row.workload) + "/" + row.name);
    const auto found = entries(registry, row.workload, row.name);
    ASSERT_EQ(found.size(), 1u);
    const BackendInfo& info = *found.front();
    EXPECT_EQ(&info, &registry.all()[i]) << "registered in table order";
    EXPECT_EQ(info.kind, row.kind);
    EXPECT_EQ(info.description, row.description);
    EXPECT_EQ(info.precisions, row.precisions);
    EXPECT_FALSE(info.precisions.empty());
    EXPECT_EQ(info.is_baseline, row.is_baseline);
    EXPECT_TRUE(info.tensor_core_precisions.empty());
    EXPECT_FALSE(info.multi_gpu);
    EXPECT_EQ(info.ranks, 0);
    // mlbench's own code is kind cpu, a library's cpu_library; the baseline is always mlbench's.
    EXPECT_EQ(row.library == cpu::CpuLibrary::none, row.kind == BackendKind::cpu);
    if (row.is_baseline) {
      EXPECT_TRUE(row.library == cpu::CpuLibrary::none);
    }
    ASSERT_TRUE(info.availability);
    ASSERT_TRUE(info.supports);
    ASSERT_TRUE(info.prepare);
  }
}

TEST(CpuBackendTable, ARowIsWiredExactlyWhenTheBuildHasItsLibraryAndSaysWhyOtherwise) {
  const GemmProblem problem({4, 4, 4}, Precision::fp32, 1, 4);
  for (const cpu::CpuBackendDefinition& row : cpu::cpu_backend_definitions()) {
    SCOPED_TRACE(std::string(row.workload) + "/" + row.name);
    const bool present = cmake_found(row.library);
    EXPECT_EQ(cpu::built_with(row.library), present);
    EXPECT_EQ(row.prepare != nullptr, present);
    if (!present) {
      EXPECT_TRUE(row.supports == nullptr);
    }
    const BackendInfo* info = cpu_registry().find(row.workload, row.name);
    ASSERT_NE(info, nullptr);
    const Availability a = info->availability();
    if (present) {
      EXPECT_TRUE(a.available) << a.reason;
      continue;
    }
    EXPECT_FALSE(a.available);
    EXPECT_EQ(a.reason, absent_reason(row.library));
    EXPECT_EQ(cpu::missing_library_reason(row.library), absent_reason(row.library));
    EXPECT_THROW(info->prepare(problem, threads_config(1)), std::logic_error);
  }
  EXPECT_TRUE(cpu::built_with(cpu::CpuLibrary::none));
  EXPECT_EQ(cpu::missing_library_reason(cpu::CpuLibrary::none), "");
}

TEST(MpiBackendTable, RegistryHoldsEveryRowOnceUnavailableOutsideALaunch) {
  Registry registry;
  mpi::register_backends(registry);  // no nccl rows to turn cross-rank: those are kernels/'s
  const auto& table = mpi::mpi_backend_definitions();
  ASSERT_EQ(registry.all().size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const mpi::MpiBackendDefinition& row = table[i];
    SCOPED_TRACE(std::string(row.workload) + "/" + row.name);
    ASSERT_EQ(entries(registry, row.workload, row.name).size(), 1u);
    const BackendInfo& info = registry.all()[i];
    EXPECT_EQ(info.name, row.name);
    EXPECT_EQ(info.workload, row.workload);
    EXPECT_EQ(info.kind, row.kind);
    EXPECT_EQ(info.description, row.description);
    EXPECT_EQ(info.precisions, (std::vector<Precision>{Precision::fp32, Precision::fp64}));
    EXPECT_FALSE(info.is_baseline);
    EXPECT_EQ(row.prepare != nullptr, MLBENCH_TEST_BUILT_WITH_MPI == 1);
    ASSERT_TRUE(info.availability);
    ASSERT_TRUE(info.prepare);
    // This test program is no MPI launch: unavailable either way, with the build's reason.
    const Availability a = info.availability();
    EXPECT_FALSE(a.available);
    EXPECT_EQ(a.reason,
              MLBENCH_TEST_BUILT_WITH_MPI ? "not started under mpirun or srun (docs/cluster.md)" : "built without MPI");
  }
}

}  // namespace
}  // namespace mlbench
