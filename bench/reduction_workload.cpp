// The reduction workload's descriptor (bench/workload.h): sum / max / mean over a size x size
// tensor or each of its rows.
#include "bench/reduction.h"
#include "bench/workloads.h"

namespace mlbench {

namespace {
WorkloadOption choice(std::string name, std::string help, std::vector<std::string> choices) {
  WorkloadOption o;
  o.type = WorkloadOption::Type::text;
  o.name = std::move(name);
  o.help = std::move(help);
  o.group = "Reduction";
  o.text_default = choices.front();
  o.choices = std::move(choices);
  return o;
}
}  // namespace

WorkloadDescriptor reduction_workload() {
  WorkloadDescriptor w;
  w.name = "reduction";
  w.aliases = {"reduce"};
  w.description = "sum / max / mean over a tensor or per row";
  w.size_meaning = "the side of the square tensor, rows = cols";
  w.command_description = "Sum / max / mean over a size x size tensor or its rows";
  w.fleet_description = "Reductions on every rank";
  w.refused_precisions = {Precision::tf32};
  w.refusal = kTakesNoTf32;
  w.memory_read_bound = true;  // it reads the tensor and writes at most one value per row
  w.options.push_back(choice("--op", "Reduction operator", {"sum", "max", "mean"}));
  w.options.back().apply = [](const WorkloadOptionValue& v, WorkloadOptions& options) {
    const auto op = parse_reduce_op(v.text);
    if (!op) throw InputError("unknown --op '" + v.text + "'");
    options.get<ReductionOptions>().op = *op;
  };
  w.options.push_back(
      choice("--axis", "all: one value; rows: one value per row (softmax, layer norm)", {"all", "rows"}));
  w.options.back().apply = [](const WorkloadOptionValue& v, WorkloadOptions& options) {
    const auto axis = parse_reduce_axis(v.text);
    if (!axis) throw InputError("unknown --axis '" + v.text + "'");
    options.get<ReductionOptions>().axis = *axis;
  };
  w.make_problem = [](std::int64_t size, Precision precision, std::uint64_t seed, const WorkloadOptions& options) {
    const auto& o = options.get<ReductionOptions>();
    ReductionShape shape{size, size, o.op, o.axis};
    return std::make_unique<ReductionProblem>(shape, precision, seed, size);
  };
  w.footprint = [](std::int64_t size, Precision precision, const WorkloadOptions&) {
    if (precision == Precision::tf32)
      throw InputError("reductions take fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
    HostFootprint f;
    f.elements = checked_mul(size, size, "reduction input") + size;
    f.twin_inputs = checked_mul(size, size, "reduction input");
    f.output_bytes = checked_mul(size, 4, "reduction output bytes");  // fp32 results, one per row at most
    return f;
  };
  return w;
}

}  // namespace mlbench
