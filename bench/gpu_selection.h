// --gpus N|all|LIST: which CUDA devices the multi-GPU backends spread a problem over, and at
// which GPU counts they are measured (so that each count can be held against one GPU).
#pragma once

#include <string>
#include <vector>

namespace mlbench {

struct GpuSelection {
  std::vector<int> devices;  // CUDA ordinals in rank order; a count k uses the first k
  std::vector<int> counts;   // ascending; always starts at 1 (the baseline of the speedups)
};

// `spec` is "N" (the first N devices), "all" (every device) or a comma-separated list of
// ordinals ("0,2"; a single number is a count, not an ordinal). `device_count` is what
// Registry::gpu_count reports, or -1 in a build without CUDA.
// Counts: for N and all, the powers of two below N and N itself (4 -> 1,2,4; 6 -> 1,2,4,6);
// for a list, every prefix (0,2,3 -> 1,2,3 GPUs: {0}, {0,2}, {0,2,3}).
// Throws InputError (one line) for text that is none of these, N < 1, more GPUs than exist,
// negative, unknown or repeated ordinals, and when there is no GPU or no CUDA at all.
GpuSelection select_gpus(const std::string& spec, int device_count);

// The GPU this process measures on and describes in its machine context: 0, or under
// mpirun/srun the rank's own GPU, chosen from its node-local rank (mpi::settle_rank_gpu sets it
// once at start, before anything touches a device).
void set_this_process_gpu(int ordinal);
int this_process_gpu();

}  // namespace mlbench
