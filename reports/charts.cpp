#include "reports/charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "reports/atomic_file.h"
#include "reports/chart_style.h"
#include "reports/sweep.h"
#include "reports/svg.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

namespace cs = chart_style;
constexpr double kTitleSize = 16, kLabelSize = 12, kSmallSize = 11;
constexpr double kMargin = 24;
constexpr double kLineGap = 16;  // baseline to baseline of wrapped 11/12 px lines

// Draws `text` wrapped to `max_width` from baseline `y`, the first line with class `klass`
// and the others with `klass`-continued; returns the baseline below the last line.
double draw_wrapped(svg::Document& doc, double x, double y, const std::string& text, double size, double max_width,
                    const std::string& anchor, const std::string& klass, const std::string& extra) {
  bool first = true;
  for (const std::string& line : cs::wrap(text, size, max_width)) {
    doc.text(x, y, line, size, anchor, first ? klass : klass + "-continued", extra);
    first = false;
    y += kLineGap;
  }
  return y;
}
std::size_t wrapped_lines(const std::string& text, double size, double max_width) {
  return text.empty() ? 0 : cs::wrap(text, size, max_width).size();
}

// Title (bold) and subtitle lines, wrapped; returns the y below them.
double draw_title(svg::Document& doc, double width, const std::string& title, const std::string& subtitle) {
  double y = draw_wrapped(doc, width / 2, 28, title, kTitleSize, width - 2 * kMargin, "middle", "title",
                          "font-weight=\"bold\"");
  y = draw_wrapped(doc, width / 2, y + 2, subtitle, kLabelSize, width - 2 * kMargin, "middle", "subtitle",
                   "fill=\"#444\"");
  return y - 4;
}
double title_height(double width, const std::string& title, const std::string& subtitle) {
  svg::Document probe(0, 0);
  return draw_title(probe, width, title, subtitle);
}

struct LegendItem {
  enum class Swatch { box, whisker } swatch = Swatch::box;
  std::string label;
  std::string fill;  // swatch fill (may be url(#...))
  std::string stroke;
};

