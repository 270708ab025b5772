// The shared harness of the tuning programs (tuning/tuning.h).
#include "tuning/tuning.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <random>
#include <stdexcept>
#include <utility>

#include "bench/verification.h"
#include "kernels/gpu_variant.h"

namespace mlbench::tuning {

namespace {

const Registry& gpu_registry() {
  static const Registry registry = [] {
    Registry r;
    kernels::register_backends(r);
    return r;
  }();
  return registry;
}

class LaunchVariant final : public kernels::GpuVariant {
 public:
  LaunchVariant(const Problem& problem, std::vector<const HostBuffer*> inputs, Launch launch)
      : GpuVariant(ExecutionConfig{}, problem.precision(), problem.output_precision(), inputs, problem.output_size()),
        input_count_(inputs.size()),
        launch_(std::move(launch)) {}

 private:
  void launch() override {
    std::vector<const void*> inputs;
    for (std::size_t i = 0; i < input_count_; ++i) inputs.push_back(input<void>(i));
    launch_(stream(), inputs, output<void>());
  }
  std::size_t input_count_;
  Launch launch_;
};

// One version's outcome on one problem.
struct Row {
  std::string name, status, idea;  // status: "ok", "n/a: why", "FAILED: what"
  double seconds = NAN;
  bool vendor = false;
};

std::string describe(const Verification& v) {
  return fmt::format("error {:.3g} > tolerance {:.3g} ({}) {}", v.max_error, v.tolerance, v.method, v.detail);
}

// Runs `variant` once on its problem and checks the output; "" when it passed, else why not.
std::string check_once(Variant& variant, const Problem& problem) {
  variant.run(TimingMode::kernel);
  HostBuffer out(problem.output_precision(), problem.output_size());
  variant.read_output(out);
  const Verification v = problem.is_exact_twin() ? problem.verify_exact(out, exact_match_for(variant.notes()))
                                                 : problem.verify(out, variant.input_rounding());
  return v.passed ? std::string() : (problem.is_exact_twin() ? "exact twin: " : "fp64 reference: ") + describe(v);
}

Row run_version(const Problem& problem, const Problem* twin, const Version& version, const Options& options) {
  Row row{version.name, "ok", version.idea, NAN, version.vendor};
  if (const std::string why = version.unsupported ? version.unsupported(problem) : ""; !why.empty()) {
    row.status = "n/a: " + why;
    return row;
  }
  try {
    if (twin != nullptr) {
      const auto variant = version.prepare(*twin);
      if (const std::string why = check_once(*variant, *twin); !why.empty()) {
        row.status = "FAILED: " + why;
        return row;
      }
    }
    const auto variant = version.prepare(problem);
    if (const std::string why = check_once(*variant, problem); !why.empty()) {
      row.status = "FAILED: " + why;
      return row;
    }
    if (options.validate_only) return row;
    for (int i = 0; i < options.warmups; ++i) variant->run(TimingMode::kernel);
    std::vector<double> times;
    for (int i = 0; i < options.repetitions; ++i) times.push_back(variant->run(TimingMode::kernel));
    std::sort(times.begin(), times.end());
    row.seconds = times[times.size() / 2];
    // The last timed output, checked again: a race that shows only once warm fails here.
    HostBuffer out(problem.output_precision(), problem.output_size());
    variant->read_output(out);
    if (const Verification v = problem.verify(out, variant->input_rounding()); !v.passed) {
      row.status = "FAILED: last timed output: " + describe(v);
      row.seconds = NAN;
    }
  } catch (const std::exception& e) {
    row.status = std::string("FAILED: ") + e.what();
    row.seconds = NAN;
  }
  return row;
}

}  // namespace

Version registry_version(const std::string& workload, const std::string& backend, std::string idea, bool vendor) {
  Version v;
  v.name = backend;
  v.idea = std::move(idea);
  v.vendor = vendor;
  v.unsupported = [workload, backend](const Problem& problem) -> std::string {
    const BackendInfo* info = gpu_registry().find(workload, backend);
    if (info == nullptr) return "not registered";
    if (const Availability a = info->availability(); !a.available) return a.reason;
    if (!info->supports_precision(problem.precision())) return "no " + to_string(problem.precision());
    if (info->supports) {
      if (const Availability a = info->supports(problem); !a.available) return a.reason;
    }
    return {};
  };
  v.prepare = [workload, backend](const Problem& problem) {
    return gpu_registry().find(workload, backend)->prepare(problem, ExecutionConfig{});
  };
  return v;
}

std::unique_ptr<Variant> launch_variant(const Problem& problem, std::vector<const HostBuffer*> inputs, Launch launch) {
  return std::make_unique<LaunchVariant>(problem, std::move(inputs), std::move(launch));
}

void add_common_options(CLI::App& app, Options& options) {
  app.add_option("--precision", options.precisions, "precisions to run, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--versions", options.versions, "versions to run, comma-separated (default: all; see --list)")
      ->delimiter(',');
  app.add_option("--repetitions", options.repetitions, "timed runs per version (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmups", options.warmups, "untimed runs before timing")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the random inputs (default: fresh, printed)");
  app.add_flag("--validate-only", options.validate_only, "validate every version, time none");
  app.add_flag("--list", options.list, "list the versions and what each tries, run nothing");
}

std::vector<Precision> parse_precisions(const Options& options, const std::vector<Precision>& allowed) {
  std::vector<Precision> out;
  for (const std::string& text : options.precisions) {
    const std::optional<Precision> p = parse_precision(text);
    if (!p || std::find(allowed.begin(), allowed.end(), *p) == allowed.end()) {
      std::string names;
      for (Precision a : allowed) names += (names.empty() ? "" : ", ") + to_string(a);
      throw CLI::ValidationError("--precision", "'" + text + "' is not one of " + names);
    }
    out.push_back(*p);
  }
  return out;
}

std::vector<std::int64_t> parse_dimensions(const std::string& option, const std::string& text) {
  std::vector<std::int64_t> out;
  std::size_t at = 0;
  while (true) {
    const std::size_t x = text.find('x', at);
    const std::string part = text.substr(at, x == std::string::npos ? std::string::npos : x - at);
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || value < 0)
      throw CLI::ValidationError(option, "'" + text + "': expected non-negative integers separated by 'x'");
    out.push_back(value);
    if (x == std::string::npos) return out;
    at = x + 1;
  }
}

