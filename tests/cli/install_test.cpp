// `cmake --install` and `cpack -G DEB` (issue 19): the binary, the man page and the bash and zsh
// completions land where Debian looks for them, and the generated man page and completions
// cover every subcommand, alias and option of the CLI as this test builds it in-process (the
// executable's sources, without main.cpp).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <memory>
#include <random>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/docs.h"
#include "cli/report_commands.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace mlbench::cli {
// Defined by cli/main.cpp in the executable.
const std::string& command_line() {
  static const std::string line = "mlbench (install_test)";
  return line;
}
}  // namespace mlbench::cli

namespace {

using ::mlbench::test_support::slurp;

int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The App as cli/main.cpp builds it.
struct App {
  CLI::App app{"mlbench (install_test)"};
  int exit_code = 0;
  App() {
    mlbench::cli::add_run_commands(app, exit_code);
    mlbench::cli::add_report_commands(app, exit_code);
    mlbench::cli::add_peak_command(app, exit_code);
    mlbench::cli::add_docs_commands(app, exit_code);
  }
};

// Every visible subcommand's names and options: {subcommand names}, {"--long" / "-s" names}.
struct CliSurface {
  std::vector<std::string> commands, options;
};
CliSurface surface(const CLI::App& app) {
  CliSurface s;
  for (const CLI::App* sub : mlbench::cli::documented_subcommands(app)) {
    s.commands.push_back(sub->get_name());
    for (const std::string& alias : sub->get_aliases()) s.commands.push_back(alias);
    // Hidden options (empty group, e.g. report --scale-times) are left out of the docs on purpose.
    for (const CLI::Option* o : sub->get_options([](const CLI::Option* x) { return !x->get_group().empty(); })) {
      for (const std::string& n : o->get_lnames()) s.options.push_back("--" + n);
      for (const std::string& n : o->get_snames()) s.options.push_back("-" + n);
    }
  }
  return s;
}
std::string roff(std::string text) {
  std::string out;
  for (char c : text) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

class Install : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mlbench_install_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(Install, InstallsBinaryManPageAndCompletionsThatCoverTheWholeCli) {
  const fs::path prefix = dir_ / "prefix";
  ASSERT_EQ(shell(std::string(CMAKE_EXE) + " --install " + BUILD_DIR + " --prefix " + prefix.string() + " >" +
                  (dir_ / "log").string() + " 2>&1"),
            0)
      << slurp(dir_ / "log");
  const fs::path binary = prefix / "bin/mlbench", man = prefix / "share/man/man1/mlbench.1",
                 bash = prefix / "share/bash-completion/completions/mlbench",
                 zsh = prefix / "share/zsh/vendor-completions/_mlbench";
  for (const fs::path& p : {binary, man, bash, zsh}) EXPECT_TRUE(fs::is_regular_file(p)) << p;
  // The tuning programs (tuning/) are built, never installed: bin/ holds the product alone.
  for (const auto& entry : fs::directory_iterator(prefix / "bin")) EXPECT_EQ(entry.path(), binary);
  EXPECT_EQ(shell(binary.string() + " --version >" + (dir_ / "version").string()), 0) << "the installed binary runs";
  EXPECT_EQ(slurp(dir_ / "version").rfind("mlbench ", 0), 0u) << slurp(dir_ / "version");

  App app;
  const CliSurface cli = surface(app.app);
  ASSERT_GT(cli.commands.size(), 8u);
  ASSERT_GT(cli.options.size(), 40u);
  const std::string man_text = slurp(man), bash_text = slurp(bash), zsh_text = slurp(zsh);
  // The man page's section titles: ".SS "convolution, conv"".
  std::string titles;
  for (std::size_t at = man_text.find(".SS \""); at != std::string::npos; at = man_text.find(".SS \"", at + 1))
    titles += man_text.substr(at + 4, man_text.find('\n', at) - at - 4) + "\n";
  for (const std::string& command : cli.commands) {
    const std::string word = roff(command);
    EXPECT_TRUE(
        titles.find("\"" + word + ",") != std::string::npos || titles.find("\"" + word + "\"") != std::string::npos ||
        titles.find(", " + word + ",") != std::string::npos || titles.find(", " + word + "\"") != std::string::npos)
        << command << "\n"
        << titles;
    EXPECT_NE(bash_text.find(" " + command), std::string::npos) << command;
    EXPECT_NE(zsh_text.find("'" + command + ":"), std::string::npos) << command;
  }
  for (const std::string& option : cli.options) {
    const std::string bold =
        option.rfind("--", 0) == 0 ? "\\fB" + roff(option) + "\\fR" : "\\fB" + roff(option) + "\\fR";
    EXPECT_NE(man_text.find(bold), std::string::npos) << option;
    EXPECT_NE(bash_text.find(option), std::string::npos) << option;
    EXPECT_NE(zsh_text.find("'" + option + "["), std::string::npos) << option;
  }
  // The hidden build step is documented nowhere.
  for (const std::string* text : {&man_text, &bash_text, &zsh_text})
    EXPECT_EQ(text->find("generate-docs "), std::string::npos);
  EXPECT_EQ(shell("bash -n " + bash.string()), 0) << "the bash completion parses";
  // The completion offers the subcommands and an option's fixed choices.
  const std::string probe =
      "bash -c 'source " + bash.string() +
      "; COMP_WORDS=(mlbench gemm --precision b); COMP_CWORD=3; _mlbench; echo \"${COMPREPLY[@]}\"' >" +
      (dir_ / "probe").string();
  EXPECT_EQ(shell(probe), 0);
  EXPECT_EQ(slurp(dir_ / "probe"), "bf16\n");
}

TEST_F(Install, CpackMakesADebWithTheSameFiles) {
  if (shell("command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null") != 0)
    GTEST_SKIP() << "dpkg-deb / dpkg-shlibdeps (dpkg-dev) not installed";
  const fs::path out = dir_ / "pkg";
  ASSERT_EQ(shell(std::string(CPACK_EXE) + " -G DEB --config " + BUILD_DIR + "/CPackConfig.cmake -B " + out.string() +
                  " >" + (dir_ / "log").string() + " 2>&1"),
            0)
      << slurp(dir_ / "log");
  fs::path deb;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".deb") deb = e.path();
  ASSERT_FALSE(deb.empty()) << slurp(dir_ / "log");
  ASSERT_EQ(shell("dpkg-deb -c " + deb.string() + " >" + (dir_ / "contents").string()), 0);
  const std::string contents = slurp(dir_ / "contents");
  for (const char* path :
       {"./usr/bin/mlbench", "./usr/share/man/man1/mlbench.1", "./usr/share/bash-completion/completions/mlbench",
        "./usr/share/zsh/vendor-completions/_mlbench"})
    EXPECT_NE(contents.find(path), std::string::npos) << path << "\n" << contents;
  ASSERT_EQ(shell("dpkg-deb -f " + deb.string() + " Package Depends >" + (dir_ / "fields").string()), 0);
  const std::string fields = slurp(dir_ / "fields");
  EXPECT_NE(fields.find("Package: mlbench"), std::string::npos) << fields;
  EXPECT_NE(fields.find("libopenblas"), std::string::npos) << "shlibdeps names the BLAS it links\n" << fields;
}
