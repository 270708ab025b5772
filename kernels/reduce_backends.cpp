// Reduction variants: the hand-written two-pass / per-row kernels and CUB. Inputs fp32, fp64,
// bf16 or fp16; bf16/fp16 are reduced in fp32 into an fp32 output (Problem::output_precision()).
#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "bench/reduction.h"
#include "kernels/backends.h"
#include "kernels/cub_reduce.h"
#include "kernels/cuda_check.h"
#include "kernels/element_types.h"
#include "kernels/gpu_variant.h"
#include "kernels/reduce.h"

namespace mlbench::kernels {

namespace {

// What a 16-bit input's reduction does, for the report.
void note_widening(const ReductionProblem& p, std::vector<std::pair<std::string, std::string>>& notes,
                   const std::string& how) {
  if (is_16bit(p.precision())) notes.emplace_back("compute", to_string(p.precision()) + " " + how);
}

class CudaReduceVariant final : public GpuVariant {
 public:
  CudaReduceVariant(const ReductionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input()}, p.output_size()), shape_(p.shape()) {
    if (shape_.axis == ReduceAxis::all) {
      partial_count_ = reduce_all_partial_count(shape_.rows * shape_.cols, device());
      partials_ = allocate_scratch(static_cast<std::size_t>(partial_count_) * element_size(p.output_precision()),
                                   "the per-block partial results");
      notes_.emplace_back("passes", "2 (" + std::to_string(partial_count_) + " block partials)");
    }
    note_widening(p, notes_, "loaded 8 per 16-byte load, converted to fp32; fp32 accumulation and output");
  }

 private:
  void launch() override {
    with_element_type(precision(), [&](auto tag) { run_typed<decltype(tag)>(); });
  }
  template <class T>
  void run_typed() {
    using Acc = accumulator_t<T>;
    if (shape_.axis == ReduceAxis::all) {
      launch_reduce_all<T>(input<T>(0), shape_.rows * shape_.cols, shape_.op, static_cast<Acc*>(partials_),
                           partial_count_, output<Acc>(), stream());
    } else {
      launch_reduce_rows<T>(input<T>(0), shape_.rows, shape_.cols, shape_.op, output<Acc>(), stream(), device());
    }
  }
  ReductionShape shape_;
  void* partials_ = nullptr;
  int partial_count_ = 0;
};

class CubReduceVariant final : public GpuVariant {
 public:
  CubReduceVariant(const ReductionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), p.output_precision(), {&p.input()}, p.output_size()), shape_(p.shape()) {
    if (shape_.axis == ReduceAxis::rows) {
      std::vector<std::int64_t> offsets(static_cast<std::size_t>(shape_.rows) + 1);
      for (std::size_t i = 0; i < offsets.size(); ++i) offsets[i] = static_cast<std::int64_t>(i) * shape_.cols;
      offsets_ = static_cast<std::int64_t*>(allocate_scratch(offsets.size() * sizeof(std::int64_t), "row offsets"));
      MLBENCH_CUDA_CHECK(
          cudaMemcpy(offsets_, offsets.data(), offsets.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice));
    }
    // Temp storage sized and allocated once, here.
    reduce(nullptr, temp_bytes_);
    temp_ = allocate_scratch(std::max<std::size_t>(temp_bytes_, 1), "CUB temp storage");
    const bool all = shape_.axis == ReduceAxis::all;
    if (!is_16bit(p.precision())) {
      notes_.emplace_back("algorithm", all ? "cub::DeviceReduce" : "cub::DeviceSegmentedReduce");
    } else {
      notes_.emplace_back("algorithm", all ? "cub::DeviceReduce::TransformReduce"
                                           : "cub::DeviceSegmentedReduce over a thrust::transform_iterator");
      note_widening(p, notes_, "converted to fp32 as CUB reads them; fp32 accumulation and output");
    }
  }

 private:
  void launch() override {
    std::size_t bytes = temp_bytes_;
    reduce(temp_, bytes);
  }
  void reduce(void* temp, std::size_t& bytes) {
    with_element_type(precision(), [&](auto tag) {
      using T = decltype(tag);
      cub_reduce<T>(temp, bytes, input<T>(0), output<accumulator_t<T>>(), offsets_, shape_, stream());
    });
  }
  ReductionShape shape_;
  std::int64_t* offsets_ = nullptr;
  void* temp_ = nullptr;
  std::size_t temp_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Variant> make_cuda_reduction(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CudaReduceVariant>(problem_cast<ReductionProblem>(problem), config);
}

std::unique_ptr<Variant> make_cub_reduction(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<CubReduceVariant>(problem_cast<ReductionProblem>(problem), config);
}

}  // namespace mlbench::kernels
