// What a user meets first (issue 19): --version and every report carry the git commit, unknown
// options and commands name themselves, `mlbench help [COMMAND]`, `mlbench list --json`; and the
// build-time commit script on fabricated repositories (clean, dirty, no .git, a copy inside
// another repository).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan

#include <nlohmann/json.hpp>
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

using ::mlbench::test_support::csv_fields;
using ::mlbench::test_support::slurp;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

class CliUx : public ::testing::Test {
 protected:
  void SetUp() override {
    const unsigned seed = std::random_device{}();
    dir_ = fs::temp_directory_path() / ("mlbench_cli_ux_" + std::to_string(seed));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Outcome shell(const std::string& command) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const int status = std::system((command + " >" + out.string() + " 2>" + err.string()).c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }
  Outcome run(const std::string& args) { return shell(std::string(MLBENCH_EXE) + " " + args); }
  // The commit --version names: "mlbench 0.1.0 (commit X)".
  std::string version_commit() {
    const Outcome o = run("--version");
    EXPECT_EQ(o.exit_code, 0) << o.err;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(o.out, m, std::regex(R"(\(commit ([^)]+)\))"))) << o.out;
    return m.size() > 1 ? m[1].str() : "";
  }
  // Runs cmake/GitCommit.cmake on `source` and returns the commit it wrote.
  std::string commit_of(const fs::path& source) {
    const fs::path header = dir_ / "commit.h";
    const Outcome o = shell(std::string(CMAKE_EXE) + " -DSOURCE_DIR=" + source.string() +
                            " -DOUTPUT=" + header.string() + " -P " + GIT_COMMIT_SCRIPT);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    std::smatch m;
    const std::string text = slurp(header);
    EXPECT_TRUE(std::regex_search(text, m, std::regex(R"re(#define MLBENCH_GIT_COMMIT "([^"]*)")re"))) << text;
    return m.size() > 1 ? m[1].str() : "";
  }
  fs::path dir_;
};

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_F(CliUx, VersionNamesTheCommit) {
  const std::string commit = version_commit();
  // 12 hex digits, optionally "-dirty"; "unknown" for a build outside a git checkout.
  EXPECT_TRUE(std::regex_match(commit, std::regex("[0-9a-f]{12}(-dirty)?|unknown"))) << commit;
}

TEST_F(CliUx, EveryReportCarriesTheCommitOfTheBuild) {
  const std::string commit = version_commit();
  const fs::path json = dir_ / "r.json", md = dir_ / "r.md", csv = dir_ / "r.csv";
  const Outcome o = run("reduction --size 16 --backends serial --time-budget 0.01 --no-peaks --quiet --json " +
                        json.string() + " --markdown " + md.string() + " --csv " + csv.string());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(json))["context"]["mlbench"]["git_commit"], commit);
  EXPECT_NE(slurp(md).find("(commit " + commit + ")"), std::string::npos) << slurp(md);
  std::istringstream lines(slurp(csv));
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  const auto columns = csv_fields(header), cells = csv_fields(row);
  const auto at = std::find(columns.begin(), columns.end(), "git_commit");
  ASSERT_NE(at, columns.end()) << header;
  ASSERT_EQ(cells.size(), columns.size()) << row;
  EXPECT_EQ(cells[at - columns.begin()], commit);
  // `mlbench info` says it too.
  EXPECT_NE(run("info").out.find(commit), std::string::npos);
}

TEST_F(CliUx, UnknownOptionsAndCommandsNameThemselves) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--bogus", "--bogus"},        {"-V", "-V"},
      {"--bogus=3 gemm", "--bogus"}, {"gemm --bogus", "--bogus"},
      {"frobnicate", "frobnicate"},  {"list --frob", "--frob"}};
  for (const auto& [args, name] : cases) {
    SCOPED_TRACE(args);
    const Outcome o = run(args);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_NE(o.err.find(name), std::string::npos) << o.err;
    EXPECT_EQ(o.err.find("A subcommand is required"), std::string::npos) << o.err;
  }
}

