#include "cli/commands.h"

namespace mlbench::cli {

Registry make_registry() {
  Registry registry;
  cpu::register_backends(registry);
  kernels::register_backends(registry);
  return registry;
}

}  // namespace mlbench::cli
