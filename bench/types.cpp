#include "bench/types.h"

#include <ctime>
#include <limits>

namespace mlbench {

std::string to_string(Precision p) { return p == Precision::fp64 ? "fp64" : "fp32"; }

std::optional<Precision> parse_precision(std::string_view text) {
  if (text == "fp32") return Precision::fp32;
  if (text == "fp64") return Precision::fp64;
  return std::nullopt;
}

std::size_t element_size(Precision p) { return p == Precision::fp64 ? 8 : 4; }

double unit_roundoff(Precision p) {
  return p == Precision::fp64 ? std::numeric_limits<double>::epsilon() / 2
                              : std::numeric_limits<float>::epsilon() / 2;
}

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

}  // namespace mlbench
