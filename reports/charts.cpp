// Draws the speedup, scaling and comparison charts from what chart_data.cpp chose to show.
#include "reports/charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reports/atomic_file.h"
#include "reports/chart_data.h"
#include "reports/chart_draw.h"
#include "reports/chart_style.h"
#include "reports/svg.h"

namespace mlbench::reports {
namespace {

namespace cs = chart_style;
using namespace chart_draw;

// Whiskers from a to b (pixels) along a horizontal bar at `mid`, end caps `cap` high each way.
void draw_horizontal_spread(svg::Document& doc, double a, double b, double mid, double cap, double width) {
  doc.line(a, mid, b, mid, "#000", width, "", "spread");
  doc.line(a, mid - cap, a, mid + cap, "#000", width, "", "spread");
  doc.line(b, mid - cap, b, mid + cap, "#000", width, "", "spread");
}

// ---- speedup chart ----

std::string hatch_id(cs::Family f) { return fmt::format("hatch{}", static_cast<int>(f)); }

// What stands beside a row: its factor (and the factor vs serial, the warning), or why it has no bar.
std::vector<LabelPiece> speedup_label(const SpeedupRow& row) {
  if (!row.bar && row.failed) return {{row.message, kLabelSize, true, "failed", "fill=\"#b00000\""}};
  if (!row.bar) return {{row.message, kLabelSize, false, "no-value", "fill=\"#666\""}};
  std::vector<LabelPiece> label = {{row.factor, kLabelSize, true, "bar-label", ""}};
  if (!row.vs_serial.empty()) label.push_back({row.vs_serial, kSmallSize, false, "bar-note", "fill=\"#555\""});
  if (!row.warning.empty()) label.push_back({row.warning, kSmallSize, true, "noisy-marker", "fill=\"#a04000\""});
  return label;
}

struct SpeedupLayout {
  std::vector<std::vector<LabelPiece>> labels;  // per row
  std::vector<Reach> reaches;                   // per row: its label right of a speedup >= 1, else left
  std::vector<LegendItem> legend;
  double width = 0, plot_x0 = 0, plot_x1 = 0, legend_y = 0, plot_top = 0, plot_bottom = 0, height = 0;
  double notes_width = 0;
  std::vector<double> row_mid;  // per row: the middle of its bar
};

// The rows from plot_top down, a small gap between backends; returns the bottom of the last row.
double place_rows(const std::vector<SpeedupRow>& rows, double plot_top, std::vector<double>* row_mid) {
  constexpr double row_h = 26, group_gap = 6;
  double y = plot_top + 4;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i && rows[i].backend != rows[i - 1].backend) y += group_gap;
    row_mid->push_back(y + row_h / 2);
    y += row_h;
  }
  return y;
}

// Wide enough for the row names, the labels on either side of 1x and the title.
SpeedupLayout lay_out_speedup(const SpeedupChartData& d) {
  SpeedupLayout l;
  double row_label_w = 0, left_w = 0, right_w = 0;
  for (const SpeedupRow& row : d.rows) {
    row_label_w = std::max(row_label_w, svg::text_width(row.label, kLabelSize));
    l.labels.push_back(speedup_label(row));
    const double w = pieces_width(l.labels.back()) + 6;
    if (row.value >= 1) {
      l.reaches.push_back({row.lo, row.hi, 0, w});
      right_w = std::max(right_w, w);
    } else {
      l.reaches.push_back({row.lo, row.hi, w, 0});
      left_w = std::max(left_w, w);
    }
  }
  l.width = std::max({960.0, svg::text_width(d.title, kTitleSize, true) / 2 + 2 * kMargin,
                      2 * kMargin + row_label_w + 12 + left_w + right_w + 260});
  l.plot_x0 = kMargin + row_label_w + 12;
  l.plot_x1 = l.width - kMargin;
  l.legend = family_legend(d.families, d.any_end_to_end, d.any_spread,
                           "hatched: end to end (with transfers); solid: kernel only or CPU");
  l.legend_y = title_height(l.width, d.title, d.subtitle);
  l.plot_top = legend_height(cs::family_legend_heading(), l.legend, kMargin, l.width - kMargin, l.legend_y) + 26;
  l.plot_bottom = place_rows(d.rows, l.plot_top, &l.row_mid) + 4;
  l.notes_width = l.width - 2 * kMargin;
  l.height = l.plot_bottom + 52 + kLineGap * static_cast<double>(wrapped_lines(d.note, kSmallSize, l.notes_width)) + 8;
  return l;
}

