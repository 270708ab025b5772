// libFuzzer target: the mlbench command line. The input is split on NUL or newline into at
// most 16 arguments after "mlbench" and parsed by the real subcommands (cli/run_command.cpp,
// cli/report_commands.cpp). MLBENCH_PLAN_ONLY=1 makes a run subcommand stop after planning, so
// every option is checked but nothing is allocated or timed; a fuzz input that allocates
// gigabytes (huge sizes) therefore shows up as a libFuzzer OOM / malloc-limit crash.
//
// Expected outcomes, as cli/main.cpp maps them: CLI11 parse errors and InputError (exit 2).
// Anything else is a bug: another exception type (main would say "internal error"), a crash,
// a hang, a leak or a sanitizer report.
//
// Safety: the fuzzer works in a fresh temporary directory (removed at exit) and skips inputs
// with an argument containing '/' so that report/compare/--chart can only touch files there.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <typeinfo>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/types.h"
#include "cli/commands.h"
#include "cli/report_commands.h"
#include "tests/fuzz/fuzz_support.h"

namespace mlbench::cli {
// Defined by cli/main.cpp in the executable; reports record it.
const std::string& command_line() {
  static const std::string line = "mlbench (fuzz)";
  return line;
}
}  // namespace mlbench::cli

namespace {

namespace fs = std::filesystem;
constexpr std::size_t kMaxArgs = 16;

fs::path& work_dir() {
  static fs::path dir;
  return dir;
}

std::vector<std::string> split_args(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"mlbench"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() <= kMaxArgs; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\0' || c == '\n') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (args.size() <= kMaxArgs && !current.empty()) args.push_back(current);
  return args;
}

// The same App as cli/main.cpp builds; a fresh one per input, as each process has.
void parse_like_main(std::vector<std::string>& args) {
  CLI::App app{"mlbench (fuzz)"};
  app.set_version_flag("--version", std::string("mlbench ") + MLBENCH_CLI_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  int exit_code = 0;
  mlbench::cli::add_run_commands(app, exit_code);
  mlbench::cli::add_report_commands(app, exit_code);
  // `peak` is left out: it measures the machine (seconds) and writes a per-user cache.

  // main's checks before parsing (empty arguments, "--opt=", unknown first word).
  if (!mlbench::cli::reject_arguments(args, app).empty()) return;

  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  try {
    app.parse(static_cast<int>(args.size()), argv.data());
  } catch (const CLI::ParseError&) {
    // bad option, --help, --version: CLI11's answer (main prints it, exit 0 or 2)
  } catch (const mlbench::InputError&) {
    // bad value: main prints one line, exit 2
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mlbench::fuzz::keep_stderr_for_reports();
  // Run subcommands stop after planning (the MLBENCH_PLAN_ONLY hook in cli/run_pipeline.cpp).
  ::setenv("MLBENCH_PLAN_ONLY", "1", 1);
  // Plans, tables and help go to stdout; none of it is checked here.
  if (std::freopen("/dev/null", "w", stdout) == nullptr) mlbench::fuzz::fail("cannot silence stdout");

  // A private working directory with one valid report in it, so that report/compare inputs
  // can get past reading their input; MLBENCH_FUZZ_REPORT names it (ci-fuzz.sh sets it).
  work_dir() = fs::temp_directory_path() / ("mlbench_cli_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(work_dir());
  if (const char* seed_report = std::getenv("MLBENCH_FUZZ_REPORT"))
    fs::copy_file(seed_report, work_dir() / "r.json", fs::copy_options::overwrite_existing);
  fs::current_path(work_dir());
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(work_dir(), ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = split_args(data, size);
  for (const std::string& a : args)
    if (a.find('/') != std::string::npos) return -1;  // could reach outside the work directory
  try {
    parse_like_main(args);
  } catch (const std::bad_alloc&) {
    mlbench::fuzz::fail("std::bad_alloc: the options made mlbench allocate more than it has");
  } catch (const std::exception& e) {
    std::string line;
    for (const std::string& a : args) line += (line.empty() ? "" : " ") + ("'" + a + "'");
    mlbench::fuzz::fail(std::string("unexpected ") + typeid(e).name() + ": " + e.what() + " for: " + line);
  }
  return 0;
}
