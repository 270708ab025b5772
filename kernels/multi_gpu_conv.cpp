// Convolution over several GPUs. Filters start on rank 0 and are broadcast (ncclBroadcast).
//  - batch >= GPUs: split by batch. Each rank holds its images and convolves them; rank 0's
//    images come first and are written in place, the others' outputs are sent to rank 0.
//  - batch < GPUs (batch 1): split by output rows (kernels/multi_gpu_partition.h). Each rank
//    holds a zero-padded slab with the input rows it owns, receives its halo rows from their
//    owners (packed per transfer, ncclSend/ncclRecv, unpacked into the slab), convolves the slab
//    with padding 0 and sends its band of output rows to rank 0, which places them.
// Each rank convolves with cuDNN when mlbench is built with cuDNN, else with the hand-written
// kernel. cuDNN's algorithm is chosen as the single-GPU cudnn backend chooses it: measured by
// cudnnFindConvolutionForwardAlgorithmEx on rank 0's part, FMA math only, then the fastest one
// every rank can run whose whole gathered output passes verification.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/convolution.h"
#include "kernels/multi_gpu.h"
#include "kernels/conv2d_tiled.h"
#include "kernels/multi_gpu_partition.h"
#include "kernels/multi_gpu_variant.h"
#if MLBENCH_HAVE_CUDNN
#include "kernels/cudnn_convolution.h"
#endif

namespace mlbench::kernels {

namespace {

// One rank's convolution of its part, enqueued on the rank's stream: forward() and describe().
class TiledConvEngine {
 public:
  TiledConvEngine(const ConvShape& shape, Precision precision, int device, cudaStream_t stream)
      : plan_(plan_conv2d_tiled(shape, precision == Precision::fp64, device)),
        fp64_(precision == Precision::fp64),
        stream_(stream) {}
  void forward(const void* input, const void* weights, void* output) {
    if (fp64_) {
      launch_conv2d_tiled<double>(plan_, static_cast<const double*>(input), static_cast<const double*>(weights),
                                  static_cast<double*>(output), stream_);
    } else {
      launch_conv2d_tiled<float>(plan_, static_cast<const float*>(input), static_cast<const float*>(weights),
                                 static_cast<float*>(output), stream_);
    }
  }
  std::string describe() const { return "mlbench cuda " + plan_.describe(); }

 private:
  Conv2dPlan plan_;
  bool fp64_;
  cudaStream_t stream_;
};

#if MLBENCH_HAVE_CUDNN
class CudnnConvEngine {
 public:
  // `allocate` provides the workspace on the rank's device; `free_bytes` is that device's free
  // memory. Starts on IMPLICIT_GEMM (no workspace, every shape) until use() picks the search's.
  CudnnConvEngine(const ConvShape& s, Precision precision, cudaStream_t stream,
                  const std::function<void*(std::size_t)>& allocate, std::size_t free_bytes)
      : fp64_(precision == Precision::fp64) {
    const cudnnDataType_t type = fp64_ ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    // FMA math: the fp32 result must not silently come from TF32 tensor cores.
    cudnn_ = std::make_unique<CudnnConvolution>(s, type, type, CUDNN_FMA_MATH, stream);
    // Room for the hungriest algorithm, up to a quarter of free memory: the search may pick any.
    workspace_capacity_ = std::min(largest_forward_workspace(*cudnn_), free_bytes / 4);
    if (workspace_capacity_ > 0) workspace_ = allocate(workspace_capacity_);
  }
  // cuDNN's measured candidates for this part, on this rank's buffers (fastest first, FMA math).
  std::vector<cudnnConvolutionFwdAlgoPerf_t> find(const void* input, const void* weights, void* output) const {
    std::vector<cudnnConvolutionFwdAlgoPerf_t> fma;
    for (const auto& c : find_forward_algorithms(*cudnn_, fp64_ ? Precision::fp64 : Precision::fp32, input, weights,
                                                 output, workspace_, workspace_capacity_))
      if (fp64_ || c.mathType == CUDNN_FMA_MATH) fma.push_back(c);
    return fma;
  }
  // Selects `c` for this part, or says why this part cannot run it.
  std::optional<std::string> use(const cudnnConvolutionFwdAlgoPerf_t& c) {
    std::size_t bytes = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(cudnn_->handle, cudnn_->x, cudnn_->w, cudnn_->conv, cudnn_->y, c.algo,
                                                &bytes) != CUDNN_STATUS_SUCCESS)
      return std::string("not supported for this GPU's part");
    if (bytes > workspace_capacity_) return fmt::format("needs {} bytes of workspace on this GPU", bytes);
    MLBENCH_CUDA_CHECK(cudnnSetConvolutionMathType(cudnn_->conv, c.mathType));
    algo_ = c.algo;
    workspace_bytes_ = bytes;
    return std::nullopt;
  }
  void forward(const void* input, const void* weights, void* output) {
    // cuDNN takes alpha and beta in the compute type: double for fp64, float otherwise.
    const double alpha64 = 1.0, beta64 = 0.0;
    const float alpha32 = 1.0f, beta32 = 0.0f;
    const void* alpha = fp64_ ? static_cast<const void*>(&alpha64) : &alpha32;
    const void* beta = fp64_ ? static_cast<const void*>(&beta64) : &beta32;
    MLBENCH_CUDA_CHECK(cudnnConvolutionForward(cudnn_->handle, alpha, cudnn_->x, input, cudnn_->w, weights,
                                               cudnn_->conv, algo_, workspace_, workspace_bytes_, beta, cudnn_->y,
                                               output));
  }
  std::string describe() const { return std::string("cuDNN ") + cudnn_algorithm_name(algo_) + " fma"; }

