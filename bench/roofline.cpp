#include "bench/roofline.h"

#include <algorithm>

#include <fmt/format.h>

#include "bench/workloads.h"

namespace mlbench {

namespace {

// Whether the row's workload is bound by reading memory alone (its descriptor says so,
// WorkloadDescriptor::memory_read_bound): it takes the read-only bandwidth figure.
bool reads_only(const VariantResult& r) {
  const WorkloadDescriptor* w = find_workload(r.workload);
  return w != nullptr && w->memory_read_bound;
}

std::optional<Roof> cpu_roof(const CpuPeaks& cpu, Precision precision, bool one_thread, bool read_only) {
  Roof roof;
  roof.unit = one_thread ? "cpu 1 thread" : fmt::format("cpu {} threads", cpu.threads);
  roof.bandwidth_source = read_only ? "read" : "triad";
  if (read_only)
    roof.bandwidth_gbps = one_thread ? cpu.read_gbps_one : cpu.read_gbps_all;
  else
    roof.bandwidth_gbps = one_thread ? cpu.bandwidth_gbps_one : cpu.bandwidth_gbps_all;
  if (precision == Precision::fp64)
    roof.compute_gflops = one_thread ? cpu.fp64_gflops_one : cpu.fp64_gflops_all;
  else
    roof.compute_gflops = one_thread ? cpu.fp32_gflops_one : cpu.fp32_gflops_all;
  if (!(roof.compute_gflops > 0) || !(roof.bandwidth_gbps > 0)) return std::nullopt;
  return roof;
}

std::optional<Roof> gpu_roof(const GpuPeaks& gpu, Precision precision, bool tensor, bool read_only) {
  Roof roof;
  if (tensor && (precision == Precision::fp32 || precision == Precision::tf32)) {
    roof.unit = "gpu tf32";
    roof.compute_gflops = gpu.tf32_gflops;
  } else if (tensor && is_16bit(precision)) {
    // H100 tensor cores run fp16 and bf16 at the same rate; the bf16 figure stands for both
    roof.unit = "gpu bf16/fp16";
    roof.compute_gflops = gpu.bf16_gflops;
  } else if (precision == Precision::fp64) {
    roof.unit = "gpu fp64";
    roof.compute_gflops = gpu.fp64_gflops;
  } else {
    roof.unit = "gpu fp32";
    roof.compute_gflops = gpu.fp32_gflops;
  }
  roof.bandwidth_source = read_only ? "read" : "copy";
  roof.bandwidth_gbps = read_only ? gpu.read_gbps : gpu.copy_gbps;
  if (!(roof.compute_gflops > 0) || !(roof.bandwidth_gbps > 0)) return std::nullopt;
  return roof;
}

}  // namespace

double Roof::bound_gflops(double intensity) const {
  if (!(compute_gflops > 0) || !(bandwidth_gbps > 0) || !(intensity > 0)) return 0;
  return std::min(compute_gflops, bandwidth_gbps * intensity);
}

std::optional<Roof> roof_for(const VariantResult& r, const PeakFigures& peaks, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<Roof> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (is_cpu(r.backend_kind)) {
    if (!peaks.cpu) return fail("no CPU peaks: " + peaks.cpu_absent_reason);
    auto roof = cpu_roof(*peaks.cpu, r.precision, r.threads <= 1, reads_only(r));
    return roof ? roof : fail("CPU peak figure unknown");
  }
  if (r.timing == TimingMode::end_to_end) return fail("end-to-end rows include host<->device transfers");
  if (!peaks.gpu) return fail("no GPU peaks: " + peaks.gpu_absent_reason);
  auto roof = gpu_roof(*peaks.gpu, r.precision, r.uses_tensor_cores, reads_only(r));
  if (roof && r.gpus > 1) {  // several GPUs (of the measured kind): their ceilings add up
    roof->compute_gflops *= r.gpus;
    roof->bandwidth_gbps *= r.gpus;
    roof->unit += fmt::format(" x{}", r.gpus);
  }
  return roof ? roof : fail("GPU peak figure unknown for " + to_string(r.precision));
}

std::vector<Roof> roofs_for_precision(const PeakFigures& peaks, Precision precision) {
  std::vector<Roof> roofs;
  auto add = [&roofs](std::optional<Roof> roof) {
    if (roof) roofs.push_back(*roof);
  };
  if (peaks.cpu) {
    add(cpu_roof(*peaks.cpu, precision, false, false));
    add(cpu_roof(*peaks.cpu, precision, true, false));
  }
  if (peaks.gpu) {
    add(gpu_roof(*peaks.gpu, precision, false, false));
    if (precision != Precision::fp64) add(gpu_roof(*peaks.gpu, precision, true, false));
  }
  return roofs;
}

void apply_roofline(std::vector<VariantResult>& results, const PeakFigures* peaks) {
  for (VariantResult& r : results) {
    r.intensity = r.bytes > 0 ? r.flops / r.bytes : 0;
    r.roofline_bound_gflops = r.fraction_of_roofline = 0;
    r.roofline_unit.clear();
    if (peaks == nullptr) continue;
    const std::optional<Roof> roof = roof_for(r, *peaks);
    if (!roof) continue;
    r.roofline_unit = roof->unit;
    r.roofline_bound_gflops = roof->bound_gflops(r.intensity);
    if (r.ok() && r.gflops > 0 && r.roofline_bound_gflops > 0)
      r.fraction_of_roofline = r.gflops / r.roofline_bound_gflops;
  }
}

}  // namespace mlbench
