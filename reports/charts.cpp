#include "reports/charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "reports/atomic_file.h"
#include "reports/sweep.h"
#include "reports/svg.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

constexpr double kTitleSize = 16, kLabelSize = 12, kSmallSize = 11;

// Fill per (backend kind, timing). Lightness differs between every pair so the chart still
// reads in grayscale; end-to-end bars are additionally hatched.
struct BarStyle {
  int order;
  std::string fill, stroke;
  bool hatched;
  std::string legend;
};

BarStyle bar_style(BackendKind kind, TimingMode timing) {
  const bool e2e = timing == TimingMode::end_to_end;
  switch (kind) {
    case BackendKind::cpu: return {0, "#c6dbef", "#08519c", false, "CPU, mlbench code"};
    case BackendKind::cpu_library: return {1, "#2171b5", "#08306b", false, "CPU library"};
    case BackendKind::gpu:
      return e2e ? BarStyle{4, "#fdd0a2", "#a63603", true, "GPU, mlbench code, end to end (with transfers)"}
                 : BarStyle{2, "#fd8d3c", "#a63603", false, "GPU, mlbench code, kernel only"};
    case BackendKind::gpu_library:
      return e2e ? BarStyle{5, "#e6550d", "#3f1500", true, "GPU library, end to end (with transfers)"}
                 : BarStyle{3, "#7f2704", "#3f1500", false, "GPU library, kernel only"};
  }
  return {0, "#c6dbef", "#08519c", false, "CPU"};
}

// A hatch pattern over `fill`, named `id`.
std::string hatch_pattern(const std::string& id, const std::string& fill, const std::string& lines) {
  return fmt::format(
      "<pattern id=\"{}\" patternUnits=\"userSpaceOnUse\" width=\"7\" height=\"7\" patternTransform=\"rotate(45)\">"
      "<rect width=\"7\" height=\"7\" fill=\"{}\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"7\" stroke=\"{}\" stroke-width=\"2.5\"/></pattern>",
      id, fill, lines);
}

// Title and subtitle; returns the y below them.
double draw_title(svg::Document& doc, double width, const std::string& title, const std::string& subtitle) {
  doc.text(width / 2, 28, title, kTitleSize, "middle", "title", "font-weight=\"bold\"");
  doc.text(width / 2, 48, subtitle, kLabelSize, "middle", "subtitle", "fill=\"#444\"");
  return 60;
}

struct LegendItem {
  std::string label;
  std::string fill;  // swatch fill (may be url(#...))
  std::string stroke;
};

// Horizontal legend wrapping over lines; returns the y below it.
double draw_legend_rows(svg::Document& doc, const std::vector<LegendItem>& items, double x0, double x1, double y) {
  double x = x0;
  y += 14;
  for (const LegendItem& item : items) {
    double w = 22 + svg::text_width(item.label, kSmallSize) + 18;
    if (x > x0 && x + w > x1) {
      x = x0;
      y += 20;
    }
    doc.rect(x, y - 11, 14, 14, item.fill, item.stroke, "legend-swatch");
    doc.text(x + 20, y, item.label, kSmallSize, "start", "legend");
    x += w;
  }
  return y + 10;
}

std::string subtitle_for(const MachineContext& m) { return machine_label(m); }

// What stands next to a bar whose result is flagged: "⚠ cv 12 %" (noisy) and/or
// "throttled: power cap" (the GPU throttled); "" for neither.
std::string bar_warning(const VariantResult& r) {
  std::string text;
  if (r.cv_above_threshold) text = std::string(kNoisyMarker) + " cv " + format_percent(r.stats.cv);
  if (const std::string throttled = throttle_label(r); !throttled.empty()) text += (text.empty() ? "" : ", ") + throttled;
  return text;
}

// A dashed ring around a plotted point whose result is flagged (noisy or throttled).
void mark_point(svg::Document& doc, double x, double y) {
  doc.raw(fmt::format("<circle class=\"noisy-marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"9\" fill=\"none\" "
                      "stroke=\"#d95f02\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>",
                      x, y));
}

