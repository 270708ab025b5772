// Built without CUDA: the GPU backends of the table (gpu_backends.cpp, compiled here without
// its wiring) exist by name, so that `mlbench list` and the reports show them, but every one
// says why it cannot run.
#include "bench/backend.h"
#include "kernels/gpu_backends.h"

namespace mlbench::kernels {

namespace {
// "no nvcc at configure time", or "MLBENCH_WITH_CUDA=OFF" (CMakeLists.txt).
constexpr const char* kNoCuda = MLBENCH_NO_CUDA_REASON;
}  // namespace

void register_backends(Registry& registry) {
  for (const GpuBackendDefinition& definition : gpu_backend_definitions()) {
    BackendInfo info = describe(definition);
    info.availability = [] { return Availability::no(kNoCuda); };
    info.supports = [](const Problem&) { return Availability::no(kNoCuda); };
    info.prepare = [](const Problem&, const ExecutionConfig&) -> std::unique_ptr<Variant> {
      throw std::runtime_error(kNoCuda);
    };
    registry.add(std::move(info));
  }
  registry.context_providers.emplace_back([](MachineContext& context) {
    context.gpu.reset();
    context.gpu_absent_reason = kNoCuda;
  });
  registry.peak_providers.emplace_back([](PeakFigures& peaks) {
    peaks.gpu.reset();
    peaks.gpu_absent_reason = kNoCuda;
  });
}

}  // namespace mlbench::kernels
