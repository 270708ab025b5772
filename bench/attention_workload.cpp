// The attention workload's descriptor (bench/workload.h): scaled dot-product attention forward,
// --size the sequence length S.
#include <algorithm>

#include "bench/attention.h"
#include "bench/workloads.h"

namespace mlbench {

namespace {
WorkloadOption attention_option(WorkloadOption::Type type, std::string name, std::string help) {
  WorkloadOption o;
  o.type = type;
  o.name = std::move(name);
  o.help = std::move(help);
  o.group = "Attention";
  o.group_description = "Default: one sequence, 16 heads of 128, S = --size";
  return o;
}

WorkloadOption dimension(std::string name, std::string help, std::int64_t default_value, std::int64_t max,
                         std::int64_t AttentionOptions::*field) {
  WorkloadOption o = attention_option(WorkloadOption::Type::integer, std::move(name), std::move(help));
  o.integer_default = default_value;
  o.integer_min = 1;
  o.integer_max = max;
  o.apply = [field](const WorkloadOptionValue& v, WorkloadOptions& options) {
    options.get<AttentionOptions>().*field = v.integer;
  };
  return o;
}

AttentionShape attention_shape(std::int64_t size, const AttentionOptions& o) {
  AttentionShape s;
  s.batch = o.batch;
  s.heads = o.heads;
  s.seq = size;
  s.head_dim = o.head_dim;
  s.causal = o.causal;
  return s;
}
}  // namespace

WorkloadDescriptor attention_workload() {
  WorkloadDescriptor w;
  w.name = "attention";
  w.aliases = {"sdpa"};
  w.description = "scaled dot-product attention forward O = softmax(Q K^T / sqrt(D)) V";
  w.size_meaning = "the sequence length S";
  w.command_description =
      "Scaled dot-product attention forward O = softmax(Q K^T / sqrt(D)) V (size = sequence length S)";
  w.default_size = 4096;
  w.refused_precisions = {Precision::tf32};
  w.refusal = kTakesNoTf32;
  constexpr std::int64_t kMaxDimension = std::int64_t{1} << 20;
  // --batch is also the convolution's (the batch N of either workload: one value in `all`).
  w.options.push_back(dimension("--batch", "Sequences per batch (B)", 1, kMaxDimension, &AttentionOptions::batch));
  w.options.push_back(dimension("--heads", "Attention heads (H)", 16, kMaxDimension, &AttentionOptions::heads));
  w.options.push_back(
      dimension("--head-dim", "Elements per head (D)", 128, std::int64_t{1} << 16, &AttentionOptions::head_dim));
  w.options.push_back(
      attention_option(WorkloadOption::Type::sizes, "--seq", "Sequence length S, the same as --size; a list sweeps"));
  WorkloadOption causal = attention_option(WorkloadOption::Type::flag, "--causal",
                                           "Causal mask: query i attends to keys 0..i only (half the FLOPs)");
  causal.apply = [](const WorkloadOptionValue& v, WorkloadOptions& options) {
    options.get<AttentionOptions>().causal = v.flag;
  };
  w.options.push_back(std::move(causal));
  w.make_problem = [](std::int64_t size, Precision precision, std::uint64_t seed, const WorkloadOptions& options) {
    return std::make_unique<AttentionProblem>(attention_shape(size, options.get<AttentionOptions>()), precision, seed,
                                              size);
  };
  w.footprint = [](std::int64_t size, Precision precision, const WorkloadOptions& options) {
    if (precision == Precision::tf32) throw InputError(std::string("attention ") + kTakesNoTf32);
    const auto es = static_cast<std::int64_t>(element_size(precision));
    const AttentionShape s = attention_shape(size, options.get<AttentionOptions>());
    if (s.batch <= 0 || s.heads <= 0 || s.head_dim <= 0)
      throw InputError("attention dimensions (batch, heads, seq, head dim) must be positive");
    const auto tensor =
        checked_mul(checked_mul(checked_mul(s.batch, s.heads, "attention size"), s.seq, "attention size"), s.head_dim,
                    "attention size");
    HostFootprint f;
    f.elements = checked_mul(tensor, 4, "attention size");  // Q, K, V, O
    f.output_bytes = checked_mul(tensor, es, "attention output bytes");
    // Workspace, the larger of: openmp's packed K^T and V in the arithmetic type (fp32 for
    // 16-bit inputs), and openblas's S x S scores of one batch x head (fp32/fp64).
    const std::int64_t arithmetic_bytes = std::max<std::int64_t>(es, 4);
    const std::int64_t packed =
        checked_mul(checked_mul(tensor, 2, "attention workspace"), arithmetic_bytes, "attention workspace");
    const std::int64_t scores =
        checked_mul(checked_mul(s.seq, s.seq, "attention scores"), arithmetic_bytes, "attention scores");
    f.output_bytes = checked_add(f.output_bytes, std::max(packed, scores), "attention bytes");
    f.twin_inputs = checked_mul(tensor, 3, "attention size");  // the exact twin's Q, K, V
    return f;
  };
  return w;
}

}  // namespace mlbench
