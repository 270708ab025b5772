// The CLI's subcommands built in-process (cli/*.cpp without main): each add_* call owns its
// options, so two Apps built one after the other in one process parse independently (fuzz
// finding 6: options used to live in process-lifetime statics). Also the --pin scan that runs
// before CLI11 parses.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/report_commands.h"
#include "cli/thread_pinning.h"

namespace mlbench::cli {
// Defined by cli/main.cpp in the executable.
const std::string& command_line() {
  static const std::string line = "mlbench (cli_app_test)";
  return line;
}
}  // namespace mlbench::cli

namespace {

struct App {
  std::unique_ptr<CLI::App> app = std::make_unique<CLI::App>("mlbench (test)");
  int exit_code = -1;
  App() {
    app->require_subcommand(1);
    mlbench::cli::add_run_commands(*app, exit_code);
    mlbench::cli::add_report_commands(*app, exit_code);
    mlbench::cli::add_peak_command(*app, exit_code);
  }
  // Parses and runs; returns what the subcommand printed on stdout.
  std::string run(std::vector<std::string> args) {
    args.insert(args.begin(), "mlbench");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    testing::internal::CaptureStdout();
    app->parse(static_cast<int>(argv.size()), argv.data());
    return testing::internal::GetCapturedStdout();
  }
};

}  // namespace

TEST(CliApp, TwoAppsInOneProcessKeepTheirOwnOptions) {
  ::setenv("MLBENCH_PLAN_ONLY", "1", 1);  // run subcommands stop after planning
  auto first = std::make_unique<App>();
  const std::string json = first->run({"info", "--json"});
  EXPECT_EQ(first->exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(json).contains("cpu_model")) << json.substr(0, 200);
  EXPECT_EQ(first->run({"gemm", "--size", "8", "--backends", "serial", "--dry-run"}), "gemm size 8 serial\n");

  // A second App, the first one gone: none of the first one's values carries over.
  first.reset();
  App second;
  const std::string text = second.run({"info"});
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(text.rfind("host", 0), 0u) << "info without --json printed JSON: the flag outlived its App\n"
                                       << text.substr(0, 200);
  EXPECT_EQ(second.run({"gemm", "--backends", "serial", "--dry-run"}), "gemm size 1024 serial\n");
}

TEST(CliApp, ManyAppsCanBeBuiltAndParsed) {
  ::setenv("MLBENCH_PLAN_ONLY", "1", 1);
  for (int i = 1; i <= 20; ++i) {
    App app;
    EXPECT_EQ(app.run({"reduce", "--size", std::to_string(i), "--backends", "serial", "--dry-run"}),
              "reduction size " + std::to_string(i) + " serial\n");
    EXPECT_EQ(app.exit_code, 0);
  }
}

TEST(CliApp, PinModeIsReadBeforeParsing) {
  using mlbench::PinMode;
  using mlbench::cli::requested_pin_mode;
  EXPECT_EQ(requested_pin_mode({"mlbench", "gemm"}), PinMode::cores);
  EXPECT_EQ(requested_pin_mode({"mlbench", "gemm", "--no-pin"}), PinMode::none);
  EXPECT_EQ(requested_pin_mode({"mlbench", "gemm", "--pin", "threads"}), PinMode::threads);
  EXPECT_EQ(requested_pin_mode({"mlbench", "gemm", "--pin=none"}), PinMode::none);
  EXPECT_EQ(requested_pin_mode({"mlbench", "gemm", "--pin", "sometimes"}), std::nullopt);
  EXPECT_EQ(requested_pin_mode({"mlbench", "gemm", "--pin"}), PinMode::cores);  // CLI11 says the value is missing
  EXPECT_EQ(requested_pin_mode({"mlbench", "--", "--no-pin"}), PinMode::cores);
}
