// Registers the CPU backends, every row of the table (cpu_backend_table.cpp: serial, openmp,
// openblas, onednn), and the OpenBLAS and oneDNN machine-context facts.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "bench/backend.h"
#include "bench/machine_context.h"
#include "cpu/cpu_backend_table.h"
#include "cpu/cpu_backends.h"
#include "cpu/peak_cpu.h"

#if defined(MLBENCH_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace mlbench::cpu {
namespace {

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
  for (const CpuBackendDefinition& definition : cpu_backend_definitions()) {
    BackendInfo info = describe(definition);
    // every declared precision, every shape, unless the row has a shape check
    info.supports = [](const Problem&) { return Availability::yes(); };
    if (built_with(definition.library)) {
      info.availability = [] { return Availability::yes(); };
      if (definition.supports != nullptr) info.supports = definition.supports;
      info.prepare = definition.prepare;
    } else {
      // A library backend this build lacks: listed, unavailable with the reason, never prepared.
      const std::string reason = missing_library_reason(definition.library);
      info.availability = [reason] { return Availability::no(reason); };
      info.prepare = [reason](const Problem&, const ExecutionConfig&) -> std::unique_ptr<Variant> {
        throw std::logic_error(reason);
      };
    }
    registry.add(std::move(info));
  }

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
