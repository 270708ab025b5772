// What every mlbench chart shares: one colour per backend family (the same on every chart),
// text wrapping, and the boxes labels are placed with so that they touch nothing.
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports::chart_style {

// Backend families, in legend order.
enum class Family { serial, openmp, cpu_library, mpi, gpu, gpu_library, multi_gpu };
// serial: the baseline (is_baseline); openmp: other mlbench CPU code; cpu_library: OpenBLAS, oneDNN...;
// mpi: a CPU job over several ranks; gpu: mlbench CUDA code; gpu_library: cuBLAS, cuDNN, CUB;
// multi_gpu: a row over several GPUs (nccl).
Family family_of(const VariantResult& r);
struct FamilyStyle {
  std::string fill, stroke, name;
};
// Okabe-Ito colours (told apart with the common colour-vision deficiencies).
const FamilyStyle& family_style(Family f);
inline const FamilyStyle& family_style(const VariantResult& r) { return family_style(family_of(r)); }
// "Colour = backend family (the same on every mlbench chart)".
const char* family_legend_heading();

// A hatch over `fill` (end-to-end bars; second machine of a comparison), named `id`.
std::string hatch_pattern(const std::string& id, const std::string& fill, const std::string& lines);

// `text` broken at spaces into lines no wider than `max_width` at `font_size` (a word longer
// than that is cut with "…" rather than run past the edge).
std::vector<std::string> wrap(const std::string& text, double font_size, double max_width);

// An axis-aligned box in SVG pixels.
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool hits(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  // Whether the segment (ax, ay)-(bx, by) passes through the box.
  bool hits_segment(double ax, double ay, double bx, double by) const;
};
// The box of a text drawn at (x, y) (baseline) with `anchor` "start", "middle" or "end".
Box text_box(double x, double y, const std::string& text, double font_size, const std::string& anchor,
             bool bold = false);

// Marks and labels already on a chart; a candidate label is placed where it touches none.
struct Occupancy {
  std::vector<Box> boxes;
  std::vector<std::vector<double>> polylines;  // x0,y0,x1,y1,... each
  bool free(const Box& b) const;
  void add_polyline(const std::vector<double>& xy) { polylines.push_back(xy); }
};

}  // namespace mlbench::reports::chart_style
