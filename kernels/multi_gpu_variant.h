// The Variant every multi-GPU backend derives from: one rank per GPU of ExecutionConfig::devices
// (its own stream, L2-flush buffer and buffers), an NCCL communicator over them, pinned host
// copies of the problem's inputs, and the full output on rank 0.
//
// Across processes (an MPI job, ExecutionConfig::rank_group; mpi/gpu_ranks.cpp) each process
// drives one rank on its one GPU: mine() is that rank alone, the NCCL communicator spans the
// processes, the output lives in the process of rank 0, every process's timed region starts
// after a barrier of the group and a run's time is the slowest rank's (RankGroup::max). In one
// process mine() is every rank. The derived variants loop over mine() and touch rank 0's
// buffers only where drives(0).
//
// Where the data is at the start of a timed run ("resident"): each rank holds its share of the
// split inputs (rows of A, its images or image rows, its part of the reduced tensor); inputs
// every rank needs whole (B, the filters) are on rank 0 only. Timed regions, on rank 0's clock:
//
//   kernel:      | event | run_pipeline()                                           | all ranks | event
//   end_to_end:  | event | upload_inputs(); run_pipeline(); output rank 0 -> host   | all ranks | event
//
// run_pipeline() moves data between GPUs (NCCL broadcast / send-recv / all-reduce) and computes;
// it wraps each data-movement phase in begin_communication() / end_communication(), events on
// rank 0's stream, whose sum is communication_seconds(). A phase includes waiting for the
// slowest peer to arrive, as a collective does. Before each run (not timed) every GPU's L2 is
// flushed, as GpuVariant does.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/backend.h"
#include "kernels/gpu_variant.h"
#include "kernels/multi_gpu_nccl.h"

namespace mlbench::kernels {

// `rows` rows of `row_elements` elements from each of `planes` planes of a pitched layout:
// element (plane, row, col) lives at base + ((plane * plane_rows) + row) * row_pitch + col, all
// in elements. Used for image rows inside NCHW tensors and zero-padded slabs.
struct PlaneRows {
  const void* base = nullptr;
  std::size_t row_pitch = 0;   // elements from one row to the next
  std::size_t plane_rows = 0;  // rows from one plane to the next
  std::size_t first_row = 0;
  std::size_t first_col = 0;
};
// One cudaMemcpy3DAsync on `stream` (device or pinned host memory, as `kind` says); nothing when
// rows, row_elements or planes is 0.
void copy_plane_rows(const PlaneRows& dst, const PlaneRows& src, std::size_t rows, std::size_t row_elements,
                     std::size_t planes, std::size_t element_bytes, cudaMemcpyKind kind, cudaStream_t stream);

class MultiGpuVariant : public Variant {
 public:
  ~MultiGpuVariant() override;
  MultiGpuVariant(const MultiGpuVariant&) = delete;
  MultiGpuVariant& operator=(const MultiGpuVariant&) = delete;

  std::vector<TimingMode> timing_modes() const override { return {TimingMode::kernel, TimingMode::end_to_end}; }
  double run(TimingMode mode) override;
  void read_output(HostBuffer& out) override;
  std::vector<std::pair<std::string, std::string>> notes() const override { return notes_; }
  double communication_seconds() const override { return communication_s_; }

 protected:
  // Creates the streams, the communicator over config.devices (config.device alone when empty),
  // pinned copies of `inputs`, and the NaN-poisoned output (`output_count` elements of
  // `output_precision`) on rank 0.
  MultiGpuVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
                  std::vector<const HostBuffer*> inputs, std::size_t output_count);

  // End to end only: enqueues each rank's host-to-device copies of its resident inputs from
  // pinned_input(), on its own stream. Derived constructors call it once (then synchronize())
  // to make the inputs resident for kernel-mode runs.
  virtual void upload_inputs() = 0;
  // Enqueues the distributed work on the ranks' streams; the output ends on rank 0.
  virtual void run_pipeline() = 0;

  // Every rank of the row (in this process or others).
  int ranks() const { return static_cast<int>(devices_.size()); }
  // The ranks this process drives: every rank in one process, its own across processes.
  const std::vector<int>& mine() const { return mine_; }
  bool drives(int rank) const;
  // The rank whose stream holds the timing and phase events: 0, or this process's own rank.
  int lead() const { return mine_.front(); }
  // The CUDA ordinal of a rank this process drives (-1 for another process's).
  int device(int rank) const { return devices_.at(static_cast<std::size_t>(rank)); }
  // Makes the rank's GPU current and returns its stream (a rank this process drives).
  cudaStream_t on(int rank) const;
  ncclComm_t comm(int rank) const { return communicator_->comm(group_ != nullptr ? 0 : rank); }
  Precision precision() const { return precision_; }
  std::size_t element_bytes() const { return element_size(precision_); }
  const std::byte* pinned_input(std::size_t i) const {
    return static_cast<const std::byte*>(pinned_inputs_.at(i).get());
  }
  // Rank 0's output (nullptr in the processes of the other ranks).
  std::byte* output() const { return static_cast<std::byte*>(device_output_.get()); }
  std::size_t output_count() const { return output_count_; }

  // Device memory on the rank's GPU, owned by this variant; checked against its free memory.
  void* allocate(int rank, std::size_t bytes, const std::string& what);
  // All bits set: NaN in every floating-point type, so a buffer a transfer should have filled
  // and did not fails verification.
  void poison(int rank, void* device_pointer, std::size_t bytes);
  void synchronize() const;  // every rank's stream
  // synchronize() for destructors: errors ignored, the current device left on rank 0.
  void drain() const noexcept;
  void begin_communication();
  void end_communication();

  std::vector<std::pair<std::string, std::string>> notes_;

 private:
  struct Rank {
    cudaStream_t stream = nullptr;
    cudaEvent_t done = nullptr;  // recorded last on this rank's stream; rank 0 waits for it
    DeviceBuffer l2_flush;
    std::vector<DeviceBuffer> buffers;
  };
  double elapsed(cudaEvent_t from, cudaEvent_t to) const;

  RankGroup* group_ = nullptr;  // across processes; nullptr in one process
  std::vector<int> devices_;    // per rank; -1 for ranks of other processes
  std::vector<int> mine_;
  Precision precision_, output_precision_;
  std::size_t output_count_ = 0;
  std::vector<Rank> ranks_;
  std::unique_ptr<NcclCommunicator> communicator_;
  std::vector<PinnedBuffer> pinned_inputs_;
  DeviceBuffer device_output_;  // on rank 0
  PinnedBuffer pinned_output_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;  // rank 0
  std::vector<cudaEvent_t> phase_events_;         // rank 0: begin/end pairs, reused every run
  std::size_t phases_recorded_ = 0;
  bool phase_open_ = false;
  double communication_s_ = 0;
};

}  // namespace mlbench::kernels
