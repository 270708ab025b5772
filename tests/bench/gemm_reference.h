// C = A B of a GEMM problem in fp64, for the test-only variants that must pass verification
// (runner_hooks_test, interrupted_status_test, energy_test).
#pragma once

#include <cstdint>

#include "bench/gemm.h"

namespace mlbench::test_support {

inline HostBuffer reference_product(const GemmProblem& p) {
  const auto [m, n, k] = p.shape();
  HostBuffer out(p.output_precision(), p.output_size());
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::int64_t q = 0; q < k; ++q) acc += p.a().get(i * k + q) * p.b().get(q * n + j);
      out.set(i * n + j, acc);
    }
  return out;
}

}  // namespace mlbench::test_support
