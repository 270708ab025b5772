// The workloads mlbench knows and how a Problem is built for each from the user's options.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/attention.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/layernorm.h"
#include "bench/reduction.h"
#include "bench/softmax.h"

namespace mlbench {

struct ConvolutionOptions {
  std::int64_t batch = 1;
  std::int64_t channels = 3;
  std::int64_t filters = 16;
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  std::int64_t pad = -1;  // -1: "same" padding, (kernel - 1) / 2
};

struct ReductionOptions {
  ReduceOp op = ReduceOp::sum;
  ReduceAxis axis = ReduceAxis::all;
};

// --size is the sequence length S.
struct AttentionOptions {
  std::int64_t batch = 1;
  std::int64_t heads = 16;
  std::int64_t head_dim = 128;
  bool causal = false;
};

// Softmax and layer norm: --size is the row length (cols).
struct RowOptions {
  std::int64_t rows = 0;  // 0: as many rows as make the input kDefaultRowTensorBytes
  double epsilon = 1e-5;  // layer norm only
};
inline constexpr std::int64_t kDefaultRowTensorBytes = std::int64_t{256} << 20;

struct WorkloadOptions {
  ConvolutionOptions convolution;
  ReductionOptions reduction;
  AttentionOptions attention;
  RowOptions row;
};

struct WorkloadInfo {
  std::string name;                  // "gemm"
  std::vector<std::string> aliases;  // {"conv"}
  std::string description;
  std::string size_meaning;  // what --size N means for this workload
};

const std::vector<WorkloadInfo>& workloads();
// Resolves a name or alias; nullptr when unknown.
const WorkloadInfo* find_workload(const std::string& name_or_alias);

// Why `workload` takes no inputs of this precision (a predicate: "takes ..."); "" when it takes them. tf32 is a math
// mode of multiplications (GEMM, convolution), not a storage type: reductions, attention, softmax and layer norm refuse
// it (make_problem throws), and `mlbench all --precision tf32` leaves them out.
std::string precision_refusal(const std::string& workload, Precision precision);

// Builds the problem (shape checks, input generation). Throws InputError on a bad shape.
std::unique_ptr<Problem> make_problem(const std::string& workload, std::int64_t size, Precision precision,
                                      std::uint64_t seed, const WorkloadOptions& options);

// Host bytes one variant's run needs at most, computed without allocating: the problem's
// buffers (inputs and reference output), the output read back for verification, and for the
// 16-bit types the fp32 copies the CPU backends widen into (serial GEMM widens all of B,
// serial convolution the input and filters; the other backends need less).
std::size_t estimate_host_bytes(const std::string& workload, std::int64_t size, Precision precision,
                                const WorkloadOptions& options);

}  // namespace mlbench
