// mlbench_tune_reduce: every reduction version, validated then timed (tuning/tuning.h): the
// product's kernels (`cuda`, kernels/reduce.cu) and CUB as the reference, at fp32, fp64 and the
// 16-bit types (fp32 accumulation), whole tensor and per row. Its table's GB/s column is the
// one to read: a reduction is bound by reading its input once.
//
//   mlbench_tune_reduce                        16384 x 16384, sum, whole tensor and per row, fp32
//   mlbench_tune_reduce --precision fp32,bf16,fp16 --op sum,max,mean --repetitions 50
//   mlbench_tune_reduce --validate-only --shape 4300x1030   (what ctest runs)
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/reduction.h"
#include "tuning/tuning.h"

namespace mlbench::tuning {
namespace {

std::vector<Version> reduce_versions() {
  return {
      registry_version("reduction", "cuda",
                       "the product (`mlbench run reduction --backends cuda`): grid-stride 16-byte loads, "
                       "warp-shuffle tree, two passes"),
      registry_version("reduction", "cub", "CUB DeviceReduce / DeviceSegmentedReduce (the vendor reference)", true)};
}

int tune_reduce(int argc, char** argv) {
  CLI::App app{
      "mlbench_tune_reduce: validate, then time, every reduction version (product, CUB). Not installed; "
      "see docs/performance.md."};
  Options options;
  std::vector<std::string> shapes{"16384x16384"};
  std::vector<std::string> ops{"sum"}, axes{"all", "rows"};
  app.add_option("--shape", shapes, "rows x columns, comma-separated list")->delimiter(',')->capture_default_str();
  app.add_option("--op", ops, "sum, max, mean (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"sum", "max", "mean"}))
      ->capture_default_str();
  app.add_option("--axis", axes, "all (one result), rows (one per row), or both (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"all", "rows"}))
      ->capture_default_str();
  add_common_options(app, options);
  try {
    app.parse(argc, argv);
    const std::vector<Precision> precisions =
        parse_precisions(options, {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16});
    std::vector<ReductionShape> reduction_shapes;
    for (const std::string& text : shapes) {
      const auto d = parse_dimensions("--shape", text);
      if (d.size() != 2 || d[0] < 1 || d[1] < 1)
        throw CLI::ValidationError("--shape", "'" + text + "': expected rows x columns, each at least 1");
      for (const std::string& op : ops)
        for (const std::string& axis : axes)
          reduction_shapes.push_back({d[0], d[1], *parse_reduce_op(op), *parse_reduce_axis(axis)});
    }
    const std::vector<Version> versions = select_versions(reduce_versions(), options);
    return list_or_run(
        options, [&] { list_versions(versions); },
        [&](std::uint64_t seed) {
          int failed = 0;
          for (Precision precision : precisions)
            for (const ReductionShape& shape : reduction_shapes)
              failed += run_versions(ReductionProblem(shape, precision, seed, shape.rows), versions, options);
          return failed;
        });
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
}

}  // namespace
}  // namespace mlbench::tuning

int main(int argc, char** argv) { return mlbench::tuning::tune_reduce(argc, argv); }
