// Host entry of the hand-written reductions (kernels/reduce.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "bench/reduction.h"
#include "kernels/element_types.h"

namespace mlbench::kernels {

// Number of per-block partial results the first pass of reduce_all writes (scratch size).
int reduce_all_partial_count(std::int64_t n, int device);

// Input element T: float, double, bfloat16 or float16. Partials and outputs are in
// accumulator_t<T>: double for double, float otherwise (16-bit inputs give fp32 results).

// Reduces n >= 1 elements to out[0] in two passes through `partials`
// (reduce_all_partial_count elements). Mean divides the sum by n.
template <class T>
void launch_reduce_all(const T* input, std::int64_t n, ReduceOp op, accumulator_t<T>* partials, int partial_count,
                       accumulator_t<T>* out, cudaStream_t stream);

// Reduces each row of a row-major rows x cols tensor to out[row].
template <class T>
void launch_reduce_rows(const T* input, std::int64_t rows, std::int64_t cols, ReduceOp op, accumulator_t<T>* out,
                        cudaStream_t stream, int device);

}  // namespace mlbench::kernels