 private:
  bool fp64_;
  std::unique_ptr<CudnnConvolution> cudnn_;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  void* workspace_ = nullptr;
  std::size_t workspace_capacity_ = 0, workspace_bytes_ = 0;
};
using RankConvEngine = CudnnConvEngine;
#else
using RankConvEngine = TiledConvEngine;
#endif

class MultiGpuConvVariant final : public NcclVariant {
 public:
  MultiGpuConvVariant(const ConvProblem& p, const ExecutionConfig& config, ConvSplit split)
      : NcclVariant(config, p.precision(), p.output_precision(), {&p.input(), &p.weights()}, p.output_size()),
        s_(p.shape()),
        by_batch_(split == ConvSplit::batch || (split == ConvSplit::automatic && s_.batch >= ranks())) {
    // Across processes (mpi/gpu_ranks.cpp) only one rank, rank 0 alone, is built for the
    // convolution: its halo and gather stages assume one process drives every GPU.
    if (static_cast<int>(mine().size()) != ranks())
      throw std::runtime_error("the nccl convolution across several MPI ranks is not built (docs/cluster.md)");
    if (by_batch_ && s_.batch < ranks())
      throw std::invalid_argument(
          fmt::format("a split by batch needs an image per GPU: {} images, {} GPUs", s_.batch, ranks()));
    const std::size_t weight_bytes = count(s_.filters * s_.channels * s_.kernel * s_.kernel) * element_bytes();
    for (int r = 0; r < ranks(); ++r) {
      weights_.push_back(allocate(r, weight_bytes, "the filters"));
      if (r > 0) poison(r, weights_.back(), weight_bytes);  // filled by the broadcast alone
    }
    engines_.resize(static_cast<std::size_t>(ranks()));
    if (by_batch_) {
      prepare_batch_split();
    } else {
      prepare_row_split();
    }
    upload_inputs();  // resident for kernel-mode runs
    synchronize();
#if MLBENCH_HAVE_CUDNN
    choose_cudnn_algorithm(p);
#endif
    std::string engine;
    for (const auto& e : engines_)
      if (e) engine = e->describe();
    notes_.emplace_back("compute", engine);
  }

  ~MultiGpuConvVariant() override {
    drain();
    for (std::size_t r = 0; r < engines_.size(); ++r) {
      cudaSetDevice(device(static_cast<int>(r)));
      engines_[r].reset();
    }
    drain();
  }

 private:
  static std::size_t count(std::int64_t v) { return static_cast<std::size_t>(v); }

