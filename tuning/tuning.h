// The harness every tuning program shares (llm.c dev/cuda style: each version is validated, then
// timed). For each problem and each version: the version runs once on fresh seeded random inputs
// and its output is checked against the fp64 reference (Problem::verify), then once on the exact
// twin (Problem::verify_exact, every element); a version that fails either is reported FAILED and
// not timed. The others run `warmups` times, then `repetitions` kernel-mode runs (CUDA events,
// L2 flushed before each: GpuVariant::run), whose median goes into the table, and the last timed
// output is checked again. Not part of the product: tuning/ is built, never installed.
#pragma once

#include <CLI/CLI.hpp>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/host_buffer.h"
#include "bench/problem.h"

namespace mlbench::tuning {

// One version of a kernel that a program compares.
struct Version {
  std::string name;     // what --versions selects, e.g. "tile-128x64x16"
  std::string idea;     // one line: what this version does differently
  bool vendor = false;  // the reference that the "% of vendor" column divides by
  // Why this version cannot run `problem` here ("" when it can): not a failure, reported "n/a".
  std::function<std::string(const Problem&)> unsupported;
  // Prepares the version on `problem` (a problem or its exact twin): inputs on the device.
  std::function<std::unique_ptr<Variant>(const Problem&)> prepare;
};

// A registered GPU backend (kernels/gpu_backends.cpp), prepared exactly as `mlbench run` does:
// `cuda` is the product's choice for the problem, `cublas`/`cudnn` the vendor's.
Version registry_version(const std::string& workload, const std::string& backend, std::string idea,
                         bool vendor = false);

// Enqueues a kernel on `stream`: `inputs` are the device copies of the problem's inputs (in the
// order given to launch_variant), `output` the device output (poisoned with NaN before the first run).
using Launch = std::function<void(cudaStream_t stream, const std::vector<const void*>& inputs, void* output)>;

// A Variant that runs `launch` (a kernel launched directly, e.g. a tile the product does not
// instantiate) with the product's timing: kernels/gpu_variant.h.
std::unique_ptr<Variant> launch_variant(const Problem& problem, std::vector<const HostBuffer*> inputs, Launch launch);

struct Options {
  std::vector<std::string> precisions{"fp32"};
  std::vector<std::string> versions;  // empty: every version
  int repetitions = 20;
  int warmups = 3;
  std::optional<std::uint64_t> seed;  // unset: a fresh random seed, printed
  bool validate_only = false;
  bool list = false;
};
// --precision, --versions, --repetitions, --warmups, --seed, --validate-only, --list.
void add_common_options(CLI::App& app, Options& options);

// The precisions of --precision, parsed; throws CLI::ValidationError for one not in `allowed`.
std::vector<Precision> parse_precisions(const Options& options, const std::vector<Precision>& allowed);

// "4096x4096x16" -> {4096, 4096, 16}; throws CLI::ValidationError (naming `option`) for text
// that is not non-negative integers separated by 'x'.
std::vector<std::int64_t> parse_dimensions(const std::string& option, const std::string& text);

// The seed of this run (options.seed or a fresh one), printed with how to replay it.
std::uint64_t announce_seed(const Options& options);

// "" when a CUDA device can run kernels, else why not (the registry's reason).
std::string gpu_unavailable_reason();

// Exit status when there is no GPU: ctest's SKIP_RETURN_CODE of the tuning tests.
constexpr int kSkippedNoGpu = 77;

// The end of a program: names the FAILED count and the seed to replay it; the exit status
// (1 when any version failed validation, else 0).
int exit_status(int failed, std::uint64_t seed);

// What every program does once its problems and versions are chosen: with --list, `list()` prints
// them and nothing runs (0); without a usable GPU, SKIPPED with the reason (kSkippedNoGpu); else
// the seed is announced and `validate_and_time(seed)` runs every version on every problem and
// returns how many FAILED validation; the exit status is exit_status's.
int list_or_run(const Options& options, const std::function<void()>& list,
                const std::function<int(std::uint64_t seed)>& validate_and_time);

// Prints every version's name and idea.
void list_versions(const std::vector<Version>& versions);

// Keeps the versions that --versions names (all when it names none); throws
// CLI::ValidationError for a name that is not a version.
std::vector<Version> select_versions(const std::vector<Version>& versions, const Options& options);

// Validates and (unless --validate-only) times every version on `problem`, then prints the table
// (version, status, median ms, TFLOP/s, GB/s of the problem's minimal bytes, % of the vendor's
// time). Returns the number of versions that FAILED.
int run_versions(const Problem& problem, const std::vector<Version>& versions, const Options& options);

}  // namespace mlbench::tuning
