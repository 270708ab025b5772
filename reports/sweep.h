// Size sweeps: the results of one workload and precision over several sizes, and where each
// GPU backend starts to beat the CPU once transfers are paid for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

// Results of one workload and precision (a sweep when they span several sizes).
struct Sweep {
  std::string workload;
  Precision precision = Precision::fp32;
  std::vector<std::int64_t> sizes;  // ascending, distinct
  std::vector<const VariantResult*> results;
  std::string title() const;  // "gemm fp32"
};
// Groups by (workload, precision), in order of first appearance. Every group is returned,
// including those with one size; callers check sizes.size() >= 2 for a real sweep.
std::vector<Sweep> group_sweeps(const std::vector<VariantResult>& results);

// For one GPU backend in a sweep: the smallest size from which its end-to-end time (transfers
// included) beats the fastest verified CPU backend at every larger measured size.
// `size` is empty when it never does at the largest size measured.
struct BreakEven {
  std::string gpu_backend;
  std::optional<std::int64_t> size;
  bool at_smallest_size = false;  // already ahead at the smallest size measured
  std::string best_cpu_backend;   // the CPU backend beaten at `size`
  double gpu_seconds = 0;         // end-to-end median at `size`
  double cpu_seconds = 0;         // best CPU median at `size`
};
// One entry per GPU backend that has verified end-to-end results at two or more sizes where
// a verified CPU result exists too.
std::vector<BreakEven> break_even(const Sweep& sweep);

// "cuda beats the best CPU end to end from size 512 (1.3 ms vs 1.9 ms openblas)".
std::string describe(const BreakEven& b);

}  // namespace mlbench::reports