bool flagged(const VariantResult& r) { return r.cv_above_threshold || !throttle_label(r).empty(); }

// The line under a chart that explains its warning marks, "" when nothing is marked.
std::string warning_note(const std::vector<const VariantResult*>& results, double cv_threshold, const std::string& mark) {
  bool noisy = false, throttled = false;
  for (const VariantResult* r : results) {
    noisy = noisy || r->cv_above_threshold;
    throttled = throttled || !throttle_label(*r).empty();
  }
  std::string note;
  if (noisy) note = mark + noisy_note(cv_threshold);
  if (throttled) note += std::string(note.empty() ? mark : "; ") + "throttled: the GPU slowed its clocks during the run";
  return note;
}

double positive_min(const std::vector<double>& v) {
  double m = INFINITY;
  for (double x : v) if (x > 0) m = std::min(m, x);
  return m;
}

Chart speedup_chart(const ShapeGroup& group, const MachineContext& machine, double cv_threshold) {
  std::vector<double> values;
  for (const VariantResult* r : group.results)
    if (r->ok() && r->speedup_vs_serial > 0) values.push_back(r->speedup_vs_serial);
  const std::string title = group.title() + ": speedup vs serial";
  const std::string note = warning_note(group.results, cv_threshold, std::string(kNoisyMarker) + " ");
  double label_w = 0;
  for (const VariantResult* r : group.results) label_w = std::max(label_w, svg::text_width(backend_label(*r), kLabelSize));
  const double width = std::max({960.0, svg::text_width(title, kTitleSize) + 60, svg::text_width(note, kSmallSize) + 48});
  const double plot_x0 = 24 + label_w + 12, plot_x1 = width - 30;

  // Legend: one entry per style present, in a fixed order.
  std::map<int, BarStyle> styles;
  for (const VariantResult* r : group.results) {
    BarStyle s = bar_style(r->backend_kind, r->timing);
    styles.emplace(s.order, s);
  }
  svg::Document probe(0, 0);
  std::vector<LegendItem> legend;
  std::vector<std::string> defs;
  for (const auto& [order, s] : styles) {
    std::string fill = s.fill;
    if (s.hatched) {
      std::string id = fmt::format("hatch{}", order);
      defs.push_back(hatch_pattern(id, s.fill, s.stroke));
      fill = "url(#" + id + ")";
    }
    legend.push_back({s.legend, fill, s.stroke});
  }

  const double row_h = 30, bar_h = 18;
  // Lay out once to learn the legend height, then draw for real.
  double legend_bottom = draw_legend_rows(probe, legend, 24, width - 24, 60);
  const double plot_top = legend_bottom + 22;
  const double plot_bottom = plot_top + row_h * static_cast<double>(group.results.size());
  const double height = plot_bottom + 60 + (note.empty() ? 0 : 18);
  svg::Document doc(width, height);
  for (const std::string& d : defs) doc.defs(d);
  draw_title(doc, width, title, subtitle_for(machine));
  if (!note.empty()) doc.text(24, plot_bottom + 62, note, kSmallSize, "start", "noisy-note", "fill=\"#a04000\"");
  draw_legend_rows(doc, legend, 24, width - 24, 60);

  // Below the smallest bar, so that even the serial bar (1x) has a visible length.
  double lo = values.empty() ? 0.5 : std::min(1.0, positive_min(values)) / 2;
  double hi = values.empty() ? 10 : std::max(1.0, *std::max_element(values.begin(), values.end())) * 2.5;
  svg::LogAxis axis = svg::LogAxis::covering(lo, hi, plot_x0, plot_x1);
  for (double t : axis.ticks()) {
    double x = axis.map(t);
    doc.line(x, plot_top, x, plot_bottom, "#dddddd", 1);
    doc.line(x, plot_bottom, x, plot_bottom + 5, "#333", 1);
    doc.text(x, plot_bottom + 18, svg::tick_label(t) + "x", kSmallSize, "middle", "tick");
  }
  doc.line(plot_x0, plot_bottom, plot_x1, plot_bottom, "#333", 1);
  doc.line(plot_x0, plot_top, plot_x0, plot_bottom, "#333", 1);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 40, "speedup vs serial (log scale; higher is better)", kLabelSize,
           "middle", "axis-title");

  // Serial reference, under the bars and messages.
  double x1 = axis.map(1);
  doc.line(x1, plot_top - 4, x1, plot_bottom, "#000", 1.5, "5,3", "reference");
  doc.text(x1, plot_top - 8, "serial = 1x", kSmallSize, "middle", "reference-label");
  for (std::size_t i = 0; i < group.results.size(); ++i) {
    const VariantResult& r = *group.results[i];
    double y = plot_top + row_h * static_cast<double>(i) + (row_h - bar_h) / 2;
    doc.text(plot_x0 - 8, y + bar_h / 2 + 4, backend_label(r), kLabelSize, "end", "row-label");
    if (!r.ok()) {
      doc.rect(plot_x0 + 4, y, svg::text_width(verification_label(r), kLabelSize) * 1.05 + 8, bar_h, "#ffffff");
      doc.text(plot_x0 + 8, y + bar_h / 2 + 4, verification_label(r),
               kLabelSize, "start", "failed", "fill=\"#b00000\" font-weight=\"bold\"");
      continue;
    }
    if (!(r.speedup_vs_serial > 0)) {
      doc.text(plot_x0 + 8, y + bar_h / 2 + 4, "no serial baseline", kLabelSize, "start", "no-value", "fill=\"#666\"");
      continue;
    }
    BarStyle s = bar_style(r.backend_kind, r.timing);
    std::string fill = s.hatched ? fmt::format("url(#hatch{})", s.order) : s.fill;
    double x_end = axis.map(r.speedup_vs_serial);
    doc.rect(plot_x0, y, x_end - plot_x0, bar_h, fill, s.stroke, "bar",
             "data-backend=\"" + svg::escape(backend_label(r)) + "\"");
    doc.text(x_end + 5, y + bar_h / 2 + 4, format_factor(r.speedup_vs_serial), kLabelSize, "start", "bar-label",
             "font-weight=\"bold\"");
    if (const std::string warning = bar_warning(r); !warning.empty())
      doc.text(x_end + 5 + svg::text_width(format_factor(r.speedup_vs_serial), kLabelSize) + 8, y + bar_h / 2 + 4, warning,
               kSmallSize, "start", "noisy-marker", "fill=\"#a04000\" font-weight=\"bold\"");
  }
  return {"speedup_" + slug(group.title()) + ".svg", title, doc.str()};
}