// A heading, then the items in rows wrapping at x1; returns the y below the legend.
double draw_legend_rows(svg::Document& doc, const std::string& heading, const std::vector<LegendItem>& items, double x0,
                        double x1, double y) {
  if (!heading.empty())
    y = draw_wrapped(doc, x0, y + 12, heading, kSmallSize, x1 - x0, "start", "legend-heading", "font-weight=\"bold\"") -
        kLineGap;
  double x = x0;
  y += 18;
  for (const LegendItem& item : items) {
    // A label wider than the legend is wrapped, on rows of its own.
    const std::vector<std::string> lines = cs::wrap(item.label, kSmallSize, x1 - x0 - 20);
    const double w = 20 + svg::text_width(lines.size() > 1 ? std::string() : item.label, kSmallSize) + 18;
    if (x > x0 && (x + w > x1 || lines.size() > 1)) {
      x = x0;
      y += 20;
    }
    if (lines.size() > 1) {
      doc.rect(x, y - 11, 14, 14, item.fill, item.stroke, "legend-swatch");
      for (std::size_t i = 0; i < lines.size(); ++i) {
        doc.text(x + 20, y, lines[i], kSmallSize, "start", "legend");
        if (i + 1 < lines.size()) y += kLineGap;
      }
      x = x1;  // the next item starts a new row
      continue;
    }
    if (item.swatch == LegendItem::Swatch::whisker) {
      doc.line(x, y - 4, x + 14, y - 4, "#000", 1.4, "", "legend-swatch");
      doc.line(x, y - 9, x, y + 1, "#000", 1.4);
      doc.line(x + 14, y - 9, x + 14, y + 1, "#000", 1.4);
    } else {
      doc.rect(x, y - 11, 14, 14, item.fill, item.stroke, "legend-swatch");
    }
    doc.text(x + 20, y, item.label, kSmallSize, "start", "legend");
    x += w;
  }
  return y + 10;
}
double legend_height(const std::string& heading, const std::vector<LegendItem>& items, double x0, double x1, double y) {
  svg::Document probe(0, 0);
  return draw_legend_rows(probe, heading, items, x0, x1, y);
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

// A dashed ring around a plotted point whose result is flagged (noisy or throttled).
void mark_point(svg::Document& doc, double x, double y) {
  doc.raw(
      fmt::format("<circle class=\"noisy-marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"9\" fill=\"none\" "
                  "stroke=\"#d95f02\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>",
                  x, y));
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

double positive_min(const std::vector<double>& v) {
  double m = INFINITY;
  for (double x : v)
    if (x > 0) m = std::min(m, x);
  return m;
}

// A run of text pieces drawn one after the other on a baseline (a bar's label).
struct LabelPiece {
  std::string text;
  double size;
  bool bold;
  std::string klass, style;
};
double pieces_width(const std::vector<LabelPiece>& pieces) {
  double w = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i)
    w += (i ? 6 : 0) + svg::text_width(pieces[i].text, pieces[i].size, pieces[i].bold);
  return w;
}
void draw_pieces(svg::Document& doc, double x, double y, const std::vector<LabelPiece>& pieces) {
  for (const LabelPiece& p : pieces) {
    doc.text(x, y, p.text, p.size, "start", p.klass, p.style + (p.bold ? " font-weight=\"bold\"" : ""));
    x += svg::text_width(p.text, p.size, p.bold) + 6;
  }
}

// How far past a value's pixel a label needs room: `left_px` before map(lo), `right_px` after map(hi).
struct Reach {
  double lo, hi;
  double left_px = 0, right_px = 0;
};
// A log axis over [10^lo_exp, 10^hi_exp] on [from, to], widened (in steps) until every reach fits.
svg::LogAxis fit_axis(double lo_exp, double hi_exp, double from, double to, const std::vector<Reach>& reaches) {
  svg::LogAxis axis;
  axis.from = from;
  axis.to = to;
  for (int step = 0; step < 400; ++step) {
    axis.lo_exp = lo_exp;
    axis.hi_exp = hi_exp;
    bool need_lo = false, need_hi = false;
    for (const Reach& r : reaches) {
      need_lo = need_lo || axis.map(r.lo) - r.left_px < from + 2;
      need_hi = need_hi || axis.map(r.hi) + r.right_px > to - 2;
    }
    if (!need_lo && !need_hi) break;
    const double grow = 0.03 * (hi_exp - lo_exp) + 0.01;
    if (need_lo) lo_exp -= grow;
    if (need_hi) hi_exp += grow;
  }
  return axis;
}

// Ticks along a horizontal axis at `y`, skipping labels that would touch their neighbour.
void draw_x_ticks(svg::Document& doc, const svg::LogAxis& axis, double top, double bottom, const std::string& suffix) {
  double last_end = -INFINITY;
  for (double t : axis.ticks()) {
    const double x = axis.map(t);
    doc.line(x, top, x, bottom, "#dddddd", 1);
    doc.line(x, bottom, x, bottom + 5, "#333", 1);
    const std::string label = svg::tick_label(t) + suffix;
    const double w = svg::text_width(label, kSmallSize);
    if (x - w / 2 < last_end + 6) continue;
    doc.text(x, bottom + 18, label, kSmallSize, "middle", "tick");
    last_end = x + w / 2;
  }
}

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

// The best CPU backend's median of a group (the 1x of its speedup chart), 0 when none verified.
double best_cpu_seconds(const ShapeGroup& group, std::string* name) {
  for (const VariantResult* r : group.results)
    if (r->ok() && r->speedup_vs_best_cpu > 0 && r->stats.median_s > 0) {
      *name = r->best_cpu_backend;
      return r->speedup_vs_best_cpu * r->stats.median_s;
    }
  return 0;
}

// Spread of a row's repetitions as values of the chart (`of_seconds` maps a time to a value).
template <typename F>
bool spread_of(const VariantResult& r, F of_seconds, double* lo, double* hi) {
  std::vector<double> v;
  for (double t : r.stats.run_times_s)
    if (t > 0 && std::isfinite(t)) v.push_back(of_seconds(t));
  if (v.size() < 2) return false;
  *lo = *std::min_element(v.begin(), v.end());
  *hi = *std::max_element(v.begin(), v.end());
  return *lo > 0 && std::isfinite(*hi);
}

std::string hatch_id(cs::Family f) { return fmt::format("hatch{}", static_cast<int>(f)); }

// The legend of the families present (in legend order), plus what hatching and whiskers mean.
std::vector<LegendItem> family_legend(const std::set<cs::Family>& families, bool hatched, bool whiskers,
                                      const std::string& hatched_label) {
  std::vector<LegendItem> items;
  for (cs::Family f : families)
    items.push_back(
        {LegendItem::Swatch::box, cs::family_style(f).name, cs::family_style(f).fill, cs::family_style(f).stroke});
  if (hatched) items.push_back({LegendItem::Swatch::box, hatched_label, "url(#hatch-legend)", "#555555"});
  if (whiskers) items.push_back({LegendItem::Swatch::whisker, "whiskers: fastest to slowest run", "", ""});
  return items;
}

Chart speedup_chart(const ShapeGroup& group, const MachineContext& machine, double cv_threshold) {
  std::string baseline_name;
  const double baseline_s = best_cpu_seconds(group, &baseline_name);
  // The row speedup_vs_serial divides by (is_baseline): named in a "vs" note beside each bar,
  // unless it is the best CPU backend the bars are already measured against.
  std::string serial_baseline;
  for (const VariantResult* r : group.results)
    if (r->is_baseline) serial_baseline = r->backend;
  const std::vector<const VariantResult*> rows = chart_order(group.results);
  const std::string title = group.title() + ": speedup vs the best CPU backend";
  const std::string subtitle = machine_label(machine);
  const std::string note = warning_note(rows, cv_threshold, std::string(kNoisyMarker) + " ");

  struct Row {
    const VariantResult* r = nullptr;
    bool bar = false, spread = false;
    double value = 1, lo = 1, hi = 1;
    std::vector<LabelPiece> label;
  };
  std::vector<Row> laid;
  std::vector<Reach> reaches;
  std::set<cs::Family> families;
  double row_label_w = 0, left_w = 0, right_w = 0;
  bool any_e2e = false, any_spread = false;
  for (const VariantResult* r : rows) {
    Row row;
    row.r = r;
    row_label_w = std::max(row_label_w, svg::text_width(backend_label(*r), kLabelSize));
    if (r->ok() && r->speedup_vs_best_cpu > 0) {
      families.insert(cs::family_of(*r));
      row.bar = true;
      row.value = row.lo = row.hi = r->speedup_vs_best_cpu;
      double lo = 0, hi = 0;
      if (spread_of(
              *r, [&](double t) { return baseline_s / t; }, &lo, &hi)) {
        row.spread = any_spread = true;
        row.lo = std::min(lo, row.value);
        row.hi = std::max(hi, row.value);
      }
      row.label.push_back({format_factor(row.value), kLabelSize, true, "bar-label", ""});
      if (r->speedup_vs_serial > 0 && !r->is_baseline && !serial_baseline.empty() && baseline_name != serial_baseline)
        row.label.push_back({"(" + format_factor(r->speedup_vs_serial) + " vs " + serial_baseline + ")", kSmallSize,
                             false, "bar-note", "fill=\"#555\""});
      if (const std::string warning = bar_warning(*r); !warning.empty())
        row.label.push_back({warning, kSmallSize, true, "noisy-marker", "fill=\"#a04000\""});
      any_e2e = any_e2e || r->timing == TimingMode::end_to_end;
    } else if (r->ok()) {
      row.label.push_back({"no verified CPU result to compare with", kLabelSize, false, "no-value", "fill=\"#666\""});
    } else {
      row.label.push_back({verification_label(*r), kLabelSize, true, "failed", "fill=\"#b00000\""});
    }
    const double w = pieces_width(row.label) + 6;
    if (row.value >= 1) {
      reaches.push_back({row.lo, row.hi, 0, w});
      right_w = std::max(right_w, w);
    } else {
      reaches.push_back({row.lo, row.hi, w, 0});
      left_w = std::max(left_w, w);
    }
    laid.push_back(row);
  }

  const double width = std::max({960.0, svg::text_width(title, kTitleSize, true) / 2 + 2 * kMargin,
                                 2 * kMargin + row_label_w + 12 + left_w + right_w + 260});
  const double plot_x0 = kMargin + row_label_w + 12, plot_x1 = width - kMargin;
  const std::vector<LegendItem> legend =
      family_legend(families, any_e2e, any_spread, "hatched: end to end (with transfers); solid: kernel only or CPU");
  const double legend_y = title_height(width, title, subtitle);
  const double plot_top = legend_height(cs::family_legend_heading(), legend, kMargin, width - kMargin, legend_y) + 26;
  constexpr double row_h = 26, bar_h = 16, group_gap = 6;
  std::vector<double> row_mid;
  double y = plot_top + 4;
  for (std::size_t i = 0; i < laid.size(); ++i) {
    if (i && backend_name(*laid[i].r) != backend_name(*laid[i - 1].r)) y += group_gap;
    row_mid.push_back(y + row_h / 2);
    y += row_h;
  }
  const double plot_bottom = y + 4;
  const double notes_width = width - 2 * kMargin;
  const double height =
      plot_bottom + 52 + kLineGap * static_cast<double>(wrapped_lines(note, kSmallSize, notes_width)) + 8;

  svg::Document doc(width, height);
  doc.defs(cs::hatch_pattern("hatch-legend", "#dddddd", "#777777"));
  for (cs::Family f : families) doc.defs(cs::hatch_pattern(hatch_id(f), cs::family_style(f).fill, "#ffffff"));
  draw_title(doc, width, title, subtitle);
  draw_legend_rows(doc, cs::family_legend_heading(), legend, kMargin, width - kMargin, legend_y);

  double lo_exp = 0, hi_exp = 0;
  for (const Reach& r : reaches) {
    lo_exp = std::min(lo_exp, std::log10(r.lo));
    hi_exp = std::max(hi_exp, std::log10(r.hi));
  }
  if (hi_exp - lo_exp < 1) hi_exp = lo_exp + 1;
  const double pad = 0.04 * (hi_exp - lo_exp);
  const svg::LogAxis axis = fit_axis(lo_exp - pad, hi_exp + pad, plot_x0, plot_x1, reaches);
  draw_x_ticks(doc, axis, plot_top, plot_bottom, "x");
  doc.line(plot_x0, plot_bottom, plot_x1, plot_bottom, "#333", 1);
  doc.line(plot_x0, plot_top, plot_x0, plot_bottom, "#333", 1);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 40,
           "speedup vs " + baseline_name + " (log scale): right of 1x faster, left slower", kLabelSize, "middle",
           "axis-title");
  if (!note.empty())
    draw_wrapped(doc, kMargin, plot_bottom + 62, note, kSmallSize, notes_width, "start", "noisy-note",
                 "fill=\"#a04000\"");

  // The baseline (1x), under the bars.
  const double x1 = axis.map(1);
  doc.line(x1, plot_top - 4, x1, plot_bottom, "#000", 1.5, "5,3", "reference");
  const std::string reference = "best CPU: " + baseline_name + " = 1x";
  const double ref_w = svg::text_width(reference, kSmallSize);
  doc.text(std::clamp(x1, kMargin + ref_w / 2, width - kMargin - ref_w / 2), plot_top - 8, reference, kSmallSize,
           "middle", "reference-label");

  for (std::size_t i = 0; i < laid.size(); ++i) {
    const Row& row = laid[i];
    const VariantResult& r = *row.r;
    const double mid = row_mid[i], baseline_y = mid + 4;
    doc.text(plot_x0 - 8, baseline_y, backend_label(r), kLabelSize, "end", "row-label");
    if (!row.bar) {
      draw_pieces(doc, x1 + 6, baseline_y, row.label);
      continue;
    }
    const cs::FamilyStyle& style = cs::family_style(r);
    const std::string fill =
        r.timing == TimingMode::end_to_end ? "url(#" + hatch_id(cs::family_of(r)) + ")" : style.fill;
    const double x_end = axis.map(row.value);
    // A bar of 1x (the baseline itself) still shows: 2 px.
    const double bar_x = std::min(x1, x_end), bar_w = std::max(2.0, std::fabs(x_end - x1));
    doc.rect(row.value >= 1 ? bar_x : std::min(bar_x, x1 - bar_w), mid - bar_h / 2, bar_w, bar_h, fill, style.stroke,
             "bar", "data-backend=\"" + svg::escape(backend_label(r)) + "\"");
    double label_x = 0;
    if (row.spread) {
      const double a = axis.map(row.lo), b = axis.map(row.hi);
      doc.line(a, mid, b, mid, "#000", 1.3, "", "spread");
      doc.line(a, mid - 5, a, mid + 5, "#000", 1.3, "", "spread");
      doc.line(b, mid - 5, b, mid + 5, "#000", 1.3, "", "spread");
    }
    if (row.value >= 1)
      label_x = std::max({x_end, axis.map(row.hi), x1 + 2}) + 6;
    else
      label_x = std::min(x_end, axis.map(row.lo)) - 6 - pieces_width(row.label);
    draw_pieces(doc, label_x, baseline_y, row.label);
  }
  return {"speedup_" + slug(group.title()) + ".svg", title, doc.str()};
}