// A command given without the subcommand it needs names the command and its choices, in one line.
TEST_F(CliUx, AMissingSubcommandNamesTheCommandAndItsChoices) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"", {"`mlbench` needs one of", "gemm", "fleet", "compare"}},
      {"fleet", {"`mlbench fleet` needs one of", "gemm", "convolution", "reduction", "all", "mlbench fleet --help"}}};
  for (const auto& [args, names] : cases) {
    SCOPED_TRACE(args);
    const Outcome o = run(args);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    for (const std::string& name : names) EXPECT_NE(o.err.find(name), std::string::npos) << name << "\n" << o.err;
  }
  // fleet offers the workloads whose descriptor runs on every rank, not the others.
  EXPECT_EQ(run("fleet").err.find("softmax"), std::string::npos);
}

TEST_F(CliUx, HelpCommandExplainsMlbenchAndEachCommand) {
  const Outcome top = run("help");
  EXPECT_EQ(top.exit_code, 0) << top.err;
  for (const char* sub :
       {"gemm", "convolution", "reduction", "all", "list", "info", "report", "compare", "peak", "help"})
    EXPECT_NE(top.out.find(sub), std::string::npos) << sub << "\n" << top.out;
  EXPECT_EQ(top.out.find("generate-docs"), std::string::npos) << "a build step is not a user command";

  const Outcome conv = run("help conv");  // aliases too
  EXPECT_EQ(conv.exit_code, 0) << conv.err;
  EXPECT_NE(conv.out.find("Usage: mlbench convolution"), std::string::npos) << conv.out;
  EXPECT_NE(conv.out.find("--filters"), std::string::npos) << conv.out;
  EXPECT_NE(run("convolution --help").out.find(conv.out.substr(conv.out.find("Options:"))), std::string::npos)
      << "help COMMAND lists what COMMAND --help lists";

  const Outcome unknown = run("help frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("'frobnicate'"), std::string::npos) << unknown.err;
}

TEST_F(CliUx, ListJsonHasTheSameRowsAsTheTable) {
  const Outcome table = run("list");
  const Outcome json = run("list --json");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto rows = nlohmann::json::parse(json.out);
  ASSERT_TRUE(rows.is_array());
  ASSERT_FALSE(rows.empty());
  // One table line per JSON row (plus the header), with the same workload, backend, kind and status.
  std::istringstream lines(table.out);
  std::string line;
  std::getline(lines, line);  // header
  std::size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    ASSERT_LT(i, rows.size()) << line;
    const auto& row = rows[i];
    std::istringstream words(line);
    std::string workload, backend, kind, status;
    words >> workload >> backend >> kind >> status;
    EXPECT_EQ(row.at("workload"), workload);
    EXPECT_EQ(row.at("backend"), backend);
    EXPECT_EQ(row.at("kind"), kind);
    EXPECT_EQ(row.at("available").get<bool>(), status == "available") << line;
    if (!row.at("available").get<bool>()) {
      EXPECT_NE(line.find(row.at("unavailable_reason").get<std::string>()), std::string::npos) << line;
    }
    EXPECT_FALSE(row.at("precisions").empty()) << line;
  }
  EXPECT_EQ(i, rows.size());
}

TEST_F(CliUx, CommitScriptSaysCleanDirtyOrUnknown) {
  if (shell("git --version").exit_code != 0) GTEST_SKIP() << "git is not installed";
  const fs::path repo = dir_ / "repo";
  fs::create_directories(repo);
  const std::string git = "git -C " + repo.string() + " -c user.name=t -c user.email=t@t ";
  ASSERT_EQ(shell(git + "init -q").exit_code, 0);
  write_file(repo / "a.txt", "one\n");
  write_file(repo / ".gitignore", "copy/\n");
  ASSERT_EQ(shell(git + "add a.txt .gitignore && " + git + "commit -q -m one").exit_code, 0);
  const std::string head = shell(git + "rev-parse --short=12 HEAD").out.substr(0, 12);

  EXPECT_EQ(commit_of(repo), head);
  write_file(repo / "untracked.txt", "x\n");  // untracked files do not make it dirty
  EXPECT_EQ(commit_of(repo), head);
  write_file(repo / "a.txt", "two\n");
  EXPECT_EQ(commit_of(repo), head + "-dirty");

  // A copy of the sources without .git (a tarball), and one inside an ignored folder of
  // another repository: neither is that repository's commit.
  const fs::path tarball = dir_ / "tarball";
  fs::create_directories(tarball);
  EXPECT_EQ(commit_of(tarball), "unknown");
  fs::create_directories(repo / "copy");
  EXPECT_EQ(commit_of(repo / "copy"), "unknown");
}