  std::unique_ptr<RankConvEngine> make_engine(int r, const ConvShape& part) {
    cudaStream_t stream = on(r);
#if MLBENCH_HAVE_CUDNN
    std::size_t free_bytes = 0, total_bytes = 0;
    MLBENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    return std::make_unique<CudnnConvEngine>(
        part, precision(), stream, [this, r](std::size_t bytes) { return allocate(r, bytes, "the cuDNN workspace"); },
        free_bytes);
#else
    return std::make_unique<TiledConvEngine>(part, precision(), device(r), stream);
#endif
  }

#if MLBENCH_HAVE_CUDNN
  // The single-GPU cudnn backend's choice, over the ranks: cuDNN measures its algorithms on rank
  // 0's part (its own buffers, after one run on IMPLICIT_GEMM has exchanged the halos), then each
  // candidate, fastest first, runs on every rank and is kept if the gathered output passes
  // verification. FFT and Winograd trade per-output accuracy for speed: the fastest is not
  // always one whose result would be accepted.
  void choose_cudnn_algorithm(const ConvProblem& p) {
    run(TimingMode::kernel);
    on(0);
    const std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates =
        engines_[0]->find(by_batch_ ? input_[0] : slab_[0], weights_[0], part_output_[0]);
    synchronize();
    if (candidates.empty())
      throw std::runtime_error(fmt::format("cuDNN found no FMA-math forward algorithm for {}", p.shape_label()));
    HostBuffer trial(p.output_precision(), p.output_size());
    auto try_everywhere = [&](const cudnnConvolutionFwdAlgoPerf_t& c) -> std::optional<std::string> {
      for (int r = 0; r < ranks(); ++r) {
        if (!engines_[static_cast<std::size_t>(r)]) continue;  // more GPUs than output rows
        if (auto why = engines_[static_cast<std::size_t>(r)]->use(c)) return fmt::format("GPU {}: {}", device(r), *why);
      }
      return trial_run_failure(p, trial);  // the output gathered from every rank
    };
    const VerifiedAlgorithm verified = first_verified_algorithm(candidates, try_everywhere);
    poison_output();
    if (!verified.rejected.empty())
      notes_.emplace_back("rejected_algorithms", fmt::format("{}", fmt::join(verified.rejected, "; ")));
  }
#endif

  // ---- split by batch ----
  void prepare_batch_split() {
    images_ = split_evenly(s_.batch, ranks());
    const std::size_t e = element_bytes();
    std::vector<std::string> split;
    for (int r = 0; r < ranks(); ++r) {
      const Range& images = images_[static_cast<std::size_t>(r)];
      input_.push_back(allocate(r, count(images.size()) * image_elements() * e, "its images"));
      part_output_.push_back(r == 0 ? static_cast<void*>(output())
                                    : allocate(r, count(images.size()) * output_image_elements() * e, "its outputs"));
      ConvShape part = s_;
      part.batch = images.size();
      engines_[static_cast<std::size_t>(r)] = make_engine(r, part);
      split.push_back(std::to_string(images.size()));
    }
    notes_.emplace_back("split", fmt::format("batch: {} images", fmt::join(split, " + ")));
    notes_.emplace_back("communication",
                        fmt::format("ncclBroadcast filters, ncclSend/Recv outputs to GPU {}", device(0)));
  }

  // ---- split by output rows, with halos ----
  void prepare_row_split() {
    parts_ = split_conv_rows(s_, ranks());
    transfers_ = halo_transfers(parts_);
    const std::size_t e = element_bytes();
    const std::size_t wp = padded_width();
    std::vector<std::string> split;
    for (int r = 0; r < ranks(); ++r) {
      const ConvRowPart& part = parts_[static_cast<std::size_t>(r)];
      split.push_back(std::to_string(part.out_rows.size()));
      if (part.out_rows.empty()) {  // more GPUs than output rows
        slab_.push_back(nullptr);
        part_output_.push_back(nullptr);
        continue;
      }
      const std::size_t slab_bytes = input_planes() * count(part.slab_rows) * wp * e;
      void* slab = slab_.emplace_back(allocate(r, slab_bytes, "its slab of input rows"));
      // Zeros: the padding rows and columns, which nothing overwrites.
      MLBENCH_CUDA_CHECK(cudaMemsetAsync(slab, 0, slab_bytes, on(r)));
      part_output_.push_back(
          allocate(r, output_planes() * count(part.out_rows.size()) * out_width() * e, "its band of output rows"));
      ConvShape slab_shape = s_;
      slab_shape.height = part.slab_rows;
      slab_shape.width = static_cast<std::int64_t>(wp);
      slab_shape.pad = 0;
      engines_[static_cast<std::size_t>(r)] = make_engine(r, slab_shape);
    }
    std::int64_t halo_rows = 0;
    for (const HaloTransfer& t : transfers_) {
      const std::size_t bytes = input_planes() * count(t.rows.size()) * wp * e;
      send_stage_.push_back(allocate(t.from, bytes, "a halo send buffer"));
      recv_stage_.push_back(allocate(t.to, bytes, "a halo receive buffer"));
      // The halo rows are NaN until the exchange fills them: a missing transfer fails verification.
      const ConvRowPart& to = parts_[static_cast<std::size_t>(t.to)];
      for (std::size_t plane = 0; plane < input_planes(); ++plane) {
        auto* row0 = static_cast<std::byte*>(slab_[static_cast<std::size_t>(t.to)]) +
                     ((plane * count(to.slab_rows)) + count(t.rows.begin - to.slab_top)) * wp * e;
        poison(t.to, row0, count(t.rows.size()) * wp * e);
      }
      halo_rows += t.rows.size();
    }
    for (int r = 1; r < ranks(); ++r) {
      const ConvRowPart& part = parts_[static_cast<std::size_t>(r)];
      gather_stage_.push_back(part.out_rows.empty()
                                  ? nullptr
                                  : allocate(0, output_planes() * count(part.out_rows.size()) * out_width() * e,
                                             "a buffer for another GPU's output rows"));
    }
    notes_.emplace_back("split", fmt::format("output rows: {} (halo {} rows in {} transfers)", fmt::join(split, " + "),
                                             halo_rows, transfers_.size()));
    notes_.emplace_back(
        "communication",
        fmt::format("ncclBroadcast filters, ncclSend/Recv halo rows, ncclSend/Recv output rows to GPU {}", device(0)));
  }

