// The convolution workload's descriptor (bench/workload.h): a size x size image, NCHW, through
// --filters filters of --kernel x --kernel.
#include <fmt/format.h>

#include "bench/convolution.h"
#include "bench/workloads.h"

namespace mlbench {

namespace {
ConvShape conv_shape(std::int64_t size, const ConvolutionOptions& o) {
  ConvShape s;
  s.batch = o.batch;
  s.channels = o.channels;
  s.height = size;
  s.width = size;
  s.filters = o.filters;
  s.kernel = o.kernel;
  s.stride = o.stride;
  s.pad = o.pad < 0 ? ConvShape::same_padding(o.kernel) : o.pad;
  return s;
}

WorkloadOption dimension(std::string name, std::string help, std::int64_t default_value, std::int64_t max,
                         std::int64_t ConvolutionOptions::*field) {
  WorkloadOption o;
  o.type = WorkloadOption::Type::integer;
  o.name = std::move(name);
  o.help = std::move(help);
  o.group = "Convolution";
  o.group_description = "Default: an RGB image through a CNN's first layer";
  o.integer_default = default_value;
  o.integer_min = 1;
  o.integer_max = max;
  o.apply = [field](const WorkloadOptionValue& v, WorkloadOptions& options) {
    options.get<ConvolutionOptions>().*field = v.integer;
  };
  return o;
}
}  // namespace

WorkloadDescriptor convolution_workload() {
  WorkloadDescriptor w;
  w.name = "convolution";
  w.aliases = {"conv"};
  w.description = "2D convolution forward, NCHW, filters KCRR";
  w.size_meaning = "the side of the square image, H = W";
  w.command_description = "2D convolution forward, NCHW (size x size image)";
  w.fleet_description = "2D convolution forward on every rank";
  constexpr std::int64_t kMaxDimension = std::int64_t{1} << 20;
  w.options.push_back(dimension("--batch", "Images per batch (N)", 1, kMaxDimension, &ConvolutionOptions::batch));
  w.options.back().shared_help = "Batch N: images per convolution, sequences per attention";
  w.options.push_back(dimension("--channels", "Input channels (C)", 3, kMaxDimension, &ConvolutionOptions::channels));
  w.options.push_back(dimension("--filters", "Output channels (K)", 16, kMaxDimension, &ConvolutionOptions::filters));
  w.options.push_back(dimension("--kernel", "Filter side R (R x R)", 3, 64, &ConvolutionOptions::kernel));
  w.options.push_back(dimension("--stride", "Stride", 1, 64, &ConvolutionOptions::stride));
  WorkloadOption padding;
  padding.type = WorkloadOption::Type::text;
  padding.name = "--padding";
  padding.help = "'same' ((kernel-1)/2) or a number of pixels";
  padding.group = "Convolution";
  padding.text_default = "same";
  // After --kernel (options apply in declaration order): "same" needs an odd kernel.
  padding.apply = [](const WorkloadOptionValue& v, WorkloadOptions& options) {
    auto& conv = options.get<ConvolutionOptions>();
    if (v.text == "same") {
      if (conv.kernel % 2 == 0) throw InputError("--padding same needs an odd --kernel; give the padding as a number");
      conv.pad = -1;
      return;
    }
    const auto pad = parse_decimal(v.text, 1 << 20);
    if (!pad) throw InputError("--padding must be 'same' or a non-negative whole number, got '" + v.text + "'");
    conv.pad = static_cast<std::int64_t>(*pad);
  };
  w.options.push_back(std::move(padding));
  w.make_problem = [](std::int64_t size, Precision precision, std::uint64_t seed, const WorkloadOptions& options) {
    return std::make_unique<ConvProblem>(conv_shape(size, options.get<ConvolutionOptions>()), precision, seed, size);
  };
  w.footprint = [](std::int64_t size, Precision precision, const WorkloadOptions& options) {
    const auto es = static_cast<std::int64_t>(element_size(precision));
    const ConvShape s = conv_shape(size, options.get<ConvolutionOptions>());
    validate_shape(s, precision);
    const auto in = s.batch * s.channels * s.height * s.width;
    const auto weights = s.filters * s.channels * s.kernel * s.kernel;
    const auto out = s.batch * s.filters * s.out_height() * s.out_width();
    HostFootprint f;
    f.elements = in + out + weights;
    f.output_bytes = checked_mul(out, es, "convolution output bytes");
    f.widened = in + weights;  // serial convolution widens the input and the filters
    f.twin_inputs = f.twin_copies = in + weights;
    return f;
  };
  return w;
}

}  // namespace mlbench
