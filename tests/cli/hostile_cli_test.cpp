// The mlbench executable against hostile output paths, broken streams, late write errors and
// signals (issue 15): every case ends with the documented exit code and one clear line, and no
// file is lost, clobbered or half-written. Device nodes are made with mknod/mkfifo in a private
// temporary directory; the machine's own /dev is only ever written through (/dev/full,
// /dev/null), never replaced.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using ::mlbench::test_support::fresh_seed;
using ::mlbench::test_support::slurp;

struct Outcome {
  int exit_code = -1;
  int signal = 0;
  std::string out, err;
};

int lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = fresh_seed();
    dir_ = fs::temp_directory_path() / ("mlbench_hostile_" + std::to_string(seed_));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  // Runs `script` with bash in dir_; $M is the mlbench executable, $Q a quick one-variant run.
  // stdout and stderr are captured unless the script redirects them itself.
  Outcome sh(const std::string& script) {
    const fs::path out = dir_ / ".stdout", err = dir_ / ".stderr", body = dir_ / ".script";
    std::ofstream(body) << "cd '" << dir_.string() << "' || exit 99\nM='" << MLBENCH_EXE
                        << "'\nQ=\"$M gemm --size 16 --backends serial --time-budget 0.01 --no-peaks --seed " << seed_
                        << "\"\n"
                        << script << "\n";
    const std::string cmd = "bash '" + body.string() + "' >'" + out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.out = slurp(out);
    o.err = slurp(err);
    fs::remove(out);
    fs::remove(err);
    fs::remove(body);
    return o;
  }
  void expect_bad_input(const std::string& script, const std::string& needle) {
    SCOPED_TRACE(script);
    const Outcome o = sh(script);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_EQ(lines(o.err), 1) << o.err;
    EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  }
  fs::path p(const std::string& name) const { return dir_ / name; }
  static bool is_report(const std::string& text) {
    try {
      return nlohmann::json::parse(text).at("benchmarks").size() > 0;
    } catch (const std::exception&) {
      return false;
    }
  }
  // Names in dir_ (temporary files included), sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // Starts `command` (which measures the peaks into $PWD/cache), sends SIGINT once it says it is
  // measuring, and checks it ends with 130 "within a second" and says nothing was written. "Within
  // a second" on an idle machine: the CPU time the process spent after the signal (all its
  // threads, from /proc/PID/stat up to its last 10 ms) below one second per core it may use. Wall
  // time only shows how loaded the machine is, so it is printed, not checked.
  void expect_ctrl_c_stops_the_peak_measurement(const std::string& command) {
    SCOPED_TRACE(command);
    const Outcome o =
        sh(command +
           " 2>err.txt & pid=$!\n"
           "for i in $(seq 200); do grep -q 'measuring' err.txt 2>/dev/null && break; sleep 0.05; done\n"
           "sleep 0.3; cpu() { awk '$3 != \"Z\" {print $14 + $15}' /proc/$pid/stat 2>/dev/null; }\n"
           "t0=$(cpu); last=$t0; start=$(date +%s%N); kill -INT $pid\n"
           "while kill -0 $pid 2>/dev/null; do v=$(cpu); [ -n \"$v\" ] && last=$v || break; sleep 0.01; done\n"
           "wait $pid; rc=$?; echo $(( ($(date +%s%N) - start) / 1000000 )) > ms\n"
           "echo $(( last - t0 )) $(getconf CLK_TCK) $(nproc) > cpu; exit $rc");
    EXPECT_EQ(o.exit_code, 130) << slurp(p("err.txt"));
    std::istringstream cpu(slurp(p("cpu")));
    double ticks = 0, hz = 0, cores = 0;
    ASSERT_TRUE(cpu >> ticks >> hz >> cores) << slurp(p("cpu"));
    const double cpu_seconds = ticks / hz;
    std::printf("from SIGINT to exit: %s ms wall, %.2f s CPU (%g cores)\n", slurp(p("ms")).c_str(), cpu_seconds, cores);
    EXPECT_LT(cpu_seconds, cores * 1.0) << "CPU seconds after the signal";
    EXPECT_NE(slurp(p("err.txt")).find("nothing written"), std::string::npos) << slurp(p("err.txt"));
  }
  std::uint64_t seed_ = 0;
  fs::path dir_;
};

}  // namespace

