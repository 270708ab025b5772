#include "bench/system_load.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace mlbench {

namespace {

// Busy seconds of all CPUs since boot: every /proc/stat "cpu" column but idle and iowait
// (guest time is already counted in user). -1 when unreadable.
double busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string label;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq) || label != "cpu") return -1;
  in >> steal;  // absent on very old kernels
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) / ticks;
}

double own_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

OtherLoadMeter::OtherLoadMeter()
    : busy_s_(busy_seconds()), own_s_(own_seconds()), start_(std::chrono::steady_clock::now()) {}

double OtherLoadMeter::cores() const {
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  const double busy_now = busy_seconds();
  if (busy_s_ < 0 || busy_now < 0 || wall < 5 * tick) return -1;
  const double other = (busy_now - busy_s_) - (own_seconds() - own_s_);
  return std::max(other, 0.0) / wall;
}

}  // namespace mlbench
