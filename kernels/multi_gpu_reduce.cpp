// Reduction over several GPUs, each holding a contiguous part of the tensor.
//  - axis all: each rank reduces its elements to one partial (CUB; sum for sum and mean), then
//    ncclAllReduce combines the partials on every rank: ncclSum, ncclMax, and for mean a
//    pre-multiplied sum (ncclRedOpCreatePreMulSum with 1/n: sum / n in the one collective).
//  - axis rows: each rank reduces its rows (CUB segmented reduce, mean included) and the row
//    results are collected on rank 0 with ncclSend/ncclRecv.
#include <fmt/format.h>

#include <limits>
#include <numeric>

#include "bench/reduction.h"
#include "kernels/cub_reduce.h"
#include "kernels/multi_gpu.h"
#include "kernels/multi_gpu_partition.h"
#include "kernels/multi_gpu_variant.h"

namespace mlbench::kernels {

namespace {

class MultiGpuReduceVariant final : public NcclVariant {
 public:
  MultiGpuReduceVariant(const ReductionProblem& p, const ExecutionConfig& config)
      : NcclVariant(config, p.precision(), p.output_precision(), {&p.input()}, p.output_size()),
        shape_(p.shape()),
        all_(shape_.axis == ReduceAxis::all) {
    const std::size_t e = element_bytes();
    const std::int64_t items = all_ ? shape_.rows * shape_.cols : shape_.rows;  // elements or rows
    parts_ = split_evenly(items, ranks());
    std::vector<std::string> split;
    for (const Range& part : parts_) split.push_back(std::to_string(part.size()));
    const auto every_rank = static_cast<std::size_t>(ranks());
    input_.assign(every_rank, nullptr);
    partial_.assign(every_rank, nullptr);
    result_.assign(every_rank, nullptr);
    temp_.assign(every_rank, nullptr);
    offsets_.assign(every_rank, nullptr);
    temp_bytes_.assign(every_rank, 0);
    for (int r : mine()) {
      const auto i = static_cast<std::size_t>(r);
      const Range& part = parts_[i];
      const std::size_t elements =
          static_cast<std::size_t>(part.size()) * (all_ ? 1 : static_cast<std::size_t>(shape_.cols));
      input_[i] = allocate(r, std::max<std::size_t>(elements, 1) * e, "its part of the tensor");
      ReductionShape local = part_shape(r);
      std::int64_t* offsets = nullptr;
      if (!all_ && !part.empty()) {
        std::vector<std::int64_t> host(static_cast<std::size_t>(part.size()) + 1);
        for (std::size_t row = 0; row < host.size(); ++row) host[row] = static_cast<std::int64_t>(row) * shape_.cols;
        offsets = static_cast<std::int64_t*>(allocate(r, host.size() * sizeof(std::int64_t), "row offsets"));
        MLBENCH_CUDA_CHECK(
            cudaMemcpy(offsets, host.data(), host.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice));
      }
      offsets_[i] = offsets;
      if (all_) {
        // The partial and, except on rank 0 (whose result is the output), the all-reduced result.
        partial_[i] = allocate(r, e, "the partial result");
        result_[i] = r == 0 ? static_cast<void*>(output()) : allocate(r, e, "the reduced result");
        if (part.empty()) set_identity(r);  // more GPUs than elements: this rank adds nothing
      } else {
        void* rows_out = nullptr;  // rank 0 writes its rows (the first ones) in place
        if (r == 0) {
          rows_out = output();
        } else if (!part.empty()) {
          rows_out = allocate(r, static_cast<std::size_t>(part.size()) * e, "its row results");
        }
        result_[i] = rows_out;
      }
      // CUB sizes its temporary storage when called without it.
      std::size_t temp_bytes = 0;
      if (!part.empty()) {
        on(r);
        if (precision() == Precision::fp64) {
          cub_reduce<double>(nullptr, temp_bytes, nullptr, nullptr, offsets, local, nullptr);
        } else {
          cub_reduce<float>(nullptr, temp_bytes, nullptr, nullptr, offsets, local, nullptr);
        }
      }
      temp_bytes_[i] = std::max<std::size_t>(temp_bytes, 1);
      temp_[i] = allocate(r, temp_bytes_[i], "CUB temporary storage");
    }
    if (all_ && shape_.op == ReduceOp::mean) {
      // Mean = (sum of partial sums) / n inside the all-reduce: each rank's input times 1/n.
      mean_ops_.assign(every_rank, ncclRedOp_t{});
      for (int r : mine()) {
        ncclRedOp_t& op = mean_ops_[static_cast<std::size_t>(r)];
        double scale64 = 1.0 / static_cast<double>(shape_.rows * shape_.cols);
        float scale32 = static_cast<float>(scale64);
        void* scale = precision() == Precision::fp64 ? static_cast<void*>(&scale64) : static_cast<void*>(&scale32);
        on(r);
        MLBENCH_CUDA_CHECK(
            ncclRedOpCreatePreMulSum(&op, scale, nccl_type(precision()), ncclScalarHostImmediate, comm(r)));
      }
    }
    upload_inputs();  // resident for kernel-mode runs
    synchronize();
    notes_.emplace_back("split", fmt::format("{}: {}", all_ ? "elements" : "rows", fmt::join(split, " + ")));
    notes_.emplace_back("compute", all_ ? "cub::DeviceReduce per GPU" : "cub::DeviceSegmentedReduce per GPU");
    notes_.emplace_back("communication",
                        all_ ? fmt::format("ncclAllReduce of one value per GPU ({})", shape_.op == ReduceOp::max ? "max"
                                                                                      : shape_.op == ReduceOp::sum
                                                                                          ? "sum"
                                                                                          : "sum pre-multiplied by 1/n")
                             : fmt::format("ncclSend/Recv row results to rank 0's GPU {}", device(lead())));
  }

