// Applies mlbench's default OpenMP thread pinning (bench/thread_binding.h) at the very start
// of main(). libgomp reads OMP_PROC_BIND / OMP_PLACES in its load-time constructor, before
// main() runs, so setting them in main() is too late: mlbench re-executes itself
// (/proc/self/exe, same pid, arguments and descriptors) with them set, once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/thread_binding.h"

namespace mlbench::cli {

// The mode the arguments ask for: "--pin X" / "--pin=X", "--no-pin"; cores when neither is
// given; nullopt for an unknown value (CLI11 reports it when it parses).
std::optional<PinMode> requested_pin_mode(const std::vector<std::string>& args);

// Records the request (for reports) and, when pinning applies and is not yet in effect (no
// OMP_PROC_BIND / OMP_PLACES in the environment, not re-executed already), sets the variables
// and re-executes; returns only when there is nothing to do or the re-execution failed (the
// run then goes on unpinned and the report says why).
void apply_thread_pinning(int argc, char** argv);

}  // namespace mlbench::cli
