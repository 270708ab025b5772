// Registers the CPU backends (serial, openmp, openblas, onednn) and the OpenBLAS and oneDNN
// machine-context facts.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "bench/backend.h"
#include "bench/machine_context.h"
#include "cpu/cpu_backends.h"
#include "cpu/peak_cpu.h"

#if defined(MLBENCH_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace mlbench::cpu {
namespace {

using Prepare = std::function<std::unique_ptr<Variant>(const Problem&, const ExecutionConfig&)>;

// The precisions of mlbench's own kernels: every one for GEMM and convolution (bf16/fp16
// widened to fp32 in the kernels, tf32 as fp32 on its values); reductions have no tf32 problem.
const std::vector<Precision> kEveryPrecision = {Precision::fp32, Precision::fp64, Precision::tf32, Precision::bf16,
                                                Precision::fp16};
const std::vector<Precision> kReductionPrecisions = {Precision::fp32, Precision::fp64, Precision::bf16,
                                                     Precision::fp16};

BackendInfo cpu_backend(std::string name, std::string workload, BackendKind kind, std::string description,
                        Prepare prepare, std::vector<Precision> precisions) {
  BackendInfo info;
  info.name = std::move(name);
  info.workload = std::move(workload);
  info.kind = kind;
  info.description = std::move(description);
  info.precisions = std::move(precisions);
  info.availability = [] { return Availability::yes(); };
  info.supports = [](const Problem&) { return Availability::yes(); };  // every declared precision, every shape
  info.prepare = std::move(prepare);
  return info;
}

// The workload's baseline (BackendInfo::is_baseline): mlbench's single-threaded code, in every
// build, the reference every speedup_vs_serial divides by.
BackendInfo serial_backend(std::string workload, std::string description, Prepare prepare,
                           std::vector<Precision> precisions) {
  BackendInfo info = cpu_backend("serial", std::move(workload), BackendKind::cpu, std::move(description),
                                 std::move(prepare), std::move(precisions));
  info.is_baseline = true;
  return info;
}

// A library backend this build lacks: listed, unavailable with `reason`, never prepared.
[[maybe_unused]] BackendInfo unavailable_backend(std::string name, std::string workload, std::string description,
                                                 std::string reason, std::vector<Precision> precisions) {
  BackendInfo info = cpu_backend(
      std::move(name), std::move(workload), BackendKind::cpu_library, std::move(description),
      [reason](const Problem&, const ExecutionConfig&) -> std::unique_ptr<Variant> { throw std::logic_error(reason); },
      std::move(precisions));
  info.availability = [reason] { return Availability::no(reason); };
  return info;
}

#if defined(MLBENCH_HAVE_OPENBLAS)
// "0.3.21" from OPENBLAS_VERSION (" OpenBLAS 0.3.21 ").
std::string openblas_version() {
  std::string text = OPENBLAS_VERSION;
  const auto last = text.find_last_not_of(' ');
  text = last == std::string::npos ? "" : text.substr(0, last + 1);
  const auto space = text.find_last_of(' ');
  return space == std::string::npos ? text : text.substr(space + 1);
}

void add_openblas_context(MachineContext& context) {
  context.openblas_core = openblas_get_corename();
  context.openblas_config = openblas_get_config();
  context.libraries.emplace_back("OpenBLAS", openblas_version());
  if (is_generic_openblas_core(context.openblas_core))
    context.warnings.push_back(fmt::format(
        "OpenBLAS selected the generic '{}' kernel for this CPU: the openblas baseline is far below what the "
        "CPU can do, which inflates every speedup against it (set OPENBLAS_CORETYPE to the right core)",
        context.openblas_core));
}
#endif

}  // namespace

