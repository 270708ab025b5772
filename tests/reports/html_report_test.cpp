// The HTML report: one self-contained page (nothing fetched) with the context, every result
// table, every chart and the notes; `--html` goes through the same output-path checks as the
// other reports; headless Chromium renders it at a phone and a laptop width without console
// errors, with every table and chart laid out and no sideways scrolling of the page.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan
#include <set>
#include <sstream>

#include "reports/charts.h"
#include "reports/html_report.h"
#include "reports/report_writer.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

struct Outcome {
  int status = -1;
  std::string output;
};
// Runs a shell command, stdout and stderr together.
Outcome shell(const std::string& command) {
  Outcome o;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return o;
  std::array<char, 4096> buffer{};
  for (std::size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) o.output.append(buffer.data(), n);
  const int raw = pclose(pipe);
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return o;
}

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
    dir_ = fs::temp_directory_path() / ("mlbench_html_" + std::to_string(seed_));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  fs::path dir_;
};

TEST_F(HtmlReportTest, MarkdownBecomesHeadingsListsTablesAndEscapedText) {
  const std::string html = markdown_to_html(
      "# Title <x>\n\n- **Machine:** a & b\n- `code|x`\n\n| A | B |\n|---|---:|\n| 1 \\| 2 | 3 |\n\nplain\ntext\n");
  EXPECT_NE(html.find("<h1 id=\"s-"), std::string::npos);
  EXPECT_NE(html.find(">Title &lt;x&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find("<li><strong>Machine:</strong> a &amp; b</li>"), std::string::npos);
  EXPECT_NE(html.find("<li><code>code|x</code></li>"), std::string::npos);
  EXPECT_NE(html.find("<th>A</th><th class=\"num\">B</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>1 | 2</td><td class=\"num\">3</td>"), std::string::npos);
  EXPECT_NE(html.find("<p>plain text</p>"), std::string::npos);
}

TEST_F(HtmlReportTest, PageHoldsTheContextEveryTableEveryChartAndFetchesNothing) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_);
  const std::string html = render_html({full});
  const std::vector<ShapeGroup> groups = group_by_shape(full.results);
  // A table per shape (plus multi-GPU scaling tables), a chart per speedup/scaling/roofline chart.
  EXPECT_GE(count(html, "<table>"), groups.size());
  EXPECT_EQ(count(html, "<svg "),
            speedup_charts(full).size() + scaling_charts(full).size() + roofline_charts(full).size());
  for (const ShapeGroup& g : groups) EXPECT_NE(html.find(">" + g.title() + "</h2>"), std::string::npos) << g.title();
  EXPECT_NE(html.find(full.machine.cpu_model), std::string::npos);
  EXPECT_NE(html.find(full.machine.warnings.front().substr(0, 40)), std::string::npos);
  EXPECT_NE(html.find("out of device memory"), std::string::npos);  // an error row's message
  EXPECT_NE(html.find("Notes:"), std::string::npos);
  // Self-contained: no script, no external style, image, font or frame, no URL but the SVG namespace.
  for (const char* forbidden : {"<script", "<link", "<img", "<iframe", "@import", " src=", "url(http"})
    EXPECT_EQ(html.find(forbidden), std::string::npos) << forbidden;
  const std::string without_namespace =
      std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_EQ(without_namespace.find("http"), std::string::npos);
  // Every in-page link has its target, and no id is used twice.
  std::set<std::string> ids;
  const std::regex id_re(" id=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), id_re); it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(ids.insert((*it)[1]).second) << "id used twice: " << (*it)[1];
  const std::regex ref_re("(?:href=\"#|url\\(#)([^\")]+)");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref_re); it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(ids.count((*it)[1])) << "link to a missing id: " << (*it)[1];
  EXPECT_LT(html.size(), std::size_t(2) << 20);
}

