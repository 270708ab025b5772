// cuDNN's handle and the four descriptors of one NCHW forward convolution, made from a
// ConvShape and destroyed together: the single-GPU `cudnn` backend and the multi-GPU engine
// describe their convolutions the same way. Include only where MLBENCH_HAVE_CUDNN is set.
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/convolution.h"
#include "bench/types.h"
#include "kernels/cuda_check.h"

namespace mlbench::kernels {

// Name of a cuDNN forward algorithm, as reports show it.
inline const char* cudnn_algorithm_name(cudnnConvolutionFwdAlgo_t algo) {
  switch (algo) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "UNKNOWN";
  }
}

struct CudnnConvolution {
  // `data`: the tensors' element type; `compute`: the accumulation type; `math`: FMA only, or
  // tensor-op math. Checks that cuDNN's output size is the shape's.
  CudnnConvolution(const ConvShape& s, cudnnDataType_t data, cudnnDataType_t compute, cudnnMathType_t math,
                   cudaStream_t stream) {
    try {
      auto to_int = [](std::int64_t v) { return static_cast<int>(v); };
      MLBENCH_CUDA_CHECK(cudnnCreate(&handle));
      MLBENCH_CUDA_CHECK(cudnnSetStream(handle, stream));
      MLBENCH_CUDA_CHECK(cudnnCreateTensorDescriptor(&x));
      MLBENCH_CUDA_CHECK(cudnnCreateTensorDescriptor(&y));
      MLBENCH_CUDA_CHECK(cudnnCreateFilterDescriptor(&w));
      MLBENCH_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&conv));
      MLBENCH_CUDA_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, data, to_int(s.batch), to_int(s.channels),
                                                    to_int(s.height), to_int(s.width)));
      MLBENCH_CUDA_CHECK(cudnnSetFilter4dDescriptor(w, data, CUDNN_TENSOR_NCHW, to_int(s.filters), to_int(s.channels),
                                                    to_int(s.kernel), to_int(s.kernel)));
      MLBENCH_CUDA_CHECK(cudnnSetConvolution2dDescriptor(conv, to_int(s.pad), to_int(s.pad), to_int(s.stride),
                                                         to_int(s.stride), 1, 1, CUDNN_CROSS_CORRELATION, compute));
      MLBENCH_CUDA_CHECK(cudnnSetConvolutionMathType(conv, math));
      int n = 0, k = 0, oh = 0, ow = 0;
      MLBENCH_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &k, &oh, &ow));
      if (oh != s.out_height() || ow != s.out_width())
        throw std::logic_error(
            fmt::format("cuDNN output {}x{} differs from the problem's {}x{}", oh, ow, s.out_height(), s.out_width()));
      MLBENCH_CUDA_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, data, n, k, oh, ow));
    } catch (...) {
      release();
      throw;
    }
  }
  ~CudnnConvolution() { release(); }
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

 private:
  void release() {  // errors ignored: runs in a destructor or while an exception is in flight
    if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
    if (w != nullptr) cudnnDestroyFilterDescriptor(w);
    if (y != nullptr) cudnnDestroyTensorDescriptor(y);
    if (x != nullptr) cudnnDestroyTensorDescriptor(x);
    if (handle != nullptr) cudnnDestroy(handle);
    conv = nullptr, w = nullptr, y = nullptr, x = nullptr, handle = nullptr;
  }
};

// The largest workspace any forward algorithm needs for this convolution (algorithms cuDNN
// refuses for it count 0).
std::size_t largest_forward_workspace(const CudnnConvolution& c);

// cuDNN's measured search (cudnnFindConvolutionForwardAlgorithmEx) on buffers the caller owns
// (inputs uploaded, output poisoned, workspace allocated: cuDNN's own scratch would be read
// uninitialized). Returns the algorithms that ran, fit `workspace_bytes` and whose math is
// acceptable at `precision`, fastest first within each preference: for fp32 FMA math before
// default math and never tensor-op math (the fp32 baseline must not run on TF32 tensor cores);
// for tf32, bf16 and fp16 any math but ALLOW_CONVERSION; for fp64 any.
std::vector<cudnnConvolutionFwdAlgoPerf_t> find_forward_algorithms(const CudnnConvolution& c, Precision precision,
                                                                   const void* x, const void* w, void* y,
                                                                   void* workspace, std::size_t workspace_bytes);

// The first candidate whose output passes: `trial` runs one (math type set by the caller),
// verifies the whole result and returns why it was rejected (nullopt: it passed). FFT and
// Winograd trade per-output accuracy for speed, so the fastest algorithm is not always one whose
// result mlbench would accept. Throws std::runtime_error, naming every rejection, when none passes.
struct VerifiedAlgorithm {
  cudnnConvolutionFwdAlgoPerf_t chosen{};
  std::vector<std::string> rejected;  // "ALGO (why)", fastest first
};
VerifiedAlgorithm first_verified_algorithm(
    const std::vector<cudnnConvolutionFwdAlgoPerf_t>& candidates,
    const std::function<std::optional<std::string>(const cudnnConvolutionFwdAlgoPerf_t&)>& trial);

}  // namespace mlbench::kernels
