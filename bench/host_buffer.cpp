#include "bench/host_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <type_traits>

#include "bench/problem.h"

namespace mlbench {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugePageThreshold = std::size_t{256} << 10;
}  // namespace

void HostBuffer::FreeDeleter::operator()(void* p) const {
  if (mapped_bytes > 0)
    munmap(p, mapped_bytes);
  else
    std::free(p);
}

namespace {
// `bytes` (a multiple of 2 MiB) of fresh memory starting on a 2 MiB boundary, advised to be
// backed by transparent huge pages before anything touches it; nullptr when mmap fails.
void* map_on_huge_pages(std::size_t bytes) {
  void* raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(raw, aligned - start);  // trim to the 2 MiB boundary
  if (const std::size_t tail = start + bytes + kHugePage - (aligned + bytes); tail > 0)
    munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: ignored where THP is off
  return p;
}
}  // namespace

HostBuffer::HostBuffer(Precision precision, std::size_t count) : precision_(precision), count_(count) {
  if (count == 0) return;
  // Where a buffer lies decides which cache sets it uses, and with it the speed of cache-resident
  // problems; left to chance, it made two runs of one command disagree (docs/reliability.md):
  //  - from a page up, buffers start on a page: with 64-byte alignment the offset within the
  //    page followed the heap's history, which follows timing (a convolution: up to 8 %);
  //  - from 256 KiB up, they start on 2 MiB and ask for transparent huge pages: the L2 is
  //    indexed by physical address, and 4 KiB frames scattered at random gave each process its
  //    own conflicts (GEMM 512: medians spread 8 % over runs of one command, 2 % with this).
  // aligned_alloc wants a size that is a multiple of the alignment.
  // (glibc's aligned_alloc would serve a 2 MiB alignment from pages the heap already touched,
  // which no longer become huge pages: hence mmap.)
  const std::size_t wanted = count * element_size(precision);
  if (wanted >= kHugePageThreshold) {
    const std::size_t bytes = (wanted + kHugePage - 1) / kHugePage * kHugePage;
    void* p = map_on_huge_pages(bytes);
    if (p == nullptr) throw std::bad_alloc();
    data_ = std::unique_ptr<void, FreeDeleter>(p, FreeDeleter{bytes});
    return;
  }
  const std::size_t alignment = wanted >= 4096 ? 4096 : 64;
  const std::size_t bytes = (wanted + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, bytes);
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

namespace {
constexpr std::size_t kUniformChunk = std::size_t{1} << 20;  // elements per generator (fill_uniform)
std::mt19937_64 chunk_engine(std::uint64_t seed, std::size_t chunk) {
  return std::mt19937_64(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(chunk))));
}
}  // namespace

void fill_uniform(HostBuffer& buffer, std::uint64_t seed, double lo, double hi) {
  // A fixed engine and our own float mapping (not std::uniform_real_distribution, whose
  // output differs between standard libraries) keep inputs identical on every machine.
  // Chunks get their own engine so generation runs in parallel yet does not depend on the
  // thread count.
  constexpr std::size_t chunk = kUniformChunk;
  const double scale = (hi - lo) / 9007199254740992.0;  // 2^53
  const auto chunks = static_cast<std::int64_t>((buffer.size() + chunk - 1) / chunk);
  visit_typed(buffer, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) {
      std::mt19937_64 engine = chunk_engine(seed, static_cast<std::size_t>(c));
      const std::size_t end = std::min(buffer.size(), (static_cast<std::size_t>(c) + 1) * chunk);
      for (std::size_t i = static_cast<std::size_t>(c) * chunk; i < end; ++i)
        p[i] = stored_value<T>(buffer.precision(), lo + static_cast<double>(engine() >> 11) * scale);
    }
  });
}

struct UniformStream::State {
  std::mt19937_64 engine;
  std::size_t chunk = SIZE_MAX;  // the chunk `engine` draws
  std::size_t next = 0;          // the element the engine's next value is
};

UniformStream::UniformStream(std::uint64_t seed, double lo, double hi)
    : seed_(seed), lo_(lo), scale_((hi - lo) / 9007199254740992.0), state_(std::make_unique<State>()) {}
UniformStream::~UniformStream() = default;

void UniformStream::fill(HostBuffer& out, std::size_t offset, std::size_t first, std::size_t count) {
  if (offset > out.size() || count > out.size() - offset) throw std::logic_error("UniformStream::fill past the buffer");
  State& s = *state_;
  visit_typed(out, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    for (std::size_t i = first, end = first + count; i < end;) {
      const std::size_t chunk = i / kUniformChunk;
      if (chunk != s.chunk || i < s.next) {  // another chunk, or backwards: start the chunk afresh
        s.engine = chunk_engine(seed_, chunk);
        s.chunk = chunk;
        s.next = chunk * kUniformChunk;
      }
      s.engine.discard(i - s.next);
      const std::size_t stop = std::min(end, (chunk + 1) * kUniformChunk);
      for (; i < stop; ++i)
        p[offset++] = stored_value<T>(out.precision(), lo_ + static_cast<double>(s.engine() >> 11) * scale_);
      s.next = stop;
    }
  });
}

}  // namespace mlbench
