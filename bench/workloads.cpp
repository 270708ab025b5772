#include "bench/workloads.h"

#include <algorithm>

#include <fmt/format.h>

namespace mlbench {

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> list = {
      {"gemm", {}, "dense matrix multiply C = A*B", "M = N = K = size"},
      {"convolution", {"conv"}, "2D convolution forward, NCHW, filters KCRR", "size x size image"},
      {"reduction", {"reduce"}, "sum / max / mean over a tensor or per row", "size x size tensor"},
      {"attention",
       {"sdpa"},
       "scaled dot-product attention forward O = softmax(Q K^T / sqrt(D)) V",
       "sequence length S"},
      {"softmax", {}, "row-wise softmax (max subtracted) of a rows x size tensor", "row length (columns)"},
      {"layernorm",
       {"layer-norm"},
       "row-wise layer normalization forward with gamma, beta, epsilon",
       "row length (columns)"},
  };
  return list;
}

const WorkloadInfo* find_workload(const std::string& name_or_alias) {
  for (const auto& w : workloads()) {
    if (w.name == name_or_alias) return &w;
    if (std::find(w.aliases.begin(), w.aliases.end(), name_or_alias) != w.aliases.end()) return &w;
  }
  return nullptr;
}

std::string precision_refusal(const std::string& workload, Precision precision) {
  const WorkloadInfo* info = find_workload(workload);
  if (info == nullptr || precision != Precision::tf32 || info->name == "gemm" || info->name == "convolution") return "";
  return "takes fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)";
}

