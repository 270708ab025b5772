// Instances of the register-filter convolution kernel (kernels/conv2d_register_filters.cuh) with
// blockings the product does not pick (it runs 4 rows per thread x 8 row groups per block; these
// were measured slower on the main job, docs/performance.md). All take C = 3 and two filters per
// warp (9..16 filters), the main job's first layer.
#include <stdexcept>

#include "kernels/conv2d_register_filters.cuh"
#include "kernels/conv2d_tiled.h"
#include "tuning/conv2d_register_filters_variants.h"

namespace mlbench::tuning {

std::vector<RegisterFilterBlocking> register_filter_tuning_blockings() { return {{4, 4}, {4, 2}, {2, 8}, {6, 3}}; }

std::string register_filter_variant_unsupported_reason(const ConvShape& s) {
  if (s.channels != 3) return "the tuning blockings are instantiated for 3 channels";
  if (s.filters <= 8) return "the tuning blockings are instantiated for 9..16 filters (two per warp)";
  return kernels::conv2d_register_filters_unsupported_reason(s);
}

void launch_conv2d_register_filters_variant(const ConvShape& s, RegisterFilterBlocking blocking, const float* in,
                                            const float* w, float* out, cudaStream_t stream) {
  if (auto why = register_filter_variant_unsupported_reason(s); !why.empty())
    throw std::invalid_argument("register-filter variant: " + why);
  using kernels::launch_register_filters_instance;
  const int rows = blocking.rows_per_thread, groups = blocking.row_groups;
  if (rows == 4 && groups == 4) return launch_register_filters_instance<3, 2, 4, 4>(s, in, w, out, stream);
  if (rows == 4 && groups == 2) return launch_register_filters_instance<3, 2, 4, 2>(s, in, w, out, stream);
  if (rows == 2 && groups == 8) return launch_register_filters_instance<3, 2, 2, 8>(s, in, w, out, stream);
  if (rows == 6 && groups == 3) return launch_register_filters_instance<3, 2, 6, 3>(s, in, w, out, stream);
  throw std::invalid_argument("register-filter variant: " + std::to_string(rows) + " rows x " + std::to_string(groups) +
                              " groups is not instantiated");
}

}  // namespace mlbench::tuning
