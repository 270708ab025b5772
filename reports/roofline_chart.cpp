// The roofline chart: one per precision of a report whose machine context carries peaks.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "bench/roofline.h"
#include "reports/charts.h"
#include "reports/svg.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

constexpr double kTitleSize = 16, kLabelSize = 12, kSmallSize = 11;

// Roofs differ in dash pattern and lightness, so they stay apart in grayscale.
struct RoofStyle {
  std::string colour, dash;
  double width;
};
RoofStyle roof_style(const Roof& roof) {
  if (roof.unit == "cpu 1 thread") return {"#6baed6", "9,5", 2.2};
  if (roof.unit.rfind("cpu", 0) == 0) return {"#08306b", "", 2.6};
  if (roof.unit == "gpu tf32") return {"#000000", "2,4", 2.2};
  return {"#e6550d", "14,4,3,4", 2.4};  // gpu fp32 / fp64
}

// Marker colours, alternating dark and light so neighbours differ in grayscale.
const std::vector<std::string>& point_palette() {
  static const std::vector<std::string> p = {"#08306b", "#fd8d3c", "#238b45", "#9e9ac8", "#a50f15",
                                             "#6baed6", "#54278f", "#fdd835", "#000000", "#a1d99b"};
  return p;
}

Chart roofline_chart(const RunReport& report, Precision precision, const std::vector<const VariantResult*>& points,
                     const std::vector<Roof>& roofs) {
  const MachineContext& machine = report.machine;
  // One series per backend + timing, in order of first appearance.
  std::vector<std::string> series;
  std::map<std::string, std::size_t> series_index;
  for (const VariantResult* r : points)
    if (series_index.emplace(backend_label(*r), series.size()).second) series.push_back(backend_label(*r));

  const std::string title = "Roofline, " + to_string(precision) + ", " +
                            (machine.hostname.empty() ? std::string("unknown host") : machine.hostname) +
                            ": GFLOP/s vs arithmetic intensity";
  std::vector<std::string> roof_legend;
  for (const Roof& roof : roofs)
    roof_legend.push_back(fmt::format("{}: {} GFLOP/s, {} GB/s {}", roof.unit, format_number(roof.compute_gflops),
                                      format_number(roof.bandwidth_gbps), roof.bandwidth_source));
  double legend_w = svg::text_width("Results (hollow: end to end)", kSmallSize);
  for (const std::string& s : series) legend_w = std::max(legend_w, svg::text_width(s, kSmallSize) + 26);
  for (const std::string& s : roof_legend) legend_w = std::max(legend_w, svg::text_width(s, kSmallSize) + 42);
  legend_w += 24;
  const double width = std::max({1000.0, svg::text_width(title, kTitleSize) + 60, legend_w + 560});
  const double plot_x0 = 84, plot_x1 = width - legend_w - 24;
  const double plot_top = 76, plot_bottom = plot_top + 420;
  const bool any_flagged = std::any_of(points.begin(), points.end(), [](const VariantResult* r) {
    return r->cv_above_threshold || !throttle_label(*r).empty();
  });
  const double height = plot_bottom + 64 + (any_flagged ? 18 : 0);

  // Axes cover every point and every ridge, with a margin.
  double x_lo = INFINITY, x_hi = 0, y_lo = INFINITY, y_hi = 0;
  for (const VariantResult* r : points) {
    x_lo = std::min(x_lo, r->intensity);
    x_hi = std::max(x_hi, r->intensity);
    y_lo = std::min(y_lo, r->gflops);
    y_hi = std::max(y_hi, r->gflops);
  }
  for (const Roof& roof : roofs) {
    x_lo = std::min(x_lo, roof.ridge_intensity());
    x_hi = std::max(x_hi, roof.ridge_intensity());
    y_hi = std::max(y_hi, roof.compute_gflops);
    y_lo = std::min(y_lo, roof.compute_gflops);
  }
  if (!(x_lo > 0) || !std::isfinite(x_lo)) x_lo = 0.1;
  if (!(x_hi > 0)) x_hi = 100;
  if (!(y_lo > 0) || !std::isfinite(y_lo)) y_lo = 1;
  if (!(y_hi > 0)) y_hi = 1000;
  svg::LogAxis x_axis = svg::LogAxis::covering(x_lo / 2, x_hi * 2, plot_x0, plot_x1);
  svg::LogAxis y_axis = svg::LogAxis::covering(y_lo / 2, y_hi * 2, plot_bottom, plot_top);

  svg::Document doc(width, height);
  doc.text(width / 2, 28, title, kTitleSize, "middle", "title", "font-weight=\"bold\"");
  doc.text(width / 2, 48, machine_label(machine), kLabelSize, "middle", "subtitle", "fill=\"#444\"");

  for (double t : y_axis.ticks()) {
    const double y = y_axis.map(t);
    doc.line(plot_x0, y, plot_x1, y, "#e4e4e4", 1);
    doc.text(plot_x0 - 8, y + 4, svg::tick_label(t), kSmallSize, "end", "tick");
  }
  for (double t : x_axis.ticks()) {
    const double x = x_axis.map(t);
    doc.line(x, plot_top, x, plot_bottom, "#e4e4e4", 1);
    doc.line(x, plot_bottom, x, plot_bottom + 5, "#333", 1);
    doc.text(x, plot_bottom + 18, svg::tick_label(t), kSmallSize, "middle", "tick");
  }
  doc.line(plot_x0, plot_bottom, plot_x1, plot_bottom, "#333", 1);
  doc.line(plot_x0, plot_top, plot_x0, plot_bottom, "#333", 1);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 42, "arithmetic intensity, FLOP/byte (minimum bytes; log scale)",
           kLabelSize, "middle", "axis-title");
  const double y_mid = (plot_top + plot_bottom) / 2;
  doc.text(22, y_mid, "GFLOP/s (log scale)", kLabelSize, "middle", "axis-title",
           fmt::format("transform=\"rotate(-90 22 {:.1f})\"", y_mid));

  // Roofs: the slope from where it enters the plot to the ridge, then flat to the right edge.
  const double x_min = std::pow(10.0, x_axis.lo_exp), x_max = std::pow(10.0, x_axis.hi_exp);
  const double y_min = std::pow(10.0, y_axis.lo_exp);
  struct RoofLabel {
    double flat_y, ridge_x;
    std::string text;
  };
  std::vector<RoofLabel> labels;
  for (const Roof& roof : roofs) {
    const RoofStyle style = roof_style(roof);
    const double x_start = std::max(x_min, y_min / roof.bandwidth_gbps);
    const double ridge = std::min(roof.ridge_intensity(), x_max);
    std::string path = fmt::format("{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}", x_axis.map(x_start),
                                   y_axis.map(roof.bound_gflops(x_start)), x_axis.map(ridge),
                                   y_axis.map(roof.bound_gflops(ridge)), x_axis.map(x_max),
                                   y_axis.map(roof.bound_gflops(x_max)));
    doc.raw(fmt::format("<polyline class=\"roof\" data-unit=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
                        "stroke-width=\"{}\"{}/>",
                        svg::escape(roof.unit), path, style.colour, style.width,
                        style.dash.empty() ? "" : " stroke-dasharray=\"" + style.dash + "\""));
    labels.push_back({y_axis.map(roof.compute_gflops), x_axis.map(ridge), roof.unit});
  }
  // Roof names next to their flat parts, at the first candidate place (right end, just past
  // the ridge, halfway; above the line, then below) whose box touches no marker and no other
  // label; the legend names every roof in any case.
  struct Box {
    double x0, y0, x1, y1;
    bool hits(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  };
  std::vector<Box> taken;
  for (const VariantResult* r : points) {
    const double x = x_axis.map(r->intensity), y = y_axis.map(r->gflops);
    taken.push_back({x - 7, y - 7, x + 7, y + 7});
  }
  for (const RoofLabel& label : labels) {
    const double w = svg::text_width(label.text, kSmallSize) + 4;
    std::vector<Box> candidates;
    for (double baseline : {label.flat_y - 6, label.flat_y + 15}) {
      for (double x0 : {plot_x1 - 8 - w, label.ridge_x + 8, (label.ridge_x + plot_x1 - w) / 2})
        if (x0 >= plot_x0 && x0 + w <= plot_x1) candidates.push_back({x0, baseline - 11, x0 + w, baseline + 3});
    }
    if (candidates.empty()) continue;
    Box chosen = candidates.front();
    for (const Box& c : candidates)
      if (std::none_of(taken.begin(), taken.end(), [&](const Box& t) { return t.hits(c); })) {
        chosen = c;
        break;
      }
    taken.push_back(chosen);
    doc.rect(chosen.x0, chosen.y0, w, 14, "#ffffff", "none", "", "fill-opacity=\"0.85\"");
    doc.text(chosen.x0 + 2, chosen.y1 - 3, label.text, kSmallSize, "start", "roof-label");
  }

  // Points: marker shape and colour per series; end-to-end rows hollow.
  for (const VariantResult* r : points) {
    const std::size_t i = series_index[backend_label(*r)];
    const std::string& colour = point_palette()[i % point_palette().size()];
    doc.marker(static_cast<int>(i), x_axis.map(r->intensity), y_axis.map(r->gflops), 5,
               r->timing == TimingMode::end_to_end ? "#ffffff" : colour, "roofline-point");
    if (r->cv_above_threshold || !throttle_label(*r).empty())
      doc.raw(fmt::format("<circle class=\"noisy-marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"10\" fill=\"none\" "
                          "stroke=\"#d95f02\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>",
                          x_axis.map(r->intensity), y_axis.map(r->gflops)));
  }
  if (any_flagged)
    doc.text(plot_x0, plot_bottom + 62,
             "Dashed orange ring: " + noisy_note(report.run.cv_threshold) + "; or the GPU throttled during the run",
             kSmallSize, "start", "noisy-note", "fill=\"#a04000\"");

  // Legend: roofs (line samples), then results (markers).
  const double lx = plot_x1 + 24;
  double ly = plot_top + 4;
  doc.text(lx, ly, "Roofs (measured peaks)", kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
  ly += 20;
  for (std::size_t i = 0; i < roofs.size(); ++i) {
    const RoofStyle style = roof_style(roofs[i]);
    doc.line(lx, ly - 4, lx + 34, ly - 4, style.colour, style.width, style.dash, "legend-line");
    doc.text(lx + 42, ly, roof_legend[i], kSmallSize, "start", "legend");
    ly += 20;
  }
  ly += 10;
  doc.text(lx, ly, "Results (hollow: end to end)", kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
  ly += 20;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string& colour = point_palette()[i % point_palette().size()];
    const bool e2e = series[i].find(timing_label(TimingMode::end_to_end)) != std::string::npos;
    doc.marker(static_cast<int>(i), lx + 8, ly - 4, 5, e2e ? "#ffffff" : colour);
    doc.text(lx + 26, ly, series[i], kSmallSize, "start", "legend");
    ly += 20;
  }
  return {"roofline_" + to_string(precision) + ".svg", title, doc.str()};
}

}  // namespace

std::vector<Chart> roofline_charts(const RunReport& report) {
  std::vector<Chart> charts;
  if (!report.machine.peaks) return charts;
  for (Precision precision : all_precisions()) {
    std::vector<const VariantResult*> points;
    for (const VariantResult& r : report.results)
      if (r.precision == precision && r.ok() && r.gflops > 0 && r.intensity > 0) points.push_back(&r);
    if (points.empty()) continue;
    charts.push_back(roofline_chart(report, precision, points, roofs_for_precision(*report.machine.peaks, precision)));
  }
  return charts;
}

}  // namespace mlbench::reports
