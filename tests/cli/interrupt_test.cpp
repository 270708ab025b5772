// The mlbench executable interrupted mid-run: SIGINT / SIGTERM must end it with 130 / 143 and
// complete reports of what finished (marked interrupted, no temporary files left), and a
// report file that already exists must never be seen truncated, even when a second signal
// kills the process while it writes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include "tests/test_support.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using ::mlbench::test_support::slurp;

// Number of fields of each CSV record (RFC 4180: quoted fields may hold commas, quotes and
// newlines). A record cut short by truncation shows up as a shorter one.
std::vector<int> csv_record_widths(const std::string& text) {
  std::vector<int> widths;
  int fields = 1;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      ++fields;
    } else if (c == '\n') {
      widths.push_back(fields);
      fields = 1;
    }
  }
  return widths;
}

struct Exit {
  bool exited = false;  // normal exit (else killed by a signal, or still running)
  int code = -1;        // exit code when exited
  int signal = 0;       // terminating signal when killed
};

class Interrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    dir_ =
        fs::temp_directory_path() / ("mlbench_interrupt_" + std::to_string(seed_) + "_" + std::to_string(::getpid()));
    out_dir_ = dir_ / "out";
    fs::create_directories(out_dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {  // a failed assertion left it running
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts mlbench with `args`; stdout and stderr go to files outside out_dir_.
  void start(const std::vector<std::string>& args) {
    std::vector<std::string> argv_text{MLBENCH_EXE};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (dir_ / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (dir_ / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << "cannot start " << MLBENCH_EXE;
  }

  // True while the process has not ended; does not reap it (wait_for_exit does).
  bool still_running() const {
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    return info.si_pid == 0;
  }

  // Waits up to `limit` for the process to end; kills it (and reports a hang) after that.
  Exit wait_for_exit(std::chrono::milliseconds limit) {
    Exit e;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (true) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "mlbench still running " << limit.count() << " ms after the signal; killed";
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    e.exited = WIFEXITED(status);
    e.code = e.exited ? WEXITSTATUS(status) : -1;
    e.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return e;
  }

  // CPU seconds (user + system, all threads) the process has used so far; 0 once it has ended.
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text;
    std::getline(in, text);
    const auto name_end = text.rfind(')');  // the command name may hold spaces
    if (name_end == std::string::npos) return 0;
    std::istringstream fields(text.substr(name_end + 1));
    std::vector<std::string> f;
    for (std::string field; fields >> field;) f.push_back(field);
    if (f.size() < 13) return 0;  // f[0] is field 3 (state); utime and stime are fields 14 and 15
    return static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  // Waits until the run is past its first result whatever the load: at least 2.5 s of wall time
  // (all a quiet machine needs) and 1.5 CPU seconds of its own. The first result (serial, one
  // thread, a 0.5 s budget) and the start-up before it take under 1 CPU second, so on a machine
  // too busy to give the run a core the wall clock alone would signal it before that result.
  void let_it_finish_a_result() {
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(2500ms);
    while (still_running() && cpu_seconds() < 1.5) {
      if (std::chrono::steady_clock::now() - start > 300s) {
        ADD_FAILURE() << "mlbench used " << cpu_seconds() << " CPU seconds in 300 s";
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // A sweep of several seconds whose first results (size 128) finish in well under a second.
  std::vector<std::string> long_run_args() const {
    // --no-peaks: a missing peaks cache would otherwise be measured first (seconds, once per
    // machine) and the signal would land there instead of in the benchmark loop.
    return {"all",
            "--size",
            "128,256,512,1024",
            "--backends",
            "serial,openmp",
            "--time-budget",
            "0.5",
            "--no-peaks",
            "--seed",
            std::to_string(seed_),
            "--json",
            (out_dir_ / "run.json").string(),
            "--markdown",
            (out_dir_ / "run.md").string(),
            "--csv",
            (out_dir_ / "run.csv").string()};
  }

  // Complete reports of an interrupted run: JSON marked interrupted with at least one result,
  // CSV with one complete row per result, markdown ending in a newline, nothing else written.
  void expect_complete_interrupted_reports() {
    const auto json = nlohmann::json::parse(slurp(out_dir_ / "run.json"));
    EXPECT_EQ(json.at("mlbench").at("run").at("interrupted"), true);
    const auto& benchmarks = json.at("benchmarks");
    ASSERT_TRUE(benchmarks.is_array());
    ASSERT_FALSE(benchmarks.empty()) << "no finished result kept";
    std::set<std::string> results;
    for (const auto& b : benchmarks) results.insert(b.at("run_name").get<std::string>());

    const std::string csv = slurp(out_dir_ / "run.csv");
    ASSERT_FALSE(csv.empty());
    EXPECT_EQ(csv.back(), '\n');
    const std::vector<int> widths = csv_record_widths(csv);
    ASSERT_GE(widths.size(), 2u);
    for (std::size_t i = 1; i < widths.size(); ++i) EXPECT_EQ(widths[i], widths[0]) << "CSV record " << i;
    EXPECT_EQ(widths.size() - 1, results.size()) << "one CSV row per result in the JSON";

    const std::string markdown = slurp(out_dir_ / "run.md");
    ASSERT_FALSE(markdown.empty());
    EXPECT_EQ(markdown.back(), '\n');
    EXPECT_NE(markdown.find("| "), std::string::npos);

    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(out_dir_)) files.insert(entry.path().filename().string());
    EXPECT_EQ(files, (std::set<std::string>{"run.json", "run.md", "run.csv"})) << "temporary files left";
  }

  void interrupt_with(int signal, int expected_code) {
    SCOPED_TRACE("seed=" + std::to_string(seed_));
    start(long_run_args());
    let_it_finish_a_result();
    ASSERT_TRUE(still_running()) << "the run ended before the signal; make it longer";
    ASSERT_EQ(::kill(pid_, signal), 0);
    const Exit e = wait_for_exit(60s);  // a hang guard: writing the reports takes well under a second
    ASSERT_TRUE(e.exited) << "killed by signal " << e.signal << "; stderr: " << slurp(dir_ / "stderr");
    EXPECT_EQ(e.code, expected_code) << slurp(dir_ / "stderr");
    EXPECT_NE(slurp(dir_ / "stderr").find("interrupted"), std::string::npos) << slurp(dir_ / "stderr");
    expect_complete_interrupted_reports();
  }

  std::uint64_t seed_ = 0;
  fs::path dir_, out_dir_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_F(Interrupt, SigintKeepsFinishedResultsAndExits130) { interrupt_with(SIGINT, 130); }

TEST_F(Interrupt, SigtermKeepsFinishedResultsAndExits143) { interrupt_with(SIGTERM, 143); }

// The terminal closing (SIGHUP) stops the run like SIGTERM: reports written, 128 + 1.
TEST_F(Interrupt, SighupKeepsFinishedResultsAndExits129) { interrupt_with(SIGHUP, 129); }

// The second Ctrl-C ends mlbench at once (SA_RESETHAND). It is sent the moment a temporary
// report file appears, i.e. while the reports are being written: the existing report must
// then be either the old one, byte for byte, or a complete new one.
TEST_F(Interrupt, ExistingReportIsNeverSeenTruncated) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const fs::path json = out_dir_ / "run.json";
  start({"reduction", "--size", "32", "--backends", "serial", "--time-budget", "0.01", "--quiet", "--no-peaks",
         "--seed", std::to_string(seed_ + 1), "--json", json.string()});
  const Exit first = wait_for_exit(120s);  // a hang guard, generous for a loaded machine
  ASSERT_TRUE(first.exited && first.code == 0) << slurp(dir_ / "stderr");
  const std::string old_report = slurp(json);
  ASSERT_FALSE(nlohmann::json::parse(old_report).at("mlbench").at("run").at("interrupted").get<bool>());

  start(long_run_args());
  let_it_finish_a_result();
  ASSERT_EQ(::kill(pid_, SIGINT), 0);
  // Watch for the first temporary file (".run.json.tmpXXXXXX" etc.) and strike then.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  bool writing_seen = false;
  while (!writing_seen && std::chrono::steady_clock::now() < deadline && still_running()) {
    std::error_code ec;  // files come and go while we list them
    for (fs::directory_iterator it(out_dir_, ec), end; !ec && it != end; it.increment(ec))
      writing_seen = writing_seen || it->path().filename().string().find(".tmp") != std::string::npos;
  }
  ::kill(pid_, SIGINT);  // harmless when the process has already ended (it is a zombie until waited for)
  std::cout << (writing_seen ? "second SIGINT sent while a temporary report file existed\n"
                             : "second SIGINT sent after mlbench had finished writing\n");
  const Exit second = wait_for_exit(60s);  // a hang guard
  EXPECT_TRUE((second.exited && second.code == 130) || second.signal == SIGINT)
      << "exit " << second.code << " signal " << second.signal << ": " << slurp(dir_ / "stderr");

  const std::string now = slurp(json);
  if (now == old_report) return;  // killed before the rename: the old report stands
  nlohmann::json report;
  ASSERT_NO_THROW(report = nlohmann::json::parse(now)) << "truncated report (" << now.size() << " bytes)";
  EXPECT_EQ(report.at("mlbench").at("run").at("interrupted"), true);
  EXPECT_FALSE(report.at("benchmarks").empty());
}
