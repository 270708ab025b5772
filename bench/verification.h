// Helpers shared by the workloads' fp64 checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "bench/host_buffer.h"
#include "bench/problem.h"

namespace mlbench {

// Counts NaN and infinite elements; returns the index of the first one in `first` (or -1).
std::size_t count_non_finite(const HostBuffer& b, std::int64_t& first);

// Builds a Verification from the worst error seen, the tolerance and the method, failing on
// any non-finite element. NaN errors fail.
Verification make_verification(double max_error, double tolerance, std::string method,
                               std::string detail, std::size_t non_finite, std::int64_t first_non_finite);

// A generator for verification-only randomness, independent of the input stream.
inline std::mt19937_64 verification_rng(std::uint64_t seed) { return std::mt19937_64(seed ^ 0x5eed5eedULL); }

// Checks are exhaustive up to this many multiply-adds of fp64 reference work, sampled above.
constexpr double kExhaustiveCheckWork = 1 << 26;

}  // namespace mlbench
