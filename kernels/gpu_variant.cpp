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
    : devices_{config.device},
      mine_{0},
      precision_(precision),
      output_precision_(output_precision),
      output_count_(output_count) {
  std::size_t resident = extra_device_bytes;
  for (const HostBuffer* in : inputs) resident += in->bytes();
  set_up(inputs, resident, "this problem");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    DeviceBuffer& device = device_inputs_.emplace_back(inputs[i]->bytes());
    MLBENCH_CUDA_CHECK(cudaMemcpy(device.get(), pinned_inputs_[i].get(), inputs[i]->bytes(), cudaMemcpyHostToDevice));
  }
  MLBENCH_CUDA_CHECK(cudaDeviceSynchronize());
}

GpuVariant::GpuVariant(Distributed, const ExecutionConfig& config, Precision precision, Precision output_precision,
                       std::vector<const HostBuffer*> inputs, std::size_t output_count)
    : group_(config.rank_group),
      precision_(precision),
      output_precision_(output_precision),
      output_count_(output_count) {
  if (group_ != nullptr) {  // one rank of a row across processes, on this process's one GPU
    if (config.devices.size() > 1)
      throw std::logic_error("a process of a cross-rank nccl row drives one GPU, not several");
    devices_.assign(static_cast<std::size_t>(group_->size()), -1);
    devices_.at(static_cast<std::size_t>(group_->rank())) = config.device;
    mine_ = {group_->rank()};
  } else {
    devices_ = config.devices.empty() ? std::vector<int>{config.device} : config.devices;
    for (int r = 0; r < ranks(); ++r) mine_.push_back(r);
  }
  set_up(inputs, 0, "");
}

void GpuVariant::set_up(const std::vector<const HostBuffer*>& inputs, std::size_t rank0_bytes,
                        const std::string& what) {
  const std::size_t output_bytes = output_count_ * element_size(output_precision_);
  ranks_.resize(devices_.size());
  for (int r : mine_) {
    Rank& rank = ranks_[static_cast<std::size_t>(r)];
    MLBENCH_CUDA_CHECK(cudaSetDevice(device(r)));
    int l2_bytes = 0;
    MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device(r)));
    // Writing twice the L2 size evicts whatever the previous run left there.
    const std::size_t flush_bytes = 2 * static_cast<std::size_t>(l2_bytes);
    ensure_device_memory(flush_bytes + (r == 0 ? output_bytes + rank0_bytes : 0),
                         what.empty() ? fmt::format("GPU {} (rank {})", device(r), r) : what);
    MLBENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&rank.stream, cudaStreamNonBlocking));
    MLBENCH_CUDA_CHECK(cudaEventCreateWithFlags(&rank.done, cudaEventDisableTiming));
    rank.l2_flush = DeviceBuffer(flush_bytes);
  }
  MLBENCH_CUDA_CHECK(cudaSetDevice(device(lead())));
  MLBENCH_CUDA_CHECK(cudaEventCreate(&start_));
  MLBENCH_CUDA_CHECK(cudaEventCreate(&stop_));
  for (const HostBuffer* in : inputs) {
    PinnedBuffer& pinned = pinned_inputs_.emplace_back(in->bytes());
    std::memcpy(pinned.get(), in->raw(), in->bytes());
  }
  if (drives(0)) {  // the output lives with rank 0 (the lead whenever this process drives it)
    device_output_ = DeviceBuffer(output_bytes);
    pinned_output_ = PinnedBuffer(output_bytes);
    // All-ones bytes are a NaN in every precision (fp64, fp32, bf16, fp16): an element the
    // kernel never writes fails verify().
    MLBENCH_CUDA_CHECK(cudaMemset(device_output_.get(), 0xFF, output_bytes));
    if (output_bytes > 0) std::memset(pinned_output_.get(), 0xFF, output_bytes);
  }
}

