// The drawing pieces the charts share (charts.cpp, roofline_chart.cpp): font sizes, wrapped
// text, title, legend rows, bar labels, a log axis widened until its labels fit, tick rows.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "reports/chart_style.h"
#include "reports/svg.h"

namespace mlbench::reports::chart_draw {

inline constexpr double kTitleSize = 16, kLabelSize = 12, kSmallSize = 11;
inline constexpr double kMargin = 24;
inline constexpr double kLineGap = 16;  // baseline to baseline of wrapped 11/12 px lines

// Draws `text` wrapped to `max_width` from baseline `y`, the first line with class `klass`
// and the others with `klass`-continued; returns the baseline below the last line.
double draw_wrapped(svg::Document& doc, double x, double y, const std::string& text, double size, double max_width,
                    const std::string& anchor, const std::string& klass, const std::string& extra);
// How many lines draw_wrapped draws (0 for "").
std::size_t wrapped_lines(const std::string& text, double size, double max_width);

// Title (bold) and subtitle lines, wrapped; returns the y below them.
double draw_title(svg::Document& doc, double width, const std::string& title, const std::string& subtitle);
double title_height(double width, const std::string& title, const std::string& subtitle);

struct LegendItem {
  enum class Swatch { box, whisker } swatch = Swatch::box;
  std::string label;
  std::string fill;  // swatch fill (may be url(#...))
  std::string stroke;
};
// A heading, then the items in rows wrapping at x1; returns the y below the legend.
double draw_legend_rows(svg::Document& doc, const std::string& heading, const std::vector<LegendItem>& items, double x0,
                        double x1, double y);
double legend_height(const std::string& heading, const std::vector<LegendItem>& items, double x0, double x1, double y);
// The families present (in legend order), plus what hatching and whiskers mean.
std::vector<LegendItem> family_legend(const std::set<chart_style::Family>& families, bool hatched, bool whiskers,
                                      const std::string& hatched_label);

// A dashed ring of radius `r` around a plotted point whose result is flagged (noisy or throttled).
void mark_point(svg::Document& doc, double x, double y, int r = 9);

// A run of text pieces drawn one after the other on a baseline (a bar's label).
struct LabelPiece {
  std::string text;
  double size;
  bool bold;
  std::string klass, style;
};
double pieces_width(const std::vector<LabelPiece>& pieces);
void draw_pieces(svg::Document& doc, double x, double y, const std::vector<LabelPiece>& pieces);

// The smallest positive value (INFINITY when none).
double positive_min(const std::vector<double>& v);

// How far past a value's pixel a label needs room: `left_px` before map(lo), `right_px` after map(hi).
struct Reach {
  double lo, hi;
  double left_px = 0, right_px = 0;
};
// A log axis over [10^lo_exp, 10^hi_exp] on [from, to], widened (in steps) until every reach fits.
svg::LogAxis fit_axis(double lo_exp, double hi_exp, double from, double to, const std::vector<Reach>& reaches);

// The two axis lines of a plot.
void draw_frame(svg::Document& doc, double x0, double x1, double top, double bottom);

// Grid lines and tick labels along the horizontal axis at `bottom`, skipping labels that would
// touch their neighbour.
void draw_x_ticks(svg::Document& doc, const svg::LogAxis& axis, double top, double bottom, const std::string& suffix);

}  // namespace mlbench::reports::chart_draw
