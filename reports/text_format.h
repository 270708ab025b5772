// Number, duration and label formatting shared by the markdown, console, CSV and SVG writers.
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

// "812 ns", "3.42 µs", "12.5 ms", "1.20 s" (3 significant digits). `ascii` writes "us".
std::string format_duration(double seconds, bool ascii = false);
// 3 significant digits without exponent for ordinary magnitudes: "0.512", "12.3", "4210".
std::string format_number(double value);
// "12.3x"; "-" when the factor is not applicable (0).
std::string format_factor(double factor);
// "1.8 %" from a fraction; "-" when not applicable.
std::string format_percent(double fraction);
// Short scientific: "2.1e-07".
std::string format_sci(double value);

// "host", "kernel", "end to end".
std::string timing_label(TimingMode mode);
// The backend with the GPU count of a multi-GPU row: "openmp", "cuda", "nccl x2".
std::string backend_name(const VariantResult& r);
// backend_name with the timing of GPU rows: "openmp", "cuda (kernel)", "nccl x2 (end to end)".
std::string backend_label(const VariantResult& r);
// "ok (2.1e-07)", "FAILED (3.1e-02 > 1.0e-05)", "ERROR: out of memory", "TIMED OUT".
// What a row that is not ok shows in place of its time: FAILED, TIMED OUT or INTERRUPTED.
std::string status_mark(const VariantResult& r);
std::string verification_label(const VariantResult& r);

// Noise and throttling, said next to the figures they concern (markdown, console, charts).
// The marker next to a time whose cv exceeds the run's --cv-threshold.
inline constexpr const char* kNoisyMarkerAscii = "!";
inline constexpr const char* kNoisyMarker = "\u26a0";  // ⚠
// "cv above 5 %: the runs disagree more than that, so the median is not to be trusted; close
// other programs, raise --time-budget or --repetitions, pin threads, check the CPU governor".
std::string noisy_hint(double cv_threshold);
// The short form for charts: "cv above 5.0 %: noisy, the median is not to be trusted".
std::string noisy_note(double cv_threshold);
// "throttled: power cap, thermal" for a GPU row whose device throttled; "" otherwise.
std::string throttle_label(const VariantResult& r);
// The median cell: "12.5 ms", plus the noisy marker and the throttle label where they apply.
std::string median_label(const VariantResult& r, bool ascii);
// What the energy figures of a run rest on, one line per kind of device that has rows with an
// energy entry: "CPU rows: RAPL package-0 (package domain)", "GPU rows: no figure: NVML not available: ...".
// Empty when no row carries one (reports written before energy was measured).
std::vector<std::string> energy_summary_lines(const std::vector<VariantResult>& results);
// The energy rows of one shape group: every verified row with an energy entry, as cells
// {backend, timing, J/run, average W, GFLOP/J, GB/J, vs best CPU (energy), vs best CPU (time),
// DRAM J/run, window}. Empty when no row of the group has a measured figure.
std::vector<std::vector<std::string>> energy_rows(const std::vector<const VariantResult*>& results, bool ascii);
const std::vector<std::string>& energy_columns();
// "12.3 mJ", "4.10 J", "810 µJ".
std::string format_energy(double joules, bool ascii = false);
// The CPU-state line of a machine: governor (driver), boost, SMT, load average at start.
std::string cpu_state_label(const MachineContext& m);

// One line naming a machine: "host · CPU model · GPU name" (GPU omitted when absent).
std::string machine_label(const MachineContext& m);
// Short names that tell several machines apart: the host names when they differ, else host
// plus GPU (or CPU model), numbered as a last resort. One name per machine, same order.
std::vector<std::string> distinct_machine_names(const std::vector<const MachineContext*>& machines);
// Identity used to decide whether two reports come from the same machine.
std::string machine_identity(const MachineContext& m);

// Results grouped by workload, precision and shape, in order of first appearance.
struct ShapeGroup {
  std::string workload;
  Precision precision = Precision::fp32;
  std::string shape_label;
  std::int64_t size = 0;
  std::vector<const VariantResult*> results;
  std::string title() const;  // "gemm fp32 M=N=K=1024"
};
std::vector<ShapeGroup> group_by_shape(const std::vector<VariantResult>& results);

// Key that matches a row across runs: workload, precision, shape, backend, timing, thread count
// (and the GPU count of multi-GPU rows).
std::string row_key(const VariantResult& r);

// File-name friendly version of a text ("gemm_fp32_M_N_K_1024").
std::string slug(const std::string& text);

}  // namespace mlbench::reports