  void upload_inputs() override {
    const std::size_t e = element_bytes();
    if (by_batch_) {
      for (int r = 0; r < ranks(); ++r) {
        const Range& images = images_[static_cast<std::size_t>(r)];
        MLBENCH_CUDA_CHECK(cudaMemcpyAsync(input_[static_cast<std::size_t>(r)],
                                           pinned_input(0) + count(images.begin) * image_elements() * e,
                                           count(images.size()) * image_elements() * e, cudaMemcpyHostToDevice, on(r)));
      }
    } else {
      for (int r = 0; r < ranks(); ++r) {
        const ConvRowPart& part = parts_[static_cast<std::size_t>(r)];
        if (part.owned_rows.empty()) continue;
        copy_plane_rows({slab_[static_cast<std::size_t>(r)], padded_width(), count(part.slab_rows),
                         count(part.owned_rows.begin - part.slab_top), count(s_.pad)},
                        {pinned_input(0), count(s_.width), count(s_.height), count(part.owned_rows.begin), 0},
                        count(part.owned_rows.size()), count(s_.width), input_planes(), e, cudaMemcpyHostToDevice,
                        on(r));
      }
    }
    MLBENCH_CUDA_CHECK(cudaMemcpyAsync(weights_[0], pinned_input(1),
                                       count(s_.filters * s_.channels * s_.kernel * s_.kernel) * e,
                                       cudaMemcpyHostToDevice, on(0)));
  }

  void launch() override {
    const ncclDataType_t type = nccl_type(precision());
    const std::size_t weight_count = count(s_.filters * s_.channels * s_.kernel * s_.kernel);
    begin_communication();
    nccl_group([&] {
      for (int r = 0; r < ranks(); ++r)
        MLBENCH_CUDA_CHECK(ncclBroadcast(weights_[static_cast<std::size_t>(r)], weights_[static_cast<std::size_t>(r)],
                                         weight_count, type, 0, comm(r), on(r)));
    });
    end_communication();
    if (by_batch_) {
      run_batch_split(type);
    } else {
      run_row_split(type);
    }
  }

  void run_batch_split(ncclDataType_t type) {
    for (int r = 0; r < ranks(); ++r) {
      on(r);
      engines_[static_cast<std::size_t>(r)]->forward(input_[static_cast<std::size_t>(r)],
                                                     weights_[static_cast<std::size_t>(r)],
                                                     part_output_[static_cast<std::size_t>(r)]);
    }
    const std::size_t e = element_bytes();
    begin_communication();
    nccl_group([&] {
      for (int r = 1; r < ranks(); ++r) {
        const Range& images = images_[static_cast<std::size_t>(r)];
        const std::size_t elements = count(images.size()) * output_image_elements();
        MLBENCH_CUDA_CHECK(ncclSend(part_output_[static_cast<std::size_t>(r)], elements, type, 0, comm(r), on(r)));
        MLBENCH_CUDA_CHECK(
            ncclRecv(output() + count(images.begin) * output_image_elements() * e, elements, type, r, comm(0), on(0)));
      }
    });
    end_communication();
  }

