// Host entry of the hand-written row-wise softmax (kernels/softmax_rows.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "kernels/element_types.h"

namespace mlbench::kernels {

// out[r][c] = exp(in[r][c] - max_r) / sum_c exp(in[r][c] - max_r) for a row-major rows x cols
// tensor, statistics in accumulator_t<In> (fp32; fp64 for double). In: float, double,
// bfloat16, float16; Out: In, or bfloat16/float16 for a float input (the probabilities of the
// unfused attention). causal_period > 0 masks each row r to its first (r % causal_period) + 1
// columns (a causal attention score matrix of causal_period queries per batch-head; masked
// outputs are 0); 0 keeps every column. rows, cols >= 1.
template <class In, class Out>
void launch_softmax_rows(const In* in, Out* out, std::int64_t rows, std::int64_t cols, cudaStream_t stream,
                         std::int64_t causal_period = 0);

// Describes the configuration launch_softmax_rows picks for `cols` (for the report's notes).
template <class In>
std::string softmax_rows_plan(std::int64_t cols);

}  // namespace mlbench::kernels
