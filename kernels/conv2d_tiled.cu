// 2D convolution forward (cross-correlation), NCHW input, KCRR filters; fp32 (and tf32 values),
// fp64, and bf16/fp16 inputs and output with fp32 accumulation.
//
// Idea: direct convolution with input reuse in shared memory. A block of 32 x 8 threads owns
// an output tile of (32*PX) columns x 8 rows of one image and a group of KG filters. Per stage
// it copies CC input channels of the tile plus its halo ((8-1)*stride+R rows x
// (32*PX-1)*stride+R columns, zeros in the padding) and those channels' KG filters into
// shared memory; every thread then accumulates KG filters x PX pixels in registers, so each
// staged input value feeds KG*PX fused multiply-adds and each output is written exactly once.
// A thread's PX pixels are 32 columns apart: a warp reads consecutive shared-memory words
// (no bank conflicts at stride 1) and writes 128 contiguous bytes per filter (coalesced).
// Filters are stored [c][r][s][k] so that a 16-byte broadcast read gives V filters' weights.
// bf16/fp16: elements are widened to fp32 as they are copied into shared memory, so the
// compute loop is the fp32 one (same shared layout, same register blocking); outputs are
// rounded to the 16-bit type once, when written.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "kernels/conv2d_tiled.h"
#include "kernels/conv_implicit_gemm.h"
#include "kernels/cuda_check.h"
#include "kernels/device_vectors.cuh"
#include "kernels/element_types.cuh"

