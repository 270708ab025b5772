#include "kernels/multi_gpu_variant.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

#include "kernels/cuda_check.h"

namespace mlbench::kernels {

void copy_plane_rows(const PlaneRows& dst, const PlaneRows& src, std::size_t rows, std::size_t row_elements,
                     std::size_t planes, std::size_t element_bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (rows == 0 || row_elements == 0 || planes == 0) return;
  // Linear memory: extents and positions are in bytes along x, in rows along y, in planes along z.
  cudaMemcpy3DParms p{};
  p.srcPtr = make_cudaPitchedPtr(const_cast<void*>(src.base), src.row_pitch * element_bytes,
                                 src.row_pitch * element_bytes, src.plane_rows);
  p.srcPos = make_cudaPos(src.first_col * element_bytes, src.first_row, 0);
  p.dstPtr = make_cudaPitchedPtr(const_cast<void*>(dst.base), dst.row_pitch * element_bytes,
                                 dst.row_pitch * element_bytes, dst.plane_rows);
  p.dstPos = make_cudaPos(dst.first_col * element_bytes, dst.first_row, 0);
  p.extent = make_cudaExtent(row_elements * element_bytes, rows, planes);
  p.kind = kind;
  MLBENCH_CUDA_CHECK(cudaMemcpy3DAsync(&p, stream));
}

MultiGpuVariant::MultiGpuVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
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
  ranks_.resize(devices_.size());
  for (int r : mine_) {
    Rank& rank = ranks_[static_cast<std::size_t>(r)];
    MLBENCH_CUDA_CHECK(cudaSetDevice(device(r)));
    MLBENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&rank.stream, cudaStreamNonBlocking));
    MLBENCH_CUDA_CHECK(cudaEventCreateWithFlags(&rank.done, cudaEventDisableTiming));
    int l2_bytes = 0;
    MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device(r)));
    const std::size_t flush_bytes = 2 * static_cast<std::size_t>(l2_bytes);  // evicts the last run's data
    ensure_device_memory(flush_bytes + (r == 0 ? output_count * element_size(output_precision) : 0),
                         fmt::format("GPU {} (rank {})", device(r), r));
    rank.l2_flush = DeviceBuffer(flush_bytes);
  }
  communicator_ = group_ != nullptr ? std::make_unique<NcclCommunicator>(*group_, device(lead()))
                                    : std::make_unique<NcclCommunicator>(devices_);

  MLBENCH_CUDA_CHECK(cudaSetDevice(device(lead())));
  MLBENCH_CUDA_CHECK(cudaEventCreate(&start_));
  MLBENCH_CUDA_CHECK(cudaEventCreate(&stop_));
  for (const HostBuffer* in : inputs) {
    PinnedBuffer& pinned = pinned_inputs_.emplace_back(in->bytes());
    std::memcpy(pinned.get(), in->raw(), in->bytes());
  }
  if (drives(0)) {  // the output lives with rank 0
    const std::size_t output_bytes = output_count * element_size(output_precision);
    device_output_ = DeviceBuffer(output_bytes);
    pinned_output_ = PinnedBuffer(output_bytes);
    MLBENCH_CUDA_CHECK(cudaMemset(device_output_.get(), 0xFF, output_bytes));
    std::memset(pinned_output_.get(), 0xFF, output_bytes);
  }

  std::string gpus;  // the GPUs of this process's ranks
  for (int r : mine_) gpus += (gpus.empty() ? "" : ",") + std::to_string(device(r));
  notes_.emplace_back("gpus", gpus);
  notes_.emplace_back("nccl", nccl_version());
}

MultiGpuVariant::~MultiGpuVariant() {
  // Queued work must finish before the communicator and the buffers go; errors cannot be
  // reported from a destructor.
  drain();
  communicator_.reset();
  if (!mine_.empty()) cudaSetDevice(device(lead()));
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

bool MultiGpuVariant::drives(int rank) const { return rank >= 0 && rank < ranks() && device(rank) >= 0; }

cudaStream_t MultiGpuVariant::on(int rank) const {
  if (!drives(rank)) throw std::logic_error(fmt::format("rank {} runs in another process", rank));
  MLBENCH_CUDA_CHECK(cudaSetDevice(device(rank)));
  return ranks_.at(static_cast<std::size_t>(rank)).stream;
}

void* MultiGpuVariant::allocate(int rank, std::size_t bytes, const std::string& what) {
  on(rank);
  ensure_device_memory(bytes, fmt::format("{} on GPU {}", what, device(rank)));
  return ranks_.at(static_cast<std::size_t>(rank)).buffers.emplace_back(bytes).get();
}

void MultiGpuVariant::poison(int rank, void* device_pointer, std::size_t bytes) {
  if (bytes == 0) return;
  MLBENCH_CUDA_CHECK(cudaMemsetAsync(device_pointer, 0xFF, bytes, on(rank)));
}

void MultiGpuVariant::synchronize() const {
  for (int r : mine_) MLBENCH_CUDA_CHECK(cudaStreamSynchronize(on(r)));
}

void MultiGpuVariant::drain() const noexcept {
  for (int r : mine_) {
    const Rank& rank = ranks_[static_cast<std::size_t>(r)];
    if (rank.stream == nullptr) continue;
    cudaSetDevice(device(r));
    cudaStreamSynchronize(rank.stream);
  }
  if (!mine_.empty()) cudaSetDevice(device(lead()));
}

void MultiGpuVariant::begin_communication() {
  if (phase_open_) throw std::logic_error("begin_communication: the previous phase is still open");
  cudaStream_t stream = on(lead());
  if (phases_recorded_ * 2 == phase_events_.size()) {  // first run: one more pair
    for (int i = 0; i < 2; ++i) MLBENCH_CUDA_CHECK(cudaEventCreate(&phase_events_.emplace_back()));
  }
  MLBENCH_CUDA_CHECK(cudaEventRecord(phase_events_[phases_recorded_ * 2], stream));
  phase_open_ = true;
}

void MultiGpuVariant::end_communication() {
  if (!phase_open_) throw std::logic_error("end_communication without begin_communication");
  MLBENCH_CUDA_CHECK(cudaEventRecord(phase_events_[phases_recorded_ * 2 + 1], on(lead())));
  ++phases_recorded_;
  phase_open_ = false;
}

double MultiGpuVariant::elapsed(cudaEvent_t from, cudaEvent_t to) const {
  float ms = 0.0f;
  MLBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, from, to));
  return static_cast<double>(ms) * 1e-3;
}

double MultiGpuVariant::run(TimingMode mode) {
  if (mode != TimingMode::kernel && mode != TimingMode::end_to_end)
    throw std::logic_error("multi-GPU variants are timed in kernel or end_to_end mode, not " + to_string(mode));
  const int lead_rank = lead();
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
  run_pipeline();
  if (phase_open_) throw std::logic_error("run_pipeline left a communication phase open");
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

void MultiGpuVariant::read_output(HostBuffer& out) {
  if (out.precision() != output_precision_ || out.size() != output_count_) {
    throw std::logic_error(fmt::format("read_output: buffer holds {} {} elements, the output has {} {}", out.size(),
                                       to_string(out.precision()), output_count_, to_string(output_precision_)));
  }
  synchronize();
  on(0);
  MLBENCH_CUDA_CHECK(cudaMemcpy(out.raw(), device_output_.get(), out.bytes(), cudaMemcpyDeviceToHost));
}

}  // namespace mlbench::kernels