void register_backends(Registry& registry) {
  registry.add(serial_backend("gemm", "single thread, i-k-j loops (unit-stride, compiler-vectorized inner loop)",
                              prepare_serial_gemm, kEveryPrecision));
  registry.add(cpu_backend("openmp", "gemm", BackendKind::cpu,
                           "BLIS-style packed A/B panels, register-blocked SIMD micro-kernel, threads over rows",
                           prepare_openmp_gemm, kEveryPrecision));
  // fp32, fp64, tf32 (sgemm on its values), bf16 through cblas_sbgemm where the library has
  // it; OpenBLAS has no fp16 GEMM.
  std::vector<Precision> openblas_precisions = {Precision::fp32, Precision::fp64, Precision::tf32};
#if defined(MLBENCH_OPENBLAS_HAS_SBGEMM)
  const char* openblas_description = "OpenBLAS cblas_sgemm/cblas_dgemm, cblas_sbgemm for bf16, row-major";
  openblas_precisions.push_back(Precision::bf16);
#else
  const char* openblas_description = "OpenBLAS cblas_sgemm/cblas_dgemm, row-major";
#endif
#if defined(MLBENCH_HAVE_OPENBLAS)
  BackendInfo openblas = cpu_backend("openblas", "gemm", BackendKind::cpu_library, openblas_description,
                                     prepare_openblas_gemm, openblas_precisions);
  openblas.supports = openblas_gemm_supports;
  registry.add(std::move(openblas));
#else
  registry.add(
      unavailable_backend("openblas", "gemm", openblas_description, "built without OpenBLAS", openblas_precisions));
#endif

  registry.add(serial_backend("convolution",
                              "single thread, direct loops, one output row at a time, vectorized over columns",
                              prepare_serial_convolution, kEveryPrecision));
  registry.add(cpu_backend("openmp", "convolution", BackendKind::cpu,
                           "direct, register-blocked filters x SIMD columns, streaming stores, threads over rows",
                           prepare_openmp_convolution, kEveryPrecision));
  const char* onednn_description =
      "oneDNN convolution_forward (direct), library-chosen blocked layouts, output reordered to NCHW in the timed run";
#if defined(MLBENCH_HAVE_ONEDNN)
  // No fp64 or fp16 convolution in oneDNN on CPU; bf16 where it has an optimized kernel (supports()).
  BackendInfo onednn = cpu_backend("onednn", "convolution", BackendKind::cpu_library, onednn_description,
                                   prepare_onednn_convolution, {Precision::fp32, Precision::tf32, Precision::bf16});
  onednn.supports = onednn_convolution_supports;
  registry.add(std::move(onednn));
#else
  registry.add(unavailable_backend("onednn", "convolution", onednn_description, "built without oneDNN",
                                   {Precision::fp32, Precision::tf32, Precision::bf16}));
#endif
  registry.add(serial_backend("reduction", "single thread, vectorized chunks summed pairwise in double",
                              prepare_serial_reduction, kReductionPrecisions));
  registry.add(cpu_backend("openmp", "reduction", BackendKind::cpu,
                           "per-thread padded partials, four SIMD accumulators, chunks summed pairwise in double",
                           prepare_openmp_reduction, kReductionPrecisions));

  // attention, softmax, layer norm (issue 17): fp32 arithmetic for bf16/fp16, no tf32 problem
  registry.add(
      serial_backend("attention",
                     "single thread, online softmax (FlashAttention) one query row at a time, key blocks of 64, "
                     "vectorized over D",
                     prepare_serial_attention, kReductionPrecisions));
  registry.add(
      cpu_backend("openmp", "attention", BackendKind::cpu,
                  "FlashAttention-2 tiles: query blocks x key blocks, register-blocked micro-kernels for Q K^T "
                  "and P V, online softmax with SIMD exp2, threads over (batch x head, query block)",
                  prepare_openmp_attention, kReductionPrecisions));
  registry.add(serial_backend(
      "softmax", "single thread, per row: max, exp (SIMD polynomial) and sum, scale; the row read from memory once",
      prepare_serial_softmax, kReductionPrecisions));
  registry.add(cpu_backend("openmp", "softmax", BackendKind::cpu,
                           "threads over rows, the serial row kernel, non-temporal output stores",
                           prepare_openmp_softmax, kReductionPrecisions));
  registry.add(serial_backend(
      "layernorm", "single thread, per row: mean, variance of x - mean (two passes over the cached row), output",
      prepare_serial_layernorm, kReductionPrecisions));
  registry.add(cpu_backend("openmp", "layernorm", BackendKind::cpu,
                           "threads over rows, the serial row kernel, non-temporal output stores",
                           prepare_openmp_layernorm, kReductionPrecisions));

  const char* openblas_attention_description =
      "unfused, what a framework does without fusion: cblas gemm Q K^T, row softmax of the S x S scores in memory, "
      "cblas gemm P V";
#if defined(MLBENCH_HAVE_OPENBLAS)
  BackendInfo openblas_attention =
      cpu_backend("openblas", "attention", BackendKind::cpu_library, openblas_attention_description,
                  prepare_openblas_attention, {Precision::fp32, Precision::fp64});
  openblas_attention.supports = openblas_attention_supports;
  registry.add(std::move(openblas_attention));
#else
  registry.add(unavailable_backend("openblas", "attention", openblas_attention_description, "built without OpenBLAS",
                                   {Precision::fp32, Precision::fp64}));
#endif
  const char* onednn_softmax_description = "oneDNN softmax forward (softmax_accurate), plain row-major layout";
  const char* onednn_layernorm_description =
      "oneDNN layer_normalization_forward with scale and shift, plain row-major layout";
#if defined(MLBENCH_HAVE_ONEDNN)
  // no fp64 in oneDNN; bf16/fp16 where it has an optimized kernel (supports())
  const std::vector<Precision> onednn_row_precisions = {Precision::fp32, Precision::bf16, Precision::fp16};
  BackendInfo onednn_softmax = cpu_backend("onednn", "softmax", BackendKind::cpu_library, onednn_softmax_description,
                                           prepare_onednn_softmax, onednn_row_precisions);
  onednn_softmax.supports = onednn_softmax_supports;
  registry.add(std::move(onednn_softmax));
  BackendInfo onednn_layernorm =
      cpu_backend("onednn", "layernorm", BackendKind::cpu_library, onednn_layernorm_description,
                  prepare_onednn_layernorm, onednn_row_precisions);
  onednn_layernorm.supports = onednn_layernorm_supports;
  registry.add(std::move(onednn_layernorm));
#else
  registry.add(unavailable_backend("onednn", "softmax", onednn_softmax_description, "built without oneDNN",
                                   {Precision::fp32, Precision::bf16, Precision::fp16}));
  registry.add(unavailable_backend("onednn", "layernorm", onednn_layernorm_description, "built without oneDNN",
                                   {Precision::fp32, Precision::bf16, Precision::fp16}));
#endif

  registry.peak_providers.emplace_back(measure_cpu_peaks);
  // The package energy of CPU rows (RAPL through powercap; MLBENCH_POWERCAP_ROOT for tests).
  registry.cpu_energy_meter = [] { return make_rapl_meter(powercap_root()); };
#if defined(MLBENCH_HAVE_OPENBLAS)
  registry.context_providers.emplace_back(add_openblas_context);
#endif
#if defined(MLBENCH_HAVE_ONEDNN)
  registry.context_providers.emplace_back(
      [](MachineContext& context) { context.libraries.emplace_back("oneDNN", onednn_version()); });
#endif
}

}  // namespace mlbench::cpu
