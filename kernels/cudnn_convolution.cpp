// cuDNN's forward-algorithm search and the verified choice, shared by the single-GPU `cudnn`
// backend and the multi-GPU engine (kernels/cudnn_convolution.h).
#include "kernels/cudnn_convolution.h"

#include <algorithm>

#include <fmt/format.h>

namespace mlbench::kernels {

namespace {

// Whether an algorithm found for `precision` may be used, in order of preference (`pass` 0 first).
bool acceptable_math(cudnnMathType_t math, Precision precision, int pass) {
  switch (precision) {
    case Precision::fp32: return math == (pass == 0 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH);
    case Precision::fp64: return pass == 0;
    case Precision::tf32:
    case Precision::bf16:
    case Precision::fp16: break;
  }
  return pass == 0 && math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

}  // namespace

std::size_t largest_forward_workspace(const CudnnConvolution& c) {
  std::size_t largest = 0;
  for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
    std::size_t bytes = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(
            c.handle, c.x, c.w, c.conv, c.y, static_cast<cudnnConvolutionFwdAlgo_t>(a), &bytes) == CUDNN_STATUS_SUCCESS)
      largest = std::max(largest, bytes);
  }
  return largest;
}

std::vector<cudnnConvolutionFwdAlgoPerf_t> find_forward_algorithms(const CudnnConvolution& c, Precision precision,
                                                                   const void* x, const void* w, void* y,
                                                                   void* workspace, std::size_t workspace_bytes) {
  int max_count = 0, returned = 0;
  MLBENCH_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(c.handle, &max_count));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<std::size_t>(std::max(max_count, 1)));
  MLBENCH_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithmEx(c.handle, c.x, x, c.w, w, c.conv, c.y, y, max_count,
                                                            &returned, results.data(), workspace, workspace_bytes));
  // Results come fastest first; each pass keeps that order within one preference.
  std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates;
  std::vector<bool> taken(static_cast<std::size_t>(returned), false);
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < returned; ++i) {
      const auto& r = results[static_cast<std::size_t>(i)];
      if (!taken[static_cast<std::size_t>(i)] && r.status == CUDNN_STATUS_SUCCESS && r.memory <= workspace_bytes &&
          acceptable_math(r.mathType, precision, pass)) {
        taken[static_cast<std::size_t>(i)] = true;
        candidates.push_back(r);
      }
    }
  return candidates;
}

VerifiedAlgorithm first_verified_algorithm(
    const std::vector<cudnnConvolutionFwdAlgoPerf_t>& candidates,
    const std::function<std::optional<std::string>(const cudnnConvolutionFwdAlgoPerf_t&)>& trial) {
  VerifiedAlgorithm result;
  for (const auto& c : candidates) {
    const std::optional<std::string> why = trial(c);
    if (!why) {
      result.chosen = c;
      return result;
    }
    result.rejected.push_back(fmt::format("{} ({})", cudnn_algorithm_name(c.algo), *why));
  }
  throw std::runtime_error(fmt::format("no cuDNN algorithm passed verification: {}", fmt::join(result.rejected, ", ")));
}

}  // namespace mlbench::kernels
