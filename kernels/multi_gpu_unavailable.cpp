// Built with CUDA but without NCCL (nccl.h or libnccl not found at configure time): the nccl
// backends exist by name and say why they cannot run.
#include <stdexcept>

#include "kernels/multi_gpu.h"

namespace mlbench::kernels {

namespace {
constexpr const char* kNoNccl = "built without NCCL (nccl.h or libnccl not found at configure time)";
}

Availability nccl_availability() { return Availability::no(kNoNccl); }

std::unique_ptr<Variant> make_multi_gpu_gemm(const Problem&, const ExecutionConfig&) {
  throw std::runtime_error(kNoNccl);
}
std::unique_ptr<Variant> make_multi_gpu_conv(const Problem&, const ExecutionConfig&, ConvSplit) {
  throw std::runtime_error(kNoNccl);
}
std::unique_ptr<Variant> make_multi_gpu_reduction(const Problem&, const ExecutionConfig&) {
  throw std::runtime_error(kNoNccl);
}

}  // namespace mlbench::kernels