namespace mlbench::kernels {

namespace {

constexpr int kThreadsX = 32;  // one warp across the tile's columns
constexpr int kThreadsY = 8;   // output rows per block
constexpr int kThreads = kThreadsX * kThreadsY;

struct ConvArgs {
  int channels, height, width, filters, kernel, stride, pad, out_height, out_width;
  int channels_per_stage, tile_height, tile_width, filter_groups;
};

// T: the stored element (float, double, __half, __nv_bfloat16); Acc: what shared memory and
// the accumulators hold (double for fp64, float otherwise).
template <class T, int PX, int KG>
__global__ void __launch_bounds__(kThreads, 2)
    conv2d_tiled_kernel(const T* __restrict__ input, const T* __restrict__ weights, T* __restrict__ output,
                        ConvArgs p) {
  using Acc = accumulator_t<T>;
  using Vec = typename Vec16<Acc>::type;
  constexpr int V = Vec16<Acc>::size;
  static_assert(KG % V == 0, "filters per thread must fill whole 16-byte vectors");
  extern __shared__ __align__(16) unsigned char shared_raw[];
  const int taps = p.kernel * p.kernel;
  Acc* w_stage = reinterpret_cast<Acc*>(shared_raw);           // [CC][R][R][KG]
  Acc* in_stage = w_stage + p.channels_per_stage * taps * KG;  // [CC][tile_h][tile_w]
  const int tile_plane = p.tile_height * p.tile_width;

  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int n = blockIdx.z / p.filter_groups;
  const int k0 = (blockIdx.z % p.filter_groups) * KG;
  const int ox0 = blockIdx.x * (kThreadsX * PX), oy0 = blockIdx.y * kThreadsY;
  const int ix0 = ox0 * p.stride - p.pad, iy0 = oy0 * p.stride - p.pad;

  Acc acc[KG][PX] = {};
  for (int c0 = 0; c0 < p.channels; c0 += p.channels_per_stage) {
    const int cc = min(p.channels_per_stage, p.channels - c0);
    // Load tile: CC channels of input + halo (zeros outside the image) and their filters,
    // widened to Acc.
    for (int i = tid; i < cc * tile_plane; i += kThreads) {
      const int c = i / tile_plane, y = (i % tile_plane) / p.tile_width, x = i % p.tile_width;
      const int gy = iy0 + y, gx = ix0 + x;
      in_stage[i] =
          (gy >= 0 && gy < p.height && gx >= 0 && gx < p.width)
              ? widen(input[((static_cast<long long>(n) * p.channels + c0 + c) * p.height + gy) * p.width + gx])
              : Acc(0);
    }
    for (int i = tid; i < cc * taps * KG; i += kThreads) {
      const int k = i % KG, tap = (i / KG) % taps, c = i / (KG * taps);
      w_stage[i] = (k0 + k < p.filters)
                       ? widen(weights[(static_cast<long long>(k0 + k) * p.channels + c0 + c) * taps + tap])
                       : Acc(0);
    }
    // Every thread's share of the stage is stored before any thread reads another's.
    __syncthreads();

    // Compute in registers: every tap of every staged channel updates KG x PX accumulators.
    for (int c = 0; c < cc; ++c) {
      for (int r = 0; r < p.kernel; ++r) {
        const Acc* in_row = in_stage + c * tile_plane + (ty * p.stride + r) * p.tile_width + tx * p.stride;
        const Acc* w_row = w_stage + (c * taps + r * p.kernel) * KG;
        for (int s = 0; s < p.kernel; ++s) {
          Acc x[PX];
#pragma unroll
          for (int px = 0; px < PX; ++px) x[px] = in_row[px * kThreadsX * p.stride + s];
#pragma unroll
          for (int kv = 0; kv < KG / V; ++kv) {
            const Vec w = *reinterpret_cast<const Vec*>(w_row + s * KG + kv * V);  // broadcast
#pragma unroll
            for (int e = 0; e < V; ++e) {
#pragma unroll
              for (int px = 0; px < PX; ++px) acc[kv * V + e][px] += element<const Vec, const Acc>(w, e) * x[px];
            }
          }
        }
      }
    }
    // Advance: the next stage overwrites what this one read.
    __syncthreads();
  }

  // Write back: each output once; a warp stores 32 consecutive elements per filter and pixel slot.
  const int oy = oy0 + ty;
  if (oy >= p.out_height) return;
#pragma unroll
  for (int k = 0; k < KG; ++k) {
    if (k0 + k >= p.filters) break;
    T* out_row = output + ((static_cast<long long>(n) * p.filters + k0 + k) * p.out_height + oy) * p.out_width;
#pragma unroll
    for (int px = 0; px < PX; ++px) {
      const int ox = ox0 + tx + px * kThreadsX;
      if (ox < p.out_width) out_row[ox] = narrow<T>(acc[k][px]);
    }
  }
}

// Filters per thread that keep a thread within 128 registers without spilling (16-bit inputs
// accumulate in fp32 registers, so they count as fp32 here and in the shared-memory sizes).
constexpr int max_filters_per_thread(bool fp64, int pixels) { return fp64 ? (pixels == 4 ? 4 : 8) : 64 / pixels; }

// Shared memory holds Acc: 8 bytes per element for fp64, 4 for every other precision.
std::size_t shared_bytes_for(const ConvShape& s, int pixels, int filters, int channels, bool fp64) {
  const std::int64_t tile_h = (kThreadsY - 1) * s.stride + s.kernel;
  const std::int64_t tile_w = (kThreadsX * pixels - 1) * s.stride + s.kernel;
  const std::int64_t per_channel = tile_h * tile_w + s.kernel * s.kernel * filters;
  return static_cast<std::size_t>(per_channel * channels) * (fp64 ? 8 : 4);
}

int optin_shared_bytes(int device) {
  int bytes = 0;
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return bytes;
}

template <class T, int PX, int KG>
void launch_instance(const Conv2dPlan& plan, const ConvArgs& args, const T* in, const T* w, T* out,
                     cudaStream_t stream) {
  auto kernel = conv2d_tiled_kernel<T, PX, KG>;
  if (plan.shared_bytes > 48 * 1024) {
    MLBENCH_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(plan.shared_bytes)));
  }
  kernel<<<plan.grid, plan.block, plan.shared_bytes, stream>>>(in, w, out, args);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

template <class T, int PX>
void launch_px(const Conv2dPlan& plan, const ConvArgs& args, const T* in, const T* w, T* out, cudaStream_t stream) {
  constexpr int kMaxKG = max_filters_per_thread(std::is_same_v<T, double>, PX);
  switch (plan.filters_per_thread) {
    case 4: return launch_instance<T, PX, 4>(plan, args, in, w, out, stream);
    case 8:
      if constexpr (kMaxKG >= 8) return launch_instance<T, PX, 8>(plan, args, in, w, out, stream);
      break;
    case 16:
      if constexpr (kMaxKG >= 16) return launch_instance<T, PX, 16>(plan, args, in, w, out, stream);
      break;
    case 32:
      if constexpr (kMaxKG >= 32) return launch_instance<T, PX, 32>(plan, args, in, w, out, stream);
      break;
  }
  throw std::invalid_argument("conv2d: no kernel for plan " + plan.describe());
}

}  // namespace

