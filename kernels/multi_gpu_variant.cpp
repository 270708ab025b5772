#include "kernels/multi_gpu_variant.h"

#include <fmt/format.h>

#include <string>
#include <utility>

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

NcclVariant::NcclVariant(const ExecutionConfig& config, Precision precision, Precision output_precision,
                         std::vector<const HostBuffer*> inputs, std::size_t output_count)
    : GpuVariant(Distributed{}, config, precision, output_precision, std::move(inputs), output_count) {
  communicator_ = group() != nullptr ? std::make_unique<NcclCommunicator>(*group(), device(lead()))
                                     : std::make_unique<NcclCommunicator>(devices());
  MLBENCH_CUDA_CHECK(cudaSetDevice(device(lead())));
  std::string gpus;  // the GPUs of this process's ranks
  for (int r : mine()) gpus += (gpus.empty() ? "" : ",") + std::to_string(device(r));
  notes_.emplace_back("gpus", gpus);
  notes_.emplace_back("nccl", nccl_version());
}

NcclVariant::~NcclVariant() {
  // Queued work must finish before the communicator goes; errors cannot be reported from a
  // destructor. GpuVariant's destructor then releases the streams and buffers.
  drain();
  communicator_.reset();
  drain();
}

}  // namespace mlbench::kernels
