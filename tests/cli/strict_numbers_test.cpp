// Numbers read strictly (cli/strict_numbers.h): integers in base 10 with range checks, floating
// point values finite, OMP_NUM_THREADS bounded like --threads; and every numeric option of
// every subcommand gets those checks (an App built as cli/main.cpp builds it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "cli/commands.h"
#include "cli/report_commands.h"
#include "cli/strict_numbers.h"

namespace mlbench::cli {
// cli/main.cpp defines it for the executable.
const std::string& command_line() {
  static const std::string line = "mlbench (strict_numbers_test)";
  return line;
}
}  // namespace mlbench::cli

using namespace mlbench::cli;

namespace {

// Parses `args` with a fresh App holding every subcommand; "" when accepted, else the error.
std::string parse(std::vector<std::string> args) {
  setenv("MLBENCH_PLAN_ONLY", "1", 1);  // run subcommands check everything and stop
  CLI::App app{"mlbench"};
  app.require_subcommand(1);
  int exit_code = 0;
  add_run_commands(app, exit_code);
  add_report_commands(app, exit_code);
  args.insert(args.begin(), "mlbench");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return e.what();
  }
  return exit_code == 0 ? "" : "exit " + std::to_string(exit_code);
}

}  // namespace

TEST(StrictNumbers, DecimalIsBase10WithRangeChecks) {
  std::mt19937_64 rng(std::random_device{}());
  const std::uint64_t value = rng();
  SCOPED_TRACE("value=" + std::to_string(value));
  EXPECT_EQ(parse_decimal(std::to_string(value)), value);
  EXPECT_EQ(parse_decimal("0"), 0u);
  EXPECT_EQ(parse_decimal("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"18446744073709551616", "100000000000000000000000000", "-1", "+3", "0x3", "010", "00", " 3",
                          "3 ", "1e3", "", "3.0", "٣"})
    EXPECT_FALSE(parse_decimal(bad)) << bad;
  EXPECT_EQ(parse_decimal("4096", 4096), 4096u);
  EXPECT_FALSE(parse_decimal("4097", 4096));
}

TEST(StrictNumbers, FiniteRefusesNanInfHexAndOverflow) {
  EXPECT_EQ(parse_finite("0.5"), 0.5);
  EXPECT_EQ(parse_finite("1e-3"), 1e-3);
  EXPECT_EQ(parse_finite("-2"), -2.0);
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "infinity", "1e400", "0x1p3", "1.5x", "", " 1", "1,5"})
    EXPECT_FALSE(parse_finite(bad)) << bad;
}

TEST(StrictNumbers, EveryNumericOptionIsStrict) {
  EXPECT_EQ(parse({"gemm", "--size", "8", "--threads", "10", "--seed", "18446744073709551615"}), "");
  // Each refused, with a message saying what is wrong (not, say, a missing input file).
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"gemm", "--size", "8", "--seed", "-1"}, "base 10"},
      {{"gemm", "--size", "8", "--seed", "18446744073709551616"}, "base 10"},
      {{"gemm", "--size", "8", "--seed", "100000000000000000000000000"}, "base 10"},
      {{"gemm", "--size", "8", "--seed", "1e26"}, "base 10"},
      {{"gemm", "--size", "8", "--threads", "0x3"}, "base 10"},
      {{"gemm", "--size", "8", "--threads", "010"}, "leading zeros"},
      {{"gemm", "--size", "8", "--seed", "00"}, "leading zeros"},
      {{"gemm", "--size", "8", "--threads", "-2"}, "base 10"},
      {{"gemm", "--size", "8", "--repetitions", "3.5"}, "base 10"},
      {{"gemm", "--size", "8", "--time-budget", "nan"}, "finite"},
      {{"gemm", "--size", "8", "--time-budget", "inf"}, "finite"},
      {{"gemm", "--size", "8", "--timeout", "nan"}, "finite"},
      {{"gemm", "--size", "8", "--timeout", "-inf"}, "finite"},
      {{"gemm", "--size", "8", "--cv-threshold", "nan"}, "finite"},
      {{"conv", "--size", "8", "--batch", "0x10"}, "base 10"},
      {{"conv", "--size", "8", "--padding", "0x1"}, "--padding"},
      {{"conv", "--size", "8", "--padding", " 1"}, "--padding"},
      {{"gemm", "--size", "0x40"}, "base 10"},
      {{"gemm", "--size", "+64"}, "base 10"},
      {{"gemm", "--size", "64,64"}, "given twice"},
      {{"gemm", "--size", "64,128,064"}, "leading zeros"},
      {{"report", "x.json", "--cv-threshold", "nan"}, "finite"},
      {{"compare", "a.json", "b.json", "--cv-threshold", "inf"}, "finite"},
      {{"compare", "a.json", "b.json", "--fail-above", "nan"}, "finite"},
  };
  for (const auto& [args, needle] : refused) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    SCOPED_TRACE(line);
    const std::string error = parse(args);
    EXPECT_NE(error.find(needle), std::string::npos) << "error: '" << error << "'";
  }
}

TEST(StrictNumbers, EnvironmentThreadCountsAreBoundedLikeThreads) {
  const char* saved = std::getenv("OMP_NUM_THREADS");
  const std::string restore = saved ? saved : "";
  for (const char* good : {"1", "2", "4096", "4,2", ""}) {
    setenv("OMP_NUM_THREADS", good, 1);
    EXPECT_EQ(environment_problem(), "") << good;
  }
  for (const char* bad : {"100000", "0", "-1", "abc", "0x10", "010", "4,100000", "4097"}) {
    setenv("OMP_NUM_THREADS", bad, 1);
    const std::string problem = environment_problem();
    EXPECT_NE(problem.find("OMP_NUM_THREADS"), std::string::npos) << bad;
    EXPECT_EQ(problem.find('\n'), std::string::npos);
  }
  if (saved)
    setenv("OMP_NUM_THREADS", restore.c_str(), 1);
  else
    unsetenv("OMP_NUM_THREADS");
}
