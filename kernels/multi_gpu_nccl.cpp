#include "kernels/multi_gpu_nccl.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "kernels/backends.h"
#include "kernels/multi_gpu.h"

namespace mlbench::kernels {

ncclDataType_t nccl_type(Precision precision) {
  switch (precision) {
    case Precision::fp64: return ncclFloat64;
    case Precision::fp32:
    case Precision::tf32: return ncclFloat32;
    case Precision::bf16: return ncclBfloat16;
    case Precision::fp16: return ncclFloat16;
  }
  throw std::logic_error("no NCCL type for " + to_string(precision));
}

std::string nccl_version() {
  int version = 0;
  if (ncclGetVersion(&version) != ncclSuccess) return "unknown";
  // NCCL_VERSION(X,Y,Z) is X*10000 + Y*100 + Z since 2.9.
  return fmt::format("{}.{}.{}", version / 10000, (version % 10000) / 100, version % 100);
}

Availability nccl_availability() { return cuda_availability(); }

void keep_nvlink_multicast_off() { setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0); }

NcclCommunicator::NcclCommunicator(std::vector<int> devices) : devices_(std::move(devices)) {
  if (devices_.empty()) throw std::logic_error("an NCCL communicator needs at least one GPU");
  keep_nvlink_multicast_off();
  int previous_device = 0;
  MLBENCH_CUDA_CHECK(cudaGetDevice(&previous_device));
  // Rank 0 draws the id; one process holds every rank, so nothing travels.
  ncclUniqueId id;
  MLBENCH_CUDA_CHECK(ncclGetUniqueId(&id));
  comms_.assign(devices_.size(), nullptr);
  const int ranks = size();
  try {
    nccl_group([&] {
      for (int rank = 0; rank < ranks; ++rank) {
        MLBENCH_CUDA_CHECK(cudaSetDevice(devices_[static_cast<std::size_t>(rank)]));
        MLBENCH_CUDA_CHECK(ncclCommInitRank(&comms_[static_cast<std::size_t>(rank)], ranks, id, rank));
      }
    });
  } catch (...) {
    for (ncclComm_t comm : comms_)
      if (comm != nullptr) ncclCommAbort(comm);  // no destructor runs for a half-built object
    throw;
  }
  MLBENCH_CUDA_CHECK(cudaSetDevice(previous_device));
}

NcclCommunicator::NcclCommunicator(RankGroup& group, int device) : devices_{device} {
  keep_nvlink_multicast_off();
  int previous_device = 0;
  MLBENCH_CUDA_CHECK(cudaGetDevice(&previous_device));
  const std::vector<unsigned char> bytes = share_from_rank0(group, sizeof(ncclUniqueId), [](void* out) {
    ncclUniqueId drawn;
    MLBENCH_CUDA_CHECK(ncclGetUniqueId(&drawn));
    std::memcpy(out, &drawn, sizeof drawn);
  });
  ncclUniqueId id;
  std::memcpy(&id, bytes.data(), sizeof id);
  comms_.assign(1, nullptr);
  MLBENCH_CUDA_CHECK(cudaSetDevice(device));
  MLBENCH_CUDA_CHECK(ncclCommInitRank(&comms_[0], group.size(), id, group.rank()));
  MLBENCH_CUDA_CHECK(cudaSetDevice(previous_device));
}

NcclCommunicator::~NcclCommunicator() {
  // As NCCL's single-thread, several-devices example does: one ncclCommDestroy per rank, after
  // the caller has synchronized the streams that used them. Errors cannot be reported here.
  for (ncclComm_t comm : comms_)
    if (comm != nullptr) ncclCommDestroy(comm);
}

}  // namespace mlbench::kernels