Chart scaling_chart(const Sweep& sweep, const MachineContext& machine, double cv_threshold) {
  const bool use_gflops = std::all_of(sweep.results.begin(), sweep.results.end(),
                                      [](const VariantResult* r) { return !r->ok() || r->gflops > 0; });
  auto value_of = [&](const VariantResult& r) { return use_gflops ? r.gflops : r.stats.median_s * 1e3; };
  auto value_at = [&](const VariantResult& r, double seconds) {
    return use_gflops ? r.flops / seconds / 1e9 : seconds * 1e3;
  };
  // One line per backend+timing, points ordered by size; lines in chart order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const VariantResult*>> lines;
  for (const VariantResult* r : chart_order(sweep.results)) {
    if (!r->ok() || !(value_of(*r) > 0)) continue;
    std::string key = backend_label(*r);
    if (!lines.count(key)) order.push_back(key);
    lines[key].push_back(r);
  }
  for (auto& [k, pts] : lines) std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->size < b->size; });

  const std::vector<BreakEven> crossings = break_even(sweep);
  std::vector<std::string> notes;
  for (const BreakEven& b : crossings) notes.push_back("Break-even: " + describe(b));
  if (std::string w = warning_note(sweep.results, cv_threshold, "Dashed orange ring: "); !w.empty()) notes.push_back(w);

  const std::string title = sweep.title() + ": " + (use_gflops ? "GFLOP/s" : "time") + " vs size";
  const std::string subtitle = machine_label(machine);
  // Legend at the right: per family its name, then its lines.
  const std::string dash_note = "dashed line, hollow marker: end to end (with transfers)";
  bool any_dashed = false, any_spread = false;
  for (const auto& [k, pts] : lines) any_dashed = any_dashed || pts.front()->timing == TimingMode::end_to_end;
  double legend_w = 180;
  for (const std::string& k : order) legend_w = std::max(legend_w, svg::text_width(k, kSmallSize) + 38);
  for (const auto& [k, pts] : lines)
    legend_w = std::max(legend_w, svg::text_width(cs::family_style(*pts.front()).name, kSmallSize, true));
  const double width = std::max(960.0, svg::text_width(title, kTitleSize, true) / 2 + 2 * kMargin);
  legend_w = std::min(legend_w, width / 2.5);
  const double plot_x0 = 80, plot_x1 = width - legend_w - 2 * kMargin;
  const double lx = plot_x1 + kMargin;
  const double plot_top = title_height(width, title, subtitle) + 20;

  // The legend first (it sets the plot's height when it is the taller).
  svg::Document legend_doc(0, 0);
  double ly = draw_wrapped(legend_doc, lx, plot_top + 6, cs::family_legend_heading(), kSmallSize, legend_w, "start",
                           "legend-heading", "font-weight=\"bold\"");
  struct Series {
    std::string key, colour;
    int shape;
    bool dashed;
  };
  std::vector<Series> series;
  std::map<cs::Family, int> per_family;
  std::optional<cs::Family> last_family;
  for (const std::string& key : order) {
    const VariantResult& first = *lines[key].front();
    const cs::Family f = cs::family_of(first);
    if (!last_family || *last_family != f) {
      legend_doc.text(lx, ly + 4, cs::family_style(f).name, kSmallSize, "start", "legend-family",
                      "font-weight=\"bold\"");
      ly += 18;
      last_family = f;
    }
    const bool dashed = first.timing == TimingMode::end_to_end;
    // A backend's kernel and end-to-end lines share a marker shape.
    int& shape = per_family[f];
    if (!series.empty() && backend_name(first) == backend_name(*lines[series.back().key].front()))
      shape = series.back().shape;
    else if (series.empty() || cs::family_of(*lines[series.back().key].front()) != f)
      shape = 0;
    else
      shape = series.back().shape + 1;
    series.push_back({key, cs::family_style(f).fill, shape, dashed});
    const std::string marker_fill = dashed ? "#ffffff" : series.back().colour;
    legend_doc.line(lx, ly, lx + 30, ly, series.back().colour, 2.2, dashed ? "7,4" : "", "legend-line");
    legend_doc.marker(shape, lx + 15, ly, 4.5, marker_fill);
    legend_doc.text(lx + 38, ly + 4, key, kSmallSize, "start", "legend");
    ly += 20;
  }
  for (const auto& [k, pts] : lines)
    for (const VariantResult* r : pts) {
      double a = 0, b = 0;
      any_spread = any_spread || spread_of(
                                     *r, [&](double t) { return value_at(*r, t); }, &a, &b);
    }
  if (any_dashed)
    ly = draw_wrapped(legend_doc, lx, ly + 8, dash_note, 10, legend_w, "start", "legend-note", "fill=\"#555\"");
  if (any_spread)
    ly = draw_wrapped(legend_doc, lx, ly + 8, "whiskers: fastest to slowest run", 10, legend_w, "start", "legend-note",
                      "fill=\"#555\"");
  const double plot_bottom = std::max(plot_top + 380, ly + 4);
  const double notes_width = width - plot_x0 - kMargin;
  std::size_t note_lines = 0;
  for (const std::string& n : notes) note_lines += wrapped_lines(n, kSmallSize, notes_width);
  const double height = plot_bottom + 54 + kLineGap * static_cast<double>(note_lines) + 8;

  svg::Document doc(width, height);
  draw_title(doc, width, title, subtitle);

  std::vector<double> ys;
  for (const auto& [k, pts] : lines)
    for (const VariantResult* r : pts) {
      ys.push_back(value_of(*r));
      double a = 0, b = 0;
      if (spread_of(
              *r, [&](double t) { return value_at(*r, t); }, &a, &b)) {
        ys.push_back(a);
        ys.push_back(b);
      }
    }
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
  doc.text(22, (plot_top + plot_bottom) / 2, use_gflops ? "GFLOP/s (log scale)" : "median time, ms (log scale)",
           kLabelSize, "middle", "axis-title",
           fmt::format("transform=\"rotate(-90 22 {:.1f})\"", (plot_top + plot_bottom) / 2));

  // What the break-even labels must not touch.
  cs::Occupancy taken;
  for (const Series& s : series) {
    const auto& pts = lines[s.key];
    const std::string marker_fill = s.dashed ? "#ffffff" : s.colour;
    std::string points;
    std::vector<double> xy;
    for (const VariantResult* r : pts) {
      const double x = x_axis.map(static_cast<double>(r->size)), y = y_axis.map(value_of(*r));
      points += fmt::format("{:.1f},{:.1f} ", x, y);
      xy.insert(xy.end(), {x, y});
    }
    taken.add_polyline(xy);
    doc.raw(
        fmt::format("<polyline class=\"series\" data-series=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
                    "stroke-width=\"2.2\"{}/>",
                    svg::escape(s.key), points, s.colour, s.dashed ? " stroke-dasharray=\"7,4\"" : ""));
    for (const VariantResult* r : pts) {
      const double x = x_axis.map(static_cast<double>(r->size)), y = y_axis.map(value_of(*r));
      double a = 0, b = 0;
      if (spread_of(
              *r, [&](double t) { return value_at(*r, t); }, &a, &b)) {
        const double ya = y_axis.map(a), yb = y_axis.map(b);
        doc.line(x, ya, x, yb, s.colour, 1.2, "", "spread");
        doc.line(x - 4, ya, x + 4, ya, s.colour, 1.2, "", "spread");
        doc.line(x - 4, yb, x + 4, yb, s.colour, 1.2, "", "spread");
        taken.boxes.push_back({x - 5, std::min(ya, yb), x + 5, std::max(ya, yb)});
      }
      doc.marker(s.shape, x, y, 4.5, marker_fill, "point");
      taken.boxes.push_back({x - 7, y - 7, x + 7, y + 7});
      if (flagged(*r)) {
        mark_point(doc, x, y);
        taken.boxes.push_back({x - 11, y - 11, x + 11, y + 11});
      }
    }
  }
  {
    // Same legend, drawn for real.
    double y = draw_wrapped(doc, lx, plot_top + 6, cs::family_legend_heading(), kSmallSize, legend_w, "start",
                            "legend-heading", "font-weight=\"bold\"");
    std::optional<cs::Family> family;
    for (const Series& s : series) {
      const cs::Family f = cs::family_of(*lines[s.key].front());
      if (!family || *family != f) {
        doc.text(lx, y + 4, cs::family_style(f).name, kSmallSize, "start", "legend-family", "font-weight=\"bold\"");
        y += 18;
        family = f;
      }
      doc.line(lx, y, lx + 30, y, s.colour, 2.2, s.dashed ? "7,4" : "", "legend-line");
      doc.marker(s.shape, lx + 15, y, 4.5, s.dashed ? "#ffffff" : s.colour);
      doc.text(lx + 38, y + 4, s.key, kSmallSize, "start", "legend");
      y += 20;
    }
    if (any_dashed) y = draw_wrapped(doc, lx, y + 8, dash_note, 10, legend_w, "start", "legend-note", "fill=\"#555\"");
    if (any_spread)
      draw_wrapped(doc, lx, y + 8, "whiskers: fastest to slowest run", 10, legend_w, "start", "legend-note",
                   "fill=\"#555\"");
  }

  // Break-even: one dotted vertical per size where GPU backends break even, one label naming
  // them, placed where it touches no line, point or other label (else only the note says it).
  std::map<std::int64_t, std::vector<std::string>> at_size;
  for (const BreakEven& b : crossings)
    if (b.size) at_size[*b.size].push_back(b.gpu_backend);
  for (const auto& [size, backends] : at_size) {
    const double x = x_axis.map(static_cast<double>(size));
    doc.line(x, plot_top, x, plot_bottom, "#000", 1.2, "2,3", "break-even");
    taken.add_polyline({x, plot_top, x, plot_bottom});
  }
  for (const auto& [size, backends] : at_size) {
    const double x = x_axis.map(static_cast<double>(size));
    std::string who;
    for (std::size_t i = 0; i < backends.size(); ++i) who += (i ? ", " : "") + backends[i];
    const std::string label =
        who + (backends.size() > 1 ? " break even at " : " breaks even at ") + std::to_string(size);
    for (double y = plot_top + 14; y < plot_bottom - 4; y += 6) {
      bool placed = false;
      for (const std::string anchor : {"start", "end"}) {
        const cs::Box box = cs::text_box(anchor == "start" ? x + 5 : x - 5, y, label, kSmallSize, anchor);
        const cs::Box padded{box.x0 - 2, box.y0 - 2, box.x1 + 2, box.y1 + 2};
        if (box.x0 < plot_x0 + 2 || box.x1 > plot_x1 - 2 || !taken.free(padded)) continue;
        doc.text(anchor == "start" ? x + 5 : x - 5, y, label, kSmallSize, anchor, "break-even-label");
        taken.boxes.push_back(padded);
        placed = true;
        break;
      }
      if (placed) break;
    }
  }
  double note_y = plot_bottom + 62;
  for (const std::string& n : notes)
    note_y = draw_wrapped(doc, plot_x0, note_y, n, kSmallSize, notes_width, "start",
                          n.rfind("Break-even", 0) == 0 ? "break-even-note" : "noisy-note", "");
  return {"scaling_" + slug(sweep.title()) + ".svg", title, doc.str()};
}

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

