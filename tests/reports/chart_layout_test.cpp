// Chart layout: every chart of a full run (every workload, every backend family, failures,
// noisy and throttled rows, long names and notes) keeps each label apart from the other
// labels, from the plotted marks and inside the canvas; the speedup bars start at the best
// CPU; a backend family has one colour on every chart; no roof lies below a measured point.
//
// The layout is read back from the SVG text alone (its own small parser, not the chart code).
// Text extents are estimated on the wide side: 0.64 em per ASCII character (0.70 bold), 1 em
// for any other code point, 0.8 em above the baseline and 0.25 em below (DejaVu Sans averages
// about 0.55 em per character; Arial/Liberation less).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan
#include <set>

#include "bench/roofline.h"
#include "reports/charts.h"
#include "reports/json_report.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

struct Box {
  double x0, y0, x1, y1;
  std::string what;
};
bool overlap(const Box& a, const Box& b, double slack = 0.5) {
  return a.x0 < b.x1 - slack && b.x0 < a.x1 - slack && a.y0 < b.y1 - slack && b.y0 < a.y1 - slack;
}
// Whether the segment passes through the inside of the box (shrunk by `slack`).
bool crosses(const Box& box, double ax, double ay, double bx, double by, double slack = 0.5) {
  const double x0 = box.x0 + slack, x1 = box.x1 - slack, y0 = box.y0 + slack, y1 = box.y1 - slack;
  double t0 = 0, t1 = 1;
  const double dx = bx - ax, dy = by - ay;
  const double p[] = {-dx, dx, -dy, dy}, q[] = {ax - x0, x1 - ax, ay - y0, y1 - ay};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double t = q[i] / p[i];
    if (p[i] < 0)
      t0 = std::max(t0, t);
    else
      t1 = std::min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

std::string attr(const std::string& tag, const std::string& name) {
  std::smatch m;
  if (std::regex_search(tag, m, std::regex("\\s" + name + "=\"([^\"]*)\""))) return m[1];
  return "";
}
double num(const std::string& tag, const std::string& name) {
  const std::string v = attr(tag, name);
  return v.empty() ? 0 : std::stod(v);
}
std::string unescape(std::string s) {
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}})
    for (std::size_t p; (p = s.find(from)) != std::string::npos;) s.replace(p, std::string(from).size(), to);
  return s;
}
double estimated_width(const std::string& text, double size, bool bold) {
  double ems = 0;
  for (unsigned char c : text) {
    if (c < 0x80)
      ems += bold ? 0.70 : 0.64;
    else if ((c & 0xC0) == 0xC0)
      ems += 1.0;
  }
  return ems * size;
}

struct Layout {
  double width = 0, height = 0;
  std::vector<Box> texts;
  std::vector<Box> mark_boxes;                                          // bars, markers, rings, swatches
  std::vector<std::pair<std::string, std::vector<double>>> mark_lines;  // polylines and lines
};

// Marks: what is plotted (bars, points, spreads, series, roofs, reference and break-even
// lines, rings) and the legend's samples. Grid and axis lines are not marks.
bool is_mark(const std::string& klass) {
  static const std::set<std::string> marks = {"bar",          "point",         "roofline-point", "spread",
                                              "series",       "roof",          "reference",      "break-even",
                                              "noisy-marker", "legend-swatch", "legend-line"};
  return marks.count(klass) > 0;
}

