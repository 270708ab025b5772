// mlbench_tune_gemm: every GEMM version, validated then timed (tuning/tuning.h): the product's
// choice (`cuda`), the block tiles of the CUDA-core kernel that only the sweep instantiates, the
// cp.async-pipelined SGEMM, the warp-tiled 256x128 SGEMM, each tile of the tensor-core kernels forced (bf16, fp16: the
// product's tiles, then the two only the sweep instantiates), and cuBLAS as the reference.
//
//   mlbench_tune_gemm                          4096^3 fp32, every version
//   mlbench_tune_gemm --shape 8192 --precision fp32,fp64 --repetitions 50
//   mlbench_tune_gemm --shape 1024,2048,4096,8192 --precision bf16,fp16   (tensor-core tiles vs cuBLAS)
//   mlbench_tune_gemm --validate-only --shape 77x131x45   (what ctest runs)
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench/gemm.h"
#include "kernels/gemm_tensor_core.h"
#include "kernels/gemm_tiled.h"
#include "tuning/gemm_cp_async.h"
#include "tuning/gemm_tensor_core_sweep.h"
#include "tuning/gemm_tile_sweep.h"
#include "tuning/tuning.h"

namespace mlbench::tuning {
namespace {

const GemmShape& shape_of(const Problem& problem) { return dynamic_cast<const GemmProblem&>(problem).shape(); }

template <class T>
Version tile_version(kernels::GemmTileShape tile) {
  Version v;
  v.name = "tile-" + kernels::to_string(tile);
  v.idea = "CUDA-core kernel (kernels/gemm_tiled.cuh) with block tile " + kernels::to_string(tile) +
           " (sweep only; the product runs " + kernels::to_string(kernels::gemm_tiled_tile<T>()) + ")";
  v.prepare = [tile](const Problem& problem) {
    const auto& p = dynamic_cast<const GemmProblem&>(problem);
    return launch_variant(problem, {&p.a(), &p.b()},
                          [tile, s = p.shape()](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
                            launch_gemm_sweep_tile<T>(static_cast<const T*>(in[0]), static_cast<const T*>(in[1]),
                                                      static_cast<T*>(out), s.m, s.n, s.k, tile, stream);
                          });
  };
  return v;
}

// An fp32 version of a cp.async tuning kernel (tuning/gemm_cp_async.h: N and K multiples of 4).
using Fp32Launcher = void (*)(const float*, const float*, float*, std::int64_t, std::int64_t, std::int64_t,
                              cudaStream_t, int, int);
Version cp_async_version(std::string name, std::string idea, Fp32Launcher launch, int bk, int stages) {
  Version v;
  v.name = std::move(name);
  v.idea = std::move(idea);
  v.unsupported = [](const Problem& problem) -> std::string {
    const GemmShape& s = shape_of(problem);
    return kernels::gemm_cp_async_supports(s.m, s.n, s.k) ? "" : "N and K must be multiples of 4";
  };
  v.prepare = [launch, bk, stages](const Problem& problem) {
    const auto& p = dynamic_cast<const GemmProblem&>(problem);
    return launch_variant(
        problem, {&p.a(), &p.b()},
        [launch, bk, stages, s = p.shape()](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
          launch(static_cast<const float*>(in[0]), static_cast<const float*>(in[1]), static_cast<float*>(out), s.m, s.n,
                 s.k, stream, bk, stages);
        });
  };
  return v;
}

Version pipelined_version(int bk, int stages) {
  return cp_async_version("pipelined-128x128x" + std::to_string(bk) + "-s" + std::to_string(stages),
                          "cp.async ring of " + std::to_string(stages) + " shared-memory stages, K step " +
                              std::to_string(bk) + ", A k-contiguous (tuning/gemm_pipelined.cu)",
                          kernels::launch_gemm_pipelined, bk, stages);
}

Version warptiled_version(int bk, int stages) {
  return cp_async_version("warptiled-256x128x" + std::to_string(bk) + "-s" + std::to_string(stages),
                          "256x128 block, 64x64 per warp, 16x8 per thread, one block per SM, cp.async ring of " +
                              std::to_string(stages) + " stages, K step " + std::to_string(bk) +
                              " (tuning/gemm_warptiled.cu)",
                          kernels::launch_gemm_warptiled, bk, stages);
}

// A --versions name without spaces for each explicit tile.
std::string tensor_core_name(kernels::TensorCoreTile tile) {
  switch (tile) {
    case kernels::TensorCoreTile::wgmma_m128n256k64s4: return "tc-wgmma-128x256x64-s4";
    case kernels::TensorCoreTile::m128n128k32s4: return "tc-128x128x32-s4";
    case kernels::TensorCoreTile::m64n64k32s4: return "tc-64x64x32-s4";
    case kernels::TensorCoreTile::automatic: break;
  }
  return "tc-" + kernels::to_string(tile);
}
std::string tensor_core_name(TensorCoreSweepTile tile) {
  switch (tile) {
    case TensorCoreSweepTile::wgmma_m128n256k64s3: return "tc-wgmma-128x256x64-s3";
    case TensorCoreSweepTile::m128n256k32s3: return "tc-128x256x32-s3";
    case TensorCoreSweepTile::wgmma_ws_m128n256k64s4: return "tc-wgmma-ws-128x256x64-s4";
    case TensorCoreSweepTile::wgmma_ws_m128n256k64s4_grid: return "tc-wgmma-ws-grid-128x256x64-s4";
  }
  return "tc-" + to_string(tile);
}

template <class T>
void launch_tensor_core(kernels::TensorCoreTile tile, const GemmShape& s, const std::vector<const void*>& in, void* out,
                        cudaStream_t stream) {
  kernels::launch_gemm_tensor_core<T>(static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<T*>(out),
                                      s.m, s.n, s.k, stream, tile);
}
template <class T>
void launch_tensor_core(TensorCoreSweepTile tile, const GemmShape& s, const std::vector<const void*>& in, void* out,
                        cudaStream_t stream) {
  launch_gemm_tensor_core_sweep<T>(static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<T*>(out),
                                   s.m, s.n, s.k, stream, tile);
}

// The tensor-core kernel with `tile` forced: a product tile (kernels/gemm_tensor_core.cu,
// _wgmma.cu; the product picks one by shape and device, pick_tensor_core_tile) or a sweep-only
// one (tuning/gemm_tensor_core_sweep.h).
template <class Tile>
Version tensor_core_version(Tile tile) {
  Version v;
  v.name = tensor_core_name(tile);
  v.idea = "tensor-core kernel forced to the " + to_string(tile) + " tile" +
           (is_wgmma(tile) ? " (Hopper wgmma)" : " (mma.sync)") +
           (std::is_same_v<Tile, TensorCoreSweepTile> ? ", instantiated only in tuning/" : "");
  v.unsupported = [tile](const Problem&) -> std::string {
    return is_wgmma(tile) && !kernels::tensor_core_wgmma_available(0) ? "wgmma needs compute capability 9.0"
                                                                      : std::string();
  };
  v.prepare = [tile](const Problem& problem) {
    const auto& p = dynamic_cast<const GemmProblem&>(problem);
    const bool bf16 = p.precision() == Precision::bf16;
    return launch_variant(
        problem, {&p.a(), &p.b()},
        [tile, bf16, s = p.shape()](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
          if (bf16) {
            launch_tensor_core<bfloat16>(tile, s, in, out, stream);
          } else {
            launch_tensor_core<float16>(tile, s, in, out, stream);
          }
        });
  };
  return v;
}

std::vector<Version> gemm_versions(Precision precision) {
  const bool fp64 = precision == Precision::fp64;
  std::vector<Version> versions;
  if (precision == Precision::bf16 || precision == Precision::fp16 || precision == Precision::tf32) {
    versions.push_back(registry_version("gemm", "cuda",
                                        precision == Precision::tf32
                                            ? "the product (`mlbench run gemm --backends cuda`): tf32 values on CUDA "
                                              "cores (fp32 kernel)"
                                            : "the product (`mlbench run gemm --backends cuda`): tensor-core kernel, "
                                              "tile picked by shape and device"));
    if (precision != Precision::tf32) {
      for (kernels::TensorCoreTile tile : kernels::tensor_core_tiles()) versions.push_back(tensor_core_version(tile));
      for (TensorCoreSweepTile tile : tensor_core_sweep_tiles()) versions.push_back(tensor_core_version(tile));
    }
    versions.push_back(registry_version("gemm", "cublas", "cuBLAS (the vendor reference)", true));
    if (precision == Precision::tf32)
      versions.push_back(registry_version("gemm", "cublas-tf32", "cuBLAS with TF32 tensor cores"));
    return versions;
  }
  versions.push_back(registry_version(
      "gemm", "cuda",
      "the product (`mlbench run gemm --backends cuda`): tile " +
          kernels::to_string(fp64 ? kernels::gemm_tiled_tile<double>() : kernels::gemm_tiled_tile<float>()) +
          ", register-staged double buffer"));
  if (fp64) {
    for (const auto& tile : gemm_sweep_tiles<double>()) versions.push_back(tile_version<double>(tile));
  } else {
    for (const auto& tile : gemm_sweep_tiles<float>()) versions.push_back(tile_version<float>(tile));
    versions.push_back(pipelined_version(16, 3));
    versions.push_back(pipelined_version(16, 4));
    versions.push_back(pipelined_version(32, 3));
    versions.push_back(warptiled_version(8, 3));
    versions.push_back(warptiled_version(8, 4));
    versions.push_back(warptiled_version(16, 3));
  }
  versions.push_back(registry_version("gemm", "cublas", "cuBLAS, pedantic math (the vendor reference)", true));
  if (!fp64)
    versions.push_back(registry_version("gemm", "cublas-tf32", "cuBLAS with TF32 tensor cores (inputs rounded)"));
  return versions;
}

int tune_gemm(int argc, char** argv) {
  CLI::App app{
      "mlbench_tune_gemm: validate, then time, every GEMM version (product, sweep tiles, cp.async "
      "pipeline, tensor-core tiles, cuBLAS). Not installed; see docs/performance.md."};
  Options options;
  std::vector<std::string> shapes{"4096x4096x4096"};
  app.add_option("--shape", shapes, "M x N x K (or one number for a cube), comma-separated list")
      ->delimiter(',')
      ->capture_default_str();
  add_common_options(app, options);
  try {
    app.parse(argc, argv);
    const std::vector<Precision> precisions = parse_precisions(
        options, {Precision::fp32, Precision::fp64, Precision::tf32, Precision::bf16, Precision::fp16});
    std::vector<GemmShape> gemm_shapes;
    for (const std::string& text : shapes) {
      const auto d = parse_dimensions("--shape", text);
      if ((d.size() != 1 && d.size() != 3) || d[0] < 1 || d.back() < 1 || d[d.size() / 2] < 1)
        throw CLI::ValidationError("--shape", "'" + text + "': expected M x N x K, each at least 1");
      gemm_shapes.push_back(d.size() == 1 ? GemmShape{d[0], d[0], d[0]} : GemmShape{d[0], d[1], d[2]});
    }
    for (Precision precision : precisions) select_versions(gemm_versions(precision), options);  // names checked
    return list_or_run(
        options,
        [&] {
          for (Precision precision : precisions) {
            std::printf("%s:\n", to_string(precision).c_str());
            list_versions(select_versions(gemm_versions(precision), options));
          }
        },
        [&](std::uint64_t seed) {
          int failed = 0;
          for (Precision precision : precisions) {
            const std::vector<Version> versions = select_versions(gemm_versions(precision), options);
            for (const GemmShape& shape : gemm_shapes)
              failed += run_versions(GemmProblem(shape, precision, seed, shape.m), versions, options);
          }
          return failed;
        });
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
}

}  // namespace
}  // namespace mlbench::tuning

int main(int argc, char** argv) { return mlbench::tuning::tune_gemm(argc, argv); }
