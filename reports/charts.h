// SVG charts drawn by mlbench itself (no external program at run time).
//
//  speedup chart     one per workload/precision/shape: a horizontal bar per verified result,
//                    speedup vs serial on a log axis, each bar labelled "12.3x"; GPU
//                    end-to-end bars are lighter and hatched, kernel-only bars solid.
//  scaling chart     one per workload/precision swept over two or more sizes: GFLOP/s against
//                    size, log-log, one line per backend+timing (colour, marker and dash
//                    vary); the end-to-end break-even size of each GPU backend is marked.
//  comparison chart  one per workload/precision/shape present on several machines: grouped
//                    bars per backend+timing, one colour (and pattern) per machine, GFLOP/s.
//  roofline chart    one per precision when the machine context carries peaks: log-log,
//                    GFLOP/s against arithmetic intensity (FLOP/byte), the roofs of the
//                    measured peaks (CPU all threads, CPU one thread, GPU fp32/fp64, GPU tf32)
//                    as lines (class "roof"), every verified result as a marker
//                    (class "roofline-point"), shape and colour by backend, end to end hollow.
// Bars are <rect class="bar" ...>, bar labels <text class="bar-label">, axis ticks
// <text class="tick">, break-even marks class "break-even" (tests and scripts rely on these).
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