Layout read_layout(const std::string& svg) {
  Layout layout;
  std::smatch root;
  EXPECT_TRUE(std::regex_search(svg, root, std::regex("<svg[^>]*>")));
  layout.width = num(root[0], "width");
  layout.height = num(root[0], "height");
  const std::regex text_re("<text([^>]*)>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re); it != std::sregex_iterator(); ++it) {
    const std::string tag = (*it)[1], content = unescape((*it)[2]);
    if (content.empty()) continue;
    const double x = num(tag, "x"), y = num(tag, "y"), size = num(tag, "font-size");
    const bool bold = attr(tag, "font-weight") == "bold";
    const double w = estimated_width(content, size, bold);
    const std::string anchor = attr(tag, "text-anchor");
    const double left = anchor == "middle" ? x - w / 2 : anchor == "end" ? x - w : x;
    Box box{left, y - 0.8 * size, left + w, y + 0.25 * size, "text \"" + content + "\""};
    std::smatch rot;
    if (std::regex_search(tag, rot, std::regex("rotate\\(-90 ([-0-9.]+) ([-0-9.]+)\\)"))) {
      // Turned a quarter left about (cx, cy): x' = cx + (y - cy), y' = cy - (x - cx).
      const double cx = std::stod(rot[1]), cy = std::stod(rot[2]);
      box = {cx + (box.y0 - cy), cy - (box.x1 - cx), cx + (box.y1 - cy), cy - (box.x0 - cx), box.what};
    }
    layout.texts.push_back(box);
  }
  const std::regex element_re("<(rect|circle|polygon|polyline|path|line)([^>]*)/?>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), element_re); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1], tag = (*it)[2], klass = attr(tag, "class");
    if (!is_mark(klass)) continue;
    const std::string what = klass + " " + name;
    if (name == "rect") {
      layout.mark_boxes.push_back(
          {num(tag, "x"), num(tag, "y"), num(tag, "x") + num(tag, "width"), num(tag, "y") + num(tag, "height"), what});
    } else if (name == "circle") {
      const double r = num(tag, "r");
      layout.mark_boxes.push_back(
          {num(tag, "cx") - r, num(tag, "cy") - r, num(tag, "cx") + r, num(tag, "cy") + r, what});
    } else if (name == "line") {
      layout.mark_lines.push_back({what, {num(tag, "x1"), num(tag, "y1"), num(tag, "x2"), num(tag, "y2")}});
    } else {
      // polygon / polyline points, path "M x,y L x,y ...": the numbers in order.
      std::string data = name == "path" ? attr(tag, "d") : attr(tag, "points");
      std::vector<double> xy;
      const std::regex number("-?[0-9]+(\\.[0-9]+)?");
      for (auto n = std::sregex_iterator(data.begin(), data.end(), number); n != std::sregex_iterator(); ++n)
        xy.push_back(std::stod((*n)[0]));
      if (name == "polyline") {
        layout.mark_lines.push_back({what, xy});
      } else {
        Box b{INFINITY, INFINITY, -INFINITY, -INFINITY, what};
        for (std::size_t i = 0; i + 1 < xy.size(); i += 2) {
          b.x0 = std::min(b.x0, xy[i]);
          b.x1 = std::max(b.x1, xy[i]);
          b.y0 = std::min(b.y0, xy[i + 1]);
          b.y1 = std::max(b.y1, xy[i + 1]);
        }
        layout.mark_boxes.push_back(b);
      }
    }
  }
  return layout;
}

// Every problem of a chart's layout, one line each; empty when none.
std::vector<std::string> layout_problems(const std::string& svg) {
  const Layout l = read_layout(svg);
  std::vector<std::string> problems;
  auto describe = [](const Box& b) {
    return b.what + " [" + std::to_string(b.x0) + "," + std::to_string(b.y0) + " - " + std::to_string(b.x1) + "," +
           std::to_string(b.y1) + "]";
  };
  for (std::size_t i = 0; i < l.texts.size(); ++i) {
    const Box& t = l.texts[i];
    if (t.x0 < 0 || t.y0 < 0 || t.x1 > l.width || t.y1 > l.height)
      problems.push_back("clipped: " + describe(t) + " on a " + std::to_string(l.width) + "x" +
                         std::to_string(l.height) + " canvas");
    for (std::size_t j = 0; j < i; ++j)
      if (overlap(t, l.texts[j])) problems.push_back("overlap: " + describe(t) + " and " + describe(l.texts[j]));
    for (const Box& m : l.mark_boxes)
      if (overlap(t, m)) problems.push_back("on a mark: " + describe(t) + " and " + describe(m));
    for (const auto& [what, xy] : l.mark_lines)
      for (std::size_t k = 0; k + 3 < xy.size(); k += 2)
        if (crosses(t, xy[k], xy[k + 1], xy[k + 2], xy[k + 3])) {
          problems.push_back("on a line: " + describe(t) + " and " + what);
          break;
        }
  }
  return problems;
}

class ChartLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
  }
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(ChartLayoutTest, TheCheckerSeesOverlapsClippingAndTextOnMarks) {
  const std::string head = "<svg width=\"200\" height=\"100\">";
  EXPECT_TRUE(layout_problems(head +
                              "<text x=\"10\" y=\"20\" font-size=\"12\" text-anchor=\"start\">apart</text>"
                              "<text x=\"10\" y=\"60\" font-size=\"12\" text-anchor=\"start\">apart</text></svg>")
                  .empty());
  EXPECT_FALSE(layout_problems(head +
                               "<text x=\"10\" y=\"20\" font-size=\"12\" text-anchor=\"start\">one label</text>"
                               "<text x=\"40\" y=\"24\" font-size=\"12\" text-anchor=\"start\">another</text></svg>")
                   .empty());
  EXPECT_FALSE(
      layout_problems(head + "<text x=\"150\" y=\"20\" font-size=\"12\" text-anchor=\"start\">runs off</text></svg>")
          .empty());
  EXPECT_FALSE(layout_problems(head + "<text x=\"10\" y=\"20\" font-size=\"12\" text-anchor=\"start\">on a bar</text>"
                                      "<rect class=\"bar\" x=\"30\" y=\"10\" width=\"50\" height=\"12\"/></svg>")
                   .empty());
  EXPECT_FALSE(layout_problems(head + "<text x=\"10\" y=\"20\" font-size=\"12\" text-anchor=\"start\">on a roof</text>"
                                      "<polyline class=\"roof\" points=\"0,0 100,30\"/></svg>")
                   .empty());
  // A grid line is not a mark; a rotated axis title is measured turned.
  EXPECT_TRUE(layout_problems(head + "<text x=\"10\" y=\"20\" font-size=\"12\" text-anchor=\"start\">grid</text>"
                                     "<line x1=\"0\" y1=\"15\" x2=\"200\" y2=\"15\"/></svg>")
                  .empty());
  EXPECT_FALSE(layout_problems(head + "<text x=\"20\" y=\"50\" font-size=\"12\" text-anchor=\"middle\" "
                                      "transform=\"rotate(-90 20 50)\">a long vertical axis title</text></svg>")
                   .empty());
}

// Every text of a chart, joined by spaces (wrapped lines read as one).
std::string all_text(const std::string& svg) {
  std::string out;
  const std::regex text_re("<text[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re); it != std::sregex_iterator(); ++it)
    out += unescape((*it)[1]) + " ";
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST_F(ChartLayoutTest, EveryChartOfAFullRunKeepsItsLabelsApartFromEachOtherTheMarksAndTheEdges) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_);
  RunReport other = fakes::full_run_report(rng_, "second-machine-with-an-equally-long-name.example.org");
  std::vector<Chart> charts = speedup_charts(full);
  const std::size_t speedup = charts.size();
  for (const std::vector<Chart>& more :
       {scaling_charts(full), roofline_charts(full), comparison_charts({full, other})}) {
    EXPECT_FALSE(more.empty());
    charts.insert(charts.end(), more.begin(), more.end());
  }
  EXPECT_EQ(speedup, group_by_shape(full.results).size());
  for (const Chart& c : charts) {
    const std::vector<std::string> problems = layout_problems(c.svg);
    EXPECT_TRUE(problems.empty()) << c.file_name << ":\n" << join(problems);
  }
}

