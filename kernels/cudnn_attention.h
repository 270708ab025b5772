// cuDNN's fused scaled-dot-product attention (flash attention fprop) through the backend graph
// API of cuDNN 9 (cudnn_graph.h; no cudnn-frontend): the operation graph Q K^T -> scale ->
// [causal mask] -> softmax -> P V, its engine from cuDNN's heuristics, and an executable plan.
// Include only where MLBENCH_HAVE_CUDNN is set.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/attention_flash.h"

namespace mlbench::kernels {

class CudnnAttention {
 public:
  // Builds the graph for [B][H][S][D] tensors of `io_type` (CUDNN_DATA_BFLOAT16 or HALF) and
  // finalizes the first plan that cuDNN accepts; throws GpuError with every attempt's reason
  // when none does. `stats` (B*H*S floats, device) is needed by graph forms that output the
  // row log-sum-exp; allocate_stats is called for it on demand.
  CudnnAttention(cudnnHandle_t handle, const AttentionDims& dims, std::int64_t batch, cudnnDataType_t io_type,
                 const std::function<void*(std::size_t)>& allocate_stats);
  ~CudnnAttention();
  CudnnAttention(const CudnnAttention&) = delete;
  CudnnAttention& operator=(const CudnnAttention&) = delete;

  std::size_t workspace_bytes() const { return workspace_bytes_; }
  // Which graph form and engine cuDNN accepted (for the report).
  const std::string& description() const { return description_; }
  // Enqueues the attention on the handle's stream.
  void run(const void* q, const void* k, const void* v, void* o, void* workspace);

 private:
  struct Plan;
  std::unique_ptr<Plan> plan_;
  cudnnHandle_t handle_;
  std::size_t workspace_bytes_ = 0;
  std::string description_;
  float scale_ = 0;
  float mask_value_ = -1e30f;
  void* stats_ = nullptr;
};

}  // namespace mlbench::kernels