std::uint64_t announce_seed(const Options& options) {
  const std::uint64_t seed =
      options.seed ? *options.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  std::printf("seed %llu (replay with --seed %llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  return seed;
}

int exit_status(int failed, std::uint64_t seed) {
  if (failed > 0)
    std::printf("\n%d version(s) FAILED validation (seed %llu)\n", failed, static_cast<unsigned long long>(seed));
  return failed > 0 ? 1 : 0;
}

std::string gpu_unavailable_reason() {
  const Availability a = gpu_registry().find("gemm", "cuda")->availability();
  return a.available ? std::string() : a.reason;
}

int list_or_run(const Options& options, const std::function<void()>& list,
                const std::function<int(std::uint64_t seed)>& validate_and_time) {
  if (options.list) {
    list();
    return 0;
  }
  if (const std::string why = gpu_unavailable_reason(); !why.empty()) {
    std::printf("SKIPPED: no usable CUDA GPU here: %s\n", why.c_str());
    return kSkippedNoGpu;
  }
  const std::uint64_t seed = announce_seed(options);
  return exit_status(validate_and_time(seed), seed);
}

void list_versions(const std::vector<Version>& versions) {
  for (const Version& v : versions)
    std::printf("%-28s %s%s\n", v.name.c_str(), v.idea.c_str(), v.vendor ? " [vendor]" : "");
}

std::vector<Version> select_versions(const std::vector<Version>& versions, const Options& options) {
  if (options.versions.empty()) return versions;
  std::vector<Version> out;
  for (const std::string& name : options.versions) {
    const auto it = std::find_if(versions.begin(), versions.end(), [&](const Version& v) { return v.name == name; });
    if (it == versions.end()) throw CLI::ValidationError("--versions", "'" + name + "' is not a version (see --list)");
    out.push_back(*it);
  }
  return out;
}

int run_versions(const Problem& problem, const std::vector<Version>& versions, const Options& options) {
  const std::unique_ptr<Problem> twin = problem.exact_twin();
  std::vector<Row> rows;
  for (const Version& version : versions) {
    rows.push_back(run_version(problem, twin.get(), version, options));
    std::fflush(stdout);
  }
  double vendor_seconds = NAN;
  for (const Row& row : rows)
    if (row.vendor && std::isfinite(row.seconds)) vendor_seconds = row.seconds;

  std::printf("\n%s %s: %s, %s\n", problem.workload().c_str(), to_string(problem.precision()).c_str(),
              problem.shape_label().c_str(),
              options.validate_only ? "validated (fp64 reference and exact twin), not timed"
                                    : fmt::format("median of {} kernel runs after {} warm-ups, L2 flushed before each",
                                                  options.repetitions, options.warmups)
                                          .c_str());
  std::printf("%-28s %10s %9s %9s %10s  %s\n", "version", "ms", "TFLOP/s", "GB/s", "% vendor", "status / idea");
  int failed = 0;
  for (const Row& row : rows) {
    failed += row.status.rfind("FAILED", 0) == 0 ? 1 : 0;
    if (std::isfinite(row.seconds)) {
      const std::string percent =
          std::isfinite(vendor_seconds) ? fmt::format("{:.1f}", 100.0 * vendor_seconds / row.seconds) : "-";
      std::printf("%-28s %10.4f %9.2f %9.1f %10s  %s\n", row.name.c_str(), row.seconds * 1e3,
                  problem.flops() / row.seconds / 1e12, problem.min_bytes() / row.seconds / 1e9, percent.c_str(),
                  row.idea.c_str());
    } else {
      std::printf("%-28s %10s %9s %9s %10s  %s\n", row.name.c_str(), "-", "-", "-", "-",
                  (row.status == "ok" ? "validated: " + row.idea : row.status).c_str());
    }
  }
  std::fflush(stdout);
  return failed;
}

}  // namespace mlbench::tuning