std::string Conv2dPlan::describe() const {
  if (implicit_gemm) return "implicit GEMM, 64 filters x 128 pixels per block";
  if (register_filters) return describe_register_filters(shape);
  return fmt::format("{}x{} outputs x {} filters per block, {} channels per stage, {} B shared",
                     kThreadsX * pixels_per_thread, kThreadsY, filters_per_thread, channels_per_stage, shared_bytes);
}

std::string conv2d_tiled_unsupported_reason(const ConvShape& shape, bool fp64, int device) {
  const std::size_t one_channel = shared_bytes_for(shape, 4, 4, 1, fp64);
  if (one_channel > static_cast<std::size_t>(optin_shared_bytes(device))) {
    return fmt::format("one channel's input tile needs {} B of shared memory, more than the device's {} B", one_channel,
                       optin_shared_bytes(device));
  }
  if (shape.batch * ((shape.filters + 3) / 4) > 65535 || shape.out_height() / kThreadsY + 1 > 65535) {
    return "grid too large for the kernel (batch x filter groups or output rows)";
  }
  if (shape.out_width() > (std::int64_t{1} << 30) || shape.out_height() > (std::int64_t{1} << 30)) {
    return "image too large";
  }
  return {};
}

Conv2dPlan plan_conv2d_tiled(const ConvShape& shape, bool fp64, int device, ConvAlgorithm algorithm,
                             bool float_elements) {
  if (algorithm == ConvAlgorithm::register_filters ||
      (algorithm == ConvAlgorithm::automatic && float_elements && !fp64 &&
       conv2d_register_filters_unsupported_reason(shape).empty())) {
    if (fp64) throw std::invalid_argument("register-filter convolution takes fp32 elements (not fp64)");
    if (auto why = conv2d_register_filters_unsupported_reason(shape); !why.empty())
      throw std::invalid_argument("register-filter convolution: " + why);
    Conv2dPlan plan;
    plan.shape = shape;
    plan.register_filters = true;
    return plan;
  }
  if (auto why = conv2d_tiled_unsupported_reason(shape, fp64, device); !why.empty()) throw std::invalid_argument(why);
  Conv2dPlan plan;
  plan.shape = shape;
  // Implicit GEMM pays off once the reduction depth (C*R*R) and the filter count are GEMM-like;
  // its indices are int.
  const std::int64_t depth = shape.channels * shape.kernel * shape.kernel;
  const bool int_sized = shape.batch * shape.out_height() * shape.out_width() < (std::int64_t{1} << 31) &&
                         depth * shape.filters < (std::int64_t{1} << 31);
  if (algorithm == ConvAlgorithm::implicit_gemm && (fp64 || !int_sized)) {
    throw std::invalid_argument(
        "implicit GEMM convolution takes fp32, tf32, bf16 or fp16 (not fp64), with int-sized pixel and filter counts");
  }
  plan.implicit_gemm = algorithm == ConvAlgorithm::implicit_gemm || (algorithm == ConvAlgorithm::automatic && !fp64 &&
                                                                     int_sized && depth >= 64 && shape.filters >= 32);
  if (plan.implicit_gemm) return plan;
  const std::int64_t ow = shape.out_width(), oh = shape.out_height();
  const int pixels = ow <= 32 ? 1 : ow <= 64 ? 2 : 4;
  // Fewest filters per thread covering K, within the register budget ...
  const int max_kg = max_filters_per_thread(fp64, pixels);
  int kg = 4;
  while (kg < shape.filters && kg < max_kg) kg *= 2;
  // ... but enough blocks to fill the GPU several times over (one short wave wastes SMs).
  int sm_count = 0;
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  const std::int64_t tiles =
      ((ow + kThreadsX * pixels - 1) / (kThreadsX * pixels)) * ((oh + kThreadsY - 1) / kThreadsY) * shape.batch;
  while (kg > 8 && tiles * ((shape.filters + kg - 1) / kg) < 6 * sm_count) kg /= 2;
  return plan_conv2d_direct(shape, fp64, device, pixels, kg);
}

