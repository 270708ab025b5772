// The processes one problem is spread over, as the GPU code sees them: a rank, a size, and the
// three collectives the cross-rank nccl backends need (docs/cluster.md). mpi/ implements it over
// an MPI communicator and hands it to a variant through ExecutionConfig::rank_group, so kernels/
// builds an NCCL communicator across processes without linking MPI; tests use an in-process fake.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace mlbench {

class RankGroup {
 public:
  virtual ~RankGroup() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1; rank 0 makes the decisions
  virtual int size() const = 0;
  // Every rank passes a buffer of `bytes`; afterwards each holds `root`'s bytes.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // Returns once every rank has arrived.
  virtual void barrier() = 0;
  // The largest `value` over the ranks, on every rank (a timed run's time is the slowest rank's).
  virtual double max(double value) = 0;
};

// A group of this process alone: what a one-process run hands to code written for a group.
class SingleProcessGroup final : public RankGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void broadcast(void*, std::size_t, int) override {}
  void barrier() override {}
  double max(double value) override { return value; }
};

// `bytes` drawn on rank 0 alone by `draw_on_root` (e.g. ncclGetUniqueId) and broadcast: every
// rank returns rank 0's bytes. `draw_on_root` is never called on another rank.
std::vector<unsigned char> share_from_rank0(RankGroup& group, std::size_t bytes,
                                            const std::function<void(void* out)>& draw_on_root);

}  // namespace mlbench
