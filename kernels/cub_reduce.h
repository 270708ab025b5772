// CUB reductions (kernels/cub_reduce.cu), called the CUB way: with temp == nullptr the call
// only sets temp_bytes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "bench/reduction.h"

namespace mlbench::kernels {

// axis all: out[0]; axis rows: out[row], with row_offsets[i] = i * cols (rows + 1 entries).
// Mean runs the sum and then scales in a one-line kernel.
template <class T>
void cub_reduce(void* temp, std::size_t& temp_bytes, const T* input, T* out, const std::int64_t* row_offsets,
                const ReductionShape& shape, cudaStream_t stream);

}  // namespace mlbench::kernels