Conv2dPlan plan_conv2d_direct(const ConvShape& shape, bool fp64, int device, int pixels_per_thread,
                              int filters_per_thread) {
  if (auto why = conv2d_tiled_unsupported_reason(shape, fp64, device); !why.empty()) throw std::invalid_argument(why);
  const int px = pixels_per_thread, kg = filters_per_thread;
  if ((px != 1 && px != 2 && px != 4) || (kg != 4 && kg != 8 && kg != 16 && kg != 32) ||
      kg > max_filters_per_thread(fp64, px)) {
    throw std::invalid_argument(fmt::format("conv2d: no direct kernel for {} pixels x {} filters per thread", px, kg));
  }
  Conv2dPlan plan;
  plan.shape = shape;
  plan.pixels_per_thread = px;
  plan.filters_per_thread = kg;
  const std::int64_t ow = shape.out_width(), oh = shape.out_height();
  const std::size_t per_channel = shared_bytes_for(shape, px, kg, 1, fp64);
  const std::size_t budget =
      std::max<std::size_t>(48 * 1024, std::min<std::size_t>(per_channel, optin_shared_bytes(device)));
  plan.channels_per_stage =
      static_cast<int>(std::clamp<std::int64_t>(static_cast<std::int64_t>(budget / per_channel), 1, shape.channels));
  plan.shared_bytes = per_channel * plan.channels_per_stage;
  if (plan.shared_bytes > static_cast<std::size_t>(optin_shared_bytes(device))) {
    throw std::invalid_argument("conv2d: " + plan.describe() + " exceeds the shared memory of a block");
  }
  const std::int64_t filter_groups = (shape.filters + kg - 1) / kg;
  if (shape.batch * filter_groups > 65535) throw std::invalid_argument("conv2d: batch x filter groups > 65535");
  plan.grid =
      dim3(static_cast<unsigned>((ow + kThreadsX * px - 1) / (kThreadsX * px)),
           static_cast<unsigned>((oh + kThreadsY - 1) / kThreadsY), static_cast<unsigned>(shape.batch * filter_groups));
  plan.block = dim3(kThreadsX, kThreadsY);
  return plan;
}

template <class T>
void launch_conv2d_tiled(const Conv2dPlan& plan, const T* input, const T* weights, T* output, cudaStream_t stream) {
  if (plan.register_filters) {
    if constexpr (std::is_same_v<T, float>) {
      return launch_conv2d_register_filters(plan.shape, input, weights, output, stream);
    } else {
      throw std::invalid_argument("register-filter convolution has only an fp32 kernel");
    }
  }
  if (plan.implicit_gemm) {
    if constexpr (!std::is_same_v<T, double>) {
      return launch_conv_implicit_gemm<T>(plan, input, weights, output, stream);
    } else {
      throw std::invalid_argument("implicit GEMM convolution has no fp64 kernel");
    }
  }
  const ConvShape& s = plan.shape;
  ConvArgs args{};
  args.channels = static_cast<int>(s.channels);
  args.height = static_cast<int>(s.height);
  args.width = static_cast<int>(s.width);
  args.filters = static_cast<int>(s.filters);
  args.kernel = static_cast<int>(s.kernel);
  args.stride = static_cast<int>(s.stride);
  args.pad = static_cast<int>(s.pad);
  args.out_height = static_cast<int>(s.out_height());
  args.out_width = static_cast<int>(s.out_width());
  args.channels_per_stage = plan.channels_per_stage;
  args.tile_height = (kThreadsY - 1) * args.stride + args.kernel;
  args.tile_width = (kThreadsX * plan.pixels_per_thread - 1) * args.stride + args.kernel;
  args.filter_groups = (args.filters + plan.filters_per_thread - 1) / plan.filters_per_thread;
  using D = device_element_t<T>;
  const D* in = device_pointer(input);
  const D* w = device_pointer(weights);
  D* out = device_pointer(output);
  switch (plan.pixels_per_thread) {
    case 1: return launch_px<D, 1>(plan, args, in, w, out, stream);
    case 2: return launch_px<D, 2>(plan, args, in, w, out, stream);
    case 4: return launch_px<D, 4>(plan, args, in, w, out, stream);
  }
  throw std::invalid_argument("conv2d: no kernel for plan " + plan.describe());
}

template void launch_conv2d_tiled<float>(const Conv2dPlan&, const float*, const float*, float*, cudaStream_t);
template void launch_conv2d_tiled<double>(const Conv2dPlan&, const double*, const double*, double*, cudaStream_t);
template void launch_conv2d_tiled<bfloat16>(const Conv2dPlan&, const bfloat16*, const bfloat16*, bfloat16*,
                                            cudaStream_t);
template void launch_conv2d_tiled<float16>(const Conv2dPlan&, const float16*, const float16*, float16*, cudaStream_t);

}  // namespace mlbench::kernels