  ~MultiGpuReduceVariant() override {
    drain();
    if (!mean_ops_.empty())
      for (int r : mine()) {
        cudaSetDevice(device(r));
        ncclRedOpDestroy(mean_ops_[static_cast<std::size_t>(r)], comm(r));
      }
    drain();
  }

 private:
  // The part of rank r as a reduction of its own: its elements (axis all; sum for mean, which
  // the all-reduce divides) or its rows.
  ReductionShape part_shape(int r) const {
    ReductionShape local = shape_;
    const Range& part = parts_[static_cast<std::size_t>(r)];
    if (all_) {
      local.rows = 1;
      local.cols = part.size();
      if (local.op == ReduceOp::mean) local.op = ReduceOp::sum;
    } else {
      local.rows = part.size();
    }
    return local;
  }

  void set_identity(int r) {
    const double identity64 = shape_.op == ReduceOp::max ? -std::numeric_limits<double>::infinity() : 0.0;
    const float identity32 = static_cast<float>(identity64);
    const void* value = precision() == Precision::fp64 ? static_cast<const void*>(&identity64) : &identity32;
    on(r);
    MLBENCH_CUDA_CHECK(
        cudaMemcpy(partial_[static_cast<std::size_t>(r)], value, element_bytes(), cudaMemcpyHostToDevice));
  }

  void upload_inputs() override {
    const std::size_t e = element_bytes();
    const std::size_t per_item = all_ ? 1 : static_cast<std::size_t>(shape_.cols);
    for (int r : mine()) {
      const Range& part = parts_[static_cast<std::size_t>(r)];
      MLBENCH_CUDA_CHECK(cudaMemcpyAsync(
          input_[static_cast<std::size_t>(r)], pinned_input(0) + static_cast<std::size_t>(part.begin) * per_item * e,
          static_cast<std::size_t>(part.size()) * per_item * e, cudaMemcpyHostToDevice, on(r)));
    }
  }

  void launch() override {
    for (int r : mine()) reduce_part(r);
    const ncclDataType_t type = nccl_type(precision());
    begin_communication();
    nccl_group([&] {
      for (int r = 0; r < ranks(); ++r) {
        const auto i = static_cast<std::size_t>(r);
        if (all_) {
          if (!drives(r)) continue;
          const ncclRedOp_t op = shape_.op == ReduceOp::max   ? ncclMax
                                 : shape_.op == ReduceOp::sum ? ncclSum
                                                              : mean_ops_[i];
          MLBENCH_CUDA_CHECK(ncclAllReduce(partial_[i], result_[i], 1, type, op, comm(r), on(r)));
        } else if (r > 0 && !parts_[i].empty()) {
          const auto rows = static_cast<std::size_t>(parts_[i].size());
          if (drives(r)) MLBENCH_CUDA_CHECK(ncclSend(result_[i], rows, type, 0, comm(r), on(r)));
          if (drives(0))
            MLBENCH_CUDA_CHECK(ncclRecv(output() + static_cast<std::size_t>(parts_[i].begin) * element_bytes(), rows,
                                        type, r, comm(0), on(0)));
        }
      }
    });
    end_communication();
  }

  void reduce_part(int r) {
    const auto i = static_cast<std::size_t>(r);
    if (parts_[i].empty()) return;
    cudaStream_t stream = on(r);
    const ReductionShape local = part_shape(r);
    void* out = all_ ? partial_[i] : result_[i];
    std::size_t bytes = temp_bytes_[i];
    if (precision() == Precision::fp64) {
      cub_reduce<double>(temp_[i], bytes, static_cast<const double*>(input_[i]), static_cast<double*>(out), offsets_[i],
                         local, stream);
    } else {
      cub_reduce<float>(temp_[i], bytes, static_cast<const float*>(input_[i]), static_cast<float*>(out), offsets_[i],
                        local, stream);
    }
  }

  ReductionShape shape_;
  bool all_;
  std::vector<Range> parts_;
  std::vector<void*> input_, partial_, result_, temp_;
  std::vector<std::int64_t*> offsets_;
  std::vector<std::size_t> temp_bytes_;
  std::vector<ncclRedOp_t> mean_ops_;
};

}  // namespace

std::unique_ptr<Variant> make_multi_gpu_reduction(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<MultiGpuReduceVariant>(problem_cast<ReductionProblem>(problem), config);
}

}  // namespace mlbench::kernels
