#include "kernels/gpu_variant.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

#include "kernels/cuda_check.h"

namespace mlbench::kernels {

void ensure_device_memory(std::size_t bytes, const std::string& what) {
  std::size_t free_bytes = 0, total_bytes = 0;
  MLBENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (bytes > free_bytes) {
    throw InputError(fmt::format("{} needs {} bytes of GPU memory but only {} of {} are free", what, bytes, free_bytes,
                                 total_bytes));
  }
}

std::string recover_devices(const std::vector<int>& devices, std::exception_ptr failure) {
  bool out_of_memory = false;
  try {
    if (failure) std::rethrow_exception(failure);
  } catch (const GpuError& e) {
    out_of_memory = e.out_of_memory();
  } catch (...) {
    // Not a CUDA library failure: only a sticky device state calls for a reset.
  }
  std::string done;
  for (int device : devices) {
    cudaSetDevice(device);
    cudaGetLastError();  // clears a non-sticky error; a sticky one stays and fails the synchronize
    const cudaError_t state = cudaDeviceSynchronize();
    if (state == cudaSuccess && !out_of_memory) continue;
    const std::string why = state != cudaSuccess ? fmt::format("a sticky CUDA error ({})", cudaGetErrorString(state))
                                                 : std::string("running out of device memory");
    const cudaError_t reset = cudaDeviceReset();
    cudaGetLastError();
    // After a sticky error (illegal address, ...) CUDA may refuse the device for the rest of the
    // process even once it is reset: try it, and say so when it stays unusable.
    cudaError_t usable = reset == cudaSuccess ? cudaSetDevice(device) : reset;
    if (usable == cudaSuccess) usable = cudaFree(nullptr);
    if (usable == cudaSuccess) usable = cudaDeviceSynchronize();
    cudaGetLastError();
    std::string what;
    if (reset != cudaSuccess)
      what = fmt::format("device {} could not be reset after {}: {}", device, why, cudaGetErrorString(reset));
    else if (usable != cudaSuccess)
      what = fmt::format(
          "device {} reset (cudaDeviceReset) after {}, but stays unusable in this process ({}): "
          "the GPU variants after this one fail; run them again in a new process",
          device, why, cudaGetErrorString(usable));
    else
      what = fmt::format("device {} reset (cudaDeviceReset) after {}", device, why);
    done += (done.empty() ? "" : "; ") + what;
  }
  return done;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes > 0) MLBENCH_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = other.bytes_;
  }
  return *this;
}
DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != nullptr) cudaFree(ptr_);  // errors ignored: destructors must not throw
}

PinnedBuffer::PinnedBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes > 0) MLBENCH_CUDA_CHECK(cudaMallocHost(&ptr_, bytes));
}
PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = other.bytes_;
  }
  return *this;
}
PinnedBuffer::~PinnedBuffer() {
  if (ptr_ != nullptr) cudaFreeHost(ptr_);
}

GpuVariant::GpuVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
                       std::vector<const HostBuffer*> inputs, std::size_t output_count, std::size_t extra_device_bytes)
    : device_(config.device), precision_(precision), output_precision_(output_precision), output_count_(output_count) {
  MLBENCH_CUDA_CHECK(cudaSetDevice(device_));
  int l2_bytes = 0;
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device_));
  // Writing twice the L2 size evicts whatever the previous run left there.
  const std::size_t flush_bytes = 2 * static_cast<std::size_t>(l2_bytes);
  const std::size_t output_bytes = output_count * element_size(output_precision);
  std::size_t needed = output_bytes + flush_bytes + extra_device_bytes;
  for (const HostBuffer* in : inputs) needed += in->bytes();
  ensure_device_memory(needed, "this problem");

  MLBENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  MLBENCH_CUDA_CHECK(cudaEventCreate(&start_));
  MLBENCH_CUDA_CHECK(cudaEventCreate(&stop_));
  for (const HostBuffer* in : inputs) {
    PinnedBuffer& pinned = pinned_inputs_.emplace_back(in->bytes());
    std::memcpy(pinned.get(), in->raw(), in->bytes());
    DeviceBuffer& device = device_inputs_.emplace_back(in->bytes());
    MLBENCH_CUDA_CHECK(cudaMemcpy(device.get(), pinned.get(), in->bytes(), cudaMemcpyHostToDevice));
  }
  device_output_ = DeviceBuffer(output_bytes);
  pinned_output_ = PinnedBuffer(output_bytes);
  // All-ones bytes are a NaN in every precision (fp64, fp32, bf16, fp16): an element the kernel
  // never writes fails verify().
  poison_output();
  l2_flush_ = DeviceBuffer(flush_bytes);
  MLBENCH_CUDA_CHECK(cudaDeviceSynchronize());
}

