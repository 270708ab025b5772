// Built with CUDA: registers every GPU backend of gpu_backend_names.h with its checks and
// factory, and the provider of the GPU part of the machine context.
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/reduction.h"
#include "kernels/backends.h"
#include "kernels/gpu_backend_names.h"
#include "kernels/gpu_variant.h"
#include "kernels/nvml_monitor.h"
#include "kernels/multi_gpu.h"
#include "kernels/peaks.h"

namespace mlbench::kernels {

namespace {

using Factory = std::function<std::unique_ptr<Variant>(const Problem&, const ExecutionConfig&)>;
using Check = std::function<Availability(const Problem&)>;

struct Wiring {
  std::function<Availability()> availability = cuda_availability;
  Check supports;  // empty: every problem of the workload
  Factory prepare;
};

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

std::map<std::string, Wiring> wiring() {
  std::map<std::string, Wiring> w;
  // The precisions each implements are in kernels/gpu_backend_names.h.
  w["gemm/cuda"] = {cuda_availability, cuda_gemm_supports, make_cuda_gemm};
  w["gemm/cublas"] = {cuda_availability, {},
                      [](const Problem& p, const ExecutionConfig& c) { return make_cublas_gemm(p, c, false); }};
  w["gemm/cublas-tf32"] = {cuda_availability, fp32_or_tf32,
                           [](const Problem& p, const ExecutionConfig& c) { return make_cublas_gemm(p, c, true); }};
  w["convolution/cuda"] = {cuda_availability, cuda_conv_supports, make_cuda_conv};
  w["convolution/cudnn"] = {cudnn_availability, {}, make_cudnn_conv};
  w["reduction/cuda"] = {cuda_availability, {}, make_cuda_reduction};
  w["reduction/cub"] = {cuda_availability, segment_count_fits_int, make_cub_reduction};
  w["attention/cuda"] = {cuda_availability, cuda_attention_supports, make_cuda_attention};
  w["attention/cudnn"] = {cudnn_availability, cudnn_attention_supports, make_cudnn_attention};
  w["attention/cublas"] = {cuda_availability, cublas_attention_supports, make_cublas_attention};
  w["softmax/cuda"] = {cuda_availability, {}, make_cuda_softmax};
  w["softmax/cudnn"] = {cudnn_availability, cudnn_softmax_supports, make_cudnn_softmax};
  w["layernorm/cuda"] = {cuda_availability, {}, make_cuda_layernorm};
  // Multi-GPU (--gpus): NCCL found at configure time.
  w["gemm/nccl"] = {nccl_availability, cuda_gemm_supports, make_multi_gpu_gemm};
  w["convolution/nccl"] = {nccl_availability, {},
                           [](const Problem& p, const ExecutionConfig& c) { return make_multi_gpu_conv(p, c); }};
  w["reduction/nccl"] = {nccl_availability, segment_count_fits_int, make_multi_gpu_reduction};
  return w;
}

}  // namespace

void register_backends(Registry& registry) {
  const auto wired = wiring();
  for (const GpuBackendName& entry : kGpuBackends) {
    const Wiring& w = wired.at(std::string(entry.workload) + "/" + entry.name);
    BackendInfo info = describe(entry);
    info.availability = w.availability;
    // Without a device nothing is supported; the shape checks may query the device.
    info.supports = [availability = w.availability, check = w.supports](const Problem& problem) {
      if (Availability a = availability(); !a.available) return a;
      return check ? check(problem) : Availability::yes();
    };
    info.prepare = w.prepare;  // precisions: from the shared table (describe)
    registry.add(std::move(info));
  }
  registry.context_providers.emplace_back(fill_gpu_context);
  registry.peak_providers.emplace_back(measure_gpu_peaks);
  registry.gpu_count = cuda_device_count;
  // Reliability hooks: the device's state around each GPU measurement (NVML), and a reset of a
  // device a failed variant left unusable.
  registry.device_state_probe = read_gpu_state;
  registry.device_recovery = recover_devices;
  registry.context_providers.emplace_back([](MachineContext& context) {
    const std::string why = nvml_unavailable_reason();
    context.libraries.emplace_back("NVML", why.empty() ? (nvml_version().empty() ? "loaded" : nvml_version()) : why);
  });
}

}  // namespace mlbench::kernels
