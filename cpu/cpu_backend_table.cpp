// The table of CPU backends (cpu_backend_table.h): one row per backend, identity, library and
// wiring together. A row's wiring is written as MLBENCH_CPU_WIRING(library, prepare, supports):
// in a build without that library (MLBENCH_HAVE_OPENBLAS, MLBENCH_HAVE_ONEDNN undefined) it
// leaves the factory and the shape check out, so nothing here needs the library's headers or
// symbols, and register.cpp registers the row as unavailable.
#include "cpu/cpu_backend_table.h"

#include "cpu/cpu_backends.h"

#define MLBENCH_CPU_WIRING(library, prepare, supports) \
  CpuLibrary::library, MLBENCH_CPU_WIRING_##library(prepare, supports)
#define MLBENCH_CPU_WIRING_none(prepare, supports) prepare, supports
#if defined(MLBENCH_HAVE_OPENBLAS)
#define MLBENCH_CPU_WIRING_openblas(prepare, supports) prepare, supports
#else
#define MLBENCH_CPU_WIRING_openblas(prepare, supports) nullptr, nullptr
#endif
#if defined(MLBENCH_HAVE_ONEDNN)
#define MLBENCH_CPU_WIRING_onednn(prepare, supports) prepare, supports
#else
#define MLBENCH_CPU_WIRING_onednn(prepare, supports) nullptr, nullptr
#endif

