// The layer-norm workload's descriptor (bench/workload.h): row-wise layer normalization forward
// of a rows x size tensor (its --rows is softmax's, bench/softmax_workload.cpp).
#include <cmath>

#include <fmt/format.h>

#include "bench/layernorm.h"
#include "bench/softmax.h"
#include "bench/workloads.h"

namespace mlbench {

WorkloadDescriptor layernorm_workload() {
  WorkloadDescriptor w;
  w.name = "layernorm";
  w.aliases = {"layer-norm"};
  w.description = "row-wise layer normalization forward with gamma, beta, epsilon";
  w.size_meaning = "the row length (cols)";
  w.command_description = "Row-wise layer normalization forward with gamma, beta, epsilon (size = row length)";
  w.default_size = 4096;
  w.refused_precisions = {Precision::tf32};
  w.refusal = kTakesNoTf32;
  w.options.push_back(rows_option());
  WorkloadOption epsilon;
  epsilon.type = WorkloadOption::Type::real;
  epsilon.name = "--epsilon";
  epsilon.help = "Layer norm epsilon, added to the variance";
  epsilon.group = w.options.front().group;
  epsilon.group_description = w.options.front().group_description;
  epsilon.real_default = 1e-5;
  epsilon.real_min = 1e-30;
  epsilon.real_max = 1.0;
  epsilon.apply = [](const WorkloadOptionValue& v, WorkloadOptions& options) {
    if (!(v.real > 0) || !std::isfinite(v.real))
      throw InputError(fmt::format("--epsilon must be positive and finite, got {}", v.real));
    options.get<RowOptions>().epsilon = v.real;
  };
  w.options.push_back(std::move(epsilon));
  w.make_problem = [](std::int64_t size, Precision precision, std::uint64_t seed, const WorkloadOptions& options) {
    const auto& rows = options.get<RowOptions>();
    return std::make_unique<LayerNormProblem>(LayerNormShape{row_count(size, precision, rows), size, rows.epsilon},
                                              precision, seed, size);
  };
  w.footprint = [](std::int64_t size, Precision precision, const WorkloadOptions& options) {
    return row_footprint("layernorm", size, precision, options.get<RowOptions>());
  };
  w.quick_preset = quick_rows;
  return w;
}

}  // namespace mlbench
