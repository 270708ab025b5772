// The NCCL side of the multi-GPU backends: one communicator with one rank per GPU, NCCL error
// checks for MLBENCH_CUDA_CHECK, and the element type of a precision.
//
// One process drives every GPU here, but the communicator is built the way an MPI job builds
// it (docs/multi_gpu.md): rank 0 draws the unique id (ncclGetUniqueId), every rank joins with
// ncclCommInitRank(nranks, id, rank) on its own device; here they sit in one ncclGroupStart/End
// so that a single thread can make all of them without deadlocking. Across processes (an MPI
// job, mpi/gpu_ranks.cpp) the id travels through a RankGroup (MPI_Bcast) and each process makes
// one of these calls for its one device.
#pragma once

#include <nccl.h>

#include <string>
#include <vector>

#include "bench/rank_group.h"
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
  // This process's one rank of a communicator across the processes of `group` (an MPI job):
  // rank 0 of the group draws the unique id, the group broadcasts its 128 bytes, and this
  // process joins as group.rank() of group.size() on `device`. Collective over the group.
  NcclCommunicator(RankGroup& group, int device);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  // The ranks this process drives (all of them in one process; 1 across processes).
  int size() const { return static_cast<int>(devices_.size()); }
  int device(int rank) const { return devices_.at(static_cast<std::size_t>(rank)); }
  ncclComm_t comm(int rank) const { return comms_.at(static_cast<std::size_t>(rank)); }

 private:
  std::vector<int> devices_;
  std::vector<ncclComm_t> comms_;
};

}  // namespace mlbench::kernels
