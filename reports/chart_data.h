// What each chart shows, chosen from the results: its rows or series, their values and
// spreads, labels, units, roofs and notes. No SVG and no pixels here: charts.cpp and
// roofline_chart.cpp draw these structs.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "bench/result.h"
#include "bench/roofline.h"
#include "reports/chart_style.h"
#include "reports/sweep.h"
#include "reports/text_format.h"

namespace mlbench::reports {

// ---- speedup chart: one row per result of a shape group, a bar where it has a verified speedup ----
struct SpeedupRow {
  std::string label;    // backend_label: the row's name
  std::string backend;  // backend_name: the rows of one backend stand together
  chart_style::Family family = chart_style::Family::serial;
  bool end_to_end = false;
  bool bar = false;  // a verified speedup; else `message` stands in its place
  double value = 1;  // speedup vs the best CPU backend (1 without a bar)
  bool spread = false;
  double lo = 1, hi = 1;  // the runs' smallest and largest speedup, `value` included (value without spread)
  std::string factor;     // "15.2x"
  std::string vs_serial;  // "(1153x vs serial)"; "" for the baseline or when the best CPU is serial
  std::string warning;    // "⚠ cv 12 %", "throttled: power cap", both, or ""
  bool failed = false;    // the row is not ok: `message` is its verification label
  std::string message;    // without a bar: the failure, or "no verified CPU result to compare with"
};
struct SpeedupChartData {
  std::string file_name, title, subtitle;
  std::string best_cpu;   // the backend of the 1x line
  std::string reference;  // "best CPU: openblas = 1x"
  std::string axis_title;
  std::vector<SpeedupRow> rows;                     // families in legend order, a kernel row above its end-to-end row
  std::set<chart_style::Family> families;           // of the bars
  bool any_end_to_end = false, any_spread = false;  // among the bars
  std::string note;                                 // what the warning marks mean; "" when nothing is marked
};
SpeedupChartData speedup_chart_data(const ShapeGroup& group, const MachineContext& machine, double cv_threshold);
// One per shape group with at least one verified speedup.
std::vector<SpeedupChartData> speedup_chart_data(const RunReport& report);

// ---- scaling chart: one line per backend+timing over the sizes of a sweep ----
struct ScalingPoint {
  std::int64_t size = 0;
  double value = 0;
  bool spread = false;
  double lo = 0, hi = 0;  // the runs' smallest and largest value (when `spread`)
  bool flagged = false;   // noisy or throttled
};
struct ScalingSeries {
  std::string label;    // backend_label
  std::string backend;  // backend_name (a backend's kernel and end-to-end lines share a marker)
  chart_style::Family family = chart_style::Family::serial;
  bool end_to_end = false;
  std::vector<ScalingPoint> points;  // verified rows with a value, by size
};
struct BreakEvenLine {
  std::int64_t size = 0;
  std::string label;  // "cuda breaks even at 512", "cuda, cublas break even at 512"
};
struct ScalingChartData {
  std::string file_name, title, subtitle;
  bool gflops = true;  // y: GFLOP/s; false: median time in ms (some verified row has no rate)
  std::string x_title, y_title;
  std::vector<std::int64_t> sizes;
  std::vector<ScalingSeries> series;          // chart order
  std::vector<BreakEvenLine> break_evens;     // by size
  std::vector<std::string> break_even_notes;  // "Break-even: ...", one per GPU backend
  std::string warning_note;                   // "" when nothing is marked
  bool any_end_to_end = false, any_spread = false;
};
ScalingChartData scaling_chart_data(const Sweep& sweep, const MachineContext& machine, double cv_threshold);
// One per sweep over two sizes or more.
std::vector<ScalingChartData> scaling_chart_data(const RunReport& report);

// ---- comparison chart: per backend+timing, one bar per machine ----
struct ComparisonBar {
  enum class Kind { value, not_run, failed } kind = Kind::not_run;
  chart_style::Family family = chart_style::Family::serial;
  double value = 0;
  bool spread = false;
  double lo = 0, hi = 0;  // the runs' smallest and largest value, `value` included
  std::string text;       // the value ("1230"), "not run", or the status mark ("FAILED")
  std::string warning;    // as SpeedupRow's
};
struct ComparisonCategory {
  std::string label;                // backend_label
  std::vector<ComparisonBar> bars;  // one per machine, in the order of `machines`
};
struct ComparisonChartData {
  std::string file_name, title, subtitle;
  bool gflops = true;  // GFLOP/s; false: median time in ms (some verified row has no rate)
  std::string axis_title;
  std::vector<std::string> machines;  // machine_label of each machine present
  std::vector<ComparisonCategory> categories;
  std::set<chart_style::Family> families;  // of the bars with a value
  bool any_spread = false;
  std::string note;  // "" when nothing is marked
};
// One per shape group present on two machines or more; `machines`: one report per machine.
std::vector<ComparisonChartData> comparison_chart_data(const std::vector<RunReport>& machines);

// ---- roofline chart: per precision, the roofs of the measured peaks and the verified points ----
struct RooflineRoof {
  Roof roof;  // as drawn: raised to any verified point above it
  double measured_compute = 0, measured_bandwidth = 0;
  std::string compute_source;  // the peak measurement of the flat part: "FMA loop", "cuBLAS TF32 GEMM"...
  std::string legend;  // "cpu 8 threads: 1230 GFLOP/s (FMA loop), 80.1 GB/s triad", "; raised to ..." when raised
  std::string label;   // beside its flat part: the unit, "(read)" for a read-bandwidth roof
};
struct RooflineSeries {
  std::string label;  // backend_label
  chart_style::Family family = chart_style::Family::serial;
  bool end_to_end = false;  // of its first point
};
struct RooflinePoint {
  double intensity = 0, gflops = 0;
  std::size_t series = 0;
  chart_style::Family family = chart_style::Family::serial;
  bool end_to_end = false, flagged = false;
};
struct RooflineChartData {
  std::string file_name, title, subtitle;
  std::string x_title, y_title;
  std::vector<RooflineRoof> roofs;
  std::vector<RooflineSeries> series;  // in order of first appearance
  std::vector<RooflinePoint> points;   // verified rows with a rate and an intensity, in report order
  std::string note;                    // "" when nothing is marked
};
// One per precision with a point, when the machine context carries peaks.
std::vector<RooflineChartData> roofline_chart_data(const RunReport& report);

}  // namespace mlbench::reports
