#include "reports/chart_style.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reports/svg.h"

namespace mlbench::reports::chart_style {

Family family_of(const VariantResult& r) {
  if (r.gpus > 1) return Family::multi_gpu;
  if (r.ranks > 1) return Family::mpi;
  switch (r.backend_kind) {
    case BackendKind::cpu: return r.is_baseline ? Family::serial : Family::openmp;
    case BackendKind::cpu_library: return Family::cpu_library;
    case BackendKind::gpu: return Family::gpu;
    case BackendKind::gpu_library: return Family::gpu_library;
  }
  return Family::openmp;
}

const FamilyStyle& family_style(Family f) {
  static const FamilyStyle styles[] = {
      {"#999999", "#4d4d4d", "serial"},
      {"#56b4e9", "#1f6f99", "OpenMP (mlbench CPU code)"},
      {"#0072b2", "#003a5c", "CPU library"},
      {"#009e73", "#00543d", "MPI (several ranks)"},
      {"#e69f00", "#7a5400", "CUDA (mlbench GPU code)"},
      {"#d55e00", "#6b2f00", "GPU library"},
      {"#cc79a7", "#6e3557", "multi-GPU"},
  };
  return styles[static_cast<int>(f)];
}

const char* family_legend_heading() { return "Colour = backend family (the same on every mlbench chart):"; }

std::string hatch_pattern(const std::string& id, const std::string& fill, const std::string& lines) {
  return fmt::format(
      "<pattern id=\"{}\" patternUnits=\"userSpaceOnUse\" width=\"7\" height=\"7\" patternTransform=\"rotate(45)\">"
      "<rect width=\"7\" height=\"7\" fill=\"{}\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"7\" stroke=\"{}\" "
      "stroke-width=\"2.5\"/></pattern>",
      id, fill, lines);
}

namespace {
// The longest prefix of `word` (whole code points) that fits with "…" after it.
std::string cut(const std::string& word, double font_size, double max_width) {
  std::string out;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t n = 1;
    while (i + n < word.size() && (static_cast<unsigned char>(word[i + n]) & 0xC0) == 0x80) ++n;
    if (svg::text_width(out + word.substr(i, n) + "\u2026", font_size) > max_width) break;
    out += word.substr(i, n);
    i += n;
  }
  return out + "\u2026";
}
}  // namespace

std::vector<std::string> wrap(const std::string& text, double font_size, double max_width) {
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (svg::text_width(word, font_size) > max_width) word = cut(word, font_size, max_width);
    const std::string joined = line.empty() ? word : line + " " + word;
    if (!line.empty() && svg::text_width(joined, font_size) > max_width) {
      lines.push_back(line);
      line = word;
    } else {
      line = joined;
    }
    word.clear();
  };
  for (char c : text) {
    if (c == ' ' || c == '\n') {
      flush_word();
      if (c == '\n' && !line.empty()) {
        lines.push_back(line);
        line.clear();
      }
    } else {
      word += c;
    }
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

bool Box::hits_segment(double ax, double ay, double bx, double by) const {
  // Liang-Barsky clipping of the segment against the box.
  double t0 = 0, t1 = 1;
  const double dx = bx - ax, dy = by - ay;
  const double p[] = {-dx, dx, -dy, dy};
  const double q[] = {ax - x0, x1 - ax, ay - y0, y1 - ay};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double t = q[i] / p[i];
    if (p[i] < 0)
      t0 = std::max(t0, t);
    else
      t1 = std::min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

Box text_box(double x, double y, const std::string& text, double font_size, const std::string& anchor, bool bold) {
  const double w = svg::text_width(text, font_size, bold);
  const double left = anchor == "middle" ? x - w / 2 : anchor == "end" ? x - w : x;
  return {left, y - svg::text_ascent(font_size), left + w, y + svg::text_descent(font_size)};
}

bool Occupancy::free(const Box& b) const {
  for (const Box& o : boxes)
    if (o.hits(b)) return false;
  for (const auto& xy : polylines)
    for (std::size_t i = 0; i + 3 < xy.size(); i += 2)
      if (b.hits_segment(xy[i], xy[i + 1], xy[i + 2], xy[i + 3])) return false;
  return true;
}

}  // namespace mlbench::reports::chart_style
