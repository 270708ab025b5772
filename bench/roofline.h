// Roofline placement of results: the bound min(compute peak, bandwidth x intensity) of the unit
// a result ran on, and how close the result came to it.
//
// Unit of a result (the roofs it is held against):
//   CPU rows, threads == 1     one-thread CPU FMA peak (of the precision) and bandwidth
//   CPU rows, threads > 1      all-thread CPU FMA peak and bandwidth; on the CPU as on the GPU
//                              workloads bound by reading memory alone (their descriptor's
//                              memory_read_bound: reductions) take the read-only figure, GEMM,
//                              convolution, attention, softmax and layer norm (which write as
//                              much as they read) the triad (CPU) / copy (GPU) figure
//   GPU kernel rows            GPU FMA peak of the precision (fp32 / fp64); rows that ran on
//                              tensor cores (VariantResult::uses_tensor_cores, from the backend's
//                              tensor_core_precisions and its variant) the TF32 tensor rate at
//                              fp32/tf32, the bf16 one at bf16/fp16; bandwidth: the read
//                              figure for memory_read_bound workloads (they write almost nothing), the
//                              device-to-device copy figure for GEMM and convolution (reads
//                              and writes mixed)
//   GPU end-to-end rows        none: host<->device transfers dominate; no bound is claimed
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/peaks.h"
#include "bench/result.h"

namespace mlbench {

struct Roof {
  std::string unit;              // "cpu 1 thread", "cpu 16 threads", "gpu fp32", "gpu fp64", "gpu tf32"
  double compute_gflops = 0;     // flat part
  double bandwidth_gbps = 0;     // slope
  std::string bandwidth_source;  // "triad", "copy", "read"
  // min(compute, bandwidth x intensity); 0 when either figure is unknown.
  double bound_gflops(double intensity) const;
  // Intensity where the slope meets the flat part.
  double ridge_intensity() const { return bandwidth_gbps > 0 ? compute_gflops / bandwidth_gbps : 0; }
};

// The roof a result is held against; nullopt (with the reason in `why`) when none applies.
std::optional<Roof> roof_for(const VariantResult& result, const PeakFigures& peaks, std::string* why = nullptr);

// Every roof of a precision (CPU all threads, CPU one thread, GPU fp32/fp64, GPU tf32 for fp32),
// those with known figures only, with the triad / copy bandwidth (the chart's roofs).
std::vector<Roof> roofs_for_precision(const PeakFigures& peaks, Precision precision);

// Fills intensity (flops / bytes) of every result and, for verified results with a roof,
// roofline_bound_gflops, fraction_of_roofline (gflops / bound) and roofline_unit.
// `peaks` may be null: only the intensity is filled then.
void apply_roofline(std::vector<VariantResult>& results, const PeakFigures* peaks);

}  // namespace mlbench
