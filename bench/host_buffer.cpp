#include "bench/host_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <type_traits>

#include "bench/problem.h"

namespace mlbench {

void HostBuffer::FreeDeleter::operator()(void* p) const { std::free(p); }

HostBuffer::HostBuffer(Precision precision, std::size_t count) : precision_(precision), count_(count) {
  if (count == 0) return;
  // aligned_alloc wants a size that is a multiple of the alignment.
  std::size_t bytes = (count * element_size(precision) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(p);
}

double HostBuffer::get(std::size_t i) const {
  return visit_typed(*this, [i](const auto* p) { return to_double(p[i]); });
}

namespace {
// value in the buffer's storage type, rounded as the precision says
template <class T>
T stored_value(Precision precision, double value) {
  T v = from_double<T>(value);
  if constexpr (std::is_same_v<T, float>)
    if (precision == Precision::tf32) v = round_to_tf32(v);
  return v;
}
}  // namespace

void HostBuffer::set(std::size_t i, double value) {
  visit_typed(*this, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    p[i] = stored_value<T>(precision_, value);
  });
}

void HostBuffer::poison() {
  visit_typed(*this, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    std::fill(p, p + count_, from_double<T>(std::numeric_limits<double>::quiet_NaN()));
  });
}

namespace {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

void fill_uniform(HostBuffer& buffer, std::uint64_t seed, double lo, double hi) {
  // A fixed engine and our own float mapping (not std::uniform_real_distribution, whose
  // output differs between standard libraries) keep inputs identical on every machine.
  // Chunks get their own engine so generation runs in parallel yet does not depend on the
  // thread count.
  constexpr std::size_t chunk = std::size_t{1} << 20;
  const double scale = (hi - lo) / 9007199254740992.0;  // 2^53
  const auto chunks = static_cast<std::int64_t>((buffer.size() + chunk - 1) / chunk);
  visit_typed(buffer, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) {
      std::mt19937_64 engine(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(c))));
      const std::size_t end = std::min(buffer.size(), (static_cast<std::size_t>(c) + 1) * chunk);
      for (std::size_t i = static_cast<std::size_t>(c) * chunk; i < end; ++i)
        p[i] = stored_value<T>(buffer.precision(), lo + static_cast<double>(engine() >> 11) * scale);
    }
  });
}

}  // namespace mlbench
