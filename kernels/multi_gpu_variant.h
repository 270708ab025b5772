// The multi-GPU backends' layer over GpuVariant (kernels/gpu_variant.h, which holds the ranks,
// their streams and buffers, the pinned inputs, the L2 flush, the poisoning and the timing, on
// one GPU or several): the NCCL communicator over the ranks, and the copies of image rows the
// convolution's splits need.
//
// Where the data is at the start of a timed run ("resident"): each rank holds its share of the
// split inputs (rows of A, its images or image rows, its part of the reduced tensor); inputs
// every rank needs whole (B, the filters) are on rank 0 only, and launch() moves data between
// GPUs (NCCL broadcast / send-recv / all-reduce) inside begin_communication() /
// end_communication() phases, and computes.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstddef>
#include <memory>
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

// A distributed GpuVariant with an NCCL communicator over its ranks (across processes: over the
// RankGroup, this process's one rank), and the notes `gpus` (this process's GPUs) and `nccl`.
class NcclVariant : public GpuVariant {
 public:
  ~NcclVariant() override;

 protected:
  NcclVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
              std::vector<const HostBuffer*> inputs, std::size_t output_count);

  ncclComm_t comm(int rank) const { return communicator_->comm(group() != nullptr ? 0 : rank); }

 private:
  std::unique_ptr<NcclCommunicator> communicator_;
};

}  // namespace mlbench::kernels
