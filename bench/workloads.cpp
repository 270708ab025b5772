#include "bench/workloads.h"

#include <algorithm>

#include <fmt/format.h>

namespace mlbench {

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> list = {
      {"gemm", {}, "dense matrix multiply C = A*B", "M = N = K = size"},
      {"convolution", {"conv"}, "2D convolution forward, NCHW, filters KCRR", "size x size image"},
      {"reduction", {"reduce"}, "sum / max / mean over a tensor or per row", "size x size tensor"},
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
  ReductionShape shape{size, size, options.reduction.op, options.reduction.axis};
  return std::make_unique<ReductionProblem>(shape, precision, seed, size);
}

std::size_t estimate_host_bytes(const std::string& workload, std::int64_t size, Precision precision,
                                const WorkloadOptions& options) {
  check_size(size);
  const WorkloadInfo* info = find_workload(workload);
  if (info == nullptr) throw InputError("unknown workload '" + workload + "'");
  const auto es = static_cast<std::int64_t>(element_size(precision));
  std::int64_t elements = 0;       // problem buffers, in the input type
  std::int64_t output_bytes = 0;   // the copy read back for verification
  std::int64_t widened = 0;        // fp32 elements a CPU backend widens 16-bit inputs into
  if (info->name == "gemm") {
    const std::int64_t square = checked_mul(size, size, "GEMM size");
    elements = checked_mul(square, 3, "GEMM size");  // A, B, C
    output_bytes = checked_mul(square, es, "GEMM output bytes");
    widened = square;  // B
  } else if (info->name == "convolution") {
    const ConvShape s = conv_shape(size, options.convolution);
    validate_shape(s, precision);
    const auto in = s.batch * s.channels * s.height * s.width;
    const auto weights = s.filters * s.channels * s.kernel * s.kernel;
    const auto out = s.batch * s.filters * s.out_height() * s.out_width();
    elements = in + out + weights;
    output_bytes = checked_mul(out, es, "convolution output bytes");
    widened = in + weights;
  } else {
    if (precision == Precision::tf32)
      throw InputError("reductions take fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
    elements = checked_mul(size, size, "reduction input") + size;
    output_bytes = checked_mul(size, 4, "reduction output bytes");  // fp32 results, one per row at most
  }
  std::int64_t bytes = checked_mul(elements, es, "problem bytes");
  bytes = checked_add(bytes, output_bytes, "problem bytes");
  if (is_16bit(precision)) bytes = checked_add(bytes, checked_mul(widened, 4, "fp32 workspace bytes"), "problem bytes");
  return static_cast<std::size_t>(bytes);
}

}  // namespace mlbench
