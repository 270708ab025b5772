// The output formats behind one interface (reports/exporter.h): every exporter of the registry
// has its own option, a help line and a title, and writes a non-empty output for a small
// report; the listed ones are reports/CMakeLists.txt's MLBENCH_EXPORTERS in order. And "a new
// format is one file": the exporter this file defines and registers (and nothing else names) is
// an option of every run subcommand and of `report`, checked and written like the others.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/report_commands.h"
#include "reports/exporter.h"
#include "reports/markdown.h"
#include "reports/report_writer.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace mlbench::cli {
// Defined by cli/main.cpp in the executable.
const std::string& command_line() {
  static const std::string line = "mlbench (exporters_test)";
  return line;
}
}  // namespace mlbench::cli

namespace mlbench::reports {
namespace {

namespace fs = std::filesystem;

// A format of this test alone, with an option of its own: this descriptor and the registration
// below are all of it.
ExporterOption count_noun_option() {
  ExporterOption o;
  o.name = "test-count-noun";
  o.help = "The word after each result count (an option of exporters_test's format only)";
  o.choices = {"results", "rows"};
  o.text_default = "results";
  return o;
}
Exporter result_count_exporter() {
  Exporter e;
  e.name = "test-result-count";
  e.title = "result count";
  e.help = "Write each machine's host name and result count (a format of exporters_test only)";
  e.options = {count_noun_option()};
  e.render = [](const std::vector<RunReport>& machines, const OutputPaths& paths) {
    const std::string noun = exporter_option(paths, "test-result-count", count_noun_option()).text;
    std::string out;
    for (const RunReport& m : machines)
      out += m.machine.hostname + " " + std::to_string(m.results.size()) + " " + noun + "\n";
    return out;
  };
  return e;
}
// What the test format writes for one machine.
std::string result_count(const RunReport& report, const std::string& noun) {
  return report.machine.hostname + " " + std::to_string(report.results.size()) + " " + noun + "\n";
}
const bool kTestExporterRegistered = [] {
  register_exporter(result_count_exporter());
  return true;
}();

// MLBENCH_EXPORTERS of reports/CMakeLists.txt, in its order.
std::vector<std::string> cmake_exporter_list() {
  std::ifstream in(fs::path(MLBENCH_SOURCE_DIR) / "reports" / "CMakeLists.txt");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::string open = "set(MLBENCH_EXPORTERS";
  const auto start = s.find(open);
  if (start == std::string::npos) return {};
  std::istringstream words(s.substr(start + open.size(), s.find(')', start) - start - open.size()));
  std::vector<std::string> names;
  for (std::string w; words >> w;) names.push_back(w);
  return names;
}

class ExportersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = test_support::fresh_seed();
    rng_.seed(seed_);
    dir_ = fs::temp_directory_path() / ("mlbench_exporters_" + std::to_string(seed_));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  fs::path dir_;
};

TEST_F(ExportersTest, EveryExporterHasItsOwnOptionAHelpLineAndATitle) {
  ASSERT_TRUE(kTestExporterRegistered);
  std::set<std::string> options;
  for (const Exporter& e : exporters()) {
    SCOPED_TRACE(e.name);
    EXPECT_TRUE(options.insert(e.option()).second) << "two exporters are bound to " << e.option();
    EXPECT_EQ(e.option(), "--" + e.name);
    EXPECT_FALSE(e.title.empty());
    EXPECT_FALSE(e.help_for(ExportSource::run).empty());
    EXPECT_FALSE(e.help_for(ExportSource::saved_runs).empty());
    EXPECT_EQ(find_exporter(e.name), &e);
    for (const ExporterOption& o : e.options) {
      EXPECT_TRUE(options.insert(o.option()).second) << "two options are named " << o.option();
      EXPECT_FALSE(o.help.empty()) << o.name;
    }
    if (e.target == Exporter::Target::directory)
      EXPECT_TRUE(e.write && !e.file_noun.empty() && !e.file_extension.empty());
    else
      EXPECT_TRUE(e.render);
  }
  EXPECT_EQ(find_exporter("no-such-format"), nullptr);
  // The listed ones first, in MLBENCH_EXPORTERS' order (the order of options, checks and writing).
  const std::vector<std::string> listed = cmake_exporter_list();
  for (const char* format :
       {"json", "markdown", "csv", "html", "chart", "console"})  // today's (a new one: nothing here)
    EXPECT_NE(std::find(listed.begin(), listed.end(), format), listed.end()) << format;
  ASSERT_EQ(exporters().size(), listed.size() + 1);
  for (std::size_t i = 0; i < listed.size(); ++i) EXPECT_EQ(exporters()[i].name, listed[i]);
  EXPECT_EQ(exporters().back().name, "test-result-count");
  EXPECT_THROW(register_exporter(result_count_exporter()), std::logic_error);  // a name is taken once
  Exporter nameless = result_count_exporter();
  nameless.name = "";
  EXPECT_THROW(register_exporter(nameless), std::logic_error);
}

TEST_F(ExportersTest, AnExporterOptionNamedLikeAnotherOptionOrWithADefaultOutsideItsChoicesIsRefused) {
  Exporter e = result_count_exporter();
  e.name = "test-option-checks";
  for (const char* taken : {"time-unit", "test-count-noun", "json", "test-option-checks"}) {
    SCOPED_TRACE(taken);
    e.options.front().name = taken;
    EXPECT_THROW(register_exporter(e), std::logic_error);
  }
  e.options.front().name = "test-option-checks-noun";
  e.options.front().text_default = "lines";
  EXPECT_THROW(register_exporter(e), std::logic_error);
  EXPECT_EQ(find_exporter("test-option-checks"), nullptr);  // nothing refused was registered
}

TEST_F(ExportersTest, EveryExporterWritesANonEmptyOutputForASmallReport) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = fakes::random_report(rng_, {});
  for (const Exporter& e : exporters()) {
    SCOPED_TRACE(e.name);
    OutputPaths paths;
    if (!e.has_path_option()) {  // the console: printed where OutputPaths::console says
      std::string printed;
      paths.console = [&printed](const std::string& text, bool) { printed += text; };
      EXPECT_TRUE(write_reports(report, paths).ok());
      EXPECT_FALSE(printed.empty());
      EXPECT_NE(printed.find(e.render({report}, paths)), std::string::npos);
      continue;
    }
    const std::string out = path("out-" + e.name);
    paths.outputs[e.name] = out;
    check_output_paths(paths);
    const WriteOutcome written = write_reports(report, paths);
    EXPECT_TRUE(written.ok()) << (written.failures.empty() ? "" : written.failures.front());
    if (e.target == Exporter::Target::file) {
      const std::string content = e.render({report}, paths);
      EXPECT_FALSE(content.empty());
      EXPECT_EQ(test_support::slurp(out), content);
    } else {
      std::size_t files = 0;
      for (const auto& f : fs::directory_iterator(out)) {
        EXPECT_EQ(f.path().extension().string(), e.file_extension) << f.path();
        EXPECT_GT(fs::file_size(f.path()), 0u) << f.path();
        ++files;
      }
      EXPECT_GT(files, 0u);
    }
  }
}