// The best CPU median of a problem, from the report (independently of the chart).
TEST_F(ChartLayoutTest, SpeedupBarsStartAtTheBestCpuAndSlowdownsGoLeft) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_);
  std::size_t left = 0, right = 0;
  for (const Chart& c : speedup_charts(full)) {
    std::smatch ref;
    ASSERT_TRUE(std::regex_search(c.svg, ref, std::regex("<line x1=\"([-0-9.]+)\"[^>]*class=\"reference\"")));
    const double x1 = std::stod(ref[1]);
    const std::regex bar_re("<rect class=\"bar\"([^>]*)>");
    for (auto it = std::sregex_iterator(c.svg.begin(), c.svg.end(), bar_re); it != std::sregex_iterator(); ++it) {
      const std::string tag = (*it)[1];
      const double x = num(tag, "x"), w = num(tag, "width");
      const std::string backend = unescape(attr(tag, "data-backend"));
      const VariantResult* row = nullptr;
      for (const VariantResult& r : full.results)
        if (r.ok() && backend_label(r) == backend && c.title.rfind(r.workload + " ", 0) == 0 &&
            c.file_name ==
                "speedup_" + slug(ShapeGroup{r.workload, r.precision, r.shape_label, 0, {}}.title()) + ".svg")
          row = &r;
      ASSERT_NE(row, nullptr) << backend << " in " << c.file_name;
      if (row->speedup_vs_best_cpu < 0.999) {
        EXPECT_NEAR(x + w, x1, 0.15) << backend << " " << c.file_name;
        ++left;
      } else if (row->speedup_vs_best_cpu > 1.001) {
        EXPECT_NEAR(x, x1, 0.15) << backend << " " << c.file_name;
        ++right;
      }
    }
    EXPECT_NE(c.svg.find("best CPU: "), std::string::npos);
  }
  EXPECT_GT(left, 0u);
  EXPECT_GT(right, 0u);
}

TEST_F(ChartLayoutTest, SpeedupChartsDrawTheSpreadOfEveryRowWithSeveralRuns) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_);
  for (const ShapeGroup& g : group_by_shape(full.results)) {
    std::size_t with_runs = 0;
    for (const VariantResult* r : g.results) with_runs += r->ok() && r->stats.run_times_s.size() >= 2;
    const std::string file = "speedup_" + slug(g.title()) + ".svg";
    for (const Chart& c : speedup_charts(full))
      if (c.file_name == file) {
        std::size_t spreads = 0;
        for (std::size_t p = c.svg.find("class=\"spread\""); p != std::string::npos;
             p = c.svg.find("class=\"spread\"", p + 1))
          ++spreads;
        EXPECT_EQ(spreads, 3 * with_runs) << file;  // a whisker and its two caps
      }
  }
}

// Colour of a bar/series/point: its fill, or the fill of the hatch pattern it points at.
std::string colour_of(const std::string& svg, const std::string& fill) {
  std::smatch m;
  if (fill.rfind("url(#", 0) != 0) return fill;
  const std::string id = fill.substr(5, fill.size() - 6);
  EXPECT_TRUE(
      std::regex_search(svg, m,
                        std::regex("<pattern id=\"" + id +
                                   "\"[^>]*>(<rect[^>]*fill=\"([^\"]*)\"|<rect[^>]*/><circle[^>]*fill=\"([^\"]*)\")")))
      << id;
  return m[2].matched ? std::string(m[2]) : std::string(m[3]);
}

TEST_F(ChartLayoutTest, EachBackendFamilyHasOneColourOnEveryChart) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_);
  // Family of a label, from the report: the names the charts use.
  auto family = [&](const std::string& label) {
    for (const VariantResult& r : full.results)
      if (backend_label(r) == label) {
        if (r.gpus > 1) return std::string("multi-gpu");
        if (r.ranks > 1) return std::string("mpi");
        if (r.is_baseline) return std::string("serial");
        return to_string(r.backend_kind);
      }
    return std::string("?");
  };
  std::map<std::string, std::set<std::string>> colours;  // family -> colours seen
  auto see = [&](const std::string& label, const std::string& colour) { colours[family(label)].insert(colour); };
  for (const Chart& c : speedup_charts(full)) {
    const std::regex bar_re("<rect class=\"bar\"([^>]*)>");
    for (auto it = std::sregex_iterator(c.svg.begin(), c.svg.end(), bar_re); it != std::sregex_iterator(); ++it)
      see(unescape(attr((*it)[1], "data-backend")), colour_of(c.svg, attr((*it)[1], "fill")));
  }
  for (const Chart& c : scaling_charts(full)) {
    const std::regex series_re("<polyline class=\"series\"([^>]*)>");
    for (auto it = std::sregex_iterator(c.svg.begin(), c.svg.end(), series_re); it != std::sregex_iterator(); ++it)
      see(unescape(attr((*it)[1], "data-series")), attr((*it)[1], "stroke"));
  }
  for (const Chart& c : comparison_charts({full, fakes::full_run_report(rng_, "other")})) {
    const std::regex bar_re("<rect class=\"bar\"([^>]*)>");
    for (auto it = std::sregex_iterator(c.svg.begin(), c.svg.end(), bar_re); it != std::sregex_iterator(); ++it)
      see(unescape(attr((*it)[1], "data-backend")), colour_of(c.svg, attr((*it)[1], "fill")));
  }
  EXPECT_EQ(colours.size(), 7u);  // serial, openmp (cpu), cpu_library, mpi, gpu, gpu_library, multi-gpu
  std::set<std::string> all;
  for (const auto& [f, seen] : colours) {
    EXPECT_EQ(seen.size(), 1u) << f << " drawn in " << seen.size() << " colours";
    all.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(all.size(), colours.size()) << "two families share a colour";
}

