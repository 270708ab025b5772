// OpenBLAS's thread count, set so that the pool threads it starts are not confined to one core.
#pragma once

#include <cblas.h>

#include "bench/thread_binding.h"

namespace mlbench::cpu {

// OpenBLAS (pthread build) starts the pool threads it lacks inside openblas_set_num_threads, and
// they inherit the calling thread's CPU mask: under mlbench's default pinning that is the one core
// libgomp bound the main thread to, so every OpenBLAS thread would share it (measured on the H200
// host: 8 threads 4x slower than unpinned). The mask is widened to every OpenMP place meanwhile.
// Called before every timed run, not only at prepare: another variant may have lowered the count,
// and raising it again starts threads again.
inline void set_openblas_threads(int threads) {
  const WidenedAffinity widened;
  openblas_set_num_threads(threads);
}

}  // namespace mlbench::cpu