TEST_F(HtmlReportTest, SeveralMachinesGetASectionEachAndTheComparisonCharts) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::vector<RunReport> machines = {fakes::full_run_report(rng_, "first-host", {256, 512}),
                                           fakes::full_run_report(rng_, "second-host", {256, 512})};
  const std::string html = render_html(machines);
  EXPECT_EQ(count(html, "<section class=\"machine\">"), 2u);
  EXPECT_NE(html.find("Across machines"), std::string::npos);
  EXPECT_GE(count(html, "<svg "), comparison_charts(machines).size() + speedup_charts(machines[0]).size() * 2);
}

TEST_F(HtmlReportTest, WriteReportsWritesThePageAndRefusesAPathThatCannotBeWritten) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = fakes::random_report(rng_, {});
  OutputPaths paths;
  paths.outputs["html"] = (dir_ / "run.html").string();
  check_output_paths(paths);
  write_reports(report, paths);
  EXPECT_EQ(test_support::slurp(paths.outputs.at("html")), render_html({report}));
  OutputPaths bad;
  bad.outputs["html"] = (dir_ / "missing-directory" / "run.html").string();
  EXPECT_THROW(check_output_paths(bad), InputError);
  bad.outputs["html"] = dir_.string();  // a directory
  EXPECT_THROW(check_output_paths(bad), InputError);
}

TEST_F(HtmlReportTest, CliWritesTheHtmlOfASavedRunAndRefusesABadPathBeforeMeasuring) {
  const fs::path json = fs::path(MLBENCH_SOURCE_DIR) / "docs" / "results" / "h100-all-2026-11-24.json";
  const fs::path html = dir_ / "h100.html";
  Outcome o = shell(std::string(MLBENCH_EXE) + " report " + json.string() + " --html " + html.string());
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string page = test_support::slurp(html);
  EXPECT_NE(page.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(page.find("NVIDIA H100"), std::string::npos);
  EXPECT_GT(count(page, "<svg "), 3u);
  // A run with an unwritable --html stops before measuring anything: exit 2, one line.
  o = shell(std::string(MLBENCH_EXE) + " gemm --size 64 --no-peaks --html " +
            (dir_ / "no" / "such" / "x.html").string());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("x.html"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("GFLOP/s"), std::string::npos) << o.output;
}

// Chromium, when installed (Debian's `chromium`; setup.sh --tests installs it, CI has it).
std::string chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
    if (shell(std::string("command -v ") + name + " >/dev/null").status == 0) return name;
  return "";
}

// A copy of the page with a probe that writes what the browser laid out into the DOM (the
// page itself has no script): tables and charts with a size, and whether the page is wider
// than the window.
std::string with_probe(const std::string& html) {
  const std::string probe = R"js(<script>
window.addEventListener('load', function () {
  function laidOut(list) { var n = 0; for (var i = 0; i < list.length; ++i) { var r = list[i].getBoundingClientRect(); if (r.width > 0 && r.height > 0) ++n; } return n; }
  var tables = document.querySelectorAll('table'), charts = document.querySelectorAll('figure svg');
  var v = document.createElement('pre');
  v.id = 'verdict';
  v.textContent = 'tables ' + laidOut(tables) + '/' + tables.length + ' charts ' + laidOut(charts) + '/' + charts.length +
      ' page-wider-than-window ' + (document.documentElement.scrollWidth > window.innerWidth + 1);
  document.body.appendChild(v);
});
</script>)js";
  std::string out = html;
  out.insert(out.rfind("</body>"), probe);
  return out;
}

// Chromium's log lines that report a page problem (console messages, failed loads).
std::string page_problems(const std::string& log) {
  std::string out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos ||
        line.find("net::ERR") != std::string::npos)
      out += line + "\n";
  return out;
}

std::string browser_command(const std::string& browser, int width, int height) {
  // No network at all (any fetch would fail and log), no GPU, no sandbox (containers).
  return "timeout 180 " + browser +
         " --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --host-resolver-rules='MAP * "
         "~NOTFOUND'"
         " --enable-logging=stderr --v=0 --window-size=" +
         std::to_string(width) + "," + std::to_string(height);
}

