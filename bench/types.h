// Small vocabulary types shared by every part of mlbench.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mlbench {

// Element type of a problem's inputs and outputs. Only fp32 and fp64 exist today;
// reduced precisions (tf32, bf16, fp16) are meant to be added here.
enum class Precision { fp32, fp64 };

std::string to_string(Precision p);
std::optional<Precision> parse_precision(std::string_view text);
std::size_t element_size(Precision p);
// Unit roundoff of the arithmetic a precision implies (2^-24 for fp32, 2^-53 for fp64).
double unit_roundoff(Precision p);

// Where a backend runs and whether it is a vendor library (the bar) or mlbench's own code.
enum class BackendKind { cpu, cpu_library, gpu, gpu_library };
std::string to_string(BackendKind k);
inline bool is_cpu(BackendKind k) { return k == BackendKind::cpu || k == BackendKind::cpu_library; }
inline bool is_gpu(BackendKind k) { return !is_cpu(k); }

// What a timed region contains. CPU code is timed as `host`; GPU code is timed twice:
// `kernel` (device work only, CUDA events) and `end_to_end` (pinned host -> device copies,
// kernel, device -> host copy of the result).
enum class TimingMode { host, kernel, end_to_end };
std::string to_string(TimingMode m);
std::optional<TimingMode> parse_timing_mode(std::string_view text);

// Thrown for problems the user can fix (bad sizes, out of memory before allocating, ...).
// The CLI turns it into a one-line message and exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The current time as ISO 8601 UTC, e.g. "2026-11-24T19:42:07Z" (report and cache stamps).
std::string utc_now();

// Multiplies non-negative sizes, throwing InputError instead of wrapping on overflow.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what);

}  // namespace mlbench
