// Draws the roofline charts (one per precision of a report whose machine context carries
// peaks) from what chart_data.cpp chose to show.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reports/chart_data.h"
#include "reports/chart_draw.h"
#include "reports/chart_style.h"
#include "reports/charts.h"
#include "reports/svg.h"

namespace mlbench::reports {
namespace {

namespace cs = chart_style;
using namespace chart_draw;

// Roofs differ in dash pattern and lightness, so they stay apart in grayscale.
struct RoofStyle {
  std::string colour, dash;
  double width;
};
RoofStyle roof_style(const Roof& roof) {
  // A read-bandwidth roof (reductions) is thinner than its unit's triad/copy roof.
  if (roof.bandwidth_source == "read") {
    RoofStyle triad = roof_style(Roof{roof.unit, roof.compute_gflops, roof.bandwidth_gbps, "triad"});
    return {triad.colour, "3,3", 1.4};
  }
  if (roof.unit == "cpu 1 thread") return {"#6baed6", "9,5", 2.2};
  if (roof.unit.rfind("cpu", 0) == 0) return {"#08306b", "", 2.6};
  if (roof.unit == "gpu tf32") return {"#000000", "2,4", 2.2};
  return {"#e6550d", "14,4,3,4", 2.4};  // gpu fp32 / fp64
}

// A wrapped bold legend heading; returns the baseline below it.
double draw_legend_text(svg::Document& doc, double x, double y, const std::string& text, double width) {
  for (const std::string& line : cs::wrap(text, kSmallSize, width)) {
    doc.text(x, y, line, kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
    y += 16;
  }
  return y + 4;
}

constexpr const char* kResultsHeading = "Results (hollow: end to end)";

// The legend's width: its longest line, a roof's wrapped at kLegendMax.
double roofline_legend_width(const RooflineChartData& d) {
  constexpr double kLegendMax = 330;
  double legend_w = svg::text_width(kResultsHeading, kSmallSize, true);
  for (const RooflineSeries& s : d.series) legend_w = std::max(legend_w, svg::text_width(s.label, kSmallSize) + 26);
  for (const RooflineRoof& r : d.roofs)
    legend_w = std::max(legend_w, std::min(kLegendMax, svg::text_width(r.legend, kSmallSize) + 42));
  return std::min(legend_w, kLegendMax + 60);
}

// The legend right of the plot: the roofs, the families, the series; returns the y below it.
double draw_roofline_legend(svg::Document& doc, const RooflineChartData& d, double lx, double top, double legend_w) {
  double ly = top + 4;
  doc.text(lx, ly, "Roofs (measured peaks)", kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
  ly += 20;
  for (const RooflineRoof& roof : d.roofs) {
    const RoofStyle style = roof_style(roof.roof);
    doc.line(lx, ly - 4, lx + 34, ly - 4, style.colour, style.width, style.dash, "legend-line");
    for (const std::string& line : cs::wrap(roof.legend, kSmallSize, legend_w - 42)) {
      doc.text(lx + 42, ly, line, kSmallSize, "start", "legend");
      ly += 16;
    }
    ly += 4;
  }
  ly += 10;
  ly = draw_legend_text(doc, lx, ly, cs::family_legend_heading(), legend_w);
  doc.text(lx, ly, kResultsHeading, kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
  ly += 20;
  for (std::size_t i = 0; i < d.series.size(); ++i) {
    const RooflineSeries& s = d.series[i];
    doc.marker(static_cast<int>(i), lx + 8, ly - 4, 5, s.end_to_end ? "#ffffff" : cs::family_style(s.family).fill);
    doc.text(lx + 26, ly, s.label, kSmallSize, "start", "legend");
    ly += 20;
  }
  return ly;
}

// Axes covering every point and every ridge, with a margin (whole decades).
void roofline_axes(const RooflineChartData& d, double x0, double x1, double top, double bottom, svg::LogAxis* x_axis,
                   svg::LogAxis* y_axis) {
  double x_lo = INFINITY, x_hi = 0, y_lo = INFINITY, y_hi = 0;
  for (const RooflinePoint& p : d.points) {
    x_lo = std::min(x_lo, p.intensity);
    x_hi = std::max(x_hi, p.intensity);
    y_lo = std::min(y_lo, p.gflops);
    y_hi = std::max(y_hi, p.gflops);
  }
  for (const RooflineRoof& r : d.roofs) {
    x_lo = std::min(x_lo, r.roof.ridge_intensity());
    x_hi = std::max(x_hi, r.roof.ridge_intensity());
    y_hi = std::max(y_hi, r.roof.compute_gflops);
    y_lo = std::min(y_lo, r.roof.compute_gflops);
  }
  if (!(x_lo > 0) || !std::isfinite(x_lo)) x_lo = 0.1;
  if (!(x_hi > 0)) x_hi = 100;
  if (!(y_lo > 0) || !std::isfinite(y_lo)) y_lo = 1;
  if (!(y_hi > 0)) y_hi = 1000;
  *x_axis = svg::LogAxis::covering(x_lo / 2, x_hi * 2, x0, x1);
  *y_axis = svg::LogAxis::covering(y_lo / 2, y_hi * 2, bottom, top);
}

// Grid lines and tick labels of both axes.
void draw_roofline_ticks(svg::Document& doc, const svg::LogAxis& x_axis, const svg::LogAxis& y_axis, double x0,
                         double x1, double top, double bottom) {
  for (double t : y_axis.ticks()) {
    const double y = y_axis.map(t);
    doc.line(x0, y, x1, y, "#e4e4e4", 1);
    doc.text(x0 - 8, y + 4, svg::tick_label(t), kSmallSize, "end", "tick");
  }
  for (double t : x_axis.ticks()) {
    const double x = x_axis.map(t);
    doc.line(x, top, x, bottom, "#e4e4e4", 1);
    doc.line(x, bottom, x, bottom + 5, "#333", 1);
    doc.text(x, bottom + 18, svg::tick_label(t), kSmallSize, "middle", "tick");
  }
}

struct RoofLabel {
  double flat_y, ridge_x;
  std::string text;
};

// Each roof: the slope from where it enters the plot to the ridge, then flat to the right
// edge; returns where its label belongs.
std::vector<RoofLabel> draw_roofs(svg::Document& doc, const std::vector<RooflineRoof>& roofs,
                                  const svg::LogAxis& x_axis, const svg::LogAxis& y_axis, cs::Occupancy* taken) {
  const double x_min = std::pow(10.0, x_axis.lo_exp), x_max = std::pow(10.0, x_axis.hi_exp);
  const double y_min = std::pow(10.0, y_axis.lo_exp);
  std::vector<RoofLabel> labels;
  for (const RooflineRoof& d : roofs) {
    const Roof& roof = d.roof;
    const RoofStyle style = roof_style(roof);
    const double x_start = std::max(x_min, y_min / roof.bandwidth_gbps);
    const double ridge = std::min(roof.ridge_intensity(), x_max);
    const std::vector<double> xy = {x_axis.map(x_start), y_axis.map(roof.bound_gflops(x_start)),
                                    x_axis.map(ridge),   y_axis.map(roof.bound_gflops(ridge)),
                                    x_axis.map(x_max),   y_axis.map(roof.bound_gflops(x_max))};
    taken->add_polyline(xy);
    doc.raw(
        fmt::format("<polyline class=\"roof\" data-unit=\"{}\" data-source=\"{}\" data-gflops=\"{}\" data-gbps=\"{}\" "
                    "points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"none\" stroke=\"{}\" "
                    "stroke-width=\"{}\"{}/>",
                    svg::escape(roof.unit), roof.bandwidth_source, roof.compute_gflops, roof.bandwidth_gbps, xy[0],
                    xy[1], xy[2], xy[3], xy[4], xy[5], style.colour, style.width,
                    style.dash.empty() ? "" : " stroke-dasharray=\"" + style.dash + "\""));
    labels.push_back({y_axis.map(roof.compute_gflops), x_axis.map(ridge), d.label});
  }
  return labels;
}

// Roof names next to their flat parts, at the first place along it (above, then below) that
// touches no marker, no roof and no other label; the legend names every roof in any case.
void draw_roof_labels(svg::Document& doc, const std::vector<RoofLabel>& labels, double x0, double x1, double top,
                      double bottom, cs::Occupancy* taken) {
  for (const RoofLabel& label : labels) {
    const double w = svg::text_width(label.text, kSmallSize);
    for (double baseline : {label.flat_y - 6, label.flat_y + 15}) {
      bool placed = false;
      for (double left = x1 - 6 - w; left >= std::max(x0 + 4, label.ridge_x + 4); left -= 12) {
        const cs::Box box = cs::text_box(left, baseline, label.text, kSmallSize, "start");
        if (box.y0 < top + 1 || box.y1 > bottom - 1 || !taken->free(box)) continue;
        taken->boxes.push_back(box);
        doc.text(left, baseline, label.text, kSmallSize, "start", "roof-label");
        placed = true;
        break;
      }
      if (placed) break;
    }
  }
}

Chart render_roofline(const RooflineChartData& d) {
  const double legend_w = roofline_legend_width(d);
  const double width = std::max({1000.0, svg::text_width(d.title, kTitleSize, true) + 60, legend_w + 24 + 620});
  const double plot_x0 = 84, plot_x1 = width - legend_w - 48;
  const double lx = plot_x1 + 24;
  const std::size_t subtitle_lines = cs::wrap(d.subtitle, kLabelSize, width - 48).size();
  const double plot_top = 76 + 16 * static_cast<double>(subtitle_lines - std::min<std::size_t>(subtitle_lines, 1));
  // The legend may be taller than the plot.
  svg::Document probe(0, 0);
  const double plot_bottom = std::max(plot_top + 420, draw_roofline_legend(probe, d, lx, plot_top, legend_w));
  const double notes_width = width - plot_x0 - 24;
  const double height = plot_bottom + 56 + 16 * static_cast<double>(wrapped_lines(d.note, kSmallSize, notes_width)) + 8;
  svg::LogAxis x_axis, y_axis;
  roofline_axes(d, plot_x0, plot_x1, plot_top, plot_bottom, &x_axis, &y_axis);

  svg::Document doc(width, height);
  doc.text(width / 2, 28, d.title, kTitleSize, "middle", "title", "font-weight=\"bold\"");
  draw_wrapped(doc, width / 2, 48, d.subtitle, kLabelSize, width - 48, "middle", "subtitle", "fill=\"#444\"");
  draw_roofline_ticks(doc, x_axis, y_axis, plot_x0, plot_x1, plot_top, plot_bottom);
  draw_frame(doc, plot_x0, plot_x1, plot_top, plot_bottom);
  doc.text((plot_x0 + plot_x1) / 2, plot_bottom + 42, d.x_title, kLabelSize, "middle", "axis-title");
  const double y_mid = (plot_top + plot_bottom) / 2;
  doc.text(22, y_mid, d.y_title, kLabelSize, "middle", "axis-title",
           fmt::format("transform=\"rotate(-90 22 {:.1f})\"", y_mid));

  cs::Occupancy taken;
  const std::vector<RoofLabel> labels = draw_roofs(doc, d.roofs, x_axis, y_axis, &taken);
  for (const RooflinePoint& p : d.points) {
    const double x = x_axis.map(p.intensity), y = y_axis.map(p.gflops);
    taken.boxes.push_back({x - 12, y - 12, x + 12, y + 12});  // marker and a possible ring
  }
  draw_roof_labels(doc, labels, plot_x0, plot_x1, plot_top, plot_bottom, &taken);
  // Points: marker shape per series, colour per backend family; end-to-end rows hollow.
  for (const RooflinePoint& p : d.points) {
    const double x = x_axis.map(p.intensity), y = y_axis.map(p.gflops);
    doc.marker(static_cast<int>(p.series), x, y, 5, p.end_to_end ? "#ffffff" : cs::family_style(p.family).fill,
               "roofline-point");
    if (p.flagged) mark_point(doc, x, y, 10);
  }
  if (!d.note.empty())
    draw_wrapped(doc, plot_x0, plot_bottom + 62, d.note, kSmallSize, notes_width, "start", "noisy-note",
                 "fill=\"#a04000\"");
  draw_roofline_legend(doc, d, lx, plot_top, legend_w);
  return {d.file_name, d.title, doc.str()};
}

}  // namespace

std::vector<Chart> roofline_charts(const RunReport& report) {
  std::vector<Chart> charts;
  for (const RooflineChartData& d : roofline_chart_data(report)) charts.push_back(render_roofline(d));
  return charts;
}

}  // namespace mlbench::reports
