// Built with CUDA: registers every GPU backend of the table (gpu_backends.cpp) with its checks
// and factory, and the providers of the GPU part of the machine context and of the peaks.
#include <string>

#include "bench/backend.h"
#include "kernels/backends.h"
#include "kernels/gpu_backends.h"
#include "kernels/gpu_variant.h"
#include "kernels/nvml_monitor.h"
#include "kernels/multi_gpu.h"
#include "kernels/peaks.h"

namespace mlbench::kernels {

void register_backends(Registry& registry) {
  for (const GpuBackendDefinition& definition : gpu_backend_definitions()) {
    BackendInfo info = describe(definition);
    info.availability = definition.availability;
    // Without a device nothing is supported; the shape checks may query the device.
    info.supports = [availability = definition.availability, check = definition.supports](const Problem& problem) {
      if (Availability a = availability(); !a.available) return a;
      return check ? check(problem) : Availability::yes();
    };
    info.prepare = definition.prepare;
    registry.add(std::move(info));
  }
  registry.context_providers.emplace_back(fill_gpu_context);
  registry.peak_providers.emplace_back(measure_gpu_peaks);
  registry.gpu_count = cuda_device_count;
  // Reliability hooks: the device's state around each GPU measurement (NVML), and a reset of a
  // device a failed variant left unusable.
  registry.device_state_probe = read_gpu_state;
  registry.gpu_energy_meter = [](const std::vector<int>& devices) { return make_nvml_energy_meter(devices); };
  registry.device_recovery = recover_devices;
  registry.context_providers.emplace_back([](MachineContext& context) {
    const std::string why = nvml_unavailable_reason();
    context.libraries.emplace_back("NVML", why.empty() ? (nvml_version().empty() ? "loaded" : nvml_version()) : why);
  });
}

}  // namespace mlbench::kernels