// Whole decades around every row's spread and 1x, widened until every label fits.
svg::LogAxis speedup_axis(const std::vector<Reach>& reaches, double x0, double x1) {
  double lo_exp = 0, hi_exp = 0;
  for (const Reach& r : reaches) {
    lo_exp = std::min(lo_exp, std::log10(r.lo));
    hi_exp = std::max(hi_exp, std::log10(r.hi));
  }
  if (hi_exp - lo_exp < 1) hi_exp = lo_exp + 1;
  const double pad = 0.04 * (hi_exp - lo_exp);
  return fit_axis(lo_exp - pad, hi_exp + pad, x0, x1, reaches);
}

// The baseline (1x) as a dashed line under the bars, named above the plot.
void draw_reference(svg::Document& doc, const SpeedupChartData& d, const SpeedupLayout& l, double x1) {
  doc.line(x1, l.plot_top - 4, x1, l.plot_bottom, "#000", 1.5, "5,3", "reference");
  const double ref_w = svg::text_width(d.reference, kSmallSize);
  doc.text(std::clamp(x1, kMargin + ref_w / 2, l.width - kMargin - ref_w / 2), l.plot_top - 8, d.reference, kSmallSize,
           "middle", "reference-label");
}

// A row: its name, then its bar from 1x (right faster, left slower) with whiskers and label,
// or its label alone right of 1x.
void draw_speedup_row(svg::Document& doc, const SpeedupRow& row, const std::vector<LabelPiece>& label,
                      const svg::LogAxis& axis, double plot_x0, double x1, double mid) {
  constexpr double bar_h = 16;
  const double baseline_y = mid + 4;
  doc.text(plot_x0 - 8, baseline_y, row.label, kLabelSize, "end", "row-label");
  if (!row.bar) {
    draw_pieces(doc, x1 + 6, baseline_y, label);
    return;
  }
  const cs::FamilyStyle& style = cs::family_style(row.family);
  const std::string fill = row.end_to_end ? "url(#" + hatch_id(row.family) + ")" : style.fill;
  const double x_end = axis.map(row.value);
  // A bar of 1x (the baseline itself) still shows: 2 px.
  const double bar_x = std::min(x1, x_end), bar_w = std::max(2.0, std::fabs(x_end - x1));
  doc.rect(row.value >= 1 ? bar_x : std::min(bar_x, x1 - bar_w), mid - bar_h / 2, bar_w, bar_h, fill, style.stroke,
           "bar", "data-backend=\"" + svg::escape(row.label) + "\"");
  if (row.spread) draw_horizontal_spread(doc, axis.map(row.lo), axis.map(row.hi), mid, 5, 1.3);
  const double label_x = row.value >= 1 ? std::max({x_end, axis.map(row.hi), x1 + 2}) + 6
                                        : std::min(x_end, axis.map(row.lo)) - 6 - pieces_width(label);
  draw_pieces(doc, label_x, baseline_y, label);
}

Chart render_speedup(const SpeedupChartData& d) {
  const SpeedupLayout l = lay_out_speedup(d);
  svg::Document doc(l.width, l.height);
  doc.defs(cs::hatch_pattern("hatch-legend", "#dddddd", "#777777"));
  for (cs::Family f : d.families) doc.defs(cs::hatch_pattern(hatch_id(f), cs::family_style(f).fill, "#ffffff"));
  draw_title(doc, l.width, d.title, d.subtitle);
  draw_legend_rows(doc, cs::family_legend_heading(), l.legend, kMargin, l.width - kMargin, l.legend_y);

  const svg::LogAxis axis = speedup_axis(l.reaches, l.plot_x0, l.plot_x1);
  draw_x_ticks(doc, axis, l.plot_top, l.plot_bottom, "x");
  draw_frame(doc, l.plot_x0, l.plot_x1, l.plot_top, l.plot_bottom);
  doc.text((l.plot_x0 + l.plot_x1) / 2, l.plot_bottom + 40, d.axis_title, kLabelSize, "middle", "axis-title");
  if (!d.note.empty())
    draw_wrapped(doc, kMargin, l.plot_bottom + 62, d.note, kSmallSize, l.notes_width, "start", "noisy-note",
                 "fill=\"#a04000\"");
  const double x1 = axis.map(1);
  draw_reference(doc, d, l, x1);
  for (std::size_t i = 0; i < d.rows.size(); ++i)
    draw_speedup_row(doc, d.rows[i], l.labels[i], axis, l.plot_x0, x1, l.row_mid[i]);
  return {d.file_name, d.title, doc.str()};
}