TEST_F(ExportersTest, AnExporterOfOneMachineRefusesSeveralBeforeWritingAnything) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec other;
  other.host = "other-host";
  const std::vector<RunReport> machines = {fakes::random_report(rng_, {}), fakes::random_report(rng_, other)};
  for (const Exporter& e : exporters()) {
    SCOPED_TRACE(e.name);
    if (!e.has_path_option()) continue;  // the console: TheConsoleTable... below
    OutputPaths paths;
    paths.outputs["markdown"] = path("first.md");
    paths.outputs[e.name] = path("out-" + e.name);
    if (e.several_machines) {
      EXPECT_TRUE(write_reports(machines, paths).ok());
    } else {
      fs::remove(path("first.md"));
      try {
        write_reports(machines, paths);
        ADD_FAILURE() << "wrote runs of 2 machines";
      } catch (const InputError& error) {
        EXPECT_NE(std::string(error.what()).find("2 machines"), std::string::npos) << error.what();
      }
      EXPECT_FALSE(fs::exists(path("first.md")));
    }
  }
  OutputPaths unknown;
  unknown.outputs["no-such-format"] = path("x");
  EXPECT_THROW(check_output_paths(unknown), std::logic_error);
  OutputPaths console_path;
  console_path.outputs["console"] = path("x");  // the console has no path
  EXPECT_THROW(check_output_paths(console_path), std::logic_error);
}

// One print of the console exporters: what they render, after every other output.
struct Printed {
  std::string text;
  bool to_stderr = false;
  bool markdown_written = false;  // the markdown file existed when it was printed
};

