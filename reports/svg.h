// A minimal SVG writer and a log-scale axis, for the charts mlbench draws itself.
#pragma once

#include <string>
#include <vector>

namespace mlbench::reports::svg {

// Escapes text for XML content and attribute values.
std::string escape(const std::string& text);
// Width of a text in DejaVu Sans / Arial at `font_size` px, estimated on the wide side (to keep
// labels apart): 0.64 em per ASCII character (0.70 bold), 1 em for any other code point (⚠, µ).
double text_width(const std::string& text, double font_size, bool bold = false);
// A text's extent above and below its baseline, in px.
inline double text_ascent(double font_size) { return 0.8 * font_size; }
inline double text_descent(double font_size) { return 0.25 * font_size; }

class Document {
 public:
  Document(double width, double height) : width_(width), height_(height) {}
  void raw(const std::string& element) { body_ += element + "\n"; }
  void defs(const std::string& element) { defs_ += element + "\n"; }
  // anchor: "start", "middle", "end"; `klass` becomes the class attribute when not empty.
  void text(double x, double y, const std::string& content, double size = 12, const std::string& anchor = "start",
            const std::string& klass = "", const std::string& extra = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& dash = "", const std::string& klass = "");
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& stroke = "none",
            const std::string& klass = "", const std::string& extra = "");
  // A marker shape at (x, y): 0 circle, 1 square, 2 triangle, 3 diamond, 4 inverted triangle, 5 cross.
  void marker(int shape, double x, double y, double r, const std::string& colour, const std::string& klass = "");
  std::string str() const;

 private:
  double width_, height_;
  std::string defs_, body_;
};

// Log10 axis over [10^lo_exp, 10^hi_exp] mapped to pixels [from, to].
struct LogAxis {
  double lo_exp = 0, hi_exp = 1;
  double from = 0, to = 1;
  // Covers [min_value, max_value] with whole decades (at least one).
  static LogAxis covering(double min_value, double max_value, double from, double to);
  double map(double value) const;
  // Decades, plus 2x and 5x ticks when the axis spans at most two decades.
  std::vector<double> ticks() const;
};

// "0.01", "0.5", "1", "20", "1k", "10k", "1M" (for tick labels).
std::string tick_label(double value);

}  // namespace mlbench::reports::svg