GpuVariant::~GpuVariant() {
  // Queued work must finish before the buffers it uses go away; errors cannot be reported from
  // a destructor.
  drain();
  if (start_ != nullptr) cudaEventDestroy(start_);
  if (stop_ != nullptr) cudaEventDestroy(stop_);
  for (cudaEvent_t e : phase_events_) cudaEventDestroy(e);
  for (int r : mine_) {
    Rank& rank = ranks_[static_cast<std::size_t>(r)];
    cudaSetDevice(device(r));
    rank.buffers.clear();
    rank.l2_flush = DeviceBuffer();
    if (rank.done != nullptr) cudaEventDestroy(rank.done);
    if (rank.stream != nullptr) cudaStreamDestroy(rank.stream);
  }
  if (!mine_.empty()) cudaSetDevice(device(lead()));
}

bool GpuVariant::drives(int rank) const { return rank >= 0 && rank < ranks() && device(rank) >= 0; }

cudaStream_t GpuVariant::on(int rank) const {
  if (!drives(rank)) throw std::logic_error(fmt::format("rank {} runs in another process", rank));
  MLBENCH_CUDA_CHECK(cudaSetDevice(device(rank)));
  return ranks_.at(static_cast<std::size_t>(rank)).stream;
}

void* GpuVariant::allocate_on(int rank, std::size_t bytes, const std::string& what) {
  on(rank);
  ensure_device_memory(bytes, what);
  return ranks_.at(static_cast<std::size_t>(rank)).buffers.emplace_back(bytes).get();
}

void* GpuVariant::allocate(int rank, std::size_t bytes, const std::string& what) {
  return allocate_on(rank, bytes, fmt::format("{} on GPU {}", what, device(rank)));
}

void* GpuVariant::allocate_scratch(std::size_t bytes, const std::string& what) {
  void* scratch = allocate_on(lead(), bytes, what);
  // Zeroed once: libraries read workspace bytes they have not written (compute-sanitizer's
  // initcheck saw cuBLASLt's split-K reduction and cuDNN's implicit GEMM do so); zeroed, those
  // reads are deterministic and a finding in initcheck is one in mlbench's own code.
  MLBENCH_CUDA_CHECK(cudaMemset(scratch, 0, bytes));
  return scratch;
}

void GpuVariant::poison_output() {
  MLBENCH_CUDA_CHECK(cudaStreamSynchronize(on(0)));
  MLBENCH_CUDA_CHECK(cudaMemset(device_output_.get(), 0xFF, device_output_.bytes()));
}

std::optional<std::string> GpuVariant::trial_run_failure(const Problem& problem, HostBuffer& scratch) {
  poison_output();
  run(TimingMode::kernel);
  read_output(scratch);
  const Verification v = problem.verify(scratch);
  if (v.passed) return std::nullopt;
  return fmt::format("error {:.1e} > {:.1e}", v.max_error, v.tolerance);
}

void GpuVariant::poison(int rank, void* device_pointer, std::size_t bytes) {
  if (bytes == 0) return;
  MLBENCH_CUDA_CHECK(cudaMemsetAsync(device_pointer, 0xFF, bytes, on(rank)));
}

void GpuVariant::synchronize() const {
  for (int r : mine_) MLBENCH_CUDA_CHECK(cudaStreamSynchronize(on(r)));
}

void GpuVariant::drain() const noexcept {
  for (int r : mine_) {
    const Rank& rank = ranks_[static_cast<std::size_t>(r)];
    if (rank.stream == nullptr) continue;
    cudaSetDevice(device(r));
    cudaStreamSynchronize(rank.stream);
  }
  if (!mine_.empty()) cudaSetDevice(device(lead()));
}

void GpuVariant::begin_communication() {
  if (phase_open_) throw std::logic_error("begin_communication: the previous phase is still open");
  cudaStream_t stream = on(lead());
  if (phases_recorded_ * 2 == phase_events_.size()) {  // first run: one more pair
    for (int i = 0; i < 2; ++i) MLBENCH_CUDA_CHECK(cudaEventCreate(&phase_events_.emplace_back()));
  }
  MLBENCH_CUDA_CHECK(cudaEventRecord(phase_events_[phases_recorded_ * 2], stream));
  phase_open_ = true;
}

void GpuVariant::end_communication() {
  if (!phase_open_) throw std::logic_error("end_communication without begin_communication");
  MLBENCH_CUDA_CHECK(cudaEventRecord(phase_events_[phases_recorded_ * 2 + 1], on(lead())));
  ++phases_recorded_;
  phase_open_ = false;
}

