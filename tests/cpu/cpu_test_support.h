// Helpers of the CPU test programs: the registry of cpu/.
#pragma once

#include "bench/backend.h"
#include "tests/test_support.h"

namespace mlbench::test_support {

// The CPU backends, registered once per test program.
inline const Registry& cpu_registry() {
  static const Registry registry = [] {
    Registry r;
    cpu::register_backends(r);
    return r;
  }();
  return registry;
}

// The execution config of a CPU backend on `threads` threads (every other field at its default).
inline ExecutionConfig threads_config(int threads) {
  ExecutionConfig config;
  config.threads = threads;
  return config;
}

}  // namespace mlbench::test_support
