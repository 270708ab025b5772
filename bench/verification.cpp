#include "bench/verification.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace mlbench {

std::size_t count_non_finite(const HostBuffer& b, std::int64_t& first) {
  std::size_t count = 0;
  first = -1;
  visit_typed(b, [&](const auto* p) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (!std::isfinite(to_double(p[i]))) {
        if (count++ == 0) first = static_cast<std::int64_t>(i);
      }
    }
  });
  return count;
}

Verification make_verification(double max_error, double tolerance, std::string method,
                               std::string detail, std::size_t non_finite, std::int64_t first_non_finite) {
  Verification v;
  v.max_error = max_error;
  v.tolerance = tolerance;
  v.method = std::move(method);
  if (non_finite > 0) {
    v.passed = false;
    v.max_error = std::numeric_limits<double>::infinity();
    v.detail = fmt::format("{} non-finite output element(s), first at index {}", non_finite, first_non_finite);
    return v;
  }
  v.passed = std::isfinite(max_error) && max_error <= tolerance;
  v.detail = std::move(detail);
  return v;
}

}  // namespace mlbench
