// The table of GPU backends (gpu_backends.h): one row per backend, identity and wiring together.
// Compiled in both builds; without CUDA (MLBENCH_HAVE_CUDA=0) the wiring is left out, so nothing
// here needs the CUDA toolkit and unavailable.cpp registers the same rows as unavailable.
#include "kernels/gpu_backends.h"

#include <limits>

#include "bench/reduction.h"
#include "kernels/backends.h"
#include "kernels/multi_gpu.h"

namespace mlbench::kernels {

namespace {

#if MLBENCH_HAVE_CUDA
#define MLBENCH_GPU_WIRING(availability, supports, prepare) availability, supports, prepare

Availability fp32_or_tf32(const Problem& problem) {
  if (problem.precision() != Precision::fp32 && problem.precision() != Precision::tf32)
    return Availability::no("TF32 tensor cores take fp32 (or tf32) inputs only");
  return Availability::yes();
}

Availability segment_count_fits_int(const Problem& problem) {
  const auto& s = problem_cast<ReductionProblem>(problem).shape();
  if (s.axis == ReduceAxis::rows && s.rows > std::numeric_limits<int>::max()) {
    return Availability::no("cub::DeviceSegmentedReduce takes an int segment count");
  }
  return Availability::yes();
}

std::unique_ptr<Variant> make_cublas_fp_gemm(const Problem& p, const ExecutionConfig& c) {
  return make_cublas_gemm(p, c, false);
}
std::unique_ptr<Variant> make_cublas_tf32_gemm(const Problem& p, const ExecutionConfig& c) {
  return make_cublas_gemm(p, c, true);
}
std::unique_ptr<Variant> make_multi_gpu_conv_automatic(const Problem& p, const ExecutionConfig& c) {
  return make_multi_gpu_conv(p, c);
}
#else
#define MLBENCH_GPU_WIRING(availability, supports, prepare) nullptr, nullptr, nullptr
#endif

}  // namespace

const std::vector<GpuBackendDefinition>& gpu_backend_definitions() {
  // name, workload, kind, description, vendor reference, precisions, tensor-core precisions
  // (BackendInfo::tensor_core_precisions: where the row's rate is held against the tensor-core
  // roof; cudnn convolution's variant says per run which math its algorithm search chose), multi-GPU,
  // MLBENCH_GPU_WIRING(availability, supports (nullptr: every problem), prepare)
  static const std::vector<GpuBackendDefinition> definitions = {
      {"cuda", "gemm", BackendKind::gpu,
       "hand-written CUDA: fp32/fp64/tf32 shared-memory tiles with 8x8 register blocking (CUDA cores); "
       "bf16/fp16 on tensor cores (wgmma on H100/H200, else mma.sync m16n8k16; cp.async pipeline), "
       "fp32 accumulation",
       "cublas", GpuPrecisions::all, GpuPrecisions::bf16_fp16, false,
       MLBENCH_GPU_WIRING(cuda_availability, cuda_gemm_supports, make_cuda_gemm)},
      {"cublas", "gemm", BackendKind::gpu_library,
       "cuBLAS: sgemm/dgemm with pedantic fp32 math (no TF32); tf32 on TF32 tensor cores; bf16/fp16 "
       "cublasGemmEx on tensor cores, fp32 accumulation",
       "", GpuPrecisions::all, GpuPrecisions::reduced, false,
       MLBENCH_GPU_WIRING(cuda_availability, nullptr, make_cublas_fp_gemm)},
      {"cublas-tf32", "gemm", BackendKind::gpu_library,
       "cuBLAS GemmEx on TF32 tensor cores (fp32 inputs rounded by the hardware, or tf32 inputs)", "",
       GpuPrecisions::fp32_tf32, GpuPrecisions::fp32_tf32, false,
       MLBENCH_GPU_WIRING(cuda_availability, fp32_or_tf32, make_cublas_tf32_gemm)},
      {"cuda", "convolution", BackendKind::gpu,
       "hand-written CUDA: direct (input tile + halo in shared memory, many filters per thread) or, "
       "for deep layers, implicit GEMM; CUDA cores at every precision (tf32 runs the fp32 code, bf16/fp16 "
       "are widened to fp32 on load, fp32 accumulation)",
       "cudnn", GpuPrecisions::all, GpuPrecisions::none, false,
       MLBENCH_GPU_WIRING(cuda_availability, cuda_conv_supports, make_cuda_conv)},
      {"cudnn", "convolution", BackendKind::gpu_library,
       "cuDNN convolution forward, fastest algorithm that passes verification, found at prepare: FMA math "
       "for fp32; tensor-op math for tf32 and for bf16/fp16 tensors (fp32 compute type)",
       "", GpuPrecisions::all, GpuPrecisions::reduced, false,
       MLBENCH_GPU_WIRING(cudnn_availability, nullptr, make_cudnn_conv)},
      {"cuda", "reduction", BackendKind::gpu,
       "hand-written CUDA: grid-stride 16-byte loads (8 elements for bf16/fp16, widened to fp32), "
       "warp-shuffle tree, two passes; fp32 accumulation and output for 16-bit inputs",
       "cub", GpuPrecisions::reduction, GpuPrecisions::none, false,
       MLBENCH_GPU_WIRING(cuda_availability, nullptr, make_cuda_reduction)},
      {"cub", "reduction", BackendKind::gpu_library,
       "CUB DeviceReduce / DeviceSegmentedReduce (axis rows); bf16/fp16 widened to fp32 "
       "(TransformReduce / transform iterator), fp32 output",
       "", GpuPrecisions::reduction, GpuPrecisions::none, false,
       MLBENCH_GPU_WIRING(cuda_availability, segment_count_fits_int, make_cub_reduction)},
      {"cuda", "attention", BackendKind::gpu,
       "hand-written FlashAttention-2-style kernel: one pass over K/V tiles in shared memory, online softmax, "
       "no S x S matrix in memory; bf16/fp16 on tensor cores (mma.sync m16n8k16, fp32 accumulation and softmax), "
       "fp32/fp64 on CUDA cores; causal skips the tiles above the diagonal",
       "cudnn", GpuPrecisions::no_tf32, GpuPrecisions::bf16_fp16, false,
       MLBENCH_GPU_WIRING(cuda_availability, cuda_attention_supports, make_cuda_attention)},
      {"cudnn", "attention", BackendKind::gpu_library,
       "cuDNN fused flash attention (SDPA) built with the cuDNN 9 backend graph API; bf16/fp16 only (cuDNN's "
       "fused attention has no fp32/fp64 engine)",
       "", GpuPrecisions::bf16_fp16, GpuPrecisions::bf16_fp16, false,
       MLBENCH_GPU_WIRING(cudnn_availability, cudnn_attention_supports, make_cudnn_attention)},
      {"cublas", "attention", BackendKind::gpu_library,
       "unfused, what a framework runs without fusion: cuBLAS strided-batched GEMM S = Q K^T (fp32 scores in "
       "device memory), mlbench's row softmax, cuBLAS GEMM O = P V",
       "", GpuPrecisions::no_tf32, GpuPrecisions::bf16_fp16, false,
       MLBENCH_GPU_WIRING(cuda_availability, cublas_attention_supports, make_cublas_attention)},
      {"cuda", "softmax", BackendKind::gpu,
       "hand-written CUDA: one warp (short rows) or up to 32 warps per row, row held in registers from 16-byte "
       "loads, one (max, sum) reduction, one read and one write of memory",
       "cudnn", GpuPrecisions::no_tf32, GpuPrecisions::none, false,
       MLBENCH_GPU_WIRING(cuda_availability, nullptr, make_cuda_softmax)},
      {"cudnn", "softmax", BackendKind::gpu_library,
       "cuDNN cudnnSoftmaxForward (legacy ops API, CUDNN_SOFTMAX_ACCURATE, channel mode)", "", GpuPrecisions::no_tf32,
       GpuPrecisions::none, false, MLBENCH_GPU_WIRING(cudnn_availability, cudnn_softmax_supports, make_cudnn_softmax)},
      {"cuda", "layernorm", BackendKind::gpu,
       "hand-written CUDA: one warp (short rows) or up to 32 warps per row, row held in registers from 16-byte "
       "loads, (count, mean, M2) merged in one reduction (Chan), one read and one write of memory",
       "", GpuPrecisions::no_tf32, GpuPrecisions::none, false,
       MLBENCH_GPU_WIRING(cuda_availability, nullptr, make_cuda_layernorm)},
      // Kind gpu: the split, the data movement and its timing are mlbench's own code (the compute
      // on each GPU calls the vendor libraries); held against itself on one GPU.
      {"nccl", "gemm", BackendKind::gpu,
       "--gpus: rows of A split over the GPUs, B broadcast (NCCL), cuBLAS per GPU, C rows gathered", "",
       GpuPrecisions::fp32_fp64, GpuPrecisions::none, true,
       MLBENCH_GPU_WIRING(nccl_availability, cuda_gemm_supports, make_multi_gpu_gemm)},
      {"nccl", "convolution", BackendKind::gpu,
       "--gpus: split by batch, or by image rows with NCCL halo exchange; filters broadcast, cuDNN (else mlbench cuda) "
       "per GPU",
       "", GpuPrecisions::fp32_fp64, GpuPrecisions::none, true,
       MLBENCH_GPU_WIRING(nccl_availability, nullptr, make_multi_gpu_conv_automatic)},
      {"nccl", "reduction", BackendKind::gpu,
       "--gpus: CUB partial per GPU combined by ncclAllReduce (rows: row results gathered)", "",
       GpuPrecisions::fp32_fp64, GpuPrecisions::none, true,
       MLBENCH_GPU_WIRING(nccl_availability, segment_count_fits_int, make_multi_gpu_reduction)},
  };
  return definitions;
}

}  // namespace mlbench::kernels