namespace mlbench::cpu {

namespace {

// Whether the OpenBLAS of this build has cblas_sbgemm (cmake/FindMlbenchOpenBLAS.cmake): the
// openblas GEMM then takes bf16 through it.
#if defined(MLBENCH_OPENBLAS_HAS_SBGEMM)
constexpr bool kOpenblasHasSbgemm = true;
#else
constexpr bool kOpenblasHasSbgemm = false;
#endif

}  // namespace

bool built_with(CpuLibrary library) {
  switch (library) {
    case CpuLibrary::openblas:
#if defined(MLBENCH_HAVE_OPENBLAS)
      return true;
#else
      return false;
#endif
    case CpuLibrary::onednn:
#if defined(MLBENCH_HAVE_ONEDNN)
      return true;
#else
      return false;
#endif
    case CpuLibrary::none: break;
  }
  return true;
}

std::string missing_library_reason(CpuLibrary library) {
  switch (library) {
    case CpuLibrary::openblas: return "built without OpenBLAS";
    case CpuLibrary::onednn: return "built without oneDNN";
    case CpuLibrary::none: break;
  }
  return "";
}

const std::vector<CpuBackendDefinition>& cpu_backend_definitions() {
  static const std::vector<CpuBackendDefinition> definitions = [] {
    // The precisions of mlbench's own kernels: every one for GEMM and convolution (bf16/fp16
    // widened to fp32 in the kernels, tf32 as fp32 on its values); reductions have no tf32
    // problem, and neither have attention, softmax and layer norm (fp32 arithmetic for bf16/fp16).
    const std::vector<Precision> every = {Precision::fp32, Precision::fp64, Precision::tf32, Precision::bf16,
                                          Precision::fp16};
    const std::vector<Precision> no_tf32 = {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16};
    // OpenBLAS GEMM: fp32, fp64, tf32 (sgemm on its values), bf16 through cblas_sbgemm where the
    // library has it; OpenBLAS has no fp16 GEMM.
    std::vector<Precision> openblas_gemm = {Precision::fp32, Precision::fp64, Precision::tf32};
    if (kOpenblasHasSbgemm) openblas_gemm.push_back(Precision::bf16);
    // No fp64 or fp16 convolution in oneDNN on CPU; bf16 where it has an optimized kernel (supports()).
    const std::vector<Precision> onednn_convolution = {Precision::fp32, Precision::tf32, Precision::bf16};
    // The unfused OpenBLAS attention: sgemm or dgemm.
    const std::vector<Precision> openblas_attention = {Precision::fp32, Precision::fp64};
    // oneDNN softmax and layer norm: no fp64 in oneDNN; bf16/fp16 where it has an optimized
    // kernel (supports()).
    const std::vector<Precision> onednn_row = {Precision::fp32, Precision::bf16, Precision::fp16};

    // name, workload, kind, description, precisions, is_baseline (the workload's serial
    // reference, in every build), MLBENCH_CPU_WIRING(library, prepare, supports (nullptr: every problem))
    return std::vector<CpuBackendDefinition>{
        {"serial", "gemm", BackendKind::cpu, "single thread, i-k-j loops (unit-stride, compiler-vectorized inner loop)",
         every, true, MLBENCH_CPU_WIRING(none, prepare_serial_gemm, nullptr)},
        {"openmp", "gemm", BackendKind::cpu,
         "BLIS-style packed A/B panels, register-blocked SIMD micro-kernel, threads over rows", every, false,
         MLBENCH_CPU_WIRING(none, prepare_openmp_gemm, nullptr)},
        {"openblas", "gemm", BackendKind::cpu_library,
         kOpenblasHasSbgemm ? "OpenBLAS cblas_sgemm/cblas_dgemm, cblas_sbgemm for bf16, row-major"
                            : "OpenBLAS cblas_sgemm/cblas_dgemm, row-major",
         openblas_gemm, false, MLBENCH_CPU_WIRING(openblas, prepare_openblas_gemm, openblas_gemm_supports)},
        {"serial", "convolution", BackendKind::cpu,
         "single thread, direct loops, one output row at a time, vectorized over columns", every, true,
         MLBENCH_CPU_WIRING(none, prepare_serial_convolution, nullptr)},
        {"openmp", "convolution", BackendKind::cpu,
         "direct, register-blocked filters x SIMD columns, streaming stores, threads over rows", every, false,
         MLBENCH_CPU_WIRING(none, prepare_openmp_convolution, nullptr)},
        {"onednn", "convolution", BackendKind::cpu_library,
         "oneDNN convolution_forward (direct), library-chosen blocked layouts, output reordered to NCHW in the timed "
         "run",
         onednn_convolution, false,
         MLBENCH_CPU_WIRING(onednn, prepare_onednn_convolution, onednn_convolution_supports)},
        {"serial", "reduction", BackendKind::cpu, "single thread, vectorized chunks summed pairwise in double", no_tf32,
         true, MLBENCH_CPU_WIRING(none, prepare_serial_reduction, nullptr)},
        {"openmp", "reduction", BackendKind::cpu,
         "per-thread padded partials, four SIMD accumulators, chunks summed pairwise in double", no_tf32, false,
         MLBENCH_CPU_WIRING(none, prepare_openmp_reduction, nullptr)},
        // attention, softmax, layer norm (issue 17)
        {"serial", "attention", BackendKind::cpu,
         "single thread, online softmax (FlashAttention) one query row at a time, key blocks of 64, vectorized "
         "over D",
         no_tf32, true, MLBENCH_CPU_WIRING(none, prepare_serial_attention, nullptr)},
        {"openmp", "attention", BackendKind::cpu,
         "FlashAttention-2 tiles: query blocks x key blocks, register-blocked micro-kernels for Q K^T and P V, "
         "online softmax with SIMD exp2, threads over (batch x head, query block)",
         no_tf32, false, MLBENCH_CPU_WIRING(none, prepare_openmp_attention, nullptr)},
        {"serial", "softmax", BackendKind::cpu,
         "single thread, per row: max, exp (SIMD polynomial) and sum, scale; the row read from memory once", no_tf32,
         true, MLBENCH_CPU_WIRING(none, prepare_serial_softmax, nullptr)},
        {"openmp", "softmax", BackendKind::cpu, "threads over rows, the serial row kernel, non-temporal output stores",
         no_tf32, false, MLBENCH_CPU_WIRING(none, prepare_openmp_softmax, nullptr)},
        {"serial", "layernorm", BackendKind::cpu,
         "single thread, per row: mean, variance of x - mean (two passes over the cached row), output", no_tf32, true,
         MLBENCH_CPU_WIRING(none, prepare_serial_layernorm, nullptr)},
        {"openmp", "layernorm", BackendKind::cpu,
         "threads over rows, the serial row kernel, non-temporal output stores", no_tf32, false,
         MLBENCH_CPU_WIRING(none, prepare_openmp_layernorm, nullptr)},
        {"openblas", "attention", BackendKind::cpu_library,
         "unfused, what a framework does without fusion: cblas gemm Q K^T, row softmax of the S x S scores in "
         "memory, cblas gemm P V",
         openblas_attention, false,
         MLBENCH_CPU_WIRING(openblas, prepare_openblas_attention, openblas_attention_supports)},
        {"onednn", "softmax", BackendKind::cpu_library,
         "oneDNN softmax forward (softmax_accurate), plain row-major layout", onednn_row, false,
         MLBENCH_CPU_WIRING(onednn, prepare_onednn_softmax, onednn_softmax_supports)},
        {"onednn", "layernorm", BackendKind::cpu_library,
         "oneDNN layer_normalization_forward with scale and shift, plain row-major layout", onednn_row, false,
         MLBENCH_CPU_WIRING(onednn, prepare_onednn_layernorm, onednn_layernorm_supports)},
    };
  }();
  return definitions;
}

}  // namespace mlbench::cpu
