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

// Element type of a problem's inputs (and, for GEMM and convolution, its output).
//  fp64, fp32: IEEE binary64 / binary32, arithmetic in that type.
//  tf32: fp32 storage holding values already rounded to TF32 (10-bit mantissa), so that tensor
//        cores multiply them exactly; fp32 accumulation and output.
//  bf16, fp16: 16-bit storage, fp32 accumulation; GEMM/convolution outputs are stored in the
//        same 16-bit type, reduction outputs in fp32.
enum class Precision { fp32, fp64, tf32, bf16, fp16 };

std::string to_string(Precision p);
std::optional<Precision> parse_precision(std::string_view text);
// Every precision, in the order `--precision` lists them.
const std::vector<Precision>& all_precisions();
// Bytes of one stored element (tf32 is stored in 4 bytes).
std::size_t element_size(Precision p);
// Unit roundoff of the storage format: 2^-53 fp64, 2^-24 fp32, 2^-11 tf32 and fp16, 2^-8 bf16.
double unit_roundoff(Precision p);
// Unit roundoff of the accumulation the precision implies: 2^-53 for fp64, 2^-24 otherwise
// (the reduced types accumulate in fp32).
double accumulation_roundoff(Precision p);
// tf32, bf16, fp16: the types tensor cores exist for.
inline bool is_reduced(Precision p) { return p == Precision::tf32 || p == Precision::bf16 || p == Precision::fp16; }
inline bool is_16bit(Precision p) { return p == Precision::bf16 || p == Precision::fp16; }

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

// A signal asked the process to stop (Runner::request_stop) during work that cannot keep a
// partial result (measuring the machine's peaks): thrown by that work, caught by the CLI.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The current time as ISO 8601 UTC, e.g. "2026-11-24T19:42:07Z" (report and cache stamps).
std::string utc_now();

// Multiplies non-negative sizes, throwing InputError instead of wrapping on overflow.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what);
// The same for a sum.
std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what);

// `text` as a base-10 whole number without sign or leading zeros, within 0..max; nullopt
// otherwise. "010" is refused: whoever typed it may mean 8 (C, CLI11) or 10, and neither guess
// is safe for a seed or a thread count.
inline std::optional<std::uint64_t> parse_decimal(const std::string& text, std::uint64_t max = UINT64_MAX) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace mlbench
