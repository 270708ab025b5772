// The roofline chart: one per precision of a report whose machine context carries peaks.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "bench/roofline.h"
#include "reports/chart_style.h"
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
  for (const std::string& line : chart_style::wrap(text, kSmallSize, width)) {
    doc.text(x, y, line, kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
    y += 16;
  }
  return y + 4;
}

// A roof as drawn: the measured figures, raised where a verified result lies above them (a
// roof is a lower bound of what the hardware can do, so a result above it proves the peak
// measurement fell short), and the peak measurement the flat part comes from.
struct DrawnRoof {
  Roof roof;
  double measured_compute = 0, measured_bandwidth = 0;
  std::string compute_source;
  std::string key() const { return roof.unit + "/" + roof.bandwidth_source; }
};

std::string compute_source(const Roof& roof, const PeakFigures& peaks, Precision precision) {
  if (roof.unit.rfind("cpu", 0) == 0) {
    if (roof.unit == "cpu 1 thread" || !peaks.cpu) return "FMA loop";
    const std::string& source = precision == Precision::fp64 ? peaks.cpu->fp64_source : peaks.cpu->fp32_source;
    return source == "openblas gemm" ? "OpenBLAS GEMM (above the FMA loop)" : "FMA loop";
  }
  if (roof.unit.find("tf32") != std::string::npos) return "cuBLAS TF32 GEMM";
  return "FMA loop";
}

