// The CLI's subcommands built in-process (cli/*.cpp without main): each add_* call owns its
// options, so two Apps built one after the other in one process parse independently (fuzz
// finding 6: options used to live in process-lifetime statics). Also the --pin scan that runs
// before CLI11 parses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/workloads.h"
#include "cli/commands.h"
#include "cli/docs.h"
#include "cli/report_commands.h"
#include "cli/thread_pinning.h"
#include "tests/test_support.h"

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

// The run subcommands come from the workload descriptors (bench/workload.h): one per workload,
// under its name and aliases, with the workload's options; `all` has every workload's options
// but a --size alias; `fleet` has the workloads with a fleet description, and `all`.
TEST(CliApp, EveryWorkloadDescriptorIsASubcommandWithItsOptions) {
  using mlbench::WorkloadDescriptor;
  using mlbench::WorkloadOption;
  App app;
  CLI::App* all = app.app->get_subcommand("all");
  CLI::App* fleet = app.app->get_subcommand("fleet");
  std::vector<std::string> fleet_expected, fleet_names;
  for (const WorkloadDescriptor& w : mlbench::workloads()) {
    SCOPED_TRACE(w.name);
    CLI::App* sub = nullptr;
    ASSERT_NO_THROW(sub = app.app->get_subcommand(w.name));
    EXPECT_EQ(sub->get_description(), w.command_description);
    for (const std::string& alias : w.aliases) EXPECT_EQ(app.app->get_subcommand(alias), sub) << alias;
    for (const WorkloadOption& o : w.options) {
      EXPECT_NE(sub->get_option_no_throw(o.name), nullptr) << o.name;
      EXPECT_EQ(all->get_option_no_throw(o.name) != nullptr, o.type != WorkloadOption::Type::sizes) << o.name;
    }
    if (!w.fleet_description.empty()) fleet_expected.push_back(w.name);
  }
  fleet_expected.push_back("all");
  for (const CLI::App* sub : fleet->get_subcommands({})) fleet_names.push_back(sub->get_name());
  EXPECT_EQ(fleet_names, fleet_expected);  // every workload with a fleet_description, then all
  // An option no workload declares is on no run subcommand.
  EXPECT_EQ(app.app->get_subcommand("gemm")->get_option_no_throw("--filters"), nullptr);
}

namespace {

// Whether `help` lists `word` as one of its items ("fp32" in "inputs: fp64, fp32 or fp16", not
// in "(fp32 accumulation)").
bool lists(const std::string& help, const std::string& word) {
  for (std::size_t at = help.find(word); at != std::string::npos; at = help.find(word, at + 1)) {
    const auto preceded = [&](const std::string& before) {
      return at >= before.size() && help.compare(at - before.size(), before.size(), before) == 0;
    };
    const std::size_t end = at + word.size();
    if ((preceded(": ") || preceded(", ") || preceded(" or ")) &&
        (end == help.size() || help[end] == ',' || help[end] == ' ' || help[end] == ';'))
      return true;
  }
  return false;
}

// Where `help` names the workload as one of a group's names ("gemm:", "softmax and", "reduction,").
std::size_t named_at(const std::string& help, const std::string& name) {
  std::size_t best = std::string::npos;
  for (const char* after : {":", " and ", ", ", " take "}) best = std::min(best, help.find(name + after));
  return best;
}

}  // namespace

