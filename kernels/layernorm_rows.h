// Host entry of the hand-written row-wise layer normalization (kernels/layernorm_rows.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "kernels/element_types.h"

namespace mlbench::kernels {

// out[r][c] = (in[r][c] - mean_r) * rstd_r * gamma[c] + beta[c] for a row-major rows x cols
// tensor, rstd_r = 1 / sqrt(population variance_r + epsilon); statistics in
// accumulator_t<T> (fp32; fp64 for double). T: float, double, bfloat16, float16 (gamma and
// beta in T too). rows, cols >= 1.
template <class T>
void launch_layernorm_rows(const T* in, const T* gamma, const T* beta, T* out, std::int64_t rows, std::int64_t cols,
                           double epsilon, cudaStream_t stream);

// Describes the configuration launch_layernorm_rows picks for `cols` (for the report's notes).
template <class T>
std::string layernorm_rows_plan(std::int64_t cols);

}  // namespace mlbench::kernels
