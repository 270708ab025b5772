#include "reports/sweep.h"

#include <algorithm>
#include <limits>
#include <map>

#include "reports/text_format.h"

namespace mlbench::reports {

std::string Sweep::title() const { return workload + " " + to_string(precision); }

std::vector<Sweep> group_sweeps(const std::vector<VariantResult>& results) {
  std::vector<Sweep> sweeps;
  std::map<std::string, std::size_t> index;
  for (const VariantResult& r : results) {
    auto [it, inserted] = index.emplace(r.workload + "|" + to_string(r.precision), sweeps.size());
    if (inserted) sweeps.push_back({r.workload, r.precision, {}, {}});
    Sweep& s = sweeps[it->second];
    s.results.push_back(&r);
    if (std::find(s.sizes.begin(), s.sizes.end(), r.size) == s.sizes.end()) s.sizes.push_back(r.size);
  }
  for (Sweep& s : sweeps) std::sort(s.sizes.begin(), s.sizes.end());
  return sweeps;
}

std::vector<BreakEven> break_even(const Sweep& sweep) {
  struct Best {
    double seconds = std::numeric_limits<double>::infinity();
    std::string backend;
  };
  std::map<std::int64_t, Best> best_cpu;
  std::map<std::string, std::map<std::int64_t, double>> gpu_end_to_end;  // backend -> size -> s
  std::vector<std::string> gpu_order;
  for (const VariantResult* r : sweep.results) {
    if (!r->ok() || !(r->stats.median_s > 0)) continue;
    if (is_cpu(r->backend_kind)) {
      Best& b = best_cpu[r->size];
      if (r->stats.median_s < b.seconds) b = {r->stats.median_s, r->backend};
    } else if (r->timing == TimingMode::end_to_end) {
      const std::string backend = backend_name(*r);  // "nccl x2": each GPU count is its own line
      if (!gpu_end_to_end.count(backend)) gpu_order.push_back(backend);
      gpu_end_to_end[backend][r->size] = r->stats.median_s;
    }
  }
  std::vector<BreakEven> out;
  for (const std::string& backend : gpu_order) {
    // Sizes where both sides were measured, ascending.
    std::vector<std::int64_t> sizes;
    for (const auto& [size, seconds] : gpu_end_to_end[backend])
      if (best_cpu.count(size)) sizes.push_back(size);
    if (sizes.size() < 2) continue;
    BreakEven b;
    b.gpu_backend = backend;
    // Walk down from the largest size while the GPU stays ahead.
    std::optional<std::size_t> first_ahead;
    for (std::size_t i = sizes.size(); i-- > 0;) {
      if (gpu_end_to_end[backend][sizes[i]] < best_cpu[sizes[i]].seconds)
        first_ahead = i;
      else
        break;
    }
    if (first_ahead) {
      std::int64_t size = sizes[*first_ahead];
      b.size = size;
      b.at_smallest_size = *first_ahead == 0;
      b.best_cpu_backend = best_cpu[size].backend;
      b.gpu_seconds = gpu_end_to_end[backend][size];
      b.cpu_seconds = best_cpu[size].seconds;
    }
    out.push_back(b);
  }
  return out;
}

std::string describe(const BreakEven& b) {
  if (!b.size) return b.gpu_backend + " does not beat the best CPU end to end at the largest size measured";
  std::string where = "from size " + std::to_string(*b.size) + (b.at_smallest_size ? " (the smallest measured)" : "");
  return b.gpu_backend + " beats the best CPU end to end " + where + " (" + format_duration(b.gpu_seconds) + " vs " +
         format_duration(b.cpu_seconds) + " " + b.best_cpu_backend + ")";
}

}  // namespace mlbench::reports