TEST_F(ExportersTest, TheConsoleTableIsPrintedAfterEveryOtherOutputOnStderrWhenAReportGoesToStdout) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec other;
  other.host = "other-host";
  const std::vector<RunReport> machines = {fakes::random_report(rng_, {}), fakes::random_report(rng_, other)};
  for (const bool report_on_stdout : {false, true}) {
    SCOPED_TRACE(report_on_stdout ? "csv on stdout" : "no report on stdout");
    fs::remove(path("run.md"));
    std::vector<Printed> printed;
    OutputPaths paths;
    paths.outputs["markdown"] = path("run.md");
    if (report_on_stdout) paths.outputs["csv"] = "-";
    paths.console = [&](const std::string& text, bool to_stderr) {
      printed.push_back({text, to_stderr, fs::exists(path("run.md"))});
    };
    testing::internal::CaptureStdout();
    const WriteOutcome written = write_reports({machines.front()}, paths);
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_TRUE(written.ok());
    EXPECT_EQ(out.empty(), !report_on_stdout);
    ASSERT_EQ(printed.size(), 1u);  // the one console exporter of the registry
    EXPECT_EQ(printed[0].text, render_console_table(machines.front()));
    EXPECT_EQ(printed[0].to_stderr, report_on_stdout);
    EXPECT_TRUE(printed[0].markdown_written);
  }
  // Several machines: each one's table under its host name.
  std::vector<Printed> printed;
  OutputPaths paths;
  paths.console = [&](const std::string& text, bool to_stderr) { printed.push_back({text, to_stderr, false}); };
  EXPECT_TRUE(write_reports(machines, paths).ok());
  ASSERT_EQ(printed.size(), 1u);
  EXPECT_EQ(printed[0].text, "== " + machines[0].machine.hostname + " ==\n" + render_console_table(machines[0]) +
                                 "\n== other-host ==\n" + render_console_table(machines[1]));
  // No printer (--quiet): nothing printed, the files still written.
  OutputPaths quiet;
  quiet.outputs["markdown"] = path("quiet.md");
  EXPECT_TRUE(write_reports(machines, quiet).ok());
  EXPECT_TRUE(fs::exists(path("quiet.md")));
}

TEST_F(ExportersTest, AnExporterOptionValueOutsideItsChoicesIsRefusedBeforeWriting) {
  OutputPaths paths;
  paths.outputs["test-result-count"] = path("count.txt");
  paths.options["test-result-count"]["test-count-noun"].text = "lines";
  try {
    check_output_paths(paths);
    ADD_FAILURE() << "a value outside the choices was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "--test-count-noun: lines not in {results,rows}");
  }
  paths.options["test-result-count"]["test-count-noun"].text = "rows";
  EXPECT_NO_THROW(check_output_paths(paths));
  paths.options["test-result-count"]["no-such-option"].text = "x";
  EXPECT_THROW(check_output_paths(paths), std::logic_error);
  OutputPaths unknown;
  unknown.options["no-such-format"]["test-count-noun"].text = "rows";
  EXPECT_THROW(check_output_paths(unknown), std::logic_error);
  EXPECT_FALSE(fs::exists(path("count.txt")));
}

// The subcommands as the executable builds them (cli/main.cpp).
struct App {
  std::unique_ptr<CLI::App> app = std::make_unique<CLI::App>("mlbench (test)");
  int exit_code = -1;
  App() {
    app->require_subcommand(1);
    cli::add_run_commands(*app, exit_code);
    cli::add_report_commands(*app, exit_code);
  }
  void parse(std::vector<std::string> args) {
    args.insert(args.begin(), "mlbench");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    app->parse(static_cast<int>(argv.size()), argv.data());
  }
};

// Every subcommand (nested ones included) that has the report options.
void collect_output_commands(const CLI::App& app, std::vector<const CLI::App*>& out) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_option_no_throw("--markdown") != nullptr) out.push_back(sub);
    collect_output_commands(*sub, out);
  }
}

TEST_F(ExportersTest, ATestExporterIsAnOptionOfEveryRunSubcommandAndOfReport) {
  App app;
  std::vector<const CLI::App*> commands;
  collect_output_commands(*app.app, commands);
  std::set<std::string> names;
  for (const CLI::App* sub : commands) names.insert(sub->get_name());
  for (const char* expected : {"gemm", "all", "report", "compare"}) EXPECT_TRUE(names.count(expected)) << expected;
  for (const CLI::App* sub : commands) {
    SCOPED_TRACE(sub->get_name());
    if (sub->get_name() == "compare") {  // its own --markdown and --csv (reports/compare.h), not the exporters
      EXPECT_EQ(sub->get_option_no_throw("--test-result-count"), nullptr);
      continue;
    }
    for (const Exporter& e : exporters()) {
      const CLI::Option* option = sub->get_option_no_throw(e.option());
      if (!e.has_path_option()) {  // the console table: printed, not an option
        EXPECT_EQ(option, nullptr) << e.option();
        continue;
      }
      ASSERT_NE(option, nullptr) << e.option();
      EXPECT_EQ(option->get_description(),
                e.help_for(sub->get_name() == "report" ? ExportSource::saved_runs : ExportSource::run));
    }
  }
}