// ---- scaling chart ----

// Marker shapes: a backend's kernel and end-to-end lines share one; within a family the next
// backend takes the next shape.
std::vector<int> marker_shapes(const std::vector<ScalingSeries>& series) {
  std::vector<int> shapes;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (i && series[i].backend == series[i - 1].backend)
      shapes.push_back(shapes.back());
    else if (!i || series[i].family != series[i - 1].family)
      shapes.push_back(0);
    else
      shapes.push_back(shapes.back() + 1);
  }
  return shapes;
}

// Legend at the right of the plot: per family its name, then its lines; returns the y below it.
double draw_scaling_legend(svg::Document& doc, const ScalingChartData& d, const std::vector<int>& shapes, double lx,
                           double top, double legend_w) {
  double y = draw_wrapped(doc, lx, top + 6, cs::family_legend_heading(), kSmallSize, legend_w, "start",
                          "legend-heading", "font-weight=\"bold\"");
  for (std::size_t i = 0; i < d.series.size(); ++i) {
    const ScalingSeries& s = d.series[i];
    if (!i || d.series[i - 1].family != s.family) {
      doc.text(lx, y + 4, cs::family_style(s.family).name, kSmallSize, "start", "legend-family",
               "font-weight=\"bold\"");
      y += 18;
    }
    const std::string& colour = cs::family_style(s.family).fill;
    doc.line(lx, y, lx + 30, y, colour, 2.2, s.end_to_end ? "7,4" : "", "legend-line");
    doc.marker(shapes[i], lx + 15, y, 4.5, s.end_to_end ? "#ffffff" : colour);
    doc.text(lx + 38, y + 4, s.label, kSmallSize, "start", "legend");
    y += 20;
  }
  if (d.any_end_to_end)
    y = draw_wrapped(doc, lx, y + 8, "dashed line, hollow marker: end to end (with transfers)", 10, legend_w, "start",
                     "legend-note", "fill=\"#555\"");
  if (d.any_spread)
    y = draw_wrapped(doc, lx, y + 8, "whiskers: fastest to slowest run", 10, legend_w, "start", "legend-note",
                     "fill=\"#555\"");
  return y;
}

// The legend's width: its longest line, at most 2/5 of the chart.
double scaling_legend_width(const ScalingChartData& d, double width) {
  double legend_w = 180;
  for (const ScalingSeries& s : d.series) legend_w = std::max(legend_w, svg::text_width(s.label, kSmallSize) + 38);
  for (const ScalingSeries& s : d.series)
    legend_w = std::max(legend_w, svg::text_width(cs::family_style(s.family).name, kSmallSize, true));
  return std::min(legend_w, width / 2.5);
}

// y: whole decades over every point and whisker.
svg::LogAxis scaling_y_axis(const ScalingChartData& d, double bottom, double top) {
  std::vector<double> ys;
  for (const ScalingSeries& s : d.series)
    for (const ScalingPoint& p : s.points) {
      ys.push_back(p.value);
      if (p.spread) ys.insert(ys.end(), {p.lo, p.hi});
    }
  const double y_lo = ys.empty() ? 1 : positive_min(ys),
               y_hi = ys.empty() ? 10 : *std::max_element(ys.begin(), ys.end());
  return svg::LogAxis::covering(y_lo, y_hi, bottom, top);
}

// x: the measured sizes with a margin, not whole decades (sizes are usually powers of two).
svg::LogAxis scaling_x_axis(const std::vector<std::int64_t>& sizes, double from, double to) {
  const double s_lo = static_cast<double>(sizes.front()), s_hi = static_cast<double>(sizes.back());
  const double span = std::max(std::log10(s_hi) - std::log10(s_lo), 0.3);
  svg::LogAxis x_axis;
  x_axis.lo_exp = std::log10(s_lo) - 0.06 * span;
  x_axis.hi_exp = std::log10(s_hi) + 0.06 * span;
  x_axis.from = from;
  x_axis.to = to;
  return x_axis;
}