TEST_F(ChartLayoutTest, NoRoofLiesBelowAMeasuredPointAndTheLegendSaysWhichPeakWasUsed) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport full = fakes::full_run_report(rng_);
  const std::vector<Chart> charts = roofline_charts(full);
  ASSERT_FALSE(charts.empty());
  std::size_t held = 0, above_measured_peak = 0;
  for (const Chart& c : charts) {
    struct DrawnRoof {
      std::string unit, source;
      double gflops, gbps;
    };
    std::vector<DrawnRoof> roofs;
    const std::regex roof_re("<polyline class=\"roof\"([^>]*)>");
    for (auto it = std::sregex_iterator(c.svg.begin(), c.svg.end(), roof_re); it != std::sregex_iterator(); ++it)
      roofs.push_back({unescape(attr((*it)[1], "data-unit")), attr((*it)[1], "data-source"),
                       num((*it)[1], "data-gflops"), num((*it)[1], "data-gbps")});
    for (const VariantResult& r : full.results) {
      if (!r.ok() || !(r.gflops > 0) || !(r.intensity > 0) ||
          "roofline_" + to_string(r.precision) + ".svg" != c.file_name)
        continue;
      const std::optional<Roof> measured = roof_for(r, *full.machine.peaks);
      if (!measured) continue;
      ++held;
      above_measured_peak += r.gflops > measured->bound_gflops(r.intensity);
      bool found = false;
      for (const DrawnRoof& d : roofs)
        if (d.unit == measured->unit && d.source == measured->bandwidth_source) {
          found = true;
          EXPECT_GE(std::min(d.gflops, d.gbps * r.intensity) * (1 + 1e-6), r.gflops) << r.name();
        }
      EXPECT_TRUE(found) << "no roof drawn for " << r.name() << " (" << measured->unit << ")";
    }
    EXPECT_NE(all_text(c.svg).find("(FMA loop)"), std::string::npos);
  }
  EXPECT_GT(held, 0u);
  // The fake peaks lie below the library GEMM: some roofs had to be raised, and say so.
  EXPECT_GT(above_measured_peak, 0u);
  bool says_raised = false;
  for (const Chart& c : charts)
    says_raised = says_raised || all_text(c.svg).find("raised to a result above it") != std::string::npos;
  EXPECT_TRUE(says_raised);
}

// The real runs committed under docs/results/ (H100, H200, the 2-core machine): every chart of
// each keeps its layout too.
TEST_F(ChartLayoutTest, EveryChartOfTheCommittedRealRunsKeepsItsLayout) {
  std::size_t reports = 0, charts_checked = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(MLBENCH_SOURCE_DIR) / "docs" / "results")) {
    if (entry.path().extension() != ".json") continue;
    RunReport report;
    try {
      report = read_report(entry.path().string());
    } catch (const std::exception&) {
      continue;  // not a run report (e.g. a fleet or compare file)
    }
    ++reports;
    std::vector<Chart> charts = speedup_charts(report);
    for (const std::vector<Chart>& more : {scaling_charts(report), roofline_charts(report)})
      charts.insert(charts.end(), more.begin(), more.end());
    for (const Chart& c : charts) {
      ++charts_checked;
      const std::vector<std::string> problems = layout_problems(c.svg);
      EXPECT_TRUE(problems.empty()) << entry.path().filename() << " " << c.file_name << ":\n" << join(problems);
    }
  }
  EXPECT_GT(reports, 0u);
  EXPECT_GT(charts_checked, 0u);
}

}  // namespace
}  // namespace mlbench::reports
