// A 64-byte aligned host allocation holding `count` elements of one precision; page-aligned
// from 4 KiB up and on 2 MiB transparent huge pages from 256 KiB up, so that where a buffer lies
// in the caches does not change from run to run (host_buffer.cpp says why).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "bench/reduced_float.h"
#include "bench/types.h"

namespace mlbench {

class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(Precision precision, std::size_t count);

  Precision precision() const { return precision_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * element_size(precision_); }
  bool empty() const { return count_ == 0; }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <class T>
  T* data() {
    return static_cast<T*>(raw());
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(raw());
  }

  // Element i converted to double, whatever the precision.
  double get(std::size_t i) const;
  // Stores value rounded to the buffer's precision (tf32: to a 10-bit mantissa).
  void set(std::size_t i, double value);
  // Fills every element with a quiet NaN, so that an element a backend never wrote is caught.
  void poison();

 private:
  struct FreeDeleter {
    FreeDeleter() noexcept : mapped_bytes(0) {}
    explicit FreeDeleter(std::size_t mapped) noexcept : mapped_bytes(mapped) {}
    std::size_t mapped_bytes;  // huge-page buffers are mapped: unmapped, not freed
    void operator()(void* p) const;
  };
  Precision precision_ = Precision::fp32;
  std::size_t count_ = 0;
  std::unique_ptr<void, FreeDeleter> data_;
};

// Calls f with a typed pointer to the buffer's elements: double* (fp64), float* (fp32, tf32),
// bfloat16* or float16* (convert with to_double / from_double).
template <class F>
decltype(auto) visit_typed(HostBuffer& b, F&& f) {
  switch (b.precision()) {
    case Precision::fp64: return f(b.data<double>());
    case Precision::bf16: return f(b.data<bfloat16>());
    case Precision::fp16: return f(b.data<float16>());
    default: return f(b.data<float>());
  }
}
template <class F>
decltype(auto) visit_typed(const HostBuffer& b, F&& f) {
  switch (b.precision()) {
    case Precision::fp64: return f(b.data<double>());
    case Precision::bf16: return f(b.data<bfloat16>());
    case Precision::fp16: return f(b.data<float16>());
    default: return f(b.data<float>());
  }
}

}  // namespace mlbench