TEST_F(ExportersTest, ATestExportersOwnOptionIsAnOptionOfEveryRunSubcommandAndOfReportAndReachesIt) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  {
    App app;
    std::vector<const CLI::App*> commands;
    collect_output_commands(*app.app, commands);
    for (const CLI::App* sub : commands) {
      SCOPED_TRACE(sub->get_name());
      const CLI::Option* option = sub->get_option_no_throw("--test-count-noun");
      if (sub->get_name() == "compare") {  // not an exporter's command
        EXPECT_EQ(option, nullptr);
        continue;
      }
      ASSERT_NE(option, nullptr);
      EXPECT_EQ(option->get_description(), count_noun_option().help);
    }
  }
  const RunReport report = fakes::random_report(rng_, {});
  const std::string json = path("run.json");
  write_file_atomically(json, render_json(report));
  {
    App app;
    testing::internal::CaptureStdout();
    app.parse({"report", json, "--test-result-count", path("count.txt"), "--test-count-noun", "rows"});
    testing::internal::GetCapturedStdout();
    EXPECT_EQ(app.exit_code, 0);
    EXPECT_EQ(test_support::slurp(path("count.txt")), result_count(report, "rows"));
  }
  {
    // Checked against its choices while parsing, as a workload's option is (exit 2 in main).
    App app;
    try {
      app.parse({"report", json, "--test-result-count", path("bad.txt"), "--test-count-noun", "lines"});
      ADD_FAILURE() << "a value outside the choices was accepted";
    } catch (const CLI::ValidationError& e) {
      EXPECT_NE(std::string(e.what()).find("--test-count-noun: lines not in {results,rows}"), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(fs::exists(path("bad.txt")));
  }
  App app;
  app.parse({"gemm", "--size", "8", "--backends", "serial", "--no-peaks", "--no-energy", "--repetitions", "2",
             "--quiet", "--test-result-count", path("run-count.txt"), "--test-count-noun", "rows", "--json",
             path("run-out.json")});
  EXPECT_EQ(app.exit_code, 0);
  EXPECT_EQ(test_support::slurp(path("run-count.txt")), result_count(read_report(path("run-out.json")), "rows"));
}

TEST_F(ExportersTest, ReportWritesATestExporterAndChecksItsPathLikeAnyOther) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = fakes::random_report(rng_, {});
  const std::string json = path("run.json");
  write_file_atomically(json, render_json(report));
  const std::string expected = result_count(report, "results");
  {
    App app;
    testing::internal::CaptureStdout();
    app.parse({"report", json, "--test-result-count", path("count.txt"), "--markdown", path("run.md")});
    testing::internal::GetCapturedStdout();
    EXPECT_EQ(app.exit_code, 0);
    EXPECT_EQ(test_support::slurp(path("count.txt")), expected);
    EXPECT_FALSE(test_support::slurp(path("run.md")).empty());
  }
  {
    // Two outputs in one file, and an output that is the input: refused before anything is written.
    App app;
    testing::internal::CaptureStderr();
    app.parse({"report", json, "--markdown", path("same.txt"), "--test-result-count", path("same.txt")});
    const std::string error = testing::internal::GetCapturedStderr();
    EXPECT_EQ(app.exit_code, 2);
    EXPECT_NE(error.find("--markdown " + path("same.txt") + " and --test-result-count " + path("same.txt") +
                         " are the same file"),
              std::string::npos)
        << error;
    EXPECT_FALSE(fs::exists(path("same.txt")));
    App again;
    testing::internal::CaptureStderr();
    again.parse({"report", json, "--test-result-count", json});
    const std::string input_error = testing::internal::GetCapturedStderr();
    EXPECT_EQ(again.exit_code, 2);
    EXPECT_NE(input_error.find("is the input"), std::string::npos) << input_error;
    EXPECT_EQ(read_report(json).results.size(), report.results.size());
  }
}

TEST_F(ExportersTest, ARunWritesATestExporterAndChecksItsPathBeforeMeasuring) {
  {
    App app;
    try {
      app.parse({"gemm", "--size", "8", "--backends", "serial", "--dry-run", "--test-result-count",
                 path("missing-directory/count.txt")});
      ADD_FAILURE() << "a path in a missing directory was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("missing-directory"), std::string::npos) << e.what();
    }
  }
  {
    // `fleet` writes its own JSON and markdown (reports/fleet.h): any other exporter is refused.
    App app;
    try {
      app.parse({"fleet", "gemm", "--size", "8", "--backends", "serial", "--dry-run", "--test-result-count",
                 path("count.txt")});
      ADD_FAILURE() << "fleet accepted an output it does not write";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--test-result-count is not built for it"), std::string::npos) << e.what();
    }
  }
  App app;
  app.parse({"gemm", "--size", "8", "--backends", "serial", "--no-peaks", "--no-energy", "--repetitions", "2",
             "--quiet", "--test-result-count", path("count.txt"), "--json", path("run.json")});
  EXPECT_EQ(app.exit_code, 0);
  const RunReport written = read_report(path("run.json"));
  EXPECT_EQ(test_support::slurp(path("count.txt")), result_count(written, "results"));
}

}  // namespace
}  // namespace mlbench::reports
