// The NCCL side of the multi-GPU backends: one communicator with one rank per GPU, NCCL error
// checks for MLBENCH_CUDA_CHECK, and the element type of a precision.
//
// One process drives every GPU here, but the communicator is built the way an MPI job builds
// it (docs/multi_gpu.md): rank 0 draws the unique id (ncclGetUniqueId), every rank joins with
// ncclCommInitRank(nranks, id, rank) on its own device. Across processes the id would travel by
// MPI_Bcast and each process would make one of these calls; here they sit in one
// ncclGroupStart/End so that a single thread can make all of them without deadlocking.
#pragma once

#include <nccl.h>

#include <string>
#include <vector>

#include "bench/types.h"
#include "kernels/cuda_check.h"

namespace mlbench::kernels {

inline void check_status(ncclResult_t status, const char* call, const char* file, int line) {
  if (status != ncclSuccess) throw_gpu_error(call, file, line, ncclGetErrorString(status));
}

// NCCL's element type of a precision's storage: fp64 double, fp32 float (tf32 is stored as fp32).
ncclDataType_t nccl_type(Precision precision);

// The linked library's version, e.g. "2.28.9".
std::string nccl_version();

// NVLink SHARP (NVLS: multicast objects in the NVSwitch fabric) stays off: NCCL_NVLS_ENABLE=0
// unless the environment already sets it. On the shared multi-GPU hosts mlbench is measured on,
// a process using NVLink multicast can put every GPU of the host out of service; all-reduce
// without it uses the ring/tree algorithms over NVLink, which is what is measured here.
// Called before any communicator exists (NCCL reads the variable at communicator creation).
void keep_nvlink_multicast_off();

// Runs `enqueue` between ncclGroupStart and ncclGroupEnd (the group is closed on an exception
// too): the calls for every rank are issued together, as one thread must issue them.
template <class F>
void nccl_group(F&& enqueue) {
  MLBENCH_CUDA_CHECK(ncclGroupStart());
  try {
    enqueue();
  } catch (...) {
    ncclGroupEnd();
    throw;
  }
  MLBENCH_CUDA_CHECK(ncclGroupEnd());
}

// A communicator over `devices` (rank r on devices[r]); destroyed with its ranks.
class NcclCommunicator {
 public:
  explicit NcclCommunicator(std::vector<int> devices);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int size() const { return static_cast<int>(devices_.size()); }
  int device(int rank) const { return devices_.at(static_cast<std::size_t>(rank)); }
  ncclComm_t comm(int rank) const { return comms_.at(static_cast<std::size_t>(rank)); }

 private:
  std::vector<int> devices_;
  std::vector<ncclComm_t> comms_;
};

}  // namespace mlbench::kernels
