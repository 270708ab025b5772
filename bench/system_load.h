// How much CPU other programs used while mlbench measured. A core taken by another program
// for a whole run slows every repetition alike, so the cv does not show it, yet the run as a
// whole is slower than the next one (on a 2-vCPU VM whose vCPUs share a physical core, a
// compile on one vCPU made serial code on the other 1.8x slower; the cv stayed under 1 %).
#pragma once

#include <chrono>

namespace mlbench {

// Started at construction: /proc/stat's busy time of all CPUs (steal time included: other
// virtual machines on the host) minus this process's own CPU time, over the wall time since.
class OtherLoadMeter {
 public:
  OtherLoadMeter();
  // Average number of CPUs other programs kept busy since construction; -1 when unknown (no
  // /proc/stat) or when the interval is too short to tell (under 5 clock ticks of wall time).
  double cores() const;

 private:
  double busy_s_ = -1;  // all CPUs, seconds
  double own_s_ = 0;    // this process, user + system seconds
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mlbench