// --- what a path names decides how it is written ---

TEST_F(Hostile, ReadOnlyTargetIsRefusedBeforeMeasuringEvenForRoot) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string old = "old " + std::to_string(seed_);
  std::ofstream(p("ro.json")) << old;
  fs::permissions(p("ro.json"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  expect_bad_input("$Q --json ro.json", "read-only");
  EXPECT_EQ(slurp(p("ro.json")), old);
  EXPECT_EQ(fs::status(p("ro.json")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
}

TEST_F(Hostile, ReplacedFileKeepsItsMode) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  std::ofstream(p("run.json")) << "old";
  ::chmod(p("run.json").c_str(), 0640);
  const Outcome o = sh("$Q --quiet --json run.json");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(is_report(slurp(p("run.json"))));
  struct stat st {};
  ASSERT_EQ(::stat(p("run.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(Hostile, SymlinkIsFollowedAndItsTargetReplaced) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fs::create_directory(p("real"));
  std::ofstream(p("real/target.json")) << "old";
  fs::create_symlink("real/target.json", p("link.json"));
  const Outcome o = sh("$Q --quiet --json link.json");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(fs::is_symlink(p("link.json"))) << "the link was replaced by a file";
  EXPECT_TRUE(is_report(slurp(p("real/target.json")))) << "the file the link points to is stale";
  // A dangling link: its target is created.
  fs::create_symlink("real/new.json", p("dangling.json"));
  ASSERT_EQ(sh("$Q --quiet --json dangling.json").exit_code, 0);
  EXPECT_TRUE(fs::is_symlink(p("dangling.json")));
  EXPECT_TRUE(is_report(slurp(p("real/new.json"))));
}

TEST_F(Hostile, CharacterDeviceIsWrittenThroughNeverReplaced) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // A private copy of /dev/null (1,3), made here: the machine's own node is never at risk.
  if (::mknod(p("null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) GTEST_SKIP() << "mknod not permitted here";
  const Outcome o = sh("$Q --quiet --json null --csv ok.csv");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  struct stat st {};
  ASSERT_EQ(::lstat(p("null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node became a regular file";
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
}

TEST_F(Hostile, FifoIsWrittenThroughToItsReader) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  ASSERT_EQ(::mkfifo(p("pipe").c_str(), 0644), 0);
  const Outcome o = sh("cat pipe > got.json & $Q --quiet --json pipe; rc=$?; wait; exit $rc");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  struct stat st {};
  ASSERT_EQ(::lstat(p("pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_TRUE(is_report(slurp(p("got.json"))));
}

TEST_F(Hostile, DashAndDevStdoutWriteTheReportToStdoutAndTheTableToStderr) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  for (const std::string target : {"-", "/dev/stdout", "/dev/fd/1"}) {
    SCOPED_TRACE(target);
    const Outcome o = sh("$Q --json " + target);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    EXPECT_TRUE(is_report(o.out)) << o.out.substr(0, 200);
    EXPECT_NE(o.err.find("verification"), std::string::npos) << "the console table belongs on stderr";
  }
  // Redirected to a file: written through the descriptor, the file is not replaced behind it.
  const Outcome o = sh("$Q --quiet --csv /dev/stdout > out.csv");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(slurp(p("out.csv")).find("workload"), std::string::npos);
  const Outcome markdown = sh("$Q --markdown -");
  EXPECT_EQ(markdown.exit_code, 0) << markdown.err;
  EXPECT_EQ(markdown.out.rfind("# ", 0), 0u) << markdown.out.substr(0, 200);
}

TEST_F(Hostile, RefusedPathsMeasureNothingAndSayWhy) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fs::create_directory(p("adir"));
  std::ofstream(p("afile")) << "x";
  expect_bad_input("$Q --json adir", "is a directory");
  expect_bad_input("$Q --json missing/run.json", "does not exist");
  expect_bad_input("$Q --json afile/run.json", "ot a directory");
  expect_bad_input("$Q --json $'\\xff.json'", "not valid UTF-8");
  expect_bad_input("$Q --csv $'ok\\xc3\\x28.csv'", "not valid UTF-8");
  expect_bad_input("$Q --json " + std::string(256, 'n'), "too long");
  expect_bad_input("$Q --chart $'\\xfe'", "not valid UTF-8");
  expect_bad_input("$Q --chart afile", "ot a directory");
  expect_bad_input("$Q --chart -", "directory");
  // The longest legal name (255 bytes) is written: the temporary name does not depend on it.
  const std::string longest(250, 'l');
  const Outcome o = sh("$Q --quiet --json " + longest + ".json");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(is_report(slurp(p(longest + ".json"))));
  if (::geteuid() == 0) {
    // Root ignores permission bits; an unwritable directory must still be refused: a
    // read-only bind is not available here, /proc is.
    expect_bad_input("$Q --json /proc/mlbench.json", "cannot write");
  } else {
    fs::create_directory(p("locked"));
    fs::permissions(p("locked"), fs::perms::owner_read | fs::perms::owner_exec);
    expect_bad_input("$Q --json locked/run.json", "cannot write");
  }
  for (const std::string& name : entries()) EXPECT_EQ(name.rfind(".mlbench-", 0), std::string::npos) << name;
  EXPECT_FALSE(fs::exists(p("missing")));
}

TEST_F(Hostile, OutputsThatAreTheSameFileOrAnInputAreRefused) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  ASSERT_EQ(sh("$Q --quiet --json base.json && $Q --quiet --json new.json").exit_code, 0);
  const std::string base = slurp(p("base.json"));
  fs::create_symlink("base.json", p("alias.json"));
  expect_bad_input("$Q --json x --markdown x --csv x", "same file");
  expect_bad_input("$Q --json out.json --csv ./out.json", "same file");
  expect_bad_input("$Q --json - --csv /dev/stdout", "same file");
  expect_bad_input("$Q --json alias.json --markdown base.json", "same file");
  expect_bad_input("$M compare base.json new.json --csv base.json", "is the input");
  expect_bad_input("$M compare base.json new.json --markdown alias.json", "is the input");
  expect_bad_input("$M report base.json --json base.json", "is the input");
  // A report in the chart directory under a chart's name would be replaced by the chart.
  fs::create_directory(p("charts"));
  expect_bad_input("$Q --chart charts --json charts/speedup_gemm_fp32.svg", "chart");
  EXPECT_EQ(slurp(p("base.json")), base);
  EXPECT_FALSE(fs::exists(p("x")));
  // Two terminals or /dev/null twice are fine: nothing is replaced.
  EXPECT_EQ(sh("$Q --quiet --json /dev/null --csv /dev/null").exit_code, 0);
}

TEST_F(Hostile, DeeplyNestedJsonInReportAndCompareIsOneLineExit2) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  ASSERT_EQ(sh("$Q --quiet --json base.json").exit_code, 0);
  // 100 000 nested arrays crashed report and compare (stack overflow, exit 139): as the whole
  // file, and inside an otherwise valid report's fields.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::ofstream(p("deep.json")) << deep;
  std::string inside = slurp(p("base.json"));
  inside.insert(inside.find('{') + 1, "\"deep\": " + deep + ",");
  std::ofstream(p("inside.json")) << inside;
  for (const char* file : {"deep.json", "inside.json"}) {
    expect_bad_input(std::string("$M report ") + file + " --markdown out.md", "nested deeper than");
    expect_bad_input(std::string("$M compare base.json ") + file, "nested deeper than");
    expect_bad_input(std::string("$M compare ") + file + " base.json --fail-above 10 --csv out.csv",
                     "nested deeper than");
  }
  EXPECT_FALSE(fs::exists(p("out.md")));
  EXPECT_FALSE(fs::exists(p("out.csv")));
}

TEST_F(Hostile, BadInputCreatesNoChartDirectory) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  expect_bad_input("$Q --backends warp9 --chart deep/er/charts", "warp9");
  expect_bad_input("$Q --threads 0 --chart deep/er/charts", "--threads");
  expect_bad_input("$Q --json adir/x.json --chart deep/er/charts", "does not exist");
  EXPECT_FALSE(fs::exists(p("deep")));
  EXPECT_EQ(sh("$Q --quiet --chart deep/er/charts").exit_code, 0);
  EXPECT_FALSE(fs::is_empty(p("deep/er/charts")));
}

// --- late errors: the run's results survive a failing output ---

TEST_F(Hostile, ALateWriteFailureWritesTheOthersPrintsTheTableAndExits3) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const Outcome o = sh("$Q --json /dev/full --markdown ok.md --csv ok.csv");
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_NE(o.err.find("cannot write /dev/full: No space left on device"), std::string::npos) << o.err;
  EXPECT_NE(o.out.find("verification"), std::string::npos) << "the console table is still printed";
  EXPECT_NE(slurp(p("ok.md")).find("serial"), std::string::npos);
  EXPECT_NE(slurp(p("ok.csv")).find("serial"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(Hostile, ALateFailureOfOneChartStillWritesTheReports) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // The chart directory is checked before the run, then taken away (made a file) during it:
  // a FIFO output with a late reader holds the run at the writing stage long enough.
  ASSERT_EQ(::mkfifo(p("gate").c_str(), 0644), 0);
  const Outcome o =
      sh("($Q --quiet --chart charts --csv gate --json ok.json; echo $? > rc) &\n"
         "sleep 0.2; for i in $(seq 100); do [ -e ok.json ] && break; sleep 0.1; done\n"
         "rm -rf charts; echo x > charts; cat gate > got.csv; wait; exit $(cat rc)");
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_NE(o.err.find("charts"), std::string::npos) << o.err;
  EXPECT_TRUE(is_report(slurp(p("ok.json"))));
  EXPECT_NE(slurp(p("got.csv")).find("serial"), std::string::npos);
}

TEST_F(Hostile, NonUtf8InTheCommandLineIsEscapedNotFatal) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // The program's own name carries the byte: argv[0] goes into the report's command line.
  const Outcome o =
      sh("ln -s \"$M\" $'ml\\xffbench' && ./$'ml\\xffbench' gemm --size 16 --backends serial "
         "--time-budget 0.01 --no-peaks --quiet --json run.json");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  const std::string text = slurp(p("run.json"));
  ASSERT_TRUE(is_report(text)) << o.err;
  EXPECT_NE(nlohmann::json::parse(text).at("mlbench").at("run").at("command_line").get<std::string>().find("\\xFF"),
            std::string::npos);
}

// --- the standard streams ---

TEST_F(Hostile, FullStdoutExits3AndSaysSo) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const Outcome o = sh("$Q --json run.json > /dev/full");
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_NE(o.err.find("standard output"), std::string::npos) << o.err;
  EXPECT_TRUE(is_report(slurp(p("run.json"))));
}

TEST_F(Hostile, ClosedStdoutPipeEndsQuietlyWith141AfterTheFiles) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // The reader is gone before mlbench writes: every stdout write meets EPIPE.
  const Outcome o = sh("{ sleep 0.5; $Q --json - --csv run.csv 2>err.txt; echo $? > rc; } | true; exit $(cat rc)");
  EXPECT_EQ(o.exit_code, 141) << slurp(p("err.txt"));
  EXPECT_EQ(slurp(p("err.txt")).find("error"), std::string::npos) << slurp(p("err.txt"));
  EXPECT_NE(slurp(p("run.csv")).find("serial"), std::string::npos) << "the file report comes first";
  const Outcome table = sh("{ sleep 0.5; $Q --csv run2.csv 2>err2.txt; echo $? > rc; } | true; exit $(cat rc)");
  EXPECT_EQ(table.exit_code, 141);
  EXPECT_NE(slurp(p("run2.csv")).find("serial"), std::string::npos);
}

TEST_F(Hostile, HeadOfThePipeEndsQuietlyAfterTheFiles) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // `| head -1`: the reader takes one line and goes; whether mlbench's later writes meet EPIPE
  // (exit 141) or all fit the pipe before head exits (exit 0) depends on timing, never an
  // error line, and the file report is written either way.
  const Outcome o = sh("{ $Q --json - --csv run.csv 2>err.txt; echo $? > rc; } | head -1 > first.txt; exit $(cat rc)");
  EXPECT_TRUE(o.exit_code == 0 || o.exit_code == 141) << o.exit_code << " " << slurp(p("err.txt"));
  EXPECT_EQ(slurp(p("err.txt")).find("error"), std::string::npos) << slurp(p("err.txt"));
  EXPECT_EQ(slurp(p("first.txt")), "{\n");
  EXPECT_NE(slurp(p("run.csv")).find("serial"), std::string::npos);
}

TEST_F(Hostile, ClosedOrFullStderrDoesNotAbort) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  EXPECT_EQ(sh("$Q --json a.json 2>&-").exit_code, 0);
  EXPECT_TRUE(is_report(slurp(p("a.json"))));
  if (fs::exists("/dev/full")) {
    EXPECT_EQ(sh("$Q --json b.json 2>/dev/full").exit_code, 0);
    EXPECT_TRUE(is_report(slurp(p("b.json"))));
    EXPECT_EQ(sh("$Q --backends warp9 2>/dev/full").exit_code, 2);  // the error line is lost, the code is not
  }
  EXPECT_EQ(sh("$Q --backends warp9 2>&-").exit_code, 2);
}

TEST_F(Hostile, ClosedStdoutDescriptorNeverBecomesAReportFile) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // With fd 1 closed, the first file opened would be fd 1: the table must not land in it.
  const Outcome o = sh("$Q --json a.json --csv b.csv >&-");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(is_report(slurp(p("a.json"))));
  EXPECT_EQ(slurp(p("b.csv")).find("vs best CPU"), std::string::npos) << "the console table is in the CSV";
  EXPECT_EQ(slurp(p("b.csv")).rfind("host,", 0), 0u);
}

TEST_F(Hostile, StaleTemporaryFilesOfDeadProcessesAreRemoved) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // A pid that is not running: a child that has been reaped.
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = ".mlbench-" + std::to_string(dead) + "-aB3xYz.tmp";
  const std::string live = ".mlbench-" + std::to_string(::getpid()) + "-aB3xYz.tmp";
  const std::string young = ".mlbench-" + std::to_string(dead) + "-Young1.tmp";
  const std::string other = ".unrelated.tmp";
  for (const std::string& name : {stale, live, young, other}) std::ofstream(p(name)) << "partial";
  const auto old = fs::file_time_type::clock::now() - 5min;
  for (const std::string& name : {stale, live, other}) fs::last_write_time(p(name), old);
  ASSERT_EQ(sh("$Q --quiet --json run.json").exit_code, 0);
  EXPECT_FALSE(fs::exists(p(stale)));
  EXPECT_TRUE(fs::exists(p(live))) << "its writer is alive";
  EXPECT_TRUE(fs::exists(p(young))) << "too recent to judge";
  EXPECT_TRUE(fs::exists(p(other))) << "not mlbench's";
}

// --- signals ---

TEST_F(Hostile, SignalWhileWritingStillExits130AndWritesTheOtherReports) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // The FIFO has no reader: mlbench waits in open() at the writing stage, where SIGINT lands.
  ASSERT_EQ(::mkfifo(p("stuck").c_str(), 0644), 0);
  const Outcome o =
      sh("$Q --quiet --json ok.json --csv stuck & pid=$!\n"
         "for i in $(seq 300); do [ -e ok.json ] && break; sleep 0.05; done; sleep 0.3\n"
         "kill -INT $pid; wait $pid");
  EXPECT_EQ(o.exit_code, 130) << o.err;
  EXPECT_TRUE(is_report(slurp(p("ok.json"))));
  EXPECT_NE(o.err.find("stuck"), std::string::npos) << o.err;
}