double GpuVariant::elapsed(cudaEvent_t from, cudaEvent_t to) const {
  float ms = 0.0f;
  MLBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, from, to));
  return static_cast<double>(ms) * 1e-3;
}

void GpuVariant::upload_inputs() {
  cudaStream_t lead_stream = on(lead());
  for (std::size_t i = 0; i < device_inputs_.size(); ++i) {
    MLBENCH_CUDA_CHECK(cudaMemcpyAsync(device_inputs_[i].get(), pinned_inputs_[i].get(), pinned_inputs_[i].bytes(),
                                       cudaMemcpyHostToDevice, lead_stream));
  }
}

double GpuVariant::run(TimingMode mode) {
  if (mode != TimingMode::kernel && mode != TimingMode::end_to_end)
    throw std::logic_error("GPU variants are timed in kernel or end_to_end mode, not " + to_string(mode));
  const int lead_rank = lead();
  // Evict the inputs from every GPU's L2 so that every run reads them from device memory; not timed.
  for (int r : mine_) {
    Rank& rank = ranks_[static_cast<std::size_t>(r)];
    MLBENCH_CUDA_CHECK(cudaMemsetAsync(rank.l2_flush.get(), 0, rank.l2_flush.bytes(), on(r)));
    if (r == lead_rank) continue;
    // The start event comes after every GPU's flush, so that no flush is timed.
    MLBENCH_CUDA_CHECK(cudaEventRecord(rank.done, on(r)));
    MLBENCH_CUDA_CHECK(cudaStreamWaitEvent(on(lead_rank), rank.done, 0));
  }
  // Across processes, every process's ranks start together (the flushes queued before it stay
  // ahead of the start event in stream order).
  if (group_ != nullptr) group_->barrier();
  // Every rank starts after the lead's start event, so that the timed region covers all of them.
  MLBENCH_CUDA_CHECK(cudaEventRecord(start_, on(lead_rank)));
  for (int r : mine_)
    if (r != lead_rank) MLBENCH_CUDA_CHECK(cudaStreamWaitEvent(on(r), start_, 0));
  phases_recorded_ = 0;
  phase_open_ = false;

  if (mode == TimingMode::end_to_end) upload_inputs();
  launch();
  if (phase_open_) throw std::logic_error("launch left a communication phase open");
  if (mode == TimingMode::end_to_end && drives(0)) {
    MLBENCH_CUDA_CHECK(cudaMemcpyAsync(pinned_output_.get(), device_output_.get(), device_output_.bytes(),
                                       cudaMemcpyDeviceToHost, on(0)));
  }
  for (int r : mine_) {
    if (r == lead_rank) continue;
    Rank& rank = ranks_[static_cast<std::size_t>(r)];
    MLBENCH_CUDA_CHECK(cudaEventRecord(rank.done, on(r)));
    MLBENCH_CUDA_CHECK(cudaStreamWaitEvent(on(lead_rank), rank.done, 0));
  }
  MLBENCH_CUDA_CHECK(cudaEventRecord(stop_, on(lead_rank)));
  MLBENCH_CUDA_CHECK(cudaEventSynchronize(stop_));

  communication_s_ = 0;
  for (std::size_t phase = 0; phase < phases_recorded_; ++phase)
    communication_s_ += elapsed(phase_events_[phase * 2], phase_events_[phase * 2 + 1]);
  const double seconds = elapsed(start_, stop_);
  return group_ != nullptr ? group_->max(seconds) : seconds;  // across processes: the slowest rank's
}

void GpuVariant::read_output(HostBuffer& out) {
  if (out.precision() != output_precision_ || out.size() != output_count_) {
    throw std::logic_error(fmt::format("read_output: buffer holds {} {} elements, the output has {} {}", out.size(),
                                       to_string(out.precision()), output_count_, to_string(output_precision_)));
  }
  synchronize();
  on(0);
  MLBENCH_CUDA_CHECK(cudaMemcpy(out.raw(), device_output_.get(), out.bytes(), cudaMemcpyDeviceToHost));
}

}  // namespace mlbench::kernels
