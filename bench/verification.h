// Helpers shared by the workloads' fp64 checks.
#pragma once

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/host_buffer.h"
#include "bench/problem.h"

namespace mlbench {

// Counts NaN and infinite elements; returns the index of the first one in `first` (or -1).
std::size_t count_non_finite(const HostBuffer& b, std::int64_t& first);

// Builds a Verification from the worst error seen, the tolerance and the method, failing on
// any non-finite element. NaN errors fail.
Verification make_verification(double max_error, double tolerance, std::string method, std::string detail,
                               std::size_t non_finite, std::int64_t first_non_finite);

// A generator for verification-only randomness, independent of the input stream.
inline std::mt19937_64 verification_rng(std::uint64_t seed) { return std::mt19937_64(seed ^ 0x5eed5eedULL); }

// Checks are exhaustive up to this many multiply-adds of fp64 reference work, sampled above.
constexpr double kExhaustiveCheckWork = 1 << 26;

// --- exact checks (Problem::exact_twin / verify_exact) ---

// Largest integer magnitude an output of this precision holds exactly, and that every
// accumulation the precision implies (fp32 for tf32/bf16/fp16, fp16 or bf16 if a library
// accumulated in the storage type) holds exactly too: bf16 256, fp16 2048, tf32/fp32 2^24,
// fp64 2^53. Exact twins keep every partial sum of non-negative terms below it.
double exact_integer_limit(Precision output_precision);

// A 64-bit hash of (seed, index): exact-twin inputs are drawn from it element by element, in
// parallel, identically for any thread count.
std::uint64_t twin_hash(std::uint64_t seed, std::uint64_t index);

// `count` random non-zero integers in [-range, -1] u [1, range] (Freivalds and weighted-sum
// vectors of the exact checks: a single wrong element e changes the sum by e * x != 0).
std::vector<std::int64_t> nonzero_integers(std::mt19937_64& rng, std::size_t count, std::int64_t range);

// Index of the first element of `output` that an exact check cannot read as an integer:
// strict: not an integer, or of magnitude above `bound` (the exact result's bound: anything
// larger is wrong, and would overflow the integer sums); nearest_integer: its nearest integer
// is above `bound`. -1 when every element reads; `problem` then stays empty.
std::int64_t first_non_integer(const HostBuffer& output, ExactMatch match, double bound, std::string& problem);
// An element an exact check has read with first_non_integer() == -1, as an integer.
// (Casts, not std::nearbyint: a library call per element made the check of a 4096^2
// convolution's 268 M outputs take tens of seconds.)
inline std::int64_t exact_integer(double value) {
  return value >= 0 ? static_cast<std::int64_t>(value + 0.5) : -static_cast<std::int64_t>(0.5 - value);
}

// Verification of an exact check: passed, max_error = the deviation found (output units),
// tolerance 0, method and detail as given.
Verification exact_verification(bool passed, double deviation, std::string method, std::string detail);

std::string to_string(ExactMatch match);

// A 64-bit fingerprint of an output's bytes (the re-check after timing compares it with the
// verified output's: equal fingerprints of different bytes have probability about 2^-64).
std::uint64_t output_fingerprint(const HostBuffer& output);
// nearest_integer when a variant's "algorithm" note names FFT or Winograd (cuDNN's transforms
// round), strict otherwise.
ExactMatch exact_match_for(const std::vector<std::pair<std::string, std::string>>& notes);

}  // namespace mlbench