TEST_F(Hostile, CtrlCDuringThePeakMeasurementStopsWithinASecondAndKeepsEveryFile) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fs::create_directory(p("cache"));
  ASSERT_EQ(sh("$Q --quiet --json run.json").exit_code, 0);
  const std::string before = slurp(p("run.json"));
  expect_ctrl_c_stops_the_peak_measurement(
      "XDG_CACHE_HOME=$PWD/cache $M gemm --size 16 --backends serial --time-budget 0.01 --refresh-peaks "
      "--json run.json --csv run.csv");
  EXPECT_EQ(slurp(p("run.json")), before) << "the previous report was replaced";
  EXPECT_FALSE(fs::exists(p("run.csv")));
  EXPECT_FALSE(fs::exists(p("cache/mlbench/peaks.json"))) << "half-measured peaks were cached";
}

// `mlbench peak` ignored Ctrl-C: it measured on for 15 s, exited 0 and wrote the cache.
TEST_F(Hostile, CtrlCDuringMlbenchPeakStopsWithinASecondAndKeepsTheCache) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fs::create_directories(p("cache/mlbench"));
  const std::string cache = "{\"not\": \"a peaks cache, seed " + std::to_string(seed_) + "\"}";
  std::ofstream(p("cache/mlbench/peaks.json")) << cache;
  expect_ctrl_c_stops_the_peak_measurement("XDG_CACHE_HOME=$PWD/cache $M peak --refresh-peaks");
  EXPECT_EQ(slurp(p("cache/mlbench/peaks.json")), cache) << "the cache was changed";
}

