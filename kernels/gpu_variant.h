// The Variant every GPU backend derives from: device buffers for the inputs and the output,
// pinned host copies of the inputs, a stream, two events and an L2-flush buffer.
//
// run(kernel):     flush L2 (not timed) | event | launch()                     | event
// run(end_to_end):                        event | H2D inputs, launch(), D2H out | event
// A derived class only implements launch(): enqueue its work on stream().
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "bench/backend.h"

namespace mlbench::kernels {

// Throws InputError (needed vs free bytes) unless `bytes` more fit in the device's free memory.
void ensure_device_memory(std::size_t bytes, const std::string& what);

// Registry::device_recovery of the GPU backends, called once a failed variant released its
// memory and handles: each of `devices` whose context holds a sticky error (illegal address,
// launch failure, ...: every later call on it would fail) is reset with cudaDeviceReset, and so
// is each after an out-of-memory failure (GpuError::out_of_memory), so that the remaining
// variants start on a clean device. Returns what it did ("device 0 reset (cudaDeviceReset)
// after ..."), "" when no device needed it.
std::string recover_devices(const std::vector<int>& devices, std::exception_ptr failure);

// Owning device allocation; freeing never throws.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(other.bytes_) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();
  void* get() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Owning page-locked host allocation (so that copies run at full PCIe/NVLink speed).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(std::size_t bytes);
  PinnedBuffer(PinnedBuffer&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(other.bytes_) {}
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept;
  ~PinnedBuffer();
  void* get() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

class GpuVariant : public Variant {
 public:
  ~GpuVariant() override;
  GpuVariant(const GpuVariant&) = delete;
  GpuVariant& operator=(const GpuVariant&) = delete;

  std::vector<TimingMode> timing_modes() const override { return {TimingMode::kernel, TimingMode::end_to_end}; }
  double run(TimingMode mode) override;
  void read_output(HostBuffer& out) override;
  std::vector<std::pair<std::string, std::string>> notes() const override { return notes_; }

 protected:
  // Copies `inputs` to the device (through pinned memory) and poisons an output of
  // `output_count` elements with NaN. `extra_device_bytes` (workspace the derived class will
  // allocate) is included in the free-memory check.
  GpuVariant(const ExecutionConfig& config, Precision precision, std::vector<const HostBuffer*> inputs,
             std::size_t output_count, std::size_t extra_device_bytes = 0)
      : GpuVariant(config, precision, precision, std::move(inputs), output_count, extra_device_bytes) {}
  // Inputs in `precision`, the output stored in `output_precision` (Problem::output_precision():
  // fp32 for tf32 inputs and for 16-bit reductions).
  GpuVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
             std::vector<const HostBuffer*> inputs, std::size_t output_count, std::size_t extra_device_bytes = 0);

  // Enqueues the work on stream(). Called inside the timed region.
  virtual void launch() = 0;

  cudaStream_t stream() const { return stream_; }
  int device() const { return device_; }
  template <class T>
  const T* input(std::size_t i) const {
    return device_inputs_.at(i).as<const T>();
  }
  template <class T>
  T* output() const {
    return device_output_.as<T>();
  }
  std::size_t output_count() const { return output_count_; }
  Precision precision() const { return precision_; }
  Precision output_precision() const { return output_precision_; }
  // Fills the device output with NaN (all bits set), so unwritten elements fail verification.
  void poison_output();
  // Device scratch owned by the variant (workspace, partial results); checked against free memory.
  void* allocate_scratch(std::size_t bytes, const std::string& what);

  std::vector<std::pair<std::string, std::string>> notes_;

 private:
  double elapsed_seconds();

  int device_ = 0;
  Precision precision_;
  Precision output_precision_;
  std::size_t output_count_ = 0;
  std::vector<DeviceBuffer> device_inputs_;
  std::vector<PinnedBuffer> pinned_inputs_;
  DeviceBuffer device_output_;
  PinnedBuffer pinned_output_;
  DeviceBuffer l2_flush_;
  std::vector<DeviceBuffer> scratch_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

}  // namespace mlbench::kernels
