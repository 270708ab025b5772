// Helpers every test program shares.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>

namespace mlbench::test_support {

// A fresh random seed per call, printed so that a failure can be replayed with the same inputs
// (tests also put it in a SCOPED_TRACE).
inline std::uint64_t fresh_seed() {
  std::random_device device;
  const std::uint64_t seed = (static_cast<std::uint64_t>(device()) << 32) | device();
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace mlbench::test_support
