#include "bench/verification.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

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

Verification Problem::verify_exact(const HostBuffer& output, ExactMatch match) const {
  if (!exact_twin_) throw std::logic_error("verify_exact called on a problem that is not an exact twin");
  return check_exact(output, match);
}

double exact_integer_limit(Precision p) {
  switch (p) {
    case Precision::bf16: return 256.0;
    case Precision::fp16: return 2048.0;
    case Precision::fp64: return 9007199254740992.0;  // 2^53
    default: return 16777216.0;                       // 2^24: fp32 and tf32 (fp32 output)
  }
}

std::uint64_t twin_hash(std::uint64_t seed, std::uint64_t index) {
  // splitmix64 of the pair: cheap, well mixed, the same on every machine
  std::uint64_t z = seed * 0x9e3779b97f4a7c15ULL + index + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<std::int64_t> nonzero_integers(std::mt19937_64& rng, std::size_t count, std::int64_t range) {
  range = std::max<std::int64_t>(range, 1);
  std::uniform_int_distribution<std::int64_t> magnitude(1, range);
  std::vector<std::int64_t> x(count);
  for (auto& v : x) v = (rng() & 1) ? magnitude(rng) : -magnitude(rng);
  return x;
}

std::int64_t first_non_integer(const HostBuffer& output, ExactMatch match, double bound, std::string& problem) {
  const auto n = static_cast<std::int64_t>(output.size());
  std::int64_t first = n;
  visit_typed(output, [&](const auto* p) {
#pragma omp parallel for schedule(static) reduction(min : first)
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = to_double(p[i]);
      // |v| <= bound + 0.5 first (also false for NaN), so that the casts cannot overflow
      const bool in_range = v <= bound + 0.5 && v >= -bound - 0.5;
      const double r = in_range ? static_cast<double>(exact_integer(v)) : 0.0;
      const bool good = in_range && r <= bound && r >= -bound && (match == ExactMatch::nearest_integer || r == v);
      if (!good && i < first) first = i;
    }
  });
  if (first == n) return -1;
  const double v = output.get(static_cast<std::size_t>(first));
  if (!std::isfinite(v))
    problem = fmt::format("element {} is {}", first, v);
  else if (std::fabs(std::nearbyint(v)) > bound)
    problem =
        fmt::format("element {} is {:.9g}, outside the exact result's range [-{:g}, {:g}]", first, v, bound, bound);
  else
    problem = fmt::format("element {} is {:.9g}, not an integer", first, v);
  return first;
}

Verification exact_verification(bool passed, double deviation, std::string method, std::string detail) {
  Verification v;
  v.passed = passed;
  v.max_error = deviation;
  v.tolerance = 0;
  v.method = std::move(method);
  v.detail = std::move(detail);
  return v;
}

std::uint64_t output_fingerprint(const HostBuffer& output) {
  const auto* bytes = static_cast<const unsigned char*>(output.raw());
  const std::size_t size = output.bytes();
  constexpr std::size_t chunk = std::size_t{1} << 16;
  const auto chunks = static_cast<std::int64_t>((size + chunk - 1) / chunk);
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(chunks));
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * chunk, end = std::min(size, begin + chunk);
    std::uint64_t h = static_cast<std::uint64_t>(c);
    std::size_t i = begin;
    for (; i + 8 <= end; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, bytes + i, 8);
      h = twin_hash(h, word);
    }
    for (; i < end; ++i) h = twin_hash(h, bytes[i]);
    hashes[static_cast<std::size_t>(c)] = h;
  }
  std::uint64_t h = size;
  for (std::uint64_t chunk_hash : hashes) h = twin_hash(h, chunk_hash);
  return h;
}

std::string to_string(ExactMatch match) {
  return match == ExactMatch::strict ? "every element exact" : "every element rounded to the nearest integer";
}

ExactMatch exact_match_for(const std::vector<std::pair<std::string, std::string>>& notes) {
  for (const auto& note : notes) {
    if (note.first != "algorithm") continue;
    std::string upper = note.second;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    if (upper.find("FFT") != std::string::npos || upper.find("WINOGRAD") != std::string::npos)
      return ExactMatch::nearest_integer;
  }
  return ExactMatch::strict;
}

Verification make_verification(double max_error, double tolerance, std::string method, std::string detail,
                               std::size_t non_finite, std::int64_t first_non_finite) {
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