// y ticks with grid lines; one x tick per measured size, skipping labels that would touch the previous one.
void draw_scaling_ticks(svg::Document& doc, const svg::LogAxis& x_axis, const svg::LogAxis& y_axis,
                        const std::vector<std::int64_t>& sizes, double x0, double x1, double top, double bottom) {
  for (double t : y_axis.ticks()) {
    const double y = y_axis.map(t);
    doc.line(x0, y, x1, y, "#dddddd", 1);
    doc.text(x0 - 8, y + 4, svg::tick_label(t), kSmallSize, "end", "tick");
  }
  double last_label_end = -INFINITY;
  for (std::int64_t size : sizes) {
    const double x = x_axis.map(static_cast<double>(size));
    doc.line(x, top, x, bottom, "#eeeeee", 1);
    doc.line(x, bottom, x, bottom + 5, "#333", 1);
    const std::string label = std::to_string(size);
    const double w = svg::text_width(label, kSmallSize);
    if (x - w / 2 > last_label_end + 6) {
      doc.text(x, bottom + 18, label, kSmallSize, "middle", "tick");
      last_label_end = x + w / 2;
    }
  }
}

// A series: its line, then per point the whisker, the marker and the ring of a flagged result;
// what it drew goes into `taken`.
void draw_series(svg::Document& doc, const ScalingSeries& s, int shape, const svg::LogAxis& x_axis,
                 const svg::LogAxis& y_axis, cs::Occupancy* taken) {
  const std::string& colour = cs::family_style(s.family).fill;
  std::string points;
  std::vector<double> xy;
  for (const ScalingPoint& p : s.points) {
    const double x = x_axis.map(static_cast<double>(p.size)), y = y_axis.map(p.value);
    points += fmt::format("{:.1f},{:.1f} ", x, y);
    xy.insert(xy.end(), {x, y});
  }
  taken->add_polyline(xy);
  doc.raw(
      fmt::format("<polyline class=\"series\" data-series=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
                  "stroke-width=\"2.2\"{}/>",
                  svg::escape(s.label), points, colour, s.end_to_end ? " stroke-dasharray=\"7,4\"" : ""));
  for (const ScalingPoint& p : s.points) {
    const double x = x_axis.map(static_cast<double>(p.size)), y = y_axis.map(p.value);
    if (p.spread) {
      const double ya = y_axis.map(p.lo), yb = y_axis.map(p.hi);
      doc.line(x, ya, x, yb, colour, 1.2, "", "spread");
      doc.line(x - 4, ya, x + 4, ya, colour, 1.2, "", "spread");
      doc.line(x - 4, yb, x + 4, yb, colour, 1.2, "", "spread");
      taken->boxes.push_back({x - 5, std::min(ya, yb), x + 5, std::max(ya, yb)});
    }
    doc.marker(shape, x, y, 4.5, s.end_to_end ? "#ffffff" : colour, "point");
    taken->boxes.push_back({x - 7, y - 7, x + 7, y + 7});
    if (p.flagged) {
      mark_point(doc, x, y);
      taken->boxes.push_back({x - 11, y - 11, x + 11, y + 11});
    }
  }
}

// Break-even: one dotted vertical per size, then its label at the first place from the top
// (right of the line, else left) that touches no line, point or other label; where none is
// free only the note below the chart says it.
void draw_break_evens(svg::Document& doc, const std::vector<BreakEvenLine>& lines, const svg::LogAxis& x_axis,
                      double x0, double x1, double top, double bottom, cs::Occupancy* taken) {
  for (const BreakEvenLine& b : lines) {
    const double x = x_axis.map(static_cast<double>(b.size));
    doc.line(x, top, x, bottom, "#000", 1.2, "2,3", "break-even");
    taken->add_polyline({x, top, x, bottom});
  }
  for (const BreakEvenLine& b : lines) {
    const double x = x_axis.map(static_cast<double>(b.size));
    for (double y = top + 14; y < bottom - 4; y += 6) {
      bool placed = false;
      for (const std::string anchor : {"start", "end"}) {
        const cs::Box box = cs::text_box(anchor == "start" ? x + 5 : x - 5, y, b.label, kSmallSize, anchor);
        const cs::Box padded{box.x0 - 2, box.y0 - 2, box.x1 + 2, box.y1 + 2};
        if (box.x0 < x0 + 2 || box.x1 > x1 - 2 || !taken->free(padded)) continue;
        doc.text(anchor == "start" ? x + 5 : x - 5, y, b.label, kSmallSize, anchor, "break-even-label");
        taken->boxes.push_back(padded);
        placed = true;
        break;
      }
      if (placed) break;
    }
  }
}

