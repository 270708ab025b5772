// The softmax workload's descriptor (bench/workload.h): row-wise softmax of a rows x size
// tensor; and the row options it shares with layer norm (bench/layernorm_workload.cpp).
#include <fmt/format.h>

#include "bench/softmax.h"
#include "bench/workloads.h"

namespace mlbench {

WorkloadOption rows_option() {
  WorkloadOption o;
  o.type = WorkloadOption::Type::integer;
  o.name = "--rows";
  o.help = "Rows of the tensor (default: as many as make it 256 MiB; --preset quick: 1024)";
  o.group = "Rows";
  o.group_description = "Softmax / layer norm: --size is the row length";
  o.integer_default = 0;  // not given: kDefaultRowTensorBytes of rows
  o.integer_min = 1;
  o.integer_max = std::int64_t{1} << 40;
  o.show_default = false;
  o.apply = [](const WorkloadOptionValue& v, WorkloadOptions& options) { options.get<RowOptions>().rows = v.integer; };
  return o;
}

std::int64_t row_count(std::int64_t cols, Precision precision, const RowOptions& o) {
  if (o.rows < 0) throw InputError(fmt::format("rows must be positive, got {}", o.rows));
  return o.rows > 0 ? o.rows : rows_for_bytes(cols, precision, kDefaultRowTensorBytes);
}

HostFootprint row_footprint(const std::string& workload, std::int64_t cols, Precision precision,
                            const RowOptions& options) {
  if (precision == Precision::tf32) throw InputError(workload + " " + kTakesNoTf32);
  const auto es = static_cast<std::int64_t>(element_size(precision));
  const auto rows = row_count(cols, precision, options);
  const auto tensor = checked_mul(rows, cols, "row tensor");
  HostFootprint f;
  f.elements = checked_add(checked_mul(tensor, 2, "row tensor"), 2 * cols, "row tensor");  // x, y, gamma, beta
  f.output_bytes = checked_mul(tensor, es, "row tensor output bytes");
  f.twin_inputs = checked_add(tensor, 2 * cols, "row tensor");  // the exact twin's x, gamma, beta
  return f;
}

void quick_rows(WorkloadOptions& options) {
  auto& rows = options.get<RowOptions>().rows;
  if (rows == 0) rows = 1024;  // not 256 MiB tensors of 128-element rows
}

WorkloadDescriptor softmax_workload() {
  WorkloadDescriptor w;
  w.name = "softmax";
  w.description = "row-wise softmax (max subtracted) of a rows x size tensor";
  w.size_meaning = "the row length (cols)";
  w.command_description = "Row-wise softmax, max subtracted (size = row length)";
  w.default_size = 4096;
  w.refused_precisions = {Precision::tf32};
  w.refusal = kTakesNoTf32;
  w.options.push_back(rows_option());
  w.make_problem = [](std::int64_t size, Precision precision, std::uint64_t seed, const WorkloadOptions& options) {
    return std::make_unique<SoftmaxProblem>(SoftmaxShape{row_count(size, precision, options.get<RowOptions>()), size},
                                            precision, seed, size);
  };
  w.footprint = [](std::int64_t size, Precision precision, const WorkloadOptions& options) {
    return row_footprint("softmax", size, precision, options.get<RowOptions>());
  };
  w.quick_preset = quick_rows;
  return w;
}

}  // namespace mlbench
