// The workloads mlbench knows (one descriptor each, bench/workload.h) and how a Problem and the
// memory estimate are built for each from the user's options. Nothing here names a workload:
// each one is its own files and a line of MLBENCH_WORKLOADS (bench/CMakeLists.txt), its options
// struct is in its own header and reached by type (WorkloadOptions, bench/workload.h);
// WorkloadRegistration.* in tests/bench/bench_test.cpp checks it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/problem.h"
#include "bench/types.h"
#include "bench/workload.h"

namespace mlbench {

using WorkloadInfo = WorkloadDescriptor;

// Every workload's descriptor, once each, in the order of MLBENCH_WORKLOADS (bench/CMakeLists.txt):
// the order of `mlbench all`, the help and `mlbench list`.
const std::vector<WorkloadDescriptor>& workloads();
// Resolves a name or alias; nullptr when unknown.
const WorkloadDescriptor* find_workload(const std::string& name_or_alias);

// Why `workload` takes no inputs of this precision (a predicate: "takes ..."); "" when it takes them (or the name is
// unknown). tf32 is a math mode of multiplications, not a storage type: the workloads whose
// descriptor refuses it throw from make_problem, and `mlbench all --precision tf32` leaves them out.
std::string precision_refusal(const std::string& workload, Precision precision);
// The precisions the workload takes: every one (all_precisions(), in its order) but those its
// descriptor refuses. The `--precision` help of its subcommands lists these (cli/run_command.cpp).
std::vector<Precision> taken_precisions(const WorkloadDescriptor& workload);

// Builds the problem (shape checks, input generation). Throws InputError on a bad shape.
std::unique_ptr<Problem> make_problem(const std::string& workload, std::int64_t size, Precision precision,
                                      std::uint64_t seed, const WorkloadOptions& options);

// Host bytes one variant's run needs at most, computed without allocating: the problem's
// buffers (inputs and reference output), the output read back for verification, the exact
// twin's inputs, and for the 16-bit types the fp32 copies the CPU backends widen into
// (HostFootprint, counted by the workload's descriptor).
std::size_t estimate_host_bytes(const std::string& workload, std::int64_t size, Precision precision,
                                const WorkloadOptions& options);

}  // namespace mlbench