Chart render_scaling(const ScalingChartData& d) {
  const double width = std::max(960.0, svg::text_width(d.title, kTitleSize, true) / 2 + 2 * kMargin);
  const double legend_w = scaling_legend_width(d, width);
  const double plot_x0 = 80, plot_x1 = width - legend_w - 2 * kMargin;
  const double lx = plot_x1 + kMargin;
  const double plot_top = title_height(width, d.title, d.subtitle) + 20;
  const std::vector<int> shapes = marker_shapes(d.series);
  // The legend sets the plot's height when it is the taller.
  svg::Document probe(0, 0);
  const double plot_bottom =
      std::max(plot_top + 380, draw_scaling_legend(probe, d, shapes, lx, plot_top, legend_w) + 4);
  std::vector<std::string> notes = d.break_even_notes;
  if (!d.warning_note.empty()) notes.push_back(d.warning_note);
  const double notes_width = width - plot_x0 - kMargin;
  std::size_t note_lines = 0;
  for (const std::string& n : notes) note_lines += wrapped_lines(n, kSmallSize, notes_width);
  const double height = plot_bottom + 54 + kLineGap * static_cast<double>(note_lines) + 8;

  svg::Document doc(width, height);
  draw_title(doc, width, d.title, d.subtitle);
  const svg::LogAxis y_axis = scaling_y_axis(d, plot_bottom, plot_top);
  const svg::LogAxis x_axis = scaling_x_axis(d.sizes, plot_x0, plot_x1);
  draw_scaling_ticks(doc, x_axis, y_axis, d.sizes, plot_x0, plot_x1, plot_top, plot_bottom);
  draw_frame(doc, plot_x0, plot_x1, plot_top, plot_bottom);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 40, d.x_title, kLabelSize, "middle", "axis-title");
  doc.text(22, (plot_top + plot_bottom) / 2, d.y_title, kLabelSize, "middle", "axis-title",
           fmt::format("transform=\"rotate(-90 22 {:.1f})\"", (plot_top + plot_bottom) / 2));

  cs::Occupancy taken;  // what the break-even labels must not touch
  for (std::size_t i = 0; i < d.series.size(); ++i) draw_series(doc, d.series[i], shapes[i], x_axis, y_axis, &taken);
  draw_scaling_legend(doc, d, shapes, lx, plot_top, legend_w);
  draw_break_evens(doc, d.break_evens, x_axis, plot_x0, plot_x1, plot_top, plot_bottom, &taken);
  double note_y = plot_bottom + 62;
  for (const std::string& n : d.break_even_notes)
    note_y = draw_wrapped(doc, plot_x0, note_y, n, kSmallSize, notes_width, "start", "break-even-note", "");
  if (!d.warning_note.empty())
    draw_wrapped(doc, plot_x0, note_y, d.warning_note, kSmallSize, notes_width, "start", "noisy-note", "");
  return {d.file_name, d.title, doc.str()};
}

// ---- comparison chart ----

// Machines of a comparison chart differ in pattern; the colour stays the row's family.
// 0 solid, 1 hatched, 2 light, 3 dotted, then again.
std::string machine_fill(std::size_t machine, cs::Family f) {
  const std::size_t pattern = machine % 4;
  if (pattern == 0 || pattern == 2) return cs::family_style(f).fill;
  return fmt::format("url(#m{}f{})", pattern, static_cast<int>(f));
}
std::string machine_pattern_defs(const std::string& fill, const std::string& id_family) {
  return cs::hatch_pattern("m1" + id_family, fill, "#ffffff") + "\n" +
         fmt::format(
             "<pattern id=\"m3{}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\"><rect width=\"6\" "
             "height=\"6\" fill=\"#ffffff\"/><circle cx=\"3\" cy=\"3\" r=\"2\" fill=\"{}\"/></pattern>",
             id_family, fill);
}

