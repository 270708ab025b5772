// GEMM over several GPUs: rows of A split across the ranks (resident), B broadcast from rank 0
// with ncclBroadcast, each rank multiplies its rows with cuBLAS (pedantic fp32 / fp64), and the
// rows of C are collected on rank 0 with ncclSend/ncclRecv (any split, even or not; rank 0's
// rows are written in place).
#include <cublas_v2.h>
#include <fmt/format.h>

#include "bench/gemm.h"
#include "kernels/multi_gpu.h"
#include "kernels/multi_gpu_partition.h"
#include "kernels/multi_gpu_variant.h"

namespace mlbench::kernels {

namespace {

class MultiGpuGemmVariant final : public NcclVariant {
 public:
  MultiGpuGemmVariant(const GemmProblem& p, const ExecutionConfig& config)
      : NcclVariant(config, p.precision(), p.output_precision(), {&p.a(), &p.b()}, p.output_size()),
        shape_(p.shape()),
        rows_(split_evenly(shape_.m, ranks())) {
    const std::size_t e = element_bytes();
    const auto k = static_cast<std::size_t>(shape_.k), n = static_cast<std::size_t>(shape_.n);
    std::vector<std::string> split;
    for (const Range& rows : rows_) split.push_back(std::to_string(rows.size()));
    const auto every_rank = static_cast<std::size_t>(ranks());
    a_.assign(every_rank, nullptr);
    b_.assign(every_rank, nullptr);
    c_.assign(every_rank, nullptr);
    handles_.assign(every_rank, nullptr);
    for (int r : mine()) {
      const auto i = static_cast<std::size_t>(r);
      const auto rows = static_cast<std::size_t>(rows_[i].size());
      a_[i] = allocate(r, rows * k * e, "its rows of A");
      b_[i] = allocate(r, k * n * e, "B");
      // Rank 0's rows come first in C: it writes them in place.
      c_[i] = r == 0 ? output() : allocate(r, rows * n * e, "its rows of C");
      on(r);
      MLBENCH_CUDA_CHECK(cublasCreate(&handles_[i]));
      MLBENCH_CUDA_CHECK(cublasSetStream(handles_[i], on(r)));
      // Pedantic: no TF32 or other reduced-precision shortcut, as the single-GPU cublas backend.
      MLBENCH_CUDA_CHECK(cublasSetMathMode(handles_[i], CUBLAS_PEDANTIC_MATH));
      if (r > 0) poison(r, b_[i], k * n * e);  // filled by the broadcast alone
    }
    upload_inputs();  // resident for kernel-mode runs
    synchronize();
    notes_.emplace_back("split", fmt::format("rows of A: {}", fmt::join(split, " + ")));
    notes_.emplace_back("compute", precision() == Precision::fp64 ? "cublasDgemm" : "cublasSgemm, pedantic (no tf32)");
    notes_.emplace_back("communication", fmt::format("ncclBroadcast B ({:.3g} MB to each other GPU), ncclSend/Recv "
                                                     "C rows to rank 0's GPU {} ({:.3g} MB)",
                                                     static_cast<double>(k * n * e) / 1e6, device(lead()),
                                                     static_cast<double>(shape_.m - rows_[0].size()) *
                                                         static_cast<double>(n * e) / 1e6));
  }

  ~MultiGpuGemmVariant() override {
    drain();
    for (int r : mine()) {
      if (handles_[static_cast<std::size_t>(r)] == nullptr) continue;
      cudaSetDevice(device(r));
      cublasDestroy(handles_[static_cast<std::size_t>(r)]);
    }
    drain();
  }

 private:
  void upload_inputs() override {
    const std::size_t e = element_bytes();
    const auto k = static_cast<std::size_t>(shape_.k), n = static_cast<std::size_t>(shape_.n);
    for (int r : mine()) {
      const Range& rows = rows_[static_cast<std::size_t>(r)];
      MLBENCH_CUDA_CHECK(cudaMemcpyAsync(a_[static_cast<std::size_t>(r)],
                                         pinned_input(0) + static_cast<std::size_t>(rows.begin) * k * e,
                                         static_cast<std::size_t>(rows.size()) * k * e, cudaMemcpyHostToDevice, on(r)));
    }
    if (drives(0))
      MLBENCH_CUDA_CHECK(cudaMemcpyAsync(b_[0], pinned_input(1), k * n * e, cudaMemcpyHostToDevice, on(0)));
  }

  void launch() override {
    const ncclDataType_t type = nccl_type(precision());
    const std::size_t e = element_bytes();
    const auto k = static_cast<std::size_t>(shape_.k), n = static_cast<std::size_t>(shape_.n);

    begin_communication();
    nccl_group([&] {
      for (int r : mine()) {
        void* b = b_[static_cast<std::size_t>(r)];
        MLBENCH_CUDA_CHECK(ncclBroadcast(b, b, k * n, type, 0, comm(r), on(r)));
      }
    });
    end_communication();

    for (int r : mine()) multiply(r);

    begin_communication();
    nccl_group([&] {
      for (int r = 1; r < ranks(); ++r) {
        const Range& rows = rows_[static_cast<std::size_t>(r)];
        if (rows.empty()) continue;
        const std::size_t count = static_cast<std::size_t>(rows.size()) * n;
        if (drives(r)) MLBENCH_CUDA_CHECK(ncclSend(c_[static_cast<std::size_t>(r)], count, type, 0, comm(r), on(r)));
        if (drives(0))
          MLBENCH_CUDA_CHECK(
              ncclRecv(output() + static_cast<std::size_t>(rows.begin) * n * e, count, type, r, comm(0), on(0)));
      }
    });
    end_communication();
  }

  // This rank's rows: C_r = A_r B. cuBLAS is column-major: row-major C = A B is column-major
  // C^T = B^T A^T, so B comes first.
  void multiply(int r) {
    const int rows = static_cast<int>(rows_[static_cast<std::size_t>(r)].size());
    if (rows == 0) return;
    on(r);
    const int n = static_cast<int>(shape_.n), k = static_cast<int>(shape_.k);
    cublasHandle_t handle = handles_[static_cast<std::size_t>(r)];
    void* a = a_[static_cast<std::size_t>(r)];
    void* b = b_[static_cast<std::size_t>(r)];
    void* c = c_[static_cast<std::size_t>(r)];
    if (precision() == Precision::fp64) {
      const double alpha = 1.0, beta = 0.0;
      MLBENCH_CUDA_CHECK(cublasDgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, rows, k, &alpha, static_cast<double*>(b), n,
                                     static_cast<double*>(a), k, &beta, static_cast<double*>(c), n));
    } else {
      const float alpha = 1.0f, beta = 0.0f;
      MLBENCH_CUDA_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, rows, k, &alpha, static_cast<float*>(b), n,
                                     static_cast<float*>(a), k, &beta, static_cast<float*>(c), n));
    }
  }

  GemmShape shape_;
  std::vector<Range> rows_;
  std::vector<void*> a_, b_, c_;
  std::vector<cublasHandle_t> handles_;
};

}  // namespace

std::unique_ptr<Variant> make_multi_gpu_gemm(const Problem& problem, const ExecutionConfig& config) {
  return std::make_unique<MultiGpuGemmVariant>(problem_cast<GemmProblem>(problem), config);
}

}  // namespace mlbench::kernels