// Distinct line colours, alternating dark and light so that neighbours differ in grayscale.
const std::vector<std::string>& line_palette() {
  static const std::vector<std::string> p = {"#08306b", "#fd8d3c", "#238b45", "#9e9ac8", "#a50f15",
                                             "#6baed6", "#54278f", "#fdd835", "#000000", "#a1d99b"};
  return p;
}

Chart scaling_chart(const Sweep& sweep, const MachineContext& machine, double cv_threshold) {
  const bool use_gflops = std::all_of(sweep.results.begin(), sweep.results.end(),
                                      [](const VariantResult* r) { return !r->ok() || r->gflops > 0; });
  auto value_of = [&](const VariantResult& r) { return use_gflops ? r.gflops : r.stats.median_s * 1e3; };
  // One line per backend+timing, points ordered by size.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const VariantResult*>> lines;
  for (const VariantResult* r : sweep.results) {
    if (!r->ok() || !(value_of(*r) > 0)) continue;
    std::string key = backend_label(*r);
    if (!lines.count(key)) order.push_back(key);
    lines[key].push_back(r);
  }
  for (auto& [k, pts] : lines)
    std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->size < b->size; });

  const std::vector<BreakEven> crossings = break_even(sweep);
  std::vector<std::string> notes;
  for (const BreakEven& b : crossings) notes.push_back("Break-even: " + describe(b));
  if (std::string w = warning_note(sweep.results, cv_threshold, "Dashed orange ring: "); !w.empty()) notes.push_back(w);

  const std::string title = sweep.title() + ": " + (use_gflops ? "GFLOP/s" : "time") + " vs size";
  double legend_w = 0;
  const std::string dash_note = "dashed: end to end (with transfers)";
  bool any_dashed = false;
  for (const auto& [k, pts] : lines) any_dashed = any_dashed || pts.front()->timing == TimingMode::end_to_end;
  for (const std::string& k : order) legend_w = std::max(legend_w, svg::text_width(k, kSmallSize) + 38);
  if (any_dashed) legend_w = std::max(legend_w, svg::text_width(dash_note, 10));
  legend_w += 24;
  double notes_w = 0;
  for (const std::string& n : notes) notes_w = std::max(notes_w, svg::text_width(n, kSmallSize));
  const double width = std::max({960.0, svg::text_width(title, kTitleSize) + 60, notes_w + 120});
  const double plot_x0 = 80, plot_x1 = width - legend_w - 24;
  const double plot_top = 80;
  const double plot_bottom = plot_top + 380;
  const double height = plot_bottom + 62 + 16 * static_cast<double>(notes.size());

  svg::Document doc(width, height);
  draw_title(doc, width, title, subtitle_for(machine));

  std::vector<double> ys;
  for (const auto& [k, pts] : lines)
    for (const VariantResult* r : pts) ys.push_back(value_of(*r));
  double y_lo = ys.empty() ? 1 : positive_min(ys), y_hi = ys.empty() ? 10 : *std::max_element(ys.begin(), ys.end());
  svg::LogAxis y_axis = svg::LogAxis::covering(y_lo, y_hi, plot_bottom, plot_top);
  // x: measured sizes with a margin, not whole decades (sizes are usually powers of two).
  double s_lo = static_cast<double>(sweep.sizes.front()), s_hi = static_cast<double>(sweep.sizes.back());
  double span = std::max(std::log10(s_hi) - std::log10(s_lo), 0.3);
  svg::LogAxis x_axis;
  x_axis.lo_exp = std::log10(s_lo) - 0.06 * span;
  x_axis.hi_exp = std::log10(s_hi) + 0.06 * span;
  x_axis.from = plot_x0;
  x_axis.to = plot_x1;

  for (double t : y_axis.ticks()) {
    double y = y_axis.map(t);
    doc.line(plot_x0, y, plot_x1, y, "#dddddd", 1);
    doc.text(plot_x0 - 8, y + 4, svg::tick_label(t), kSmallSize, "end", "tick");
  }
  double last_label_end = -INFINITY;
  for (std::int64_t size : sweep.sizes) {
    double x = x_axis.map(static_cast<double>(size));
    doc.line(x, plot_top, x, plot_bottom, "#eeeeee", 1);
    doc.line(x, plot_bottom, x, plot_bottom + 5, "#333", 1);
    std::string label = std::to_string(size);
    double w = svg::text_width(label, kSmallSize);
    if (x - w / 2 > last_label_end + 6) {  // skip labels that would touch the previous one
      doc.text(x, plot_bottom + 18, label, kSmallSize, "middle", "tick");
      last_label_end = x + w / 2;
    }
  }
  doc.line(plot_x0, plot_bottom, plot_x1, plot_bottom, "#333", 1);
  doc.line(plot_x0, plot_top, plot_x0, plot_bottom, "#333", 1);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 40, "size (--size, log scale)", kLabelSize, "middle", "axis-title");
  doc.text(22, (plot_top + plot_bottom) / 2, use_gflops ? "GFLOP/s (log scale)" : "median time, ms (log scale)", kLabelSize,
           "middle", "axis-title", fmt::format("transform=\"rotate(-90 22 {:.1f})\"", (plot_top + plot_bottom) / 2));

  double legend_y = plot_top + 6;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string& key = order[i];
    const auto& pts = lines[key];
    const std::string& colour = line_palette()[i % line_palette().size()];
    const bool dashed = pts.front()->timing == TimingMode::end_to_end;
    // Past the six marker shapes, hollow markers keep lines apart.
    const std::string marker_fill = i < 6 ? colour : "#ffffff";
    std::string points;
    for (const VariantResult* r : pts)
      points += fmt::format("{:.1f},{:.1f} ", x_axis.map(static_cast<double>(r->size)), y_axis.map(value_of(*r)));
    doc.raw(fmt::format("<polyline class=\"series\" data-series=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
                        "stroke-width=\"2.2\"{}/>",
                        svg::escape(key), points, colour, dashed ? " stroke-dasharray=\"7,4\"" : ""));
    for (const VariantResult* r : pts) {
      doc.marker(static_cast<int>(i), x_axis.map(static_cast<double>(r->size)), y_axis.map(value_of(*r)), 4.5, marker_fill, "point");
      if (flagged(*r)) mark_point(doc, x_axis.map(static_cast<double>(r->size)), y_axis.map(value_of(*r)));
    }
    // Legend entry: a short line with its marker.
    double lx = plot_x1 + 24;
    doc.line(lx, legend_y, lx + 30, legend_y, colour, 2.2, dashed ? "7,4" : "", "legend-line");
    doc.marker(static_cast<int>(i), lx + 15, legend_y, 4.5, marker_fill);
    doc.text(lx + 38, legend_y + 4, key, kSmallSize, "start", "legend");
    legend_y += 20;
  }
  if (any_dashed) doc.text(plot_x1 + 24, legend_y + 8, dash_note, 10, "start", "legend-note", "fill=\"#555\"");

  // Break-even marks: a dotted vertical at the size, a ring on the GPU point, a label.
  int label_row = 0;
  for (const BreakEven& b : crossings) {
    if (!b.size) continue;
    double x = x_axis.map(static_cast<double>(*b.size));
    double y_point = plot_bottom;
    for (const VariantResult* r : lines[b.gpu_backend + " (" + timing_label(TimingMode::end_to_end) + ")"])
      if (r->size == *b.size) y_point = y_axis.map(value_of(*r));
    doc.line(x, plot_top, x, plot_bottom, "#000", 1.2, "2,3", "break-even");
    doc.raw(fmt::format("<circle class=\"break-even-point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"9\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\"/>",
                        x, y_point));
    std::string label = b.gpu_backend + " breaks even at " + std::to_string(*b.size);
    double w = svg::text_width(label, kSmallSize);
    double ly = plot_top + 16 + 18 * label_row++;
    bool left = x + 6 + w > plot_x1;
    double lx = left ? x - 6 - w : x + 6;
    doc.rect(lx - 2, ly - 11, w + 4, 15, "#ffffff", "none", "", "fill-opacity=\"0.85\"");
    doc.text(lx, ly, label, kSmallSize, "start", "break-even-label");
  }
  for (std::size_t i = 0; i < notes.size(); ++i)
    doc.text(plot_x0, plot_bottom + 62 + 16 * static_cast<double>(i), notes[i], kSmallSize, "start",
             notes[i].rfind("Break-even", 0) == 0 ? "break-even-note" : "noisy-note");
  return {"scaling_" + slug(sweep.title()) + ".svg", title, doc.str()};
}