// The machines' legend: each machine's pattern, in grey.
std::vector<LegendItem> machine_legend(const std::vector<std::string>& machines) {
  std::vector<LegendItem> items;
  for (std::size_t i = 0; i < machines.size(); ++i) {
    const std::size_t pattern = i % 4;
    items.push_back({LegendItem::Swatch::box, machines[i],
                     pattern == 0 || pattern == 2 ? std::string(pattern == 0 ? "#777777" : "#d4d4d4")
                                                  : fmt::format("url(#m{}grey)", pattern),
                     "#333333"});
  }
  return items;
}

std::vector<LabelPiece> comparison_label(const ComparisonBar& bar) {
  switch (bar.kind) {
    case ComparisonBar::Kind::not_run: return {{bar.text, 10, false, "no-value", "fill=\"#666\""}};
    case ComparisonBar::Kind::failed: return {{bar.text, 10, true, "failed", "fill=\"#b00000\""}};
    case ComparisonBar::Kind::value: break;
  }
  std::vector<LabelPiece> label = {{bar.text, 10, false, "bar-label", ""}};
  if (!bar.warning.empty()) label.push_back({bar.warning, 10, true, "noisy-marker", "fill=\"#a04000\""});
  return label;
}

struct ComparisonLayout {
  std::vector<std::vector<std::vector<LabelPiece>>> labels;  // per category, per machine
  std::vector<Reach> reaches;                                // of the bars with a value
  std::vector<double> values;                                // their whiskers' ends
  std::vector<LegendItem> machine_legend, legend;
  double width = 0, plot_x0 = 0, plot_x1 = 0, title_bottom = 0, machines_bottom = 0;
  double group_h = 0, plot_top = 0, plot_bottom = 0, notes_width = 0, height = 0;
};
constexpr double kComparisonBarH = 16, kComparisonGroupGap = 14;

ComparisonLayout lay_out_comparison(const ComparisonChartData& d) {
  ComparisonLayout l;
  double label_w = 0, right_w = 0;
  for (const ComparisonCategory& c : d.categories) label_w = std::max(label_w, svg::text_width(c.label, kLabelSize));
  for (const ComparisonCategory& c : d.categories) {
    l.labels.emplace_back();
    for (const ComparisonBar& bar : c.bars) {
      l.labels.back().push_back(comparison_label(bar));
      const double w = pieces_width(l.labels.back().back()) + 6;
      if (bar.kind == ComparisonBar::Kind::value) {
        l.values.insert(l.values.end(), {bar.lo, bar.hi});
        l.reaches.push_back({bar.lo, bar.hi, 0, w});
      }
      right_w = std::max(right_w, w);
    }
  }
  l.width = std::max({960.0, svg::text_width(d.title, kTitleSize, true) / 2 + 2 * kMargin,
                      2 * kMargin + label_w + 12 + right_w + 300});
  l.plot_x0 = kMargin + label_w + 12;
  l.plot_x1 = l.width - kMargin;
  l.machine_legend = machine_legend(d.machines);
  l.legend = family_legend(d.families, false, d.any_spread, "");
  l.title_bottom = title_height(l.width, d.title, d.subtitle);
  l.machines_bottom = legend_height("Pattern = machine:", l.machine_legend, kMargin, l.width - kMargin, l.title_bottom);
  const double legend_bottom =
      legend_height(cs::family_legend_heading(), l.legend, kMargin, l.width - kMargin, l.machines_bottom);
  l.group_h = kComparisonBarH * static_cast<double>(d.machines.size()) + kComparisonGroupGap;
  l.plot_top = legend_bottom + 14;
  l.plot_bottom = l.plot_top + l.group_h * static_cast<double>(d.categories.size());
  l.notes_width = l.width - 2 * kMargin;
  l.height = l.plot_bottom + 52 + kLineGap * static_cast<double>(wrapped_lines(d.note, kSmallSize, l.notes_width)) + 8;
  return l;
}

// Whole decades below half the smallest value up to the largest, widened until the labels fit.
svg::LogAxis comparison_axis(const ComparisonLayout& l) {
  const double lo = l.values.empty() ? 1 : positive_min(l.values) / 2;
  const double hi = l.values.empty() ? 10 : *std::max_element(l.values.begin(), l.values.end());
  return fit_axis(std::floor(std::log10(lo)), std::log10(hi) + 0.1, l.plot_x0, l.plot_x1, l.reaches);
}

