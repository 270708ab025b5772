// Helpers every test program shares.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace mlbench::test_support {

// ---- seeds ----
// Every randomized test draws its seeds from fresh_seed(). Each test (and each repetition under
// --gtest_repeat) gets a fresh random seed, unless MLBENCH_TEST_SEED=<decimal> is set: then the
// test's first fresh_seed() returns that number, and later calls in the same test derive theirs
// from it. A failing test that drew a seed prints
//   [   SEED   ] <suite.name> seed <n>: reproduce with MLBENCH_TEST_SEED=<n> <program> --gtest_filter=<suite.name>
// so the printed seed replays the failing inputs (docs/testing.md).
namespace detail {

struct SeedState {
  bool drawn = false;       // fresh_seed() was called in the current test
  std::uint64_t base = 0;   // the test's seed (what MLBENCH_TEST_SEED replays)
  std::uint64_t calls = 0;  // fresh_seed() calls in the current test
};

inline SeedState& seed_state() {
  static SeedState state;
  return state;
}

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline std::string program_path() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("<test program>") : exe.string();
}

// Prints the seed of every failing test that drew one.
class SeedReporter : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { seed_state() = SeedState{}; }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!seed_state().drawn || !info.result()->Failed()) return;
    const std::string name = std::string(info.test_suite_name()) + "." + info.name();
    const auto seed = static_cast<unsigned long long>(seed_state().base);
    std::printf("[   SEED   ] %s seed %llu: reproduce with MLBENCH_TEST_SEED=%llu %s --gtest_filter=%s\n", name.c_str(),
                seed, seed, program_path().c_str(), name.c_str());
    std::fflush(stdout);
  }
};

// Registered once per test program, before main() runs the tests.
inline const bool seed_reporter_registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new SeedReporter);
  return true;
}();

}  // namespace detail

// The test's seed: MLBENCH_TEST_SEED when set (a decimal integer; anything else fails the test),
// else 64 random bits. Printed, so that a passing run's log also names its inputs.
inline std::uint64_t fresh_seed() {
  detail::SeedState& state = detail::seed_state();
  if (!state.drawn) {
    state.drawn = true;
    const char* fixed = std::getenv("MLBENCH_TEST_SEED");
    if (fixed != nullptr && *fixed != '\0') {
      char* end = nullptr;
      errno = 0;
      const unsigned long long value = std::strtoull(fixed, &end, 10);
      if (errno != 0 || *end != '\0' || *fixed == '-' || *fixed == '+')
        ADD_FAILURE() << "MLBENCH_TEST_SEED='" << fixed << "' is not a decimal seed in [0, 2^64)";
      state.base = value;
    } else {
      std::random_device device;
      state.base = (static_cast<std::uint64_t>(device()) << 32) | device();
    }
  }
  const std::uint64_t seed = state.calls == 0 ? state.base : detail::splitmix64(state.base + state.calls);
  ++state.calls;
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

// The whole file, or "" when it cannot be read.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The fields of one CSV line as reports/csv.cpp writes it (quoted fields, "" for a quote).
inline std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace mlbench::test_support