Chart comparison_chart(const std::string& title_key,
                       const std::vector<std::pair<std::size_t, const ShapeGroup*>>& present,
                       const std::vector<RunReport>& machines) {
  bool use_gflops = true;
  for (const auto& [m, g] : present)
    for (const VariantResult* r : g->results)
      if (r->ok() && !(r->gflops > 0)) use_gflops = false;
  auto value_of = [&](const VariantResult& r) { return use_gflops ? r.gflops : r.stats.median_s * 1e3; };
  auto value_at = [&](const VariantResult& r, double seconds) {
    return use_gflops ? r.flops / seconds / 1e9 : seconds * 1e3;
  };
  std::vector<const VariantResult*> all_results;
  for (const auto& [m, g] : present) all_results.insert(all_results.end(), g->results.begin(), g->results.end());
  std::vector<std::string> categories;
  for (const VariantResult* r : chart_order(all_results))
    if (std::find(categories.begin(), categories.end(), backend_label(*r)) == categories.end())
      categories.push_back(backend_label(*r));

  const std::string title = title_key + ": " + (use_gflops ? "GFLOP/s" : "median time") + " on " +
                            std::to_string(present.size()) + " machines";
  std::vector<const MachineContext*> contexts;
  for (const auto& p : present) contexts.push_back(&machines[p.first].machine);
  const std::vector<std::string> names = distinct_machine_names(contexts);
  std::string subtitle;
  for (std::size_t i = 0; i < names.size(); ++i) subtitle += (i ? " vs " : "") + names[i];

  // Bars, their labels and how far right the labels reach.
  struct Bar {
    const VariantResult* r = nullptr;
    double value = 0, lo = 0, hi = 0;
    bool spread = false;
    std::vector<LabelPiece> label;
  };
  std::vector<std::vector<Bar>> bars(categories.size(), std::vector<Bar>(present.size()));
  std::vector<Reach> reaches;
  std::vector<double> values;
  std::set<cs::Family> families;
  double label_w = 0, right_w = 0;
  for (const std::string& c : categories) label_w = std::max(label_w, svg::text_width(c, kLabelSize));
  for (std::size_t c = 0; c < categories.size(); ++c)
    for (std::size_t i = 0; i < present.size(); ++i) {
      Bar& bar = bars[c][i];
      for (const VariantResult* r : present[i].second->results)
        if (backend_label(*r) == categories[c]) bar.r = r;
      if (!bar.r) {
        bar.label.push_back({"not run", 10, false, "no-value", "fill=\"#666\""});
      } else if (!bar.r->ok() || !(value_of(*bar.r) > 0)) {
        bar.label.push_back({status_mark(*bar.r), 10, true, "failed", "fill=\"#b00000\""});
      } else {
        families.insert(cs::family_of(*bar.r));
        bar.value = bar.lo = bar.hi = value_of(*bar.r);
        double a = 0, b = 0;
        if (spread_of(
                *bar.r, [&](double t) { return value_at(*bar.r, t); }, &a, &b)) {
          bar.spread = true;
          bar.lo = std::min(a, bar.value);
          bar.hi = std::max(b, bar.value);
        }
        values.insert(values.end(), {bar.lo, bar.hi});
        bar.label.push_back({format_number(bar.value), 10, false, "bar-label", ""});
        if (const std::string warning = bar_warning(*bar.r); !warning.empty())
          bar.label.push_back({warning, 10, true, "noisy-marker", "fill=\"#a04000\""});
        reaches.push_back({bar.lo, bar.hi, 0, pieces_width(bar.label) + 6});
      }
      right_w = std::max(right_w, pieces_width(bar.label) + 6);
    }
  const double width = std::max(
      {960.0, svg::text_width(title, kTitleSize, true) / 2 + 2 * kMargin, 2 * kMargin + label_w + 12 + right_w + 300});
  const double plot_x0 = kMargin + label_w + 12, plot_x1 = width - kMargin;

  // Legend: the machines (pattern, in grey), then the families (colour).
  std::vector<LegendItem> machine_legend;
  for (std::size_t i = 0; i < present.size(); ++i) {
    const std::size_t pattern = i % 4;
    machine_legend.push_back({LegendItem::Swatch::box, machine_label(machines[present[i].first].machine),
                              pattern == 0 || pattern == 2 ? std::string(pattern == 0 ? "#777777" : "#d4d4d4")
                                                           : fmt::format("url(#m{}grey)", pattern),
                              "#333333"});
  }
  bool any_spread = false;
  for (const auto& row : bars)
    for (const Bar& b : row) any_spread = any_spread || b.spread;
  const std::vector<LegendItem> legend = family_legend(families, false, any_spread, "");
  const double title_bottom = title_height(width, title, subtitle);
  const double machines_bottom =
      legend_height("Pattern = machine:", machine_legend, kMargin, width - kMargin, title_bottom);
  const double legend_bottom =
      legend_height(cs::family_legend_heading(), legend, kMargin, width - kMargin, machines_bottom);
  const double bar_h = 16, group_gap = 14;
  const double group_h = bar_h * static_cast<double>(present.size()) + group_gap;
  const double plot_top = legend_bottom + 14;
  const double plot_bottom = plot_top + group_h * static_cast<double>(categories.size());
  // Machines may differ in threshold: the note names none.
  const bool any_flagged =
      std::any_of(all_results.begin(), all_results.end(), [](const VariantResult* r) { return flagged(*r); });
  const std::string note = any_flagged
                               ? std::string(kNoisyMarker) +
                                     " cv above the run's --cv-threshold: not to be trusted; throttled: the GPU "
                                     "slowed its clocks during the run"
                               : "";
  const double notes_width = width - 2 * kMargin;
  const double height =
      plot_bottom + 52 + kLineGap * static_cast<double>(wrapped_lines(note, kSmallSize, notes_width)) + 8;
  svg::Document doc(width, height);
  for (cs::Family f : families)
    doc.defs(machine_pattern_defs(cs::family_style(f).fill, fmt::format("f{}", static_cast<int>(f))));
  doc.defs(machine_pattern_defs("#777777", "grey"));
  draw_title(doc, width, title, subtitle);
  draw_legend_rows(doc, "Pattern = machine:", machine_legend, kMargin, width - kMargin, title_bottom);
  draw_legend_rows(doc, cs::family_legend_heading(), legend, kMargin, width - kMargin, machines_bottom);

  double lo = values.empty() ? 1 : positive_min(values) / 2;
  double hi = values.empty() ? 10 : *std::max_element(values.begin(), values.end());
  const svg::LogAxis axis = fit_axis(std::floor(std::log10(lo)), std::log10(hi) + 0.1, plot_x0, plot_x1, reaches);
  draw_x_ticks(doc, axis, plot_top, plot_bottom, "");
  doc.line(plot_x0, plot_bottom, plot_x1, plot_bottom, "#333", 1);
  doc.line(plot_x0, plot_top, plot_x0, plot_bottom, "#333", 1);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 40,
           use_gflops ? "GFLOP/s (log scale; higher is better)" : "median time, ms (log scale; lower is better)",
           kLabelSize, "middle", "axis-title");
  if (!note.empty())
    draw_wrapped(doc, kMargin, plot_bottom + 62, note, kSmallSize, notes_width, "start", "noisy-note",
                 "fill=\"#a04000\"");

  for (std::size_t c = 0; c < categories.size(); ++c) {
    double group_y = plot_top + group_h * static_cast<double>(c) + group_gap / 2;
    doc.text(plot_x0 - 8, group_y + bar_h * static_cast<double>(present.size()) / 2 + 4, categories[c], kLabelSize,
             "end", "row-label");
    for (std::size_t i = 0; i < present.size(); ++i) {
      const Bar& bar = bars[c][i];
      const double y = group_y + bar_h * static_cast<double>(i), mid = y + bar_h / 2;
      if (!(bar.value > 0)) {
        draw_pieces(doc, plot_x0 + 6, y + bar_h - 4, bar.label);
        continue;
      }
      const cs::Family f = cs::family_of(*bar.r);
      const double x_end = axis.map(bar.value);
      doc.rect(plot_x0, y + 1, x_end - plot_x0, bar_h - 2, machine_fill(i, f), cs::family_style(f).stroke, "bar",
               "data-backend=\"" + svg::escape(categories[c]) + "\"" + (i % 4 == 2 ? " fill-opacity=\"0.35\"" : ""));
      if (bar.spread) {
        const double a = axis.map(bar.lo), b = axis.map(bar.hi);
        doc.line(a, mid, b, mid, "#000", 1.2, "", "spread");
        doc.line(a, mid - 4, a, mid + 4, "#000", 1.2, "", "spread");
        doc.line(b, mid - 4, b, mid + 4, "#000", 1.2, "", "spread");
      }
      draw_pieces(doc, std::max(x_end, axis.map(bar.hi)) + 6, y + bar_h - 4, bar.label);
    }
  }
  return {"compare_" + slug(title_key) + ".svg", title, doc.str()};
}

}  // namespace

std::vector<Chart> speedup_charts(const RunReport& report) {
  std::vector<Chart> charts;
  for (const ShapeGroup& group : group_by_shape(report.results)) {
    bool any = std::any_of(group.results.begin(), group.results.end(),
                           [](const VariantResult* r) { return r->ok() && r->speedup_vs_best_cpu > 0; });
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
