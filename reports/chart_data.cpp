#include "reports/chart_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "bench/analyze.h"

namespace mlbench::reports {
namespace {

namespace cs = chart_style;

// Chart rows in a fixed order: families in legend order, then backends in order of first
// appearance, a backend's kernel row right above its end-to-end row.
std::vector<const VariantResult*> chart_order(std::vector<const VariantResult*> results) {
  std::map<std::string, std::size_t> first;
  for (const VariantResult* r : results) first.emplace(backend_name(*r), first.size());
  std::stable_sort(results.begin(), results.end(), [&](const VariantResult* a, const VariantResult* b) {
    auto key = [&](const VariantResult* r) {
      return std::tuple(static_cast<int>(cs::family_of(*r)), first[backend_name(*r)], static_cast<int>(r->timing));
    };
    return key(a) < key(b);
  });
  return results;
}

// The best CPU backend a group's speedups are measured against, "" when none verified.
std::string best_cpu_backend(const ShapeGroup& group) {
  for (const VariantResult* r : group.results)
    if (r->ok() && r->speedup_vs_best_cpu > 0 && r->stats.median_s > 0) return r->best_cpu_backend;
  return "";
}

// What stands next to a bar whose result is flagged: "⚠ cv 12 %" (noisy) and/or
// "throttled: power cap" (the GPU throttled); "" for neither.
std::string bar_warning(const VariantResult& r) {
  std::string text;
  if (r.cv_above_threshold) text = std::string(kNoisyMarker) + " cv " + format_percent(r.stats.cv);
  if (const std::string throttled = throttle_label(r); !throttled.empty())
    text += (text.empty() ? "" : ", ") + throttled;
  return text;
}

bool flagged(const VariantResult& r) { return r.cv_above_threshold || !throttle_label(r).empty(); }

// The line under a chart that explains its warning marks, "" when nothing is marked.
std::string warning_note(const std::vector<const VariantResult*>& results, double cv_threshold,
                         const std::string& mark) {
  bool noisy = false, throttled = false;
  for (const VariantResult* r : results) {
    noisy = noisy || r->cv_above_threshold;
    throttled = throttled || !throttle_label(*r).empty();
  }
  std::string note;
  if (noisy) note = mark + noisy_note(cv_threshold);
  if (throttled)
    note += std::string(note.empty() ? mark : "; ") + "throttled: the GPU slowed its clocks during the run";
  return note;
}

// What a scaling or comparison chart plots: GFLOP/s, or median times in ms when a verified row has
// no rate. `of`: a row's value; `spread`: the lowest and highest of its runs, false when it has none.
struct Unit {
  bool gflops = true;
  double of(const VariantResult& r) const { return gflops ? r.gflops : r.stats.median_s * 1e3; }
  bool spread(const VariantResult& r, double* lo, double* hi) const {
    if (gflops) {
      *lo = r.run_gflops_min;
      *hi = r.run_gflops_max;
      return *lo > 0;
    }
    std::tie(*lo, *hi) = repetition_range(r.stats, [](double t) { return t * 1e3; });
    return *lo > 0;
  }
};

ComparisonChartData comparison_chart_data(const std::string& title_key,
                                          const std::vector<std::pair<std::size_t, const ShapeGroup*>>& present,
                                          const std::vector<RunReport>& machines) {
  ComparisonChartData d;
  Unit unit;
  for (const auto& [m, g] : present)
    for (const VariantResult* r : g->results)
      if (r->ok() && !(r->gflops > 0)) unit.gflops = false;
  d.gflops = unit.gflops;
  std::vector<const VariantResult*> all_results;
  for (const auto& [m, g] : present) all_results.insert(all_results.end(), g->results.begin(), g->results.end());
  for (const VariantResult* r : chart_order(all_results)) {
    const std::string label = backend_label(*r);
    if (std::none_of(d.categories.begin(), d.categories.end(),
                     [&](const ComparisonCategory& c) { return c.label == label; }))
      d.categories.push_back({label, {}});
  }

  d.file_name = "compare_" + slug(title_key) + ".svg";
  d.title = title_key + ": " + (unit.gflops ? "GFLOP/s" : "median time") + " on " + std::to_string(present.size()) +
            " machines";
  std::vector<const MachineContext*> contexts;
  for (const auto& p : present) contexts.push_back(&machines[p.first].machine);
  const std::vector<std::string> names = distinct_machine_names(contexts);
  for (std::size_t i = 0; i < names.size(); ++i) d.subtitle += (i ? " vs " : "") + names[i];
  for (const auto& p : present) d.machines.push_back(machine_label(machines[p.first].machine));
  d.axis_title = unit.gflops ? "GFLOP/s (log scale; higher is better)" : "median time, ms (log scale; lower is better)";

  for (ComparisonCategory& c : d.categories)
    for (const auto& [m, g] : present) {
      ComparisonBar bar;
      const VariantResult* r = nullptr;  // the machine's last row of the category
      for (const VariantResult* candidate : g->results)
        if (backend_label(*candidate) == c.label) r = candidate;
      if (!r) {
        bar.text = "not run";
      } else if (!r->ok() || !(unit.of(*r) > 0)) {
        bar.kind = ComparisonBar::Kind::failed;
        bar.text = status_mark(*r);
      } else {
        bar.kind = ComparisonBar::Kind::value;
        bar.family = cs::family_of(*r);
        d.families.insert(bar.family);
        bar.value = bar.lo = bar.hi = unit.of(*r);
        double a = 0, b = 0;
        if (unit.spread(*r, &a, &b)) {
          bar.spread = d.any_spread = true;
          bar.lo = std::min(a, bar.value);
          bar.hi = std::max(b, bar.value);
        }
        bar.text = format_number(bar.value);
        bar.warning = bar_warning(*r);
      }
      c.bars.push_back(bar);
    }
  // Machines may differ in threshold: the note names none.
  if (std::any_of(all_results.begin(), all_results.end(), [](const VariantResult* r) { return flagged(*r); }))
    d.note = std::string(kNoisyMarker) +
             " cv above the run's --cv-threshold: not to be trusted; throttled: the GPU slowed its clocks during the "
             "run";
  return d;
}

// Where the flat part of a roof comes from.
std::string compute_source(const Roof& roof, const PeakFigures& peaks, Precision precision) {
  if (roof.unit.rfind("cpu", 0) == 0) {
    if (roof.unit == "cpu 1 thread" || !peaks.cpu) return "FMA loop";
    const std::string& source = precision == Precision::fp64 ? peaks.cpu->fp64_source : peaks.cpu->fp32_source;
    return source == "openblas gemm" ? "OpenBLAS GEMM (above the FMA loop)" : "FMA loop";
  }
  if (roof.unit.find("tf32") != std::string::npos) return "cuBLAS TF32 GEMM";
  return "FMA loop";
}

// The roofs of the precision, plus every roof a point is held against (reductions use the read
// bandwidth), each raised to the points held against it: a roof is a lower bound of what the
// hardware can do, so a result above it proves the peak measurement fell short.
std::vector<RooflineRoof> drawn_roofs(const PeakFigures& peaks, Precision precision,
                                      const std::vector<const VariantResult*>& points) {
  std::vector<RooflineRoof> roofs;
  auto find_or_add = [&](const Roof& roof) -> RooflineRoof& {
    for (RooflineRoof& d : roofs)
      if (d.roof.unit + "/" + d.roof.bandwidth_source == roof.unit + "/" + roof.bandwidth_source) return d;
    roofs.push_back({roof, roof.compute_gflops, roof.bandwidth_gbps, compute_source(roof, peaks, precision), "", ""});
    return roofs.back();
  };
  for (const Roof& roof : roofs_for_precision(peaks, precision)) find_or_add(roof);
  for (const VariantResult* r : points) {
    std::optional<Roof> held = roof_for(*r, peaks);
    if (!held) continue;
    RooflineRoof& d = find_or_add(*held);
    d.roof.compute_gflops = std::max(d.roof.compute_gflops, r->gflops);
    if (r->intensity > 0) d.roof.bandwidth_gbps = std::max(d.roof.bandwidth_gbps, r->gflops / r->intensity);
  }
  for (RooflineRoof& d : roofs) {
    d.legend = fmt::format("{}: {} GFLOP/s ({}), {} GB/s {}", d.roof.unit, format_number(d.roof.compute_gflops),
                           d.compute_source, format_number(d.roof.bandwidth_gbps), d.roof.bandwidth_source);
    std::string raised;
    if (d.roof.compute_gflops > d.measured_compute * (1 + 1e-9))
      raised = "peak measured " + format_number(d.measured_compute) + " GFLOP/s";
    if (d.roof.bandwidth_gbps > d.measured_bandwidth * (1 + 1e-9))
      raised += (raised.empty() ? "" : ", ") + std::string("bandwidth measured ") +
                format_number(d.measured_bandwidth) + " GB/s";
    if (!raised.empty()) d.legend += "; raised to a result above it (" + raised + ")";
    d.label = d.roof.unit + (d.roof.bandwidth_source == "read" ? " (read)" : "");
  }
  return roofs;
}

RooflineChartData roofline_chart_data(const RunReport& report, Precision precision,
                                      const std::vector<const VariantResult*>& points) {
  const MachineContext& machine = report.machine;
  RooflineChartData d;
  d.file_name = "roofline_" + to_string(precision) + ".svg";
  d.title = "Roofline, " + to_string(precision) + ", " +
            (machine.hostname.empty() ? std::string("unknown host") : machine.hostname) +
            ": GFLOP/s vs arithmetic intensity";
  d.subtitle = machine_label(machine);
  d.x_title = "arithmetic intensity, FLOP/byte (minimum bytes; log scale)";
  d.y_title = "GFLOP/s (log scale)";
  d.roofs = drawn_roofs(*machine.peaks, precision, points);
  // One series per backend + timing, in order of first appearance.
  std::map<std::string, std::size_t> series_index;
  for (const VariantResult* r : points) {
    const std::string label = backend_label(*r);
    if (series_index.emplace(label, d.series.size()).second)
      d.series.push_back({label, cs::family_of(*r), r->timing == TimingMode::end_to_end});
    d.points.push_back({r->intensity, r->gflops, series_index[label], cs::family_of(*r),
                        r->timing == TimingMode::end_to_end, flagged(*r)});
  }
  if (std::any_of(points.begin(), points.end(), [](const VariantResult* r) { return flagged(*r); }))
    d.note = "Dashed orange ring: " + noisy_note(report.run.cv_threshold) + "; or the GPU throttled during the run";
  return d;
}

}  // namespace

SpeedupChartData speedup_chart_data(const ShapeGroup& group, const MachineContext& machine, double cv_threshold) {
  SpeedupChartData d;
  d.best_cpu = best_cpu_backend(group);
  // The row speedup_vs_serial divides by (is_baseline): named in a "vs" note beside each bar,
  // unless it is the best CPU backend the bars are already measured against.
  std::string serial_baseline;
  for (const VariantResult* r : group.results)
    if (r->is_baseline) serial_baseline = r->backend;
  const std::vector<const VariantResult*> rows = chart_order(group.results);
  d.file_name = "speedup_" + slug(group.title()) + ".svg";
  d.title = group.title() + ": speedup vs the best CPU backend";
  d.subtitle = machine_label(machine);
  d.reference = "best CPU: " + d.best_cpu + " = 1x";
  d.axis_title = "speedup vs " + d.best_cpu + " (log scale): right of 1x faster, left slower";
  d.note = warning_note(rows, cv_threshold, std::string(kNoisyMarker) + " ");
  for (const VariantResult* r : rows) {
    SpeedupRow row;
    row.label = backend_label(*r);
    row.backend = backend_name(*r);
    row.family = cs::family_of(*r);
    row.end_to_end = r->timing == TimingMode::end_to_end;
    if (r->ok() && r->speedup_vs_best_cpu > 0) {
      d.families.insert(row.family);
      row.bar = true;
      row.value = row.lo = row.hi = r->speedup_vs_best_cpu;
      if (r->run_speedup_vs_best_cpu_min > 0) {
        row.spread = d.any_spread = true;
        row.lo = std::min(r->run_speedup_vs_best_cpu_min, row.value);
        row.hi = std::max(r->run_speedup_vs_best_cpu_max, row.value);
      }
      row.factor = format_factor(row.value);
      if (r->speedup_vs_serial > 0 && !r->is_baseline && !serial_baseline.empty() && d.best_cpu != serial_baseline)
        row.vs_serial = "(" + format_factor(r->speedup_vs_serial) + " vs " + serial_baseline + ")";
      row.warning = bar_warning(*r);
      d.any_end_to_end = d.any_end_to_end || row.end_to_end;
    } else if (r->ok()) {
      row.message = "no verified CPU result to compare with";
    } else {
      row.failed = true;
      row.message = verification_label(*r);
    }
    d.rows.push_back(row);
  }
  return d;
}

std::vector<SpeedupChartData> speedup_chart_data(const RunReport& report) {
  std::vector<SpeedupChartData> charts;
  for (const ShapeGroup& group : group_by_shape(report.results)) {
    bool any = std::any_of(group.results.begin(), group.results.end(),
                           [](const VariantResult* r) { return r->ok() && r->speedup_vs_best_cpu > 0; });
    if (any) charts.push_back(speedup_chart_data(group, report.machine, report.run.cv_threshold));
  }
  return charts;
}

ScalingChartData scaling_chart_data(const Sweep& sweep, const MachineContext& machine, double cv_threshold) {
  ScalingChartData d;
  Unit unit;
  unit.gflops = std::all_of(sweep.results.begin(), sweep.results.end(),
                            [](const VariantResult* r) { return !r->ok() || r->gflops > 0; });
  d.gflops = unit.gflops;
  // One line per backend+timing of the verified rows with a value, points by size; lines in chart order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const VariantResult*>> lines;
  for (const VariantResult* r : chart_order(sweep.results)) {
    if (!r->ok() || !(unit.of(*r) > 0)) continue;
    std::string key = backend_label(*r);
    if (!lines.count(key)) order.push_back(key);
    lines[key].push_back(r);
  }
  for (auto& [k, pts] : lines) std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->size < b->size; });
  for (const std::string& key : order) {
    const VariantResult& first = *lines[key].front();
    ScalingSeries s{key, backend_name(first), cs::family_of(first), first.timing == TimingMode::end_to_end, {}};
    for (const VariantResult* r : lines[key]) {
      ScalingPoint p;
      p.size = r->size;
      p.value = unit.of(*r);
      p.spread = unit.spread(*r, &p.lo, &p.hi);
      p.flagged = flagged(*r);
      d.any_spread = d.any_spread || p.spread;
      s.points.push_back(p);
    }
    d.any_end_to_end = d.any_end_to_end || s.end_to_end;
    d.series.push_back(s);
  }

  const std::vector<BreakEven> crossings = break_even(sweep);
  for (const BreakEven& b : crossings) d.break_even_notes.push_back("Break-even: " + describe(b));
  d.warning_note = warning_note(sweep.results, cv_threshold, "Dashed orange ring: ");
  // One line per size where GPU backends break even, one label naming them.
  std::map<std::int64_t, std::vector<std::string>> at_size;
  for (const BreakEven& b : crossings)
    if (b.size) at_size[*b.size].push_back(b.gpu_backend);
  for (const auto& [size, backends] : at_size) {
    std::string who;
    for (std::size_t i = 0; i < backends.size(); ++i) who += (i ? ", " : "") + backends[i];
    d.break_evens.push_back(
        {size, who + (backends.size() > 1 ? " break even at " : " breaks even at ") + std::to_string(size)});
  }

  d.file_name = "scaling_" + slug(sweep.title()) + ".svg";
  d.title = sweep.title() + ": " + (unit.gflops ? "GFLOP/s" : "time") + " vs size";
  d.subtitle = machine_label(machine);
  d.x_title = "size (--size, log scale)";
  d.y_title = unit.gflops ? "GFLOP/s (log scale)" : "median time, ms (log scale)";
  d.sizes = sweep.sizes;
  return d;
}