struct MachineStyle {
  std::string fill, stroke;
  bool hatched;
};
MachineStyle machine_style(std::size_t i) {
  static const std::vector<MachineStyle> styles = {
      {"#1f4e79", "#0b1f33", false}, {"#f28e2b", "#7a3e00", false}, {"#bcd7ee", "#1f4e79", true},
      {"#59a14f", "#1d4619", false}, {"#fcd9a8", "#7a3e00", true},  {"#7f7f7f", "#222222", false}};
  return styles[i % styles.size()];
}

Chart comparison_chart(const std::string& title_key, const std::vector<std::pair<std::size_t, const ShapeGroup*>>& present,
                       const std::vector<RunReport>& machines) {
  bool use_gflops = true;
  for (const auto& [m, g] : present)
    for (const VariantResult* r : g->results)
      if (r->ok() && !(r->gflops > 0)) use_gflops = false;
  auto value_of = [&](const VariantResult& r) { return use_gflops ? r.gflops : r.stats.median_s * 1e3; };
  std::vector<std::string> categories;
  for (const auto& [m, g] : present)
    for (const VariantResult* r : g->results)
      if (std::find(categories.begin(), categories.end(), backend_label(*r)) == categories.end())
        categories.push_back(backend_label(*r));

  const std::string title = title_key + ": " + (use_gflops ? "GFLOP/s" : "median time") + " on " +
                            std::to_string(present.size()) + " machines";
  std::vector<const MachineContext*> contexts;
  for (const auto& p : present) contexts.push_back(&machines[p.first].machine);
  const std::vector<std::string> names = distinct_machine_names(contexts);
  std::string subtitle;
  for (std::size_t i = 0; i < names.size(); ++i) subtitle += (i ? " vs " : "") + names[i];
  double label_w = 0;
  for (const std::string& c : categories) label_w = std::max(label_w, svg::text_width(c, kLabelSize));
  const double width = std::max(960.0, svg::text_width(title, kTitleSize) + 60);
  const double plot_x0 = 24 + label_w + 12, plot_x1 = width - 30;

  std::vector<LegendItem> legend;
  std::vector<std::string> defs;
  for (std::size_t i = 0; i < present.size(); ++i) {
    MachineStyle s = machine_style(i);
    std::string fill = s.fill;
    if (s.hatched) {
      std::string id = fmt::format("machine{}", i);
      defs.push_back(hatch_pattern(id, s.fill, s.stroke));
      fill = "url(#" + id + ")";
    }
    legend.push_back({machine_label(machines[present[i].first].machine), fill, s.stroke});
  }
  svg::Document probe(0, 0);
  const double legend_bottom = draw_legend_rows(probe, legend, 24, width - 24, 60);
  const double bar_h = 16, group_gap = 14;
  const double group_h = bar_h * static_cast<double>(present.size()) + group_gap;
  const double plot_top = legend_bottom + 14;
  const double plot_bottom = plot_top + group_h * static_cast<double>(categories.size());
  std::vector<const VariantResult*> all_results;
  for (const auto& [m, g] : present) all_results.insert(all_results.end(), g->results.begin(), g->results.end());
  // Machines may differ in threshold: the note names none.
  const bool any_flagged = std::any_of(all_results.begin(), all_results.end(), [](const VariantResult* r) { return flagged(*r); });
  const double height = plot_bottom + 60 + (any_flagged ? 18 : 0);
  svg::Document doc(width, height);
  for (const std::string& d : defs) doc.defs(d);
  draw_title(doc, width, title, subtitle);
  draw_legend_rows(doc, legend, 24, width - 24, 60);

  std::vector<double> values;
  for (const auto& [m, g] : present)
    for (const VariantResult* r : g->results)
      if (r->ok() && value_of(*r) > 0) values.push_back(value_of(*r));
  double lo = values.empty() ? 1 : positive_min(values);
  double hi = values.empty() ? 10 : *std::max_element(values.begin(), values.end()) * 3;
  svg::LogAxis axis = svg::LogAxis::covering(lo, hi, plot_x0, plot_x1);
  for (double t : axis.ticks()) {
    double x = axis.map(t);
    doc.line(x, plot_top, x, plot_bottom, "#dddddd", 1);
    doc.line(x, plot_bottom, x, plot_bottom + 5, "#333", 1);
    doc.text(x, plot_bottom + 18, svg::tick_label(t), kSmallSize, "middle", "tick");
  }
  doc.line(plot_x0, plot_bottom, plot_x1, plot_bottom, "#333", 1);
  doc.line(plot_x0, plot_top, plot_x0, plot_bottom, "#333", 1);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 40,
           use_gflops ? "GFLOP/s (log scale; higher is better)" : "median time, ms (log scale; lower is better)",
           kLabelSize, "middle", "axis-title");
  if (any_flagged)
    doc.text(24, plot_bottom + 62,
             std::string(kNoisyMarker) + " cv above the run's --cv-threshold: not to be trusted; throttled: the GPU slowed "
                                         "its clocks during the run",
             kSmallSize, "start", "noisy-note", "fill=\"#a04000\"");

  for (std::size_t c = 0; c < categories.size(); ++c) {
    double group_y = plot_top + group_h * static_cast<double>(c) + group_gap / 2;
    doc.text(plot_x0 - 8, group_y + bar_h * static_cast<double>(present.size()) / 2 + 4, categories[c], kLabelSize, "end",
             "row-label");
    for (std::size_t i = 0; i < present.size(); ++i) {
      double y = group_y + bar_h * static_cast<double>(i);
      const VariantResult* found = nullptr;
      for (const VariantResult* r : present[i].second->results)
        if (backend_label(*r) == categories[c]) found = r;
      if (!found) {
        doc.text(plot_x0 + 6, y + bar_h - 4, "not run", 10, "start", "no-value", "fill=\"#666\"");
        continue;
      }
      if (!found->ok()) {
        doc.text(plot_x0 + 6, y + bar_h - 4, status_mark(*found), 10, "start", "failed", "fill=\"#b00000\" font-weight=\"bold\"");
        continue;
      }
      MachineStyle s = machine_style(i);
      std::string fill = s.hatched ? fmt::format("url(#machine{})", i) : s.fill;
      double x_end = axis.map(value_of(*found));
      doc.rect(plot_x0, y + 1, x_end - plot_x0, bar_h - 2, fill, s.stroke, "bar");
      doc.text(x_end + 5, y + bar_h - 4, format_number(value_of(*found)), 10, "start", "bar-label");
      if (const std::string warning = bar_warning(*found); !warning.empty())
        doc.text(x_end + 5 + svg::text_width(format_number(value_of(*found)), 10) + 8, y + bar_h - 4, warning, 10, "start",
                 "noisy-marker", "fill=\"#a04000\" font-weight=\"bold\"");
    }
  }
  return {"compare_" + slug(title_key) + ".svg", title, doc.str()};
}

}  // namespace