Chart roofline_chart(const RunReport& report, Precision precision, const std::vector<const VariantResult*>& points,
                     const std::vector<Roof>& precision_roofs) {
  namespace cs = chart_style;
  const MachineContext& machine = report.machine;
  const PeakFigures& peaks = *machine.peaks;
  // The roofs of the precision, plus every roof a point is held against (reductions use the
  // read bandwidth), each raised to the points held against it.
  std::vector<DrawnRoof> roofs;
  auto find_or_add = [&](const Roof& roof) -> DrawnRoof& {
    for (DrawnRoof& d : roofs)
      if (d.roof.unit + "/" + d.roof.bandwidth_source == roof.unit + "/" + roof.bandwidth_source) return d;
    roofs.push_back({roof, roof.compute_gflops, roof.bandwidth_gbps, compute_source(roof, peaks, precision)});
    return roofs.back();
  };
  for (const Roof& roof : precision_roofs) find_or_add(roof);
  for (const VariantResult* r : points) {
    std::optional<Roof> held = roof_for(*r, peaks);
    if (!held) continue;
    DrawnRoof& d = find_or_add(*held);
    d.roof.compute_gflops = std::max(d.roof.compute_gflops, r->gflops);
    if (r->intensity > 0) d.roof.bandwidth_gbps = std::max(d.roof.bandwidth_gbps, r->gflops / r->intensity);
  }

  // One series per backend + timing, in order of first appearance.
  std::vector<std::string> series;
  std::map<std::string, std::size_t> series_index;
  std::map<std::string, const VariantResult*> series_first;
  for (const VariantResult* r : points)
    if (series_index.emplace(backend_label(*r), series.size()).second) {
      series.push_back(backend_label(*r));
      series_first[backend_label(*r)] = r;
    }

  const std::string title = "Roofline, " + to_string(precision) + ", " +
                            (machine.hostname.empty() ? std::string("unknown host") : machine.hostname) +
                            ": GFLOP/s vs arithmetic intensity";
  std::vector<std::string> roof_legend;
  for (const DrawnRoof& d : roofs) {
    std::string text = fmt::format("{}: {} GFLOP/s ({}), {} GB/s {}", d.roof.unit, format_number(d.roof.compute_gflops),
                                   d.compute_source, format_number(d.roof.bandwidth_gbps), d.roof.bandwidth_source);
    std::string raised;
    if (d.roof.compute_gflops > d.measured_compute * (1 + 1e-9))
      raised = "peak measured " + format_number(d.measured_compute) + " GFLOP/s";
    if (d.roof.bandwidth_gbps > d.measured_bandwidth * (1 + 1e-9))
      raised += (raised.empty() ? "" : ", ") + std::string("bandwidth measured ") +
                format_number(d.measured_bandwidth) + " GB/s";
    if (!raised.empty()) text += "; raised to a result above it (" + raised + ")";
    roof_legend.push_back(text);
  }
  constexpr double kLegendMax = 330;
  double legend_w = svg::text_width("Results (hollow: end to end)", kSmallSize, true);
  for (const std::string& s : series) legend_w = std::max(legend_w, svg::text_width(s, kSmallSize) + 26);
  for (const std::string& s : roof_legend)
    legend_w = std::max(legend_w, std::min(kLegendMax, svg::text_width(s, kSmallSize) + 42));
  legend_w = std::min(legend_w, kLegendMax + 60);
  const double width = std::max({1000.0, svg::text_width(title, kTitleSize, true) + 60, legend_w + 24 + 620});
  const double plot_x0 = 84, plot_x1 = width - legend_w - 48;
  const double lx = plot_x1 + 24;
  const std::vector<std::string> subtitle = chart_style::wrap(machine_label(machine), kLabelSize, width - 48);
  const double plot_top = 76 + 16 * static_cast<double>(subtitle.size() - std::min<std::size_t>(subtitle.size(), 1));

  // Legend first (it may be taller than the plot).
  auto draw_legend = [&](svg::Document& doc) {
    double ly = plot_top + 4;
    doc.text(lx, ly, "Roofs (measured peaks)", kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
    ly += 20;
    for (std::size_t i = 0; i < roofs.size(); ++i) {
      const RoofStyle style = roof_style(roofs[i].roof);
      doc.line(lx, ly - 4, lx + 34, ly - 4, style.colour, style.width, style.dash, "legend-line");
      for (const std::string& line : cs::wrap(roof_legend[i], kSmallSize, legend_w - 42)) {
        doc.text(lx + 42, ly, line, kSmallSize, "start", "legend");
        ly += 16;
      }
      ly += 4;
    }
    ly += 10;
    ly = draw_legend_text(doc, lx, ly, cs::family_legend_heading(), legend_w);
    doc.text(lx, ly, "Results (hollow: end to end)", kSmallSize, "start", "legend-heading", "font-weight=\"bold\"");
    ly += 20;
    for (std::size_t i = 0; i < series.size(); ++i) {
      const VariantResult& first = *series_first[series[i]];
      const bool e2e = first.timing == TimingMode::end_to_end;
      doc.marker(static_cast<int>(i), lx + 8, ly - 4, 5, e2e ? "#ffffff" : cs::family_style(first).fill);
      doc.text(lx + 26, ly, series[i], kSmallSize, "start", "legend");
      ly += 20;
    }
    return ly;
  };
  svg::Document probe(0, 0);
  const double legend_bottom = draw_legend(probe);
  const double plot_bottom = std::max(plot_top + 420, legend_bottom);
  const bool any_flagged = std::any_of(points.begin(), points.end(), [](const VariantResult* r) {
    return r->cv_above_threshold || !throttle_label(*r).empty();
  });
  const std::string note = any_flagged ? "Dashed orange ring: " + noisy_note(report.run.cv_threshold) +
                                             "; or the GPU throttled during the run"
                                       : "";
  const double notes_width = width - plot_x0 - 24;
  const double height = plot_bottom + 56 +
                        16 * static_cast<double>(note.empty() ? 0 : cs::wrap(note, kSmallSize, notes_width).size()) + 8;

  // Axes cover every point and every ridge, with a margin.
  double x_lo = INFINITY, x_hi = 0, y_lo = INFINITY, y_hi = 0;
  for (const VariantResult* r : points) {
    x_lo = std::min(x_lo, r->intensity);
    x_hi = std::max(x_hi, r->intensity);
    y_lo = std::min(y_lo, r->gflops);
    y_hi = std::max(y_hi, r->gflops);
  }
  for (const DrawnRoof& d : roofs) {
    x_lo = std::min(x_lo, d.roof.ridge_intensity());
    x_hi = std::max(x_hi, d.roof.ridge_intensity());
    y_hi = std::max(y_hi, d.roof.compute_gflops);
    y_lo = std::min(y_lo, d.roof.compute_gflops);
  }
  if (!(x_lo > 0) || !std::isfinite(x_lo)) x_lo = 0.1;
  if (!(x_hi > 0)) x_hi = 100;
  if (!(y_lo > 0) || !std::isfinite(y_lo)) y_lo = 1;
  if (!(y_hi > 0)) y_hi = 1000;
  svg::LogAxis x_axis = svg::LogAxis::covering(x_lo / 2, x_hi * 2, plot_x0, plot_x1);
  svg::LogAxis y_axis = svg::LogAxis::covering(y_lo / 2, y_hi * 2, plot_bottom, plot_top);

  svg::Document doc(width, height);
  doc.text(width / 2, 28, title, kTitleSize, "middle", "title", "font-weight=\"bold\"");
  for (std::size_t i = 0; i < subtitle.size(); ++i)
    doc.text(width / 2, 48 + 16 * static_cast<double>(i), subtitle[i], kLabelSize, "middle",
             i ? "subtitle-continued" : "subtitle", "fill=\"#444\"");

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
  cs::Occupancy taken;
  for (const DrawnRoof& d : roofs) {
    const Roof& roof = d.roof;
    const RoofStyle style = roof_style(roof);
    const double x_start = std::max(x_min, y_min / roof.bandwidth_gbps);
    const double ridge = std::min(roof.ridge_intensity(), x_max);
    const std::vector<double> xy = {x_axis.map(x_start), y_axis.map(roof.bound_gflops(x_start)),
                                    x_axis.map(ridge),   y_axis.map(roof.bound_gflops(ridge)),
                                    x_axis.map(x_max),   y_axis.map(roof.bound_gflops(x_max))};
    taken.add_polyline(xy);
    doc.raw(
        fmt::format("<polyline class=\"roof\" data-unit=\"{}\" data-source=\"{}\" data-gflops=\"{}\" data-gbps=\"{}\" "
                    "points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"none\" stroke=\"{}\" "
                    "stroke-width=\"{}\"{}/>",
                    svg::escape(roof.unit), roof.bandwidth_source, roof.compute_gflops, roof.bandwidth_gbps, xy[0],
                    xy[1], xy[2], xy[3], xy[4], xy[5], style.colour, style.width,
                    style.dash.empty() ? "" : " stroke-dasharray=\"" + style.dash + "\""));
    labels.push_back({y_axis.map(roof.compute_gflops), x_axis.map(ridge),
                      roof.unit + (roof.bandwidth_source == "read" ? " (read)" : "")});
  }
  for (const VariantResult* r : points) {
    const double x = x_axis.map(r->intensity), y = y_axis.map(r->gflops);
    taken.boxes.push_back({x - 12, y - 12, x + 12, y + 12});  // marker and a possible ring
  }
  // Roof names next to their flat parts, at the first place along it (above, then below) that
  // touches no marker, no roof and no other label; the legend names every roof in any case.
  for (const RoofLabel& label : labels) {
    const double w = svg::text_width(label.text, kSmallSize);
    for (double baseline : {label.flat_y - 6, label.flat_y + 15}) {
      bool placed = false;
      for (double x0 = plot_x1 - 6 - w; x0 >= std::max(plot_x0 + 4, label.ridge_x + 4); x0 -= 12) {
        const cs::Box box = cs::text_box(x0, baseline, label.text, kSmallSize, "start");
        if (box.y0 < plot_top + 1 || box.y1 > plot_bottom - 1 || !taken.free(box)) continue;
        taken.boxes.push_back(box);
        doc.text(x0, baseline, label.text, kSmallSize, "start", "roof-label");
        placed = true;
        break;
      }
      if (placed) break;
    }
  }

  // Points: marker shape per series, colour per backend family; end-to-end rows hollow.
  for (const VariantResult* r : points) {
    const std::size_t i = series_index[backend_label(*r)];
    doc.marker(static_cast<int>(i), x_axis.map(r->intensity), y_axis.map(r->gflops), 5,
               r->timing == TimingMode::end_to_end ? "#ffffff" : cs::family_style(*r).fill, "roofline-point");
    if (r->cv_above_threshold || !throttle_label(*r).empty())
      doc.raw(
          fmt::format("<circle class=\"noisy-marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"10\" fill=\"none\" "
                      "stroke=\"#d95f02\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>",
                      x_axis.map(r->intensity), y_axis.map(r->gflops)));
  }
  if (!note.empty()) {
    double y = plot_bottom + 62;
    bool first = true;
    for (const std::string& line : cs::wrap(note, kSmallSize, notes_width)) {
      doc.text(plot_x0, y, line, kSmallSize, "start", first ? "noisy-note" : "noisy-note-continued",
               "fill=\"#a04000\"");
      first = false;
      y += 16;
    }
  }
  draw_legend(doc);
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