std::vector<ScalingChartData> scaling_chart_data(const RunReport& report) {
  std::vector<ScalingChartData> charts;
  for (const Sweep& sweep : group_sweeps(report.results))
    if (sweep.sizes.size() >= 2) charts.push_back(scaling_chart_data(sweep, report.machine, report.run.cv_threshold));
  return charts;
}

std::vector<ComparisonChartData> comparison_chart_data(const std::vector<RunReport>& machines) {
  // Shape groups of every machine, keyed by title, in order of first appearance.
  std::vector<std::vector<ShapeGroup>> groups;
  for (const RunReport& m : machines) groups.push_back(group_by_shape(m.results));
  std::vector<std::string> titles;
  std::map<std::string, std::vector<std::pair<std::size_t, const ShapeGroup*>>> present;
  for (std::size_t m = 0; m < groups.size(); ++m)
    for (const ShapeGroup& g : groups[m]) {
      if (!present.count(g.title())) titles.push_back(g.title());
      present[g.title()].emplace_back(m, &g);
    }
  std::vector<ComparisonChartData> charts;
  for (const std::string& t : titles)
    if (present[t].size() >= 2) charts.push_back(comparison_chart_data(t, present[t], machines));
  return charts;
}

std::vector<RooflineChartData> roofline_chart_data(const RunReport& report) {
  std::vector<RooflineChartData> charts;
  if (!report.machine.peaks) return charts;
  for (Precision precision : all_precisions()) {
    std::vector<const VariantResult*> points;
    for (const VariantResult& r : report.results)
      if (r.precision == precision && r.ok() && r.gflops > 0 && r.intensity > 0) points.push_back(&r);
    if (points.empty()) continue;
    charts.push_back(roofline_chart_data(report, precision, points));
  }
  return charts;
}

}  // namespace mlbench::reports
