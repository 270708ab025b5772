// Energy of a row's timed runs, from the cumulative energy counter of the device they ran on:
// RAPL through the Linux powercap sysfs tree for the CPU package (this file), NVML's
// total-energy counter for a GPU (kernels/, behind the same EnergyMeter interface). The runner
// opens a window just before a row's timed repetitions and closes it after the last one; where
// no counter can be read, the row says why and carries no figure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlbench {

// What one window of an EnergyMeter measured.
struct EnergyWindow {
  bool measured = false;
  std::string unavailable_reason;  // when not measured: one line, "RAPL unavailable: ..."
  std::string source;              // what was summed: "RAPL package-0 + package-1 (package domain)"
  double joules = 0;               // over the window, wrap-around taken out
  double dram_joules = -1;         // RAPL DRAM domain over the window; -1 when not measured
};

// A cumulative energy counter. start() reads it; stop() reads it again and returns the
// energy in between. One window at a time.
class EnergyMeter {
 public:
  virtual ~EnergyMeter() = default;
  // "" when the meter can measure; else why not (then stop() returns that reason too).
  virtual std::string unavailable_reason() const = 0;
  virtual void start() = 0;
  virtual EnergyWindow stop() = 0;
  // The shortest window worth reading (the counter's update period and resolution): the runner
  // extends a shorter measurement with more runs of the same work.
  virtual double minimum_window_s() const = 0;
};

// A counter that wraps at `range`: the increase from `start` to `end`, assuming it wrapped at
// most once (the caller keeps windows shorter than one wrap period).
std::uint64_t counter_increase(std::uint64_t start, std::uint64_t end, std::uint64_t range);

// One RAPL zone of a powercap tree ("intel-rapl:0", named "package-0"; subzone "intel-rapl:0:1"
// named "dram"). AMD CPUs expose theirs under the same names on Linux 5.8 and later.
struct RaplZone {
  std::string path;  // the zone's directory
  std::string name;  // its "name" file
  std::uint64_t max_energy_range_uj = 0;
  bool dram = false;  // a DRAM subzone of a package (otherwise a package zone)
};

// The RAPL zones mlbench sums under `powercap_root`: every package zone (top-level
// "intel-rapl:N" named "package-*") and their DRAM subzones. Other top-level zones ("psys", the
// whole platform on laptops) and the MMIO copies ("intel-rapl-mmio:*", the same package counted
// twice) are left out. `why_none` says why the list is empty.
std::vector<RaplZone> find_rapl_zones(const std::string& powercap_root, std::string& why_none);

// Package (and DRAM) energy of every CPU package through powercap under `powercap_root`.
// Unavailable, with the reason, when the tree is absent (VMs, non-Linux), has no package zone,
// or a counter cannot be read (energy_uj is root-only since Linux 5.10).
std::unique_ptr<EnergyMeter> make_rapl_meter(const std::string& powercap_root);

// The powercap root to read: $MLBENCH_POWERCAP_ROOT when set (tests point it at a fabricated
// tree), else /sys/class/powercap.
std::string powercap_root();

}  // namespace mlbench
