#include "bench/types.h"

#include <cmath>
#include <ctime>
#include <limits>

namespace mlbench {

std::string to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::fp64: return "fp64";
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
  }
  return "fp32";
}

const std::vector<Precision>& all_precisions() {
  static const std::vector<Precision> list = {Precision::fp64, Precision::fp32, Precision::tf32, Precision::bf16,
                                              Precision::fp16};
  return list;
}

std::optional<Precision> parse_precision(std::string_view text) {
  for (Precision p : all_precisions())
    if (text == to_string(p)) return p;
  return std::nullopt;
}

std::size_t element_size(Precision p) {
  switch (p) {
    case Precision::fp64: return 8;
    case Precision::fp32:
    case Precision::tf32: return 4;
    case Precision::bf16:
    case Precision::fp16: return 2;
  }
  return 4;
}

double unit_roundoff(Precision p) {
  switch (p) {
    case Precision::fp64: return std::ldexp(1.0, -53);
    case Precision::fp32: return std::ldexp(1.0, -24);
    case Precision::tf32:
    case Precision::fp16: return std::ldexp(1.0, -11);
    case Precision::bf16: return std::ldexp(1.0, -8);
  }
  return std::ldexp(1.0, -24);
}

double accumulation_roundoff(Precision p) { return p == Precision::fp64 ? std::ldexp(1.0, -53) : std::ldexp(1.0, -24); }

std::string to_string(BackendKind k) {
  switch (k) {
    case BackendKind::cpu: return "cpu";
    case BackendKind::cpu_library: return "cpu-library";
    case BackendKind::gpu: return "gpu";
    case BackendKind::gpu_library: return "gpu-library";
  }
  return "cpu";
}

std::string to_string(TimingMode m) {
  switch (m) {
    case TimingMode::host: return "host";
    case TimingMode::kernel: return "kernel";
    case TimingMode::end_to_end: return "end_to_end";
  }
  return "host";
}

std::optional<TimingMode> parse_timing_mode(std::string_view text) {
  for (auto m : {TimingMode::host, TimingMode::kernel, TimingMode::end_to_end})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what) {
  if (a < 0 || b < 0) throw InputError(std::string(what) + " is negative");
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a)
    throw InputError(std::string(what) + " overflows 64-bit arithmetic");
  return a * b;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what) {
  if (a < 0 || b < 0) throw InputError(std::string(what) + " is negative");
  if (b > std::numeric_limits<std::int64_t>::max() - a)
    throw InputError(std::string(what) + " overflows 64-bit arithmetic");
  return a + b;
}

}  // namespace mlbench
