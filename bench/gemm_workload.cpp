// The GEMM workload's descriptor (bench/workload.h): square C = A*B, M = N = K = --size.
#include "bench/gemm.h"
#include "bench/workloads.h"

namespace mlbench {

WorkloadDescriptor gemm_workload() {
  WorkloadDescriptor w;
  w.name = "gemm";
  w.description = "dense matrix multiply C = A*B";
  w.size_meaning = "the side of the square matrices, M = N = K";
  w.command_description = "Dense matrix multiply C = A*B (M = N = K = size)";
  w.fleet_description = "Dense matrix multiply on every rank";
  w.make_problem = [](std::int64_t size, Precision precision, std::uint64_t seed, const WorkloadOptions&) {
    return std::make_unique<GemmProblem>(GemmShape{size, size, size}, precision, seed, size);
  };
  w.footprint = [](std::int64_t size, Precision precision, const WorkloadOptions&) {
    const auto es = static_cast<std::int64_t>(element_size(precision));
    const std::int64_t square = checked_mul(size, size, "GEMM size");
    HostFootprint f;
    f.elements = checked_mul(square, 3, "GEMM size");  // A, B, C
    f.output_bytes = checked_mul(square, es, "GEMM output bytes");
    f.widened = square;  // serial GEMM widens all of B
    f.twin_inputs = f.twin_copies = checked_mul(square, 2, "GEMM size");
    return f;
  };
  return w;
}

}  // namespace mlbench