  void run_row_split(ncclDataType_t type) {
    const std::size_t e = element_bytes();
    const std::size_t wp = padded_width();
    // Halo exchange: pack the rows (every plane) on the owner, send, unpack into the slab.
    begin_communication();
    for (std::size_t t = 0; t < transfers_.size(); ++t) {
      const HaloTransfer& h = transfers_[t];
      const ConvRowPart& from = parts_[static_cast<std::size_t>(h.from)];
      copy_plane_rows(
          {send_stage_[t], wp, count(h.rows.size()), 0, 0},
          {slab_[static_cast<std::size_t>(h.from)], wp, count(from.slab_rows), count(h.rows.begin - from.slab_top), 0},
          count(h.rows.size()), wp, input_planes(), e, cudaMemcpyDeviceToDevice, on(h.from));
    }
    nccl_group([&] {
      for (std::size_t t = 0; t < transfers_.size(); ++t) {
        const HaloTransfer& h = transfers_[t];
        const std::size_t elements = input_planes() * count(h.rows.size()) * wp;
        MLBENCH_CUDA_CHECK(ncclSend(send_stage_[t], elements, type, h.to, comm(h.from), on(h.from)));
        MLBENCH_CUDA_CHECK(ncclRecv(recv_stage_[t], elements, type, h.from, comm(h.to), on(h.to)));
      }
    });
    for (std::size_t t = 0; t < transfers_.size(); ++t) {
      const HaloTransfer& h = transfers_[t];
      const ConvRowPart& to = parts_[static_cast<std::size_t>(h.to)];
      copy_plane_rows(
          {slab_[static_cast<std::size_t>(h.to)], wp, count(to.slab_rows), count(h.rows.begin - to.slab_top), 0},
          {recv_stage_[t], wp, count(h.rows.size()), 0, 0}, count(h.rows.size()), wp, input_planes(), e,
          cudaMemcpyDeviceToDevice, on(h.to));
    }
    end_communication();

    for (int r = 0; r < ranks(); ++r) {
      if (!engines_[static_cast<std::size_t>(r)]) continue;
      on(r);
      engines_[static_cast<std::size_t>(r)]->forward(slab_[static_cast<std::size_t>(r)],
                                                     weights_[static_cast<std::size_t>(r)],
                                                     part_output_[static_cast<std::size_t>(r)]);
    }
    // Rank 0's own band goes into place first (a copy on the GPU, not communication).
    place_band(0, part_output_[0]);
    begin_communication();
    nccl_group([&] {
      for (int r = 1; r < ranks(); ++r) {
        const ConvRowPart& part = parts_[static_cast<std::size_t>(r)];
        if (part.out_rows.empty()) continue;
        const std::size_t elements = output_planes() * count(part.out_rows.size()) * out_width();
        MLBENCH_CUDA_CHECK(ncclSend(part_output_[static_cast<std::size_t>(r)], elements, type, 0, comm(r), on(r)));
        MLBENCH_CUDA_CHECK(ncclRecv(gather_stage_[static_cast<std::size_t>(r) - 1], elements, type, r, comm(0), on(0)));
      }
    });
    for (int r = 1; r < ranks(); ++r)
      if (!parts_[static_cast<std::size_t>(r)].out_rows.empty())
        place_band(r, gather_stage_[static_cast<std::size_t>(r) - 1]);
    end_communication();
  }

  // Copies rank r's band of output rows, held contiguously on rank 0 at `band`, into the output.
  void place_band(int r, const void* band) {
    const ConvRowPart& part = parts_[static_cast<std::size_t>(r)];
    if (part.out_rows.empty()) return;
    copy_plane_rows({output(), out_width(), count(s_.out_height()), count(part.out_rows.begin), 0},
                    {band, out_width(), count(part.out_rows.size()), 0, 0}, count(part.out_rows.size()), out_width(),
                    output_planes(), element_bytes(), cudaMemcpyDeviceToDevice, on(0));
  }

  std::size_t image_elements() const { return count(s_.channels * s_.height * s_.width); }
  std::size_t output_image_elements() const { return count(s_.filters * s_.out_height() * s_.out_width()); }
  std::size_t input_planes() const { return count(s_.batch * s_.channels); }
  std::size_t output_planes() const { return count(s_.batch * s_.filters); }
  std::size_t padded_width() const { return count(s_.width + 2 * s_.pad); }
  std::size_t out_width() const { return count(s_.out_width()); }

  ConvShape s_;
  bool by_batch_;
  std::vector<void*> weights_;
  std::vector<std::unique_ptr<RankConvEngine>> engines_;  // nullptr: a rank with no output rows
  std::vector<void*> part_output_;                        // rank 0 (batch split): the output itself
  // batch split
  std::vector<Range> images_;
  std::vector<void*> input_;
  // row split
  std::vector<ConvRowPart> parts_;
  std::vector<HaloTransfer> transfers_;
  std::vector<void*> slab_, send_stage_, recv_stage_, gather_stage_;
};

}  // namespace

std::unique_ptr<Variant> make_multi_gpu_conv(const Problem& problem, const ExecutionConfig& config, ConvSplit split) {
  return std::make_unique<MultiGpuConvVariant>(problem_cast<ConvProblem>(problem), config, split);
}

}  // namespace mlbench::kernels