// A category: its name, then one bar per machine (pattern per machine) with whiskers and label.
void draw_comparison_group(svg::Document& doc, const ComparisonCategory& c,
                           const std::vector<std::vector<LabelPiece>>& labels, const svg::LogAxis& axis, double plot_x0,
                           double group_y) {
  const double bar_h = kComparisonBarH;
  doc.text(plot_x0 - 8, group_y + bar_h * static_cast<double>(c.bars.size()) / 2 + 4, c.label, kLabelSize, "end",
           "row-label");
  for (std::size_t i = 0; i < c.bars.size(); ++i) {
    const ComparisonBar& bar = c.bars[i];
    const double y = group_y + bar_h * static_cast<double>(i), mid = y + bar_h / 2;
    if (!(bar.value > 0)) {
      draw_pieces(doc, plot_x0 + 6, y + bar_h - 4, labels[i]);
      continue;
    }
    const double x_end = axis.map(bar.value);
    doc.rect(plot_x0, y + 1, x_end - plot_x0, bar_h - 2, machine_fill(i, bar.family),
             cs::family_style(bar.family).stroke, "bar",
             "data-backend=\"" + svg::escape(c.label) + "\"" + (i % 4 == 2 ? " fill-opacity=\"0.35\"" : ""));
    if (bar.spread) draw_horizontal_spread(doc, axis.map(bar.lo), axis.map(bar.hi), mid, 4, 1.2);
    draw_pieces(doc, std::max(x_end, axis.map(bar.hi)) + 6, y + bar_h - 4, labels[i]);
  }
}

Chart render_comparison(const ComparisonChartData& d) {
  const ComparisonLayout l = lay_out_comparison(d);
  svg::Document doc(l.width, l.height);
  for (cs::Family f : d.families)
    doc.defs(machine_pattern_defs(cs::family_style(f).fill, fmt::format("f{}", static_cast<int>(f))));
  doc.defs(machine_pattern_defs("#777777", "grey"));
  draw_title(doc, l.width, d.title, d.subtitle);
  draw_legend_rows(doc, "Pattern = machine:", l.machine_legend, kMargin, l.width - kMargin, l.title_bottom);
  draw_legend_rows(doc, cs::family_legend_heading(), l.legend, kMargin, l.width - kMargin, l.machines_bottom);

  const svg::LogAxis axis = comparison_axis(l);
  draw_x_ticks(doc, axis, l.plot_top, l.plot_bottom, "");
  draw_frame(doc, l.plot_x0, l.plot_x1, l.plot_top, l.plot_bottom);
  doc.text((l.plot_x0 + l.plot_x1) / 2, l.plot_bottom + 40, d.axis_title, kLabelSize, "middle", "axis-title");
  if (!d.note.empty())
    draw_wrapped(doc, kMargin, l.plot_bottom + 62, d.note, kSmallSize, l.notes_width, "start", "noisy-note",
                 "fill=\"#a04000\"");
  for (std::size_t c = 0; c < d.categories.size(); ++c)
    draw_comparison_group(doc, d.categories[c], l.labels[c], axis, l.plot_x0,
                          l.plot_top + l.group_h * static_cast<double>(c) + kComparisonGroupGap / 2);
  return {d.file_name, d.title, doc.str()};
}

}  // namespace

std::vector<Chart> speedup_charts(const RunReport& report) {
  std::vector<Chart> charts;
  for (const SpeedupChartData& d : speedup_chart_data(report)) charts.push_back(render_speedup(d));
  return charts;
}

std::vector<Chart> scaling_charts(const RunReport& report) {
  std::vector<Chart> charts;
  for (const ScalingChartData& d : scaling_chart_data(report)) charts.push_back(render_scaling(d));
  return charts;
}

std::vector<Chart> comparison_charts(const std::vector<RunReport>& machines) {
  std::vector<Chart> charts;
  for (const ComparisonChartData& d : comparison_chart_data(machines)) charts.push_back(render_comparison(d));
  return charts;
}

void write_charts(const std::string& dir, const std::vector<Chart>& charts) {
  prepare_output_directory(dir);
  for (const Chart& c : charts) write_file_atomically(dir + "/" + c.file_name, c.svg);
}

}  // namespace mlbench::reports