GpuVariant::~GpuVariant() {
  // Let queued work finish before the buffers it uses go away; errors cannot be reported here.
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
  if (start_ != nullptr) cudaEventDestroy(start_);
  if (stop_ != nullptr) cudaEventDestroy(stop_);
}

void* GpuVariant::allocate_scratch(std::size_t bytes, const std::string& what) {
  ensure_device_memory(bytes, what);
  void* scratch = scratch_.emplace_back(bytes).get();
  // Zeroed once: libraries read workspace bytes they have not written (compute-sanitizer's
  // initcheck saw cuBLASLt's split-K reduction and cuDNN's implicit GEMM do so); zeroed, those
  // reads are deterministic and a finding in initcheck is one in mlbench's own code.
  MLBENCH_CUDA_CHECK(cudaSetDevice(device_));
  MLBENCH_CUDA_CHECK(cudaMemset(scratch, 0, bytes));
  return scratch;
}

double GpuVariant::elapsed_seconds() {
  MLBENCH_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0.0f;
  MLBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return static_cast<double>(ms) * 1e-3;
}

double GpuVariant::run(TimingMode mode) {
  MLBENCH_CUDA_CHECK(cudaSetDevice(device_));
  // Evict the inputs from L2 so that every run reads them from device memory; not timed.
  MLBENCH_CUDA_CHECK(cudaMemsetAsync(l2_flush_.get(), 0, l2_flush_.bytes(), stream_));
  switch (mode) {
    case TimingMode::kernel:
      MLBENCH_CUDA_CHECK(cudaEventRecord(start_, stream_));
      launch();
      MLBENCH_CUDA_CHECK(cudaEventRecord(stop_, stream_));
      return elapsed_seconds();
    case TimingMode::end_to_end:
      MLBENCH_CUDA_CHECK(cudaEventRecord(start_, stream_));
      for (std::size_t i = 0; i < device_inputs_.size(); ++i) {
        MLBENCH_CUDA_CHECK(cudaMemcpyAsync(device_inputs_[i].get(), pinned_inputs_[i].get(), pinned_inputs_[i].bytes(),
                                           cudaMemcpyHostToDevice, stream_));
      }
      launch();
      MLBENCH_CUDA_CHECK(cudaMemcpyAsync(pinned_output_.get(), device_output_.get(), device_output_.bytes(),
                                         cudaMemcpyDeviceToHost, stream_));
      MLBENCH_CUDA_CHECK(cudaEventRecord(stop_, stream_));
      return elapsed_seconds();
    case TimingMode::host: break;
  }
  throw std::logic_error("GPU variants are timed in kernel or end_to_end mode, not " + to_string(mode));
}

void GpuVariant::poison_output() {
  MLBENCH_CUDA_CHECK(cudaSetDevice(device_));
  MLBENCH_CUDA_CHECK(cudaStreamSynchronize(stream_));
  MLBENCH_CUDA_CHECK(cudaMemset(device_output_.get(), 0xFF, device_output_.bytes()));
}

void GpuVariant::read_output(HostBuffer& out) {
  if (out.precision() != output_precision_ || out.size() != output_count_) {
    throw std::logic_error(fmt::format("read_output: buffer holds {} {} elements, the output has {} {}", out.size(),
                                       to_string(out.precision()), output_count_, to_string(output_precision_)));
  }
  MLBENCH_CUDA_CHECK(cudaSetDevice(device_));
  MLBENCH_CUDA_CHECK(cudaStreamSynchronize(stream_));
  MLBENCH_CUDA_CHECK(cudaMemcpy(out.raw(), device_output_.get(), out.bytes(), cudaMemcpyDeviceToHost));
}

}  // namespace mlbench::kernels
