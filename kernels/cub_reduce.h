// CUB reductions (kernels/cub_reduce.cu), called the CUB way: with temp == nullptr the call
// only sets temp_bytes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "bench/reduction.h"
#include "kernels/element_types.h"

namespace mlbench::kernels {

// axis all: out[0]; axis rows: out[row], with row_offsets[i] = i * cols (rows + 1 entries).
// Mean runs the sum and then scales in a one-line kernel. T: float, double, bfloat16 or
// float16; the output is accumulator_t<T> (fp32 for the 16-bit inputs, which CUB widens to fp32
// as it reads them and reduces in fp32).
template <class T>
void cub_reduce(void* temp, std::size_t& temp_bytes, const T* input, accumulator_t<T>* out,
                const std::int64_t* row_offsets, const ReductionShape& shape, cudaStream_t stream);

}  // namespace mlbench::kernels
