#include "reports/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mlbench::reports::svg {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

double text_width(const std::string& text, double font_size, bool bold) {
  // Count code points, not bytes (labels may hold "µ" or "·"); those outside ASCII are wide.
  double ems = 0;
  for (unsigned char c : text) {
    if (c < 0x80)
      ems += bold ? 0.70 : 0.64;
    else if ((c & 0xC0) == 0xC0)
      ems += 1.0;
  }
  return ems * font_size;
}

void Document::text(double x, double y, const std::string& content, double size, const std::string& anchor,
                    const std::string& klass, const std::string& extra) {
  body_ += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"{}\"{}{}>{}</text>\n", x, y,
                       size, anchor, klass.empty() ? "" : " class=\"" + klass + "\"", extra.empty() ? "" : " " + extra,
                       escape(content));
}

void Document::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
                    const std::string& dash, const std::string& klass) {
  body_ += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"{}\"{}{}/>\n", x1, y1,
      x2, y2, stroke, width, dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"",
      klass.empty() ? "" : " class=\"" + klass + "\"");
}

void Document::rect(double x, double y, double w, double h, const std::string& fill, const std::string& stroke,
                    const std::string& klass, const std::string& extra) {
  body_ += fmt::format(
      "<rect{} x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"{}\"{}/>\n",
      klass.empty() ? "" : " class=\"" + klass + "\"", x, y, std::max(w, 0.0), std::max(h, 0.0), fill, stroke,
      extra.empty() ? "" : " " + extra);
}

void Document::marker(int shape, double x, double y, double r, const std::string& colour, const std::string& klass) {
  std::string cls = klass.empty() ? "" : " class=\"" + klass + "\"";
  std::string style = fmt::format(" fill=\"{}\" stroke=\"#000\" stroke-width=\"0.8\"", colour);
  switch (((shape % 6) + 6) % 6) {
    case 0:
      body_ += fmt::format("<circle{} cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\"{}/>\n", cls, x, y, r, style);
      break;
    case 1:
      body_ += fmt::format("<rect{} x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"{}/>\n", cls, x - r,
                           y - r, 2 * r, 2 * r, style);
      break;
    case 2:
      body_ += fmt::format("<polygon{} points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\"{}/>\n", cls, x, y - 1.2 * r,
                           x - 1.1 * r, y + 0.8 * r, x + 1.1 * r, y + 0.8 * r, style);
      break;
    case 3:
      body_ += fmt::format("<polygon{} points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\"{}/>\n", cls,
                           x, y - 1.3 * r, x + 1.3 * r, y, x, y + 1.3 * r, x - 1.3 * r, y, style);
      break;
    case 4:
      body_ += fmt::format("<polygon{} points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\"{}/>\n", cls, x, y + 1.2 * r,
                           x - 1.1 * r, y - 0.8 * r, x + 1.1 * r, y - 0.8 * r, style);
      break;
    default: {
      // A cross has no inside: a "hollow" (white) one is drawn as a thin black cross instead.
      const bool hollow = colour == "#ffffff" || colour == "#fff" || colour == "white";
      body_ += fmt::format(
          "<path{} d=\"M{:.1f},{:.1f} L{:.1f},{:.1f} M{:.1f},{:.1f} L{:.1f},{:.1f}\" stroke=\"{}\" stroke-width=\"{}\" "
          "fill=\"none\"/>\n",
          cls, x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r, hollow ? "#000" : colour,
          hollow ? "1.2" : "2.5");
    }
  }
}

std::string Document::str() const {
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n",
      width_, height_);
  if (!defs_.empty()) out += "<defs>\n" + defs_ + "</defs>\n";
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{:.0f}\" height=\"{:.0f}\" fill=\"#ffffff\"/>\n", width_, height_);
  return out + body_ + "</svg>\n";
}

LogAxis LogAxis::covering(double min_value, double max_value, double from, double to) {
  LogAxis axis;
  // Non-finite or absurd values (a report may hold anything) must not make the axis endless.
  if (!std::isfinite(min_value)) min_value = 1e-12;
  if (!std::isfinite(max_value)) max_value = 1e12;
  min_value = std::clamp(min_value, 1e-12, 1e30);
  max_value = std::clamp(max_value, min_value, 1e30);
  axis.lo_exp = std::floor(std::log10(min_value) + 1e-9);
  axis.hi_exp = std::ceil(std::log10(max_value) - 1e-9);
  if (axis.hi_exp <= axis.lo_exp) axis.hi_exp = axis.lo_exp + 1;
  axis.lo_exp = std::max(axis.lo_exp, axis.hi_exp - 24);  // at most 24 decades of ticks
  axis.from = from;
  axis.to = to;
  return axis;
}

double LogAxis::map(double value) const {
  double e = std::log10(std::max(value, 1e-300));
  return from + (e - lo_exp) / (hi_exp - lo_exp) * (to - from);
}

std::vector<double> LogAxis::ticks() const {
  // The ends need not be whole decades: ticks are the 1x (and 2x, 5x) values inside.
  std::vector<double> out;
  const bool fine = hi_exp - lo_exp <= 2 + 1e-9;
  for (double e = std::floor(lo_exp + 1e-9); e <= hi_exp + 1e-9; e += 1)
    for (double m : {1.0, 2.0, 5.0}) {
      if (m > 1 && !fine) continue;
      const double at = e + std::log10(m);
      if (at >= lo_exp - 1e-9 && at <= hi_exp + 1e-9) out.push_back(m * std::pow(10.0, e));
    }
  return out;
}

std::string tick_label(double value) {
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s;
  };
  double a = std::fabs(value);
  if (a >= 1e9) return trim(fmt::format("{:.2f}", value / 1e9)) + "G";
  if (a >= 1e6) return trim(fmt::format("{:.2f}", value / 1e6)) + "M";
  if (a >= 1e3) return trim(fmt::format("{:.2f}", value / 1e3)) + "k";
  if (a >= 1 || a == 0) return trim(fmt::format("{:.2f}", value));
  return trim(fmt::format("{:.6f}", value));
}

}  // namespace mlbench::reports::svg