// Width and height of a PNG (its IHDR chunk).
std::pair<std::uint32_t, std::uint32_t> png_size(const std::string& png) {
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t(static_cast<unsigned char>(png[at])) << 24) |
           (std::uint32_t(static_cast<unsigned char>(png[at + 1])) << 16) |
           (std::uint32_t(static_cast<unsigned char>(png[at + 2])) << 8) |
           std::uint32_t(static_cast<unsigned char>(png[at + 3]));
  };
  if (png.size() < 24 || png.compare(1, 3, "PNG") != 0) return {0, 0};
  return {be32(16), be32(20)};
}

TEST_F(HtmlReportTest, ChromiumRendersEveryTableAndChartAtPhoneAndLaptopWidthWithoutConsoleErrors) {
  const std::string browser = chromium();
  if (browser.empty())
    GTEST_SKIP() << "chromium is not installed (Debian package `chromium`; setup.sh --tests installs it)";
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_, "lab-h100", {256, 1024});
  const std::string html = render_html({full});
  const fs::path page = dir_ / "report.html", probed = dir_ / "probed.html";
  std::ofstream(page) << html;
  std::ofstream(probed) << with_probe(html);
  const std::size_t tables = count(html, "<table>"), charts = count(html, "<svg ");
  for (auto [width, height] : {std::pair{390, 844}, std::pair{1280, 800}}) {
    SCOPED_TRACE("window " + std::to_string(width) + "x" + std::to_string(height));
    const fs::path png = dir_ / ("shot-" + std::to_string(width) + ".png");
    Outcome shot =
        shell(browser_command(browser, width, height) + " --screenshot=" + png.string() + " file://" + page.string());
    EXPECT_EQ(shot.status, 0) << shot.output;
    EXPECT_EQ(page_problems(shot.output), "");
    ASSERT_TRUE(fs::exists(png)) << shot.output;
    const auto [w, h] = png_size(test_support::slurp(png));
    EXPECT_EQ(w, static_cast<std::uint32_t>(width));
    EXPECT_EQ(h, static_cast<std::uint32_t>(height));
    EXPECT_GT(fs::file_size(png), 10000u);  // more than a blank page
    Outcome dom = shell(browser_command(browser, width, height) + " --dump-dom file://" + probed.string());
    EXPECT_EQ(dom.status, 0) << dom.output.substr(0, 2000);
    EXPECT_EQ(page_problems(dom.output), "");
    const std::string expected = "tables " + std::to_string(tables) + "/" + std::to_string(tables) + " charts " +
                                 std::to_string(charts) + "/" + std::to_string(charts) +
                                 " page-wider-than-window false";
    EXPECT_NE(dom.output.find(expected), std::string::npos)
        << "expected \"" << expected
        << "\"; verdict: " << dom.output.substr(std::min(dom.output.size(), dom.output.find("id=\"verdict\"")), 200);
  }
}

TEST_F(HtmlReportTest, TheChromiumCheckSeesAConsoleErrorAndAPageWiderThanTheWindow) {
  const std::string browser = chromium();
  if (browser.empty())
    GTEST_SKIP() << "chromium is not installed (Debian package `chromium`; setup.sh --tests installs it)";
  const fs::path page = dir_ / "broken.html";
  std::ofstream(page) << with_probe(
      "<!DOCTYPE html><html><head><meta name=\"viewport\" content=\"width=device-width\">"
      "</head><body><div style=\"width:3000px\">wide</div><script>console.error('broken "
      "page');</script></body></html>");
  Outcome dom = shell(browser_command(browser, 390, 844) + " --dump-dom file://" + page.string());
  EXPECT_NE(page_problems(dom.output), "") << dom.output.substr(0, 2000);
  EXPECT_NE(dom.output.find("page-wider-than-window true"), std::string::npos) << dom.output.substr(0, 2000);
}

}  // namespace
}  // namespace mlbench::reports