// --- exit codes ---

TEST_F(Hostile, EveryExitCodeIsDocumentedInHelpAndReadme) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const Outcome help = sh("$M --help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::string readme = slurp(fs::path(MLBENCH_SOURCE_DIR) / "README.md");
  const std::size_t table = readme.find("| code | meaning |");
  ASSERT_NE(table, std::string::npos) << "README has no exit code table";
  // The codes of the table's first column ("| 129 / 130 / 143 | ...").
  std::set<std::string> documented;
  std::istringstream rows(readme.substr(table, readme.find("\n\n", table) - table));
  for (std::string row; std::getline(rows, row);) {
    if (row.rfind("| ", 0) != 0) continue;
    std::istringstream cell(row.substr(2, row.find(" |", 2) - 2));
    for (std::string code; std::getline(cell, code, '/');) {
      code.erase(0, code.find_first_not_of(' '));
      documented.insert(code.substr(0, code.find(' ')));
    }
  }
  // `code` in `text` as a number of its own (not part of a longer one).
  const auto mentions = [](const std::string& text, const std::string& code) {
    for (std::size_t at = text.find(code); at != std::string::npos; at = text.find(code, at + 1)) {
      const bool before = at == 0 || !std::isdigit(static_cast<unsigned char>(text[at - 1]));
      const bool after =
          at + code.size() == text.size() || !std::isdigit(static_cast<unsigned char>(text[at + code.size()]));
      if (before && after) return true;
    }
    return false;
  };
  ASSERT_NE(help.out.find("Exit codes"), std::string::npos) << help.out;
  const std::string footer = help.out.substr(help.out.find("Exit codes"));
  // Every status mlbench exits with (cli/process_io.h, cli/run_pipeline.cpp, the signals it
  // handles), in --help and in README's table.
  for (const std::string code : {"0", "1", "2", "3", "129", "130", "141", "143"}) {
    SCOPED_TRACE(code);
    EXPECT_TRUE(mentions(footer, code)) << footer;
    EXPECT_EQ(documented.count(code), 1u) << "README's exit code table has no row for " << code;
  }
}