std::vector<Chart> speedup_charts(const RunReport& report) {
  std::vector<Chart> charts;
  for (const ShapeGroup& group : group_by_shape(report.results)) {
    bool any = std::any_of(group.results.begin(), group.results.end(),
                           [](const VariantResult* r) { return r->ok() && r->speedup_vs_serial > 0; });
    if (any) charts.push_back(speedup_chart(group, report.machine, report.run.cv_threshold));
  }
  return charts;
}

std::vector<Chart> scaling_charts(const RunReport& report) {
  std::vector<Chart> charts;
  for (const Sweep& sweep : group_sweeps(report.results))
    if (sweep.sizes.size() >= 2) charts.push_back(scaling_chart(sweep, report.machine, report.run.cv_threshold));
  return charts;
}

std::vector<Chart> comparison_charts(const std::vector<RunReport>& machines) {
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
  std::vector<Chart> charts;
  for (const std::string& t : titles)
    if (present[t].size() >= 2) charts.push_back(comparison_chart(t, present[t], machines));
  return charts;
}

void write_charts(const std::string& dir, const std::vector<Chart>& charts) {
  prepare_output_directory(dir);
  for (const Chart& c : charts) write_file_atomically(dir + "/" + c.file_name, c.svg);
}

}  // namespace mlbench::reports
