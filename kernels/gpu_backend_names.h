// The GPU backends this folder registers. unavailable.cpp (built without CUDA) and
// register_backends.cpp (built with CUDA) share this one list, so that the names the
// runner and the CLI see do not depend on how the binary was built.
#pragma once

#include <array>
#include <vector>

#include "bench/backend.h"
#include "bench/types.h"

namespace mlbench::kernels {

// The input precisions a GPU backend implements (BackendInfo::precisions), named in the table so
// that a build without CUDA lists the same ones.
enum class GpuPrecisions {
  all,        // fp64, fp32, tf32, bf16, fp16
  fp32_tf32,  // cublas-tf32
  reduction,  // fp64, fp32, bf16, fp16: reductions have no tf32
  fp32_fp64,  // the multi-GPU backends
  no_tf32,    // fp64, fp32, bf16, fp16: attention, softmax, layer norm
  bf16_fp16,  // cuDNN's fused attention
};

inline std::vector<Precision> expand(GpuPrecisions set) {
  switch (set) {
    case GpuPrecisions::fp32_tf32: return {Precision::fp32, Precision::tf32};
    case GpuPrecisions::reduction: return {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16};
    case GpuPrecisions::fp32_fp64: return {Precision::fp32, Precision::fp64};
    case GpuPrecisions::no_tf32: return {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16};
    case GpuPrecisions::bf16_fp16: return {Precision::bf16, Precision::fp16};
    case GpuPrecisions::all: break;
  }
  return all_precisions();
}

struct GpuBackendName {
  const char* name;
  const char* workload;
  BackendKind kind;
  const char* description;
  const char* vendor_reference;  // empty for the vendor libraries themselves
  GpuPrecisions precisions = GpuPrecisions::all;
  bool multi_gpu = false;        // BackendInfo::multi_gpu: runs with --gpus only, once per GPU count
};

inline constexpr std::array<GpuBackendName, 16> kGpuBackends = {{
    {"cuda", "gemm", BackendKind::gpu,
     "hand-written CUDA: fp32/fp64/tf32 shared-memory tiles with 8x8 register blocking (CUDA cores); "
     "bf16/fp16 on tensor cores (wgmma on H100/H200, else mma.sync m16n8k16; cp.async pipeline), "
     "fp32 accumulation", "cublas"},
    {"cublas", "gemm", BackendKind::gpu_library,
     "cuBLAS: sgemm/dgemm with pedantic fp32 math (no TF32); tf32 on TF32 tensor cores; bf16/fp16 "
     "cublasGemmEx on tensor cores, fp32 accumulation", ""},
    {"cublas-tf32", "gemm", BackendKind::gpu_library,
     "cuBLAS GemmEx on TF32 tensor cores (fp32 inputs rounded by the hardware, or tf32 inputs)", "",
     GpuPrecisions::fp32_tf32},
    {"cuda", "convolution", BackendKind::gpu,
     "hand-written CUDA: direct (input tile + halo in shared memory, many filters per thread) or, "
     "for deep layers, implicit GEMM; CUDA cores at every precision (tf32 runs the fp32 code, bf16/fp16 "
     "are widened to fp32 on load, fp32 accumulation)", "cudnn"},
    {"cudnn", "convolution", BackendKind::gpu_library,
     "cuDNN convolution forward, fastest algorithm that passes verification, found at prepare: FMA math "
     "for fp32; tensor-op math for tf32 and for bf16/fp16 tensors (fp32 compute type)", ""},
    {"cuda", "reduction", BackendKind::gpu,
     "hand-written CUDA: grid-stride 16-byte loads (8 elements for bf16/fp16, widened to fp32), "
     "warp-shuffle tree, two passes; fp32 accumulation and output for 16-bit inputs", "cub", GpuPrecisions::reduction},
    {"cub", "reduction", BackendKind::gpu_library,
     "CUB DeviceReduce / DeviceSegmentedReduce (axis rows); bf16/fp16 widened to fp32 "
     "(TransformReduce / transform iterator), fp32 output", "", GpuPrecisions::reduction},
    {"cuda", "attention", BackendKind::gpu,
     "hand-written FlashAttention-2-style kernel: one pass over K/V tiles in shared memory, online softmax, "
     "no S x S matrix in memory; bf16/fp16 on tensor cores (mma.sync m16n8k16, fp32 accumulation and softmax), "
     "fp32/fp64 on CUDA cores; causal skips the tiles above the diagonal", "cudnn", GpuPrecisions::no_tf32},
    {"cudnn", "attention", BackendKind::gpu_library,
     "cuDNN fused flash attention (SDPA) built with the cuDNN 9 backend graph API; bf16/fp16 only (cuDNN's "
     "fused attention has no fp32/fp64 engine)", "", GpuPrecisions::bf16_fp16},
    {"cublas", "attention", BackendKind::gpu_library,
     "unfused, what a framework runs without fusion: cuBLAS strided-batched GEMM S = Q K^T (fp32 scores in "
     "device memory), mlbench's row softmax, cuBLAS GEMM O = P V", "", GpuPrecisions::no_tf32},
    {"cuda", "softmax", BackendKind::gpu,
     "hand-written CUDA: one warp (short rows) or up to 32 warps per row, row held in registers from 16-byte "
     "loads, one (max, sum) reduction, one read and one write of memory", "cudnn", GpuPrecisions::no_tf32},
    {"cudnn", "softmax", BackendKind::gpu_library,
     "cuDNN cudnnSoftmaxForward (legacy ops API, CUDNN_SOFTMAX_ACCURATE, channel mode)", "", GpuPrecisions::no_tf32},
    {"cuda", "layernorm", BackendKind::gpu,
     "hand-written CUDA: one warp (short rows) or up to 32 warps per row, row held in registers from 16-byte "
     "loads, (count, mean, M2) merged in one reduction (Chan), one read and one write of memory", "",
     GpuPrecisions::no_tf32},
    // Kind gpu: the split, the data movement and its timing are mlbench's own code (the compute
    // on each GPU calls the vendor libraries); held against itself on one GPU.
    {"nccl", "gemm", BackendKind::gpu,
     "--gpus: rows of A split over the GPUs, B broadcast (NCCL), cuBLAS per GPU, C rows gathered", "", GpuPrecisions::fp32_fp64, true},
    {"nccl", "convolution", BackendKind::gpu,
     "--gpus: split by batch, or by image rows with NCCL halo exchange; filters broadcast, cuDNN (else mlbench cuda) per GPU", "",
     GpuPrecisions::fp32_fp64, true},
    {"nccl", "reduction", BackendKind::gpu,
     "--gpus: CUB partial per GPU combined by ncclAllReduce (rows: row results gathered)", "", GpuPrecisions::fp32_fp64, true},
}};

// The registry entry of a GPU backend with its identity filled in; availability, supports and
// prepare are the caller's.
inline BackendInfo describe(const GpuBackendName& entry) {
  BackendInfo info;
  info.name = entry.name;
  info.workload = entry.workload;
  info.kind = entry.kind;
  info.description = entry.description;
  info.vendor_reference = entry.vendor_reference;
  info.precisions = expand(entry.precisions);
  info.multi_gpu = entry.multi_gpu;
  return info;
}

}  // namespace mlbench::kernels
