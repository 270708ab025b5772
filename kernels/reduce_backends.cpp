// Reduction variants: the hand-written two-pass / per-row kernels and CUB.
#include <numeric>
#include <vector>

#include "bench/reduction.h"
#include "kernels/backends.h"
#include "kernels/cub_reduce.h"
#include "kernels/cuda_check.h"
#include "kernels/gpu_variant.h"
#include "kernels/reduce.h"

namespace mlbench::kernels {

namespace {

class CudaReduceVariant final : public GpuVariant {
 public:
  CudaReduceVariant(const ReductionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), {&p.input()}, p.output_size()), shape_(p.shape()) {
    if (shape_.axis == ReduceAxis::all) {
      partial_count_ = reduce_all_partial_count(shape_.rows * shape_.cols, device());
      partials_ = allocate_scratch(static_cast<std::size_t>(partial_count_) * element_size(p.precision()),
                                   "the per-block partial results");
      notes_.emplace_back("passes", "2 (" + std::to_string(partial_count_) + " block partials)");
    }
  }

 private:
  void launch() override {
    if (precision() == Precision::fp64) {
      run_typed<double>();
    } else {
      run_typed<float>();
    }
  }
  template <class T>
  void run_typed() {
    if (shape_.axis == ReduceAxis::all) {
      launch_reduce_all<T>(input<T>(0), shape_.rows * shape_.cols, shape_.op, static_cast<T*>(partials_),
                           partial_count_, output<T>(), stream());
    } else {
      launch_reduce_rows<T>(input<T>(0), shape_.rows, shape_.cols, shape_.op, output<T>(), stream(), device());
    }
  }
  ReductionShape shape_;
  void* partials_ = nullptr;
  int partial_count_ = 0;
};

class CubReduceVariant final : public GpuVariant {
 public:
  CubReduceVariant(const ReductionProblem& p, const ExecutionConfig& config)
      : GpuVariant(config, p.precision(), {&p.input()}, p.output_size()), shape_(p.shape()) {
    if (shape_.axis == ReduceAxis::rows) {
      std::vector<std::int64_t> offsets(static_cast<std::size_t>(shape_.rows) + 1);
      for (std::size_t i = 0; i < offsets.size(); ++i) offsets[i] = static_cast<std::int64_t>(i) * shape_.cols;
      offsets_ = static_cast<std::int64_t*>(allocate_scratch(offsets.size() * sizeof(std::int64_t), "row offsets"));
      MLBENCH_CUDA_CHECK(cudaMemcpy(offsets_, offsets.data(), offsets.size() * sizeof(std::int64_t),
                                    cudaMemcpyHostToDevice));
    }
    // Temp storage sized and allocated once, here.
    if (precision() == Precision::fp64) {
      cub_reduce<double>(nullptr, temp_bytes_, input<double>(0), output<double>(), offsets_, shape_, stream());
    } else {
      cub_reduce<float>(nullptr, temp_bytes_, input<float>(0), output<float>(), offsets_, shape_, stream());
    }
    temp_ = allocate_scratch(std::max<std::size_t>(temp_bytes_, 1), "CUB temp storage");
    notes_.emplace_back("algorithm", shape_.axis == ReduceAxis::all ? "cub::DeviceReduce" : "cub::DeviceSegmentedReduce");
  }

 private:
  void launch() override {
    std::size_t bytes = temp_bytes_;
    if (precision() == Precision::fp64) {
      cub_reduce<double>(temp_, bytes, input<double>(0), output<double>(), offsets_, shape_, stream());
    } else {
      cub_reduce<float>(temp_, bytes, input<float>(0), output<float>(), offsets_, shape_, stream());
    }
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