// --- numbers and the environment ---

TEST_F(Hostile, HugeOmpNumThreadsIsRefusedNotACrash) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  expect_bad_input("OMP_NUM_THREADS=100000 $Q", "OMP_NUM_THREADS");
  // Values libgomp cannot read at all (it would print its own "libgomp: Invalid value" line while
  // loading, before main): mlbench holds them back from libgomp and says the one line itself.
  for (const std::string env :
       {"OMP_NUM_THREADS=0x4", "OMP_NUM_THREADS=abc", "OMP_NUM_THREADS=4,", "OMP_THREAD_LIMIT=99999999999999999999"}) {
    SCOPED_TRACE(env);
    expect_bad_input(env + " $Q", "mlbench: error: " + env.substr(0, env.find('=') + 1));
  }
  // Valid lists reach libgomp untouched.
  EXPECT_EQ(sh("OMP_NUM_THREADS=2,1 $Q --quiet").exit_code, 0);
  EXPECT_EQ(sh("OMP_NUM_THREADS=2 $Q --quiet").exit_code, 0);
}

TEST_F(Hostile, SeedsOutsideZeroTo2To64AreRefused) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  for (const char* seed : {"-1", "18446744073709551616", "100000000000000000000000000", "1e26", "0x10"})
    expect_bad_input(std::string("$M gemm --size 8 --backends serial --no-peaks --seed ") + seed, "--seed");
  ASSERT_EQ(sh("$M gemm --size 8 --backends serial --time-budget 0.01 --no-peaks --quiet --seed 18446744073709551615 "
               "--json max.json")
                .exit_code,
            0);
  EXPECT_EQ(nlohmann::json::parse(slurp(p("max.json"))).at("mlbench").at("run").at("seed").get<std::uint64_t>(),
            UINT64_MAX);
}

