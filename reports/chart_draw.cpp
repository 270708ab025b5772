#include "reports/chart_draw.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mlbench::reports::chart_draw {

namespace cs = chart_style;

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

void mark_point(svg::Document& doc, double x, double y, int r) {
  doc.raw(
      fmt::format("<circle class=\"noisy-marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"none\" "
                  "stroke=\"#d95f02\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>",
                  x, y, r));
}

double positive_min(const std::vector<double>& v) {
  double m = INFINITY;
  for (double x : v)
    if (x > 0) m = std::min(m, x);
  return m;
}

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

void draw_frame(svg::Document& doc, double x0, double x1, double top, double bottom) {
  doc.line(x0, bottom, x1, bottom, "#333", 1);
  doc.line(x0, top, x0, bottom, "#333", 1);
}

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

}  // namespace mlbench::reports::chart_draw
