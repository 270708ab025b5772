// The Variant every GPU backend derives from, on one GPU or on several: one rank per GPU (its
// own stream, L2-flush buffer and device buffers), pinned host copies of the problem's inputs,
// two timing events, and the output on rank 0. The single-GPU backends are the case of one rank.
//
// One rank (the first constructor): the GPU is ExecutionConfig::device, the base copies every
// input whole to it (input<T>(i)) and a derived class only implements launch(): enqueue its
// work on stream().
//
// Several ranks (the second constructor, tag `Distributed`; NcclVariant in
// kernels/multi_gpu_variant.h adds the NCCL communicator): one rank per GPU of
// ExecutionConfig::devices (config.device alone when empty). Across processes (an MPI job,
// ExecutionConfig::rank_group; mpi/gpu_ranks.cpp) each process drives one rank on its one GPU:
// mine() is that rank alone, the output lives in the process of rank 0, every process's timed
// region starts after a barrier of the group and a run's time is the slowest rank's
// (RankGroup::max). In one process mine() is every rank. The derived variant places its share
// of the inputs on each rank itself (upload_inputs(), from pinned_input()), loops over mine()
// and touches rank 0's buffers only where drives(0).
//
// Timed regions, on the lead rank's clock (before each run, not timed, every GPU's L2 is flushed):
//
//   kernel:      | event | launch()                                          | all ranks | event
//   end_to_end:  | event | upload_inputs(); launch(); output rank 0 -> host  | all ranks | event
//
// (upload_inputs() of one rank: every input whole to the device). A distributed launch() wraps
// each data-movement phase in begin_communication() / end_communication(), events on the lead
// rank's stream, whose sum is communication_seconds(). A phase includes waiting for the slowest
// peer to arrive, as a collective does.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/backend.h"
#include "bench/problem.h"
#include "bench/rank_group.h"

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
  double communication_seconds() const override { return communication_s_; }

 protected:
  // One rank on config.device. Copies `inputs` to the device (through pinned memory) and poisons
  // an output of `output_count` elements of `output_precision` (Problem::output_precision(): fp32
  // for tf32 inputs and for 16-bit reductions) with NaN. `extra_device_bytes` (workspace the
  // derived class will allocate) is included in the free-memory check.
  GpuVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
             std::vector<const HostBuffer*> inputs, std::size_t output_count, std::size_t extra_device_bytes = 0);
  // One rank per GPU of config.devices (or this process's one rank of config.rank_group): the
  // streams, pinned copies of `inputs` (on no device: upload_inputs() places them), and the
  // NaN-poisoned output on rank 0.
  struct Distributed {};
  GpuVariant(Distributed, const ExecutionConfig& config, Precision precision, Precision output_precision,
             std::vector<const HostBuffer*> inputs, std::size_t output_count);

  // Enqueues the work on the ranks' streams (one rank: stream()); the output ends on rank 0.
  // Called inside the timed region.
  virtual void launch() = 0;
  // End to end only, inside the timed region: enqueues each rank's host-to-device copies of its
  // resident inputs from pinned_input(), on its own stream. One rank: every input whole (the
  // default). Distributed constructors call it once (then synchronize()) to make the inputs
  // resident for kernel-mode runs.
  virtual void upload_inputs();

  // Every rank of the variant (in this process or others); 1 for a single-GPU variant.
  int ranks() const { return static_cast<int>(devices_.size()); }
  // The ranks this process drives: every rank in one process, its own across processes.
  const std::vector<int>& mine() const { return mine_; }
  bool drives(int rank) const;
  // The rank whose stream holds the timing and phase events: 0, or this process's own rank.
  int lead() const { return mine_.front(); }
  // The CUDA ordinal of a rank this process drives (-1 for another process's).
  int device(int rank) const { return devices_.at(static_cast<std::size_t>(rank)); }
  int device() const { return device(lead()); }
  // The CUDA ordinal of every rank (-1 for other processes' ranks).
  const std::vector<int>& devices() const { return devices_; }
  // The processes of a cross-process variant; nullptr in one process.
  RankGroup* group() const { return group_; }
  // Makes the rank's GPU current and returns its stream (a rank this process drives).
  cudaStream_t on(int rank) const;
  // The lead rank's stream (the current device is left alone).
  cudaStream_t stream() const { return ranks_.at(static_cast<std::size_t>(lead())).stream; }

  Precision precision() const { return precision_; }
  Precision output_precision() const { return output_precision_; }
  std::size_t element_bytes() const { return element_size(precision_); }
  std::size_t output_count() const { return output_count_; }
  // Input i whole on the device (one-rank variants only: a distributed variant places its own).
  template <class T>
  const T* input(std::size_t i) const {
    return device_inputs_.at(i).as<const T>();
  }
  const std::byte* pinned_input(std::size_t i) const {
    return static_cast<const std::byte*>(pinned_inputs_.at(i).get());
  }
  // Rank 0's output (nullptr in the processes of the other ranks).
  template <class T = std::byte>
  T* output() const {
    return device_output_.as<T>();
  }

  // Fills rank 0's output with NaN (all bits set), so unwritten elements fail verification.
  void poison_output();
  // One untimed kernel-mode run as the variant is configured now (a library algorithm on trial):
  // the output poisoned first, so that an element the run leaves unwritten cannot pass on an
  // older value, then read into `scratch` and verified by `problem`. Returns why the output
  // fails ("error 3.1e-02 > 1.0e-05"), nothing when it passes.
  std::optional<std::string> trial_run_failure(const Problem& problem, HostBuffer& scratch);
  // All bits set: NaN in every floating-point type, so a buffer a transfer should have filled
  // and did not fails verification (asynchronous, on the rank's stream).
  void poison(int rank, void* device_pointer, std::size_t bytes);
  // Device scratch on the lead rank's GPU owned by the variant (workspace, partial results),
  // checked against free memory and zeroed once.
  void* allocate_scratch(std::size_t bytes, const std::string& what);
  // Device memory on the rank's GPU, owned by this variant; checked against its free memory.
  void* allocate(int rank, std::size_t bytes, const std::string& what);
  void synchronize() const;  // every rank's stream
  // synchronize() for destructors: errors ignored, the current device left on the lead rank's.
  void drain() const noexcept;
  void begin_communication();
  void end_communication();

  std::vector<std::pair<std::string, std::string>> notes_;

 private:
  struct Rank {
    cudaStream_t stream = nullptr;
    cudaEvent_t done = nullptr;  // recorded last on this rank's stream; the lead rank waits for it
    DeviceBuffer l2_flush;
    std::vector<DeviceBuffer> buffers;
  };
  // Each of mine(): its GPU's memory check (`rank0_bytes` more on rank 0: the output, and for one
  // rank its inputs and workspace; `what` names the need, "" for "GPU d (rank r)"), stream and
  // L2-flush buffer; the timing events on the lead rank; pinned copies of `inputs`; rank 0's
  // output, poisoned.
  void set_up(const std::vector<const HostBuffer*>& inputs, std::size_t rank0_bytes, const std::string& what);
  void* allocate_on(int rank, std::size_t bytes, const std::string& what);
  double elapsed(cudaEvent_t from, cudaEvent_t to) const;

  RankGroup* group_ = nullptr;  // across processes; nullptr in one process
  std::vector<int> devices_;    // per rank; -1 for ranks of other processes
  std::vector<int> mine_;
  Precision precision_, output_precision_;
  std::size_t output_count_ = 0;
  std::vector<Rank> ranks_;
  std::vector<PinnedBuffer> pinned_inputs_;
  std::vector<DeviceBuffer> device_inputs_;  // one rank: the inputs whole, on its GPU
  DeviceBuffer device_output_;               // on rank 0
  PinnedBuffer pinned_output_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;  // lead rank
  std::vector<cudaEvent_t> phase_events_;         // lead rank: begin/end pairs, reused every run
  std::size_t phases_recorded_ = 0;
  bool phase_open_ = false;
  double communication_s_ = 0;
};

}  // namespace mlbench::kernels
