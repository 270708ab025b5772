// SVG charts drawn by mlbench itself (no external program at run time). Colour = backend family
// (chart_style.h), the same on every chart; labels touch no other label, mark or edge. What each
// chart shows is chosen by chart_data.h; charts.cpp and roofline_chart.cpp draw it.
//
//  speedup chart     one per workload/precision/shape: a horizontal bar per verified result,
//                    speedup vs the best CPU backend on a log axis, bars from the 1x line
//                    (right faster, left slower), labelled "12.3x" and "(456x vs serial)";
//                    end-to-end bars hatched next to their kernel-only bars; min-max whiskers
//                    from the repetitions.
//  scaling chart     one per workload/precision swept over two or more sizes: GFLOP/s against
//                    size, log-log, one line per backend+timing (family colour, marker per
//                    backend, end to end dashed and hollow), whiskers; one dotted line per
//                    break-even size.
//  comparison chart  one per workload/precision/shape present on several machines: grouped
//                    bars per backend+timing, family colour, one pattern per machine, GFLOP/s.
//  roofline chart    one per precision when the machine context carries peaks: log-log,
//                    GFLOP/s against arithmetic intensity (FLOP/byte), the roofs of the
//                    measured peaks (CPU all threads, CPU one thread, GPU fp32/fp64, GPU tf32,
//                    read-bandwidth roofs of reductions) as lines (class "roof"), each raised
//                    to any verified point above it (the legend says so and names the peak
//                    used), every verified result as a marker (class "roofline-point").
// Bars are <rect class="bar" data-backend=...>, bar labels <text class="bar-label">, spreads
// class "spread", axis ticks <text class="tick">, break-even lines class "break-even" (tests and
// scripts rely on these).
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

struct Chart {
  std::string file_name;  // e.g. "speedup_gemm_fp32_M_N_K_1024.svg"
  std::string title;
  std::string svg;
};

std::vector<Chart> speedup_charts(const RunReport& report);
std::vector<Chart> scaling_charts(const RunReport& report);
std::vector<Chart> roofline_charts(const RunReport& report);
// `machines`: one report per machine (merge runs of one machine first).
std::vector<Chart> comparison_charts(const std::vector<RunReport>& machines);

// Writes each chart into `dir` (created when missing), atomically.
void write_charts(const std::string& dir, const std::vector<Chart>& charts);

}  // namespace mlbench::reports
