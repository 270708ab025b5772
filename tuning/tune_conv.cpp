// mlbench_tune_conv: every convolution version, validated then timed (tuning/tuning.h): the
// product's choice (`cuda`), each kernel forced (direct at every register blocking, implicit
// GEMM, register filters), the register-filter blockings and the constant-filter kernel that
// only tuning instantiates, and cuDNN as the reference; at fp32, fp64, tf32, bf16 and fp16.
//
//   mlbench_tune_conv                          the main job, N1 C3 4096^2 K16 3x3 fp32
//   mlbench_tune_conv --shape 32x64x56x56x64x3x1x1 --precision fp32,tf32,bf16,fp16
//       (batch x channels x height x width x filters x kernel x stride x pad)
//   mlbench_tune_conv --validate-only --shape 2x3x37x300x16x3x1x1   (what ctest runs)
#include <CLI/CLI.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/convolution.h"
#include "kernels/conv2d_tiled.h"
#include "tuning/conv2d_constant_filters.h"
#include "tuning/conv2d_register_filters_variants.h"
#include "tuning/tuning.h"

namespace mlbench::tuning {
namespace {

const ConvShape& shape_of(const Problem& problem) { return dynamic_cast<const ConvProblem&>(problem).shape(); }

// fp32 and tf32 problems hold float elements (tf32 values are floats): the first-layer kernels'
// only element type.
bool float_elements(Precision precision) { return precision == Precision::fp32 || precision == Precision::tf32; }

template <class T>
void launch_plan(const kernels::Conv2dPlan& plan, const std::vector<const void*>& in, void* out, cudaStream_t stream) {
  kernels::launch_conv2d_tiled<T>(plan, static_cast<const T*>(in[0]), static_cast<const T*>(in[1]),
                                  static_cast<T*>(out), stream);
}

// A version that runs a plan from `make_plan` (which throws std::invalid_argument when the
// kernel cannot run the shape: reported n/a). `float_only`: the plan's kernel has only a float
// instance (register filters), so other element types are n/a.
template <class MakePlan>
Version plan_version(std::string name, std::string idea, MakePlan make_plan, bool float_only = false) {
  Version v;
  v.name = std::move(name);
  v.idea = std::move(idea);
  v.unsupported = [make_plan, float_only](const Problem& problem) -> std::string {
    if (float_only && !float_elements(problem.precision())) return "fp32 and tf32 only (a float kernel)";
    try {
      make_plan(shape_of(problem), problem.precision() == Precision::fp64);
      return {};
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  };
  v.prepare = [make_plan](const Problem& problem) {
    const auto& p = dynamic_cast<const ConvProblem&>(problem);
    const Precision precision = p.precision();
    const kernels::Conv2dPlan plan = make_plan(p.shape(), precision == Precision::fp64);
    return launch_variant(problem, {&p.input(), &p.weights()},
                          [plan, precision](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
                            switch (precision) {
                              case Precision::fp64: return launch_plan<double>(plan, in, out, stream);
                              case Precision::bf16: return launch_plan<bfloat16>(plan, in, out, stream);
                              case Precision::fp16: return launch_plan<float16>(plan, in, out, stream);
                              default: return launch_plan<float>(plan, in, out, stream);  // fp32, tf32
                            }
                          });
  };
  return v;
}

// The earlier first-layer kernel (tuning/conv2d_constant_filters.cu), weights in the constant bank.
Version constant_filter_version() {
  Version v;
  v.name = "constant-filters";
  v.idea = "the earlier first-layer kernel, weights from the constant bank (tuning only)";
  v.unsupported = [](const Problem& problem) -> std::string {
    if (!float_elements(problem.precision())) return "fp32 and tf32 only (a float kernel)";
    return conv2d_constant_filters_unsupported_reason(shape_of(problem));
  };
  v.prepare = [](const Problem& problem) {
    const auto& p = dynamic_cast<const ConvProblem&>(problem);
    return launch_variant(problem, {&p.input(), &p.weights()},
                          [s = p.shape()](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
                            launch_conv2d_constant_filters(s, static_cast<const float*>(in[0]),
                                                           static_cast<const float*>(in[1]), static_cast<float*>(out),
                                                           stream);
                          });
  };
  return v;
}

Version register_filter_variant(RegisterFilterBlocking blocking) {
  Version v;
  const std::string label = std::to_string(blocking.rows_per_thread) + "x" + std::to_string(blocking.row_groups);
  v.name = "register-filters-" + label;
  v.idea = "register filters, " + std::to_string(blocking.rows_per_thread) + " rows per thread x " +
           std::to_string(blocking.row_groups) + " row groups per block (tuning only; the product runs 4x8)";
  v.unsupported = [](const Problem& problem) -> std::string {
    if (!float_elements(problem.precision())) return "fp32 and tf32 only (a float kernel)";
    return register_filter_variant_unsupported_reason(shape_of(problem));
  };
  v.prepare = [blocking](const Problem& problem) {
    const auto& p = dynamic_cast<const ConvProblem&>(problem);
    return launch_variant(
        problem, {&p.input(), &p.weights()},
        [blocking, s = p.shape()](cudaStream_t stream, const std::vector<const void*>& in, void* out) {
          launch_conv2d_register_filters_variant(s, blocking, static_cast<const float*>(in[0]),
                                                 static_cast<const float*>(in[1]), static_cast<float*>(out), stream);
        });
  };
  return v;
}

std::vector<Version> conv_versions() {
  using kernels::ConvAlgorithm;
  std::vector<Version> versions;
  versions.push_back(
      registry_version("convolution", "cuda", "the product (`mlbench run convolution --backends cuda`)"));
  auto forced = [](ConvAlgorithm algorithm) {
    return [algorithm](const ConvShape& s, bool fp64) { return kernels::plan_conv2d_tiled(s, fp64, 0, algorithm); };
  };
  versions.push_back(plan_version("register-filters", "register-filter kernel forced (product blocking 4x8)",
                                  forced(ConvAlgorithm::register_filters), true));
  for (const RegisterFilterBlocking& b : register_filter_tuning_blockings())
    versions.push_back(register_filter_variant(b));
  versions.push_back(constant_filter_version());
  versions.push_back(plan_version("implicit-gemm", "implicit GEMM forced (64 filters x 128 pixels per block)",
                                  forced(ConvAlgorithm::implicit_gemm)));
  for (int pixels : {1, 2, 4}) {
    for (int filters : {4, 8, 16, 32}) {
      versions.push_back(plan_version("direct-" + std::to_string(pixels) + "x" + std::to_string(filters),
                                      "direct kernel forced to " + std::to_string(pixels) + " pixels x " +
                                          std::to_string(filters) + " filters per thread",
                                      [pixels, filters](const ConvShape& s, bool fp64) {
                                        return kernels::plan_conv2d_direct(s, fp64, 0, pixels, filters);
                                      }));
    }
  }
  versions.push_back(
      registry_version("convolution", "cudnn", "cuDNN, its fastest algorithm (the vendor reference)", true));
  return versions;
}

int tune_conv(int argc, char** argv) {
  CLI::App app{
      "mlbench_tune_conv: validate, then time, every convolution version (product, forced kernels, "
      "tuning blockings, cuDNN). Not installed; see docs/performance.md."};
  Options options;
  std::vector<std::string> shapes{"1x3x4096x4096x16x3x1x1"};
  app.add_option("--shape", shapes,
                 "batch x channels x height x width x filters x kernel x stride x pad, comma-separated list")
      ->delimiter(',')
      ->capture_default_str();
  add_common_options(app, options);
  try {
    app.parse(argc, argv);
    const std::vector<Precision> precisions = parse_precisions(
        options, {Precision::fp32, Precision::fp64, Precision::tf32, Precision::bf16, Precision::fp16});
    std::vector<ConvShape> conv_shapes;
    for (const std::string& text : shapes) {
      const auto d = parse_dimensions("--shape", text);
      if (d.size() != 8) throw CLI::ValidationError("--shape", "'" + text + "': expected 8 numbers");
      conv_shapes.push_back(ConvShape{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]});
    }
    const std::vector<Version> versions = select_versions(conv_versions(), options);
    return list_or_run(
        options, [&] { list_versions(versions); },
        [&](std::uint64_t seed) {
          int failed = 0;
          for (Precision precision : precisions)
            for (const ConvShape& shape : conv_shapes)
              failed += run_versions(ConvProblem(shape, precision, seed, shape.height), versions, options);
          return failed;
        });
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
}

}  // namespace
}  // namespace mlbench::tuning

int main(int argc, char** argv) { return mlbench::tuning::tune_conv(argc, argv); }