TEST_F(Hostile, ExplicitOptionsWinOverThePreset) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const Outcome o =
      sh("$M gemm --preset quick --size 16 --time-budget 0.02 --max-repetitions 3 --rounds 1 "
         "--backends serial --no-peaks --quiet --json run.json");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto run = nlohmann::json::parse(slurp(p("run.json")));
  EXPECT_DOUBLE_EQ(run.at("mlbench").at("run").at("time_budget_s").get<double>(), 0.02);
  EXPECT_EQ(run.at("mlbench").at("run").at("rounds").get<int>(), 1);
  int rows = 0;
  for (const auto& b : run.at("benchmarks")) {
    if (!b.contains("mlbench")) continue;  // schema 2: row data only on the row's median entry
    ++rows;
    EXPECT_EQ(b.at("mlbench").at("size").get<int>(), 16);
    EXPECT_LE(b.at("mlbench").at("stats").at("runs").get<int>(), 3);
  }
  EXPECT_EQ(rows, 1);
}

TEST_F(Hostile, DuplicateSizesAreRefused) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  expect_bad_input("$Q --size 64,64 --rounds 2", "given twice");
  expect_bad_input("$M gemm --size 64,128,64 --no-peaks", "given twice");
}

// `--size 16,` and `--size ,` were taken as 16 and as the next argument: the run was not the
// one typed. An empty item in any comma-separated option is refused with the option's name.
TEST_F(Hostile, EmptyListItemsAreRefused) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  expect_bad_input("$M gemm --size 16, --no-peaks", "--size: empty item in '16,'");
  expect_bad_input("$M gemm --size , --no-peaks", "--size: empty item");
  expect_bad_input("$M gemm --size=,16 --no-peaks", "--size: empty item");
  expect_bad_input("$M gemm --size 16 --backends serial,,openmp --no-peaks", "--backends: empty item");
  expect_bad_input("$M attention --seq 64,,128 --no-peaks", "--seq: empty item");
}

// CLI11 lists every unexpected argument: 100 000 of them made one 700 kB "line". A file name
// with a newline split the message in two. Errors are one line of at most about 1 kB.
TEST_F(Hostile, AnErrorIsOneLineOfBoundedLength) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const Outcome many = sh("$M gemm --size 16 --no-peaks $(seq 1 100000 | sed 's/^/--x/')");
  EXPECT_EQ(many.exit_code, 2);
  EXPECT_EQ(lines(many.err), 1);
  EXPECT_LT(many.err.size(), 1100u);
  EXPECT_NE(many.err.find("more bytes)"), std::string::npos) << many.err.substr(0, 200);
  expect_bad_input("$M report $'no\\nsuch.json'", "no\\nsuch.json");
}