namespace {
ConvShape conv_shape(std::int64_t size, const ConvolutionOptions& o) {
  ConvShape s;
  s.batch = o.batch;
  s.channels = o.channels;
  s.height = size;
  s.width = size;
  s.filters = o.filters;
  s.kernel = o.kernel;
  s.stride = o.stride;
  s.pad = o.pad < 0 ? ConvShape::same_padding(o.kernel) : o.pad;
  return s;
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

std::int64_t row_count(std::int64_t cols, Precision precision, const RowOptions& o) {
  if (o.rows < 0) throw InputError(fmt::format("rows must be positive, got {}", o.rows));
  return o.rows > 0 ? o.rows : rows_for_bytes(cols, precision, kDefaultRowTensorBytes);
}

void check_not_tf32(Precision precision, const std::string& workload) {
  if (precision == Precision::tf32)
    throw InputError(workload + " takes fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
}

void check_size(std::int64_t size) {
  if (size <= 0) throw InputError(fmt::format("size must be positive, got {}", size));
}
}  // namespace

std::unique_ptr<Problem> make_problem(const std::string& workload, std::int64_t size, Precision precision,
                                      std::uint64_t seed, const WorkloadOptions& options) {
  check_size(size);
  const WorkloadInfo* info = find_workload(workload);
  if (info == nullptr) throw InputError("unknown workload '" + workload + "'");
  if (info->name == "gemm") return std::make_unique<GemmProblem>(GemmShape{size, size, size}, precision, seed, size);
  if (info->name == "convolution")
    return std::make_unique<ConvProblem>(conv_shape(size, options.convolution), precision, seed, size);
  if (info->name == "attention")
    return std::make_unique<AttentionProblem>(attention_shape(size, options.attention), precision, seed, size);
  if (info->name == "softmax")
    return std::make_unique<SoftmaxProblem>(SoftmaxShape{row_count(size, precision, options.row), size}, precision,
                                            seed, size);
  if (info->name == "layernorm")
    return std::make_unique<LayerNormProblem>(
        LayerNormShape{row_count(size, precision, options.row), size, options.row.epsilon}, precision, seed, size);
  ReductionShape shape{size, size, options.reduction.op, options.reduction.axis};
  return std::make_unique<ReductionProblem>(shape, precision, seed, size);
}

std::size_t estimate_host_bytes(const std::string& workload, std::int64_t size, Precision precision,
                                const WorkloadOptions& options) {
  check_size(size);
  const WorkloadInfo* info = find_workload(workload);
  if (info == nullptr) throw InputError("unknown workload '" + workload + "'");
  const auto es = static_cast<std::int64_t>(element_size(precision));
  std::int64_t elements = 0;      // problem buffers, in the input type
  std::int64_t output_bytes = 0;  // the copy read back for verification
  std::int64_t widened = 0;       // fp32 elements a CPU backend widens 16-bit inputs into
  std::int64_t twin_inputs = 0;   // the exact twin's inputs (Problem::exact_twin) ...
  std::int64_t twin_copies = 0;   // ... and the int8 copies its check reads
  if (info->name == "gemm") {
    const std::int64_t square = checked_mul(size, size, "GEMM size");
    elements = checked_mul(square, 3, "GEMM size");  // A, B, C
    output_bytes = checked_mul(square, es, "GEMM output bytes");
    widened = square;  // B
    twin_inputs = twin_copies = checked_mul(square, 2, "GEMM size");
  } else if (info->name == "convolution") {
    const ConvShape s = conv_shape(size, options.convolution);
    validate_shape(s, precision);
    const auto in = s.batch * s.channels * s.height * s.width;
    const auto weights = s.filters * s.channels * s.kernel * s.kernel;
    const auto out = s.batch * s.filters * s.out_height() * s.out_width();
    elements = in + out + weights;
    output_bytes = checked_mul(out, es, "convolution output bytes");
    widened = in + weights;
    twin_inputs = twin_copies = in + weights;
  } else if (info->name == "attention") {
    check_not_tf32(precision, "attention");
    const AttentionShape s = attention_shape(size, options.attention);
    if (s.batch <= 0 || s.heads <= 0 || s.head_dim <= 0)
      throw InputError("attention dimensions (batch, heads, seq, head dim) must be positive");
    const auto tensor =
        checked_mul(checked_mul(checked_mul(s.batch, s.heads, "attention size"), s.seq, "attention size"), s.head_dim,
                    "attention size");
    elements = checked_mul(tensor, 4, "attention size");  // Q, K, V, O
    output_bytes = checked_mul(tensor, es, "attention output bytes");
    // Workspace, the larger of: openmp's packed K^T and V in the arithmetic type (fp32 for
    // 16-bit inputs), and openblas's S x S scores of one batch x head (fp32/fp64).
    const std::int64_t arithmetic_bytes = std::max<std::int64_t>(es, 4);
    const std::int64_t packed =
        checked_mul(checked_mul(tensor, 2, "attention workspace"), arithmetic_bytes, "attention workspace");
    const std::int64_t scores =
        checked_mul(checked_mul(s.seq, s.seq, "attention scores"), arithmetic_bytes, "attention scores");
    output_bytes = checked_add(output_bytes, std::max(packed, scores), "attention bytes");
    twin_inputs = checked_mul(tensor, 3, "attention size");  // the exact twin's Q, K, V
  } else if (info->name == "softmax" || info->name == "layernorm") {
    check_not_tf32(precision, info->name);
    const auto rows = row_count(size, precision, options.row);
    const auto tensor = checked_mul(rows, size, "row tensor");
    elements = checked_add(checked_mul(tensor, 2, "row tensor"), 2 * size, "row tensor");  // x, y, gamma, beta
    output_bytes = checked_mul(tensor, es, "row tensor output bytes");
    twin_inputs = checked_add(tensor, 2 * size, "row tensor");  // the exact twin's x, gamma, beta
  } else {
    if (precision == Precision::tf32)
      throw InputError("reductions take fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
    elements = checked_mul(size, size, "reduction input") + size;
    twin_inputs = checked_mul(size, size, "reduction input");
    output_bytes = checked_mul(size, 4, "reduction output bytes");  // fp32 results, one per row at most
  }
  std::int64_t bytes = checked_mul(elements, es, "problem bytes");
  bytes = checked_add(bytes, output_bytes, "problem bytes");
  bytes =
      checked_add(bytes, checked_add(checked_mul(twin_inputs, es, "exact twin bytes"), twin_copies, "exact twin bytes"),
                  "problem bytes");
  if (is_16bit(precision)) bytes = checked_add(bytes, checked_mul(widened, 4, "fp32 workspace bytes"), "problem bytes");
  return static_cast<std::size_t>(bytes);
}

}  // namespace mlbench
