// The product's instances of the register-filter convolution (kernel:
// kernels/conv2d_register_filters.cuh): 4 rows per thread x 8 row groups per block, one or two
// filters per warp, C 1 or 3. Other blockings are timed by `mlbench_tune_conv`
// (tuning/conv2d_register_filters_variants.cu).
#include <fmt/format.h>

#include <stdexcept>

#include "kernels/conv2d_register_filters.cuh"
#include "kernels/conv2d_tiled.h"

namespace mlbench::kernels {

namespace {

constexpr int kRowsPerThread = 4;
constexpr int kRowGroups = 8;

// Two filters per warp when K > 8 (8 warps at K = 16), else one (K warps).
template <int C>
void launch_default(const ConvShape& s, const float* in, const float* w, float* out, cudaStream_t stream) {
  if (s.filters > kMaxWarps)
    return launch_register_filters_instance<C, 2, kRowsPerThread, kRowGroups>(s, in, w, out, stream);
  return launch_register_filters_instance<C, 1, kRowsPerThread, kRowGroups>(s, in, w, out, stream);
}

}  // namespace

std::string conv2d_register_filters_unsupported_reason(const ConvShape& s) {
  if (s.stride != 1) return "stride is not 1";
  if (s.kernel != kR) return "filter size is not 3x3";
  if (s.channels != 1 && s.channels != 3) return "channels not 1 or 3";
  if (s.filters > kMaxFilters) return fmt::format("more than {} filters", kMaxFilters);
  if (s.pad > 4) return "padding above 4";
  // Width bound: row offsets within a block ((row0 + t) * width, t < 32) stay in int.
  if (s.height > (1 << 28) || s.width > (1 << 25) || s.out_height() / (kRowsPerThread * kRowGroups) + 1 > 65535 ||
      s.batch > 65535) {
    return "image or batch too large for the kernel's grid";
  }
  return {};
}

std::string describe_register_filters(const ConvShape& s) {
  const int fw = s.filters > kMaxWarps ? 2 : 1;
  return fmt::format("register filters, {}x{} outputs x {} filters per block (4x{} pixels x {} filters per thread)",
                     kColumns, kRowsPerThread * kRowGroups, (s.filters + fw - 1) / fw * fw, kRowsPerThread, fw);
}

void launch_conv2d_register_filters(const ConvShape& s, const float* input, const float* weights, float* output,
                                    cudaStream_t stream) {
  if (auto why = conv2d_register_filters_unsupported_reason(s); !why.empty())
    throw std::invalid_argument("register-filter convolution: " + why);
  if (s.channels == 1) return launch_default<1>(s, input, weights, output, stream);
  return launch_default<3>(s, input, weights, output, stream);
}

}  // namespace mlbench::kernels
