// GPU clocks, temperature, power and clock-throttle reasons through NVML, the driver's
// management library, loaded at run time (dlopen "libnvidia-ml.so.1"): the build needs no
// nvml.h and no link to the driver, and where the library is missing every reading says why.
// The runner reads it before and after each GPU measurement (Registry::device_state_probe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/energy.h"
#include "bench/machine_context.h"

namespace mlbench::kernels {

// NVML clocks-event ("clocks throttle") reason bits, as nvml.h defines them.
namespace nvml_reason {
inline constexpr std::uint64_t kGpuIdle = 0x1;
inline constexpr std::uint64_t kApplicationsClocksSetting = 0x2;
inline constexpr std::uint64_t kSwPowerCap = 0x4;
inline constexpr std::uint64_t kHwSlowdown = 0x8;
inline constexpr std::uint64_t kSyncBoost = 0x10;
inline constexpr std::uint64_t kSwThermalSlowdown = 0x20;
inline constexpr std::uint64_t kHwThermalSlowdown = 0x40;
inline constexpr std::uint64_t kHwPowerBrakeSlowdown = 0x80;
inline constexpr std::uint64_t kDisplayClockSetting = 0x100;
}  // namespace nvml_reason

// The reasons among `bits` that slow a loaded GPU down, by name: "power cap", "HW slowdown",
// "thermal", "thermal (HW)", "power brake", "sync boost". Idle and the application- and
// display-clock settings are left out: they are settings or an idle GPU, not a slowdown.
std::vector<std::string> performance_throttle_reasons(std::uint64_t bits);

// One reading of CUDA device `device` (matched to NVML by PCI bus id). When NVML cannot be
// used, `available` is false and `unavailable_reason` says "NVML not available: <why>". A value
// the device does not report stays 0 (violation times -1).
GpuStateSample read_gpu_state(int device);

// "" when NVML works in this process, else why not ("NVML not available: ...").
std::string nvml_unavailable_reason();
// The NVML version the driver reports ("12.580.65"), "" when unknown.
std::string nvml_version();

// NVML's total-energy counter of CUDA device `device` (nvmlDeviceGetTotalEnergyConsumption:
// millijoules since the driver was loaded, Volta and later). "" on success, else why not.
std::string read_total_energy_mj(int device, std::uint64_t& millijoules);
// The energy meter of GPU rows (Registry::gpu_energy_meter): that counter summed over `devices`,
// with a window of at least a second (the counter is refreshed every few tens of ms).
std::unique_ptr<EnergyMeter> make_nvml_energy_meter(std::vector<int> devices);

}  // namespace mlbench::kernels
