// mlbench_tune_attention: every attention version, validated then timed (tuning/tuning.h): the
// product (`cuda`, which at bf16/fp16 times every tile configuration compiled for the head
// dimension at prepare and runs the fastest), each of those configurations forced (tile-0 is
// the default), the unfused cuBLAS baseline, and cuDNN's fused attention as the reference.
//
//   mlbench_tune_attention                     the benchmark shapes (B1 H16 S4096 D128, B8 H16 S2048 D64),
//                                              full and causal, bf16
//   mlbench_tune_attention --shape 1x16x4096x128 --mask causal --precision bf16,fp16 --repetitions 50
//   mlbench_tune_attention --validate-only --shape 1x2x257x64   (what ctest runs)
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/attention.h"
#include "kernels/attention_flash.h"
#include "tuning/tuning.h"

namespace mlbench::tuning {
namespace {

kernels::AttentionDims dims_of(const AttentionShape& s) {
  return {s.batch * s.heads, s.seq, s.head_dim, s.causal, 1.0 / std::sqrt(static_cast<double>(s.head_dim))};
}

bool tensor_core_precision(Precision p) { return p == Precision::bf16 || p == Precision::fp16; }

// The most tile configurations any head dimension has (padded to 32, 64 or 128): the tile-i
// versions every shape lists, so that --versions names the same set for every shape.
int max_tile_count() {
  int most = 0;
  for (std::int64_t d : {32, 64, 128})
    most = std::max(most, kernels::attention_flash_tile_count<bfloat16>(dims_of(AttentionShape{1, 1, 1, d, false})));
  return most;
}

template <class T>
void launch_tile(const kernels::AttentionDims& dims, int tile, const std::vector<const void*>& in, void* out,
                 cudaStream_t stream) {
  kernels::launch_attention_flash_tile<T>(static_cast<const T*>(in[0]), static_cast<const T*>(in[1]),
                                          static_cast<const T*>(in[2]), static_cast<T*>(out), dims, tile, stream);
}

// Tile configuration `tile` of the tensor-core kernel at `shape`'s head dimension.
Version tile_version(int tile, const AttentionShape& shape) {
  const kernels::AttentionDims dims = dims_of(shape);
  const int count = kernels::attention_flash_tile_count<bfloat16>(dims);
  Version v;
  v.name = "tile-" + std::to_string(tile);
  v.idea = tile < count ? kernels::attention_flash_tile_plan<bfloat16>(dims, tile) + (tile == 0 ? " (the default)" : "")
                        : "none here: head_dim " + std::to_string(shape.head_dim) + " has " + std::to_string(count) +
                              " tile configurations";
  v.unsupported = [tile](const Problem& problem) -> std::string {
    if (!tensor_core_precision(problem.precision())) return "bf16 and fp16 only (the tensor-core kernel)";
    const kernels::AttentionDims d = dims_of(dynamic_cast<const AttentionProblem&>(problem).shape());
    if (const std::string why = kernels::attention_flash_unsupported<bfloat16>(d); !why.empty()) return why;
    const int n = kernels::attention_flash_tile_count<bfloat16>(d);
    if (tile >= n)
      return "head_dim " + std::to_string(d.head_dim) + " has " + std::to_string(n) + " tile configurations";
    return {};
  };
  v.prepare = [tile](const Problem& problem) {
    const auto& p = dynamic_cast<const AttentionProblem&>(problem);
    kernels::AttentionDims d = dims_of(p.shape());
    d.scale = p.scale();
    const bool bf16 = p.precision() == Precision::bf16;
    return launch_variant(problem, {&p.q(), &p.k(), &p.v()},
                          [tile, d, bf16](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
                            if (bf16) {
                              launch_tile<bfloat16>(d, tile, in, out, stream);
                            } else {
                              launch_tile<float16>(d, tile, in, out, stream);
                            }
                          });
  };
  return v;
}

std::vector<Version> attention_versions(const AttentionShape& shape) {
  std::vector<Version> versions;
  versions.push_back(registry_version(
      "attention", "cuda",
      "the product (`mlbench run attention --backends cuda`): flash kernel; at bf16/fp16 the fastest tile "
      "configuration, searched at prepare"));
  for (int tile = 0; tile < max_tile_count(); ++tile) versions.push_back(tile_version(tile, shape));
  versions.push_back(registry_version("attention", "cublas", "unfused: cuBLAS QK^T, softmax kernel, cuBLAS PV"));
  versions.push_back(registry_version("attention", "cudnn", "cuDNN fused attention (the vendor reference)", true));
  return versions;
}

int tune_attention(int argc, char** argv) {
  CLI::App app{
      "mlbench_tune_attention: validate, then time, every attention version (product, each tile "
      "configuration of the tensor-core kernel, unfused cuBLAS, cuDNN). Not installed; see docs/performance.md."};
  Options options;
  options.precisions = {"bf16"};
  std::vector<std::string> shapes{"1x16x4096x128", "8x16x2048x64"};
  std::vector<std::string> masks{"full", "causal"};
  app.add_option("--shape", shapes, "batch x heads x sequence x head_dim, comma-separated list")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--mask", masks, "full, causal or both (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"full", "causal"}))
      ->capture_default_str();
  add_common_options(app, options);
  try {
    app.parse(argc, argv);
    const std::vector<Precision> precisions =
        parse_precisions(options, {Precision::fp64, Precision::fp32, Precision::bf16, Precision::fp16});
    std::vector<AttentionShape> attention_shapes;
    for (const std::string& text : shapes) {
      const auto d = parse_dimensions("--shape", text);
      if (d.size() != 4 || std::find(d.begin(), d.end(), 0) != d.end())
        throw CLI::ValidationError("--shape",
                                   "'" + text + "': expected batch x heads x sequence x head_dim, each >= 1");
      for (const std::string& mask : masks) attention_shapes.push_back({d[0], d[1], d[2], d[3], mask == "causal"});
    }
    for (const AttentionShape& s : attention_shapes) select_versions(attention_versions(s), options);  // names checked
    return list_or_run(
        options,
        [&] {
          for (const AttentionShape& s : attention_shapes) {
            std::printf("B%lld H%lld S%lld D%lld%s:\n", static_cast<long long>(s.batch),
                        static_cast<long long>(s.heads), static_cast<long long>(s.seq),
                        static_cast<long long>(s.head_dim), s.causal ? " causal" : "");
            list_versions(select_versions(attention_versions(s), options));
          }
        },
        [&](std::uint64_t seed) {
          int failed = 0;
          for (Precision precision : precisions)
            for (const AttentionShape& s : attention_shapes)
              failed += run_versions(AttentionProblem(s, precision, seed, s.seq),
                                     select_versions(attention_versions(s), options), options);
          return failed;
        });
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
}

}  // namespace
}  // namespace mlbench::tuning

int main(int argc, char** argv) { return mlbench::tuning::tune_attention(argc, argv); }