// The --size and --precision help come from the descriptors (bench/workload.h: size_meaning, and
// the precisions the descriptor does not refuse, taken_precisions): a workload's subcommand (and
// `fleet <w>`) says its own meaning and lists exactly its precisions; `all` (and `fleet all`) says
// each workload's meaning after its name, lists every precision any takes and, when they differ,
// which workloads take which. The man page is rendered from the same text.
TEST(CliApp, SizeAndPrecisionHelpComeFromTheDescriptors) {
  using mlbench::Precision;
  App app;
  const auto help_of = [](const CLI::App* sub, const std::string& option) {
    const CLI::Option* o = sub->get_option_no_throw(option);
    return o == nullptr ? std::string("(no " + option + ")") : o->get_description();
  };
  CLI::App* fleet = app.app->get_subcommand("fleet");
  const std::vector<const CLI::App*> alls = {app.app->get_subcommand("all"), fleet->get_subcommand("all")};
  const std::string man = mlbench::cli::render_man_page(*app.app, "test");
  const auto roff = [](const std::string& text) {
    std::string out;
    for (char c : text) out += c == '-' ? std::string("\\-") : c == '\\' ? std::string("\\e") : std::string(1, c);
    return out;
  };
  std::set<std::vector<Precision>> precision_sets;
  std::set<Precision> any;
  for (const mlbench::WorkloadDescriptor& w : mlbench::workloads()) {
    SCOPED_TRACE(w.name);
    const std::vector<Precision> taken = mlbench::taken_precisions(w);
    ASSERT_FALSE(taken.empty());
    precision_sets.insert(taken);
    any.insert(taken.begin(), taken.end());
    for (Precision p : w.refused_precisions)
      EXPECT_TRUE(std::find(taken.begin(), taken.end(), p) == taken.end()) << to_string(p);

    std::vector<const CLI::App*> own = {app.app->get_subcommand(w.name)};
    if (!w.fleet_description.empty()) own.push_back(fleet->get_subcommand(w.name));
    for (const CLI::App* sub : own) {
      SCOPED_TRACE(sub->get_parent()->get_name() + " " + sub->get_name());
      const std::string size = help_of(sub, "--size");
      EXPECT_NE(man.find(roff(size)), std::string::npos) << size;
      // The meaning opens the help, its first letter capitalized.
      ASSERT_FALSE(w.size_meaning.empty());
      ASSERT_GE(size.size(), w.size_meaning.size()) << size;
      EXPECT_EQ(std::tolower(static_cast<unsigned char>(size[0])),
                std::tolower(static_cast<unsigned char>(w.size_meaning[0])))
          << size;
      EXPECT_EQ(size.compare(1, w.size_meaning.size() - 1, w.size_meaning, 1), 0) << size;
      EXPECT_NE(size.find("(default " + std::to_string(w.default_size) + ")"), std::string::npos) << size;
      const std::string precision = help_of(sub, "--precision");
      EXPECT_NE(man.find(roff(precision)), std::string::npos) << precision;
      for (Precision p : mlbench::all_precisions())
        EXPECT_EQ(lists(precision, to_string(p)), std::find(taken.begin(), taken.end(), p) != taken.end())
            << to_string(p) << ": " << precision;
    }

    for (const CLI::App* all : alls) {
      SCOPED_TRACE(all->get_parent()->get_name() + " all");
      const std::string size = help_of(all, "--size");
      const std::size_t name = named_at(size, w.name);
      ASSERT_NE(name, std::string::npos) << size;
      const std::size_t meaning = size.find(": ", name);
      ASSERT_NE(meaning, std::string::npos) << size;
      EXPECT_EQ(size.compare(meaning + 2, w.size_meaning.size(), w.size_meaning), 0) << size;
    }
  }
  for (const CLI::App* all : alls) {
    SCOPED_TRACE(all->get_parent()->get_name() + " all");
    const std::string precision = help_of(all, "--precision");
    for (Precision p : mlbench::all_precisions())
      EXPECT_EQ(lists(precision, to_string(p)), any.count(p) > 0) << to_string(p) << ": " << precision;
    if (precision_sets.size() < 2) continue;  // every workload takes the same ones
    for (const mlbench::WorkloadDescriptor& w : mlbench::workloads()) {
      std::string types;
      for (Precision p : mlbench::taken_precisions(w)) types += (types.empty() ? "" : "/") + to_string(p);
      const std::size_t name = named_at(precision, w.name);
      ASSERT_NE(name, std::string::npos) << w.name << ": " << precision;
      const std::size_t take = precision.find(" take ", name);
      ASSERT_NE(take, std::string::npos) << w.name << ": " << precision;
      EXPECT_EQ(precision.compare(take + 6, types.size() + 1, types + ";"), 0) << w.name << ": " << precision;
    }
  }
}

TEST(CliApp, EachWorkloadSubcommandPlansItsWorkload) {
  ::setenv("MLBENCH_PLAN_ONLY", "1", 1);
  std::mt19937_64 rng(mlbench::test_support::fresh_seed());
  const std::string size = std::to_string(std::uniform_int_distribution<int>(4, 64)(rng));
  for (const mlbench::WorkloadDescriptor& w : mlbench::workloads()) {
    std::vector<std::string> spellings = w.aliases;
    spellings.insert(spellings.begin(), w.name);
    for (const std::string& command : spellings) {
      App app;
      EXPECT_EQ(app.run({command, "--size", size, "--backends", "serial", "--dry-run"}),
                w.name + " size " + size + " serial\n")
          << command;
      EXPECT_EQ(app.exit_code, 0) << command;
    }
  }
}

// The option values reach the workload's checks (WorkloadOption::apply): `same` padding needs
// an odd kernel, in the workload's own subcommand and in `all`.
TEST(CliApp, WorkloadOptionsAreCheckedWhenTheSubcommandRuns) {
  ::setenv("MLBENCH_PLAN_ONLY", "1", 1);
  for (const char* command : {"convolution", "all"}) {
    App app;
    std::vector<std::string> args = {"mlbench", command, "--kernel", "4", "--size", "8", "--dry-run"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    EXPECT_THROW(app.app->parse(static_cast<int>(argv.size()), argv.data()), mlbench::InputError) << command;
  }
}
