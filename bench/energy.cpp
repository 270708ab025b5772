#include "bench/energy.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace mlbench {

std::uint64_t counter_increase(std::uint64_t start, std::uint64_t end, std::uint64_t range) {
  if (end >= start) return end - start;
  return range - start + end;  // counted up to range, restarted at 0
}

namespace {

constexpr int kNotARegularFile = -1;  // read_line's error for a FIFO, device or directory

// The first line of a sysfs file; on failure `error` holds errno (EACCES for root-only files).
// Only a regular file is read: a FIFO or device planted under MLBENCH_POWERCAP_ROOT would
// block the run (opened without O_NONBLOCK, a FIFO waits for a writer) or never end.
std::optional<std::string> read_line(const std::string& path, int& error) {
  error = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return std::nullopt;
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = kNotARegularFile;
    ::close(fd);
    return std::nullopt;
  }
  char buffer[128] = {};
  const ssize_t got = ::read(fd, buffer, sizeof buffer - 1);
  if (got < 0) error = errno;
  ::close(fd);
  if (got <= 0) {
    if (got == 0) error = EIO;
    return std::nullopt;
  }
  std::string line(buffer, static_cast<std::size_t>(got));
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::optional<std::uint64_t> parse_counter(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

// Reads a zone's energy_uj; "" on success, else why not in words.
std::string read_energy_uj(const RaplZone& zone, std::uint64_t& value) {
  const std::string path = zone.path + "/energy_uj";
  int error = 0;
  const auto line = read_line(path, error);
  if (!line) {
    if (error == EACCES || error == EPERM)
      return path + " is readable only by root (" + std::strerror(error) +
             "; since Linux 5.10 RAPL counters are root-only: run as root or grant read access, docs/energy.md)";
    return "cannot read " + path + ": " + (error == kNotARegularFile ? "not a regular file" : std::strerror(error));
  }
  const auto parsed = parse_counter(*line);
  if (!parsed) return path + " does not hold a counter (\"" + *line + "\")";
  value = *parsed;
  return {};
}

bool is_top_level_rapl(const std::string& entry) {
  // "intel-rapl:0" (not "intel-rapl:0:1", not "intel-rapl-mmio:0")
  const std::string prefix = "intel-rapl:";
  if (entry.rfind(prefix, 0) != 0) return false;
  const std::string rest = entry.substr(prefix.size());
  return !rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos;
}

class RaplMeter final : public EnergyMeter {
 public:
  explicit RaplMeter(const std::string& root) {
    std::string why_none;
    zones_ = find_rapl_zones(root, why_none);
    if (zones_.empty()) {
      unavailable_ = "RAPL unavailable: " + why_none;
      return;
    }
    // A package counter that cannot be read makes the whole figure unknown; a DRAM one only
    // the DRAM figure.
    std::vector<RaplZone> readable;
    for (const RaplZone& zone : zones_) {
      std::uint64_t value = 0;
      const std::string why = read_energy_uj(zone, value);
      if (why.empty()) {
        readable.push_back(zone);
        continue;
      }
      if (!zone.dram) {
        unavailable_ = "RAPL unavailable: " + why;
        return;
      }
    }
    zones_ = readable;
    std::string packages, drams;
    for (const RaplZone& zone : zones_) {
      std::string& names = zone.dram ? drams : packages;
      // Packages by name ("package-0"); DRAM subzones, all named "dram", by directory.
      names += (names.empty() ? "" : " + ") + (zone.dram ? fs::path(zone.path).filename().string() : zone.name);
    }
    source_ = "RAPL " + packages + " (package domain)";
    dram_zones_ = std::count_if(zones_.begin(), zones_.end(), [](const RaplZone& z) { return z.dram; });
    if (dram_zones_ > 0) source_ += "; DRAM domain: " + drams;
  }

  std::string unavailable_reason() const override { return unavailable_; }
  double minimum_window_s() const override { return 0.1; }

  void start() override {
    start_.assign(zones_.size(), 0);
    start_error_.clear();
    for (std::size_t i = 0; i < zones_.size() && start_error_.empty(); ++i)
      start_error_ = read_energy_uj(zones_[i], start_[i]);
  }

  EnergyWindow stop() override {
    EnergyWindow w;
    if (!unavailable_.empty()) {
      w.unavailable_reason = unavailable_;
      return w;
    }
    if (!start_error_.empty() || start_.size() != zones_.size()) {
      w.unavailable_reason =
          "RAPL unavailable: " + (start_error_.empty() ? std::string("window not started") : start_error_);
      return w;
    }
    double package_uj = 0, dram_uj = 0;
    for (std::size_t i = 0; i < zones_.size(); ++i) {
      std::uint64_t end = 0;
      if (const std::string why = read_energy_uj(zones_[i], end); !why.empty()) {
        w.unavailable_reason = "RAPL unavailable: " + why;
        return w;
      }
      if (end < start_[i] && zones_[i].max_energy_range_uj == 0) {
        w.unavailable_reason =
            "RAPL unavailable: " + zones_[i].path + " wrapped around and its max_energy_range_uj is unknown";
        return w;
      }
      const double increase = static_cast<double>(counter_increase(start_[i], end, zones_[i].max_energy_range_uj));
      (zones_[i].dram ? dram_uj : package_uj) += increase;
    }
    // A live package counter always moves over a window the runner keeps at 0.1 s or longer;
    // one that stood still is not reporting energy (a frozen or emulated counter): no figure.
    if (package_uj <= 0) {
      w.unavailable_reason = "RAPL unavailable: the package counters did not advance during the window";
      return w;
    }
    w.measured = true;
    w.source = source_;
    w.joules = package_uj * 1e-6;
    if (dram_zones_ > 0) w.dram_joules = dram_uj * 1e-6;
    return w;
  }

 private:
  std::vector<RaplZone> zones_;
  std::string unavailable_;
  std::string source_;
  std::ptrdiff_t dram_zones_ = 0;
  std::vector<std::uint64_t> start_;
  std::string start_error_;
};

}  // namespace

std::vector<RaplZone> find_rapl_zones(const std::string& powercap_root, std::string& why_none) {
  std::vector<RaplZone> zones;
  std::error_code ec;
  if (!fs::is_directory(powercap_root, ec)) {
    why_none = "no powercap sysfs at " + powercap_root +
               " (no RAPL driver: virtual machines and most cloud instances expose none)";
    return zones;
  }
  std::vector<std::string> packages;
  for (fs::directory_iterator it(powercap_root, ec), end; !ec && it != end; it.increment(ec))
    if (is_top_level_rapl(it->path().filename().string())) packages.push_back(it->path().filename().string());
  if (ec) {
    why_none = "cannot list " + powercap_root + ": " + ec.message();
    return {};
  }
  // intel-rapl:0, intel-rapl:1, ... in numeric order.
  std::sort(packages.begin(), packages.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  auto zone_at = [](const fs::path& dir, bool dram) {
    RaplZone zone;
    zone.path = dir.string();
    int error = 0;
    zone.name = read_line(zone.path + "/name", error).value_or("");
    zone.max_energy_range_uj =
        parse_counter(read_line(zone.path + "/max_energy_range_uj", error).value_or("")).value_or(0);
    zone.dram = dram;
    return zone;
  };
  for (const std::string& package : packages) {
    const fs::path dir = fs::path(powercap_root) / package;
    RaplZone zone = zone_at(dir, false);
    if (zone.name.rfind("package", 0) != 0) continue;  // "psys" and the like
    zones.push_back(zone);
    std::vector<fs::path> subzones;
    for (fs::directory_iterator sub(dir, ec), end; !ec && sub != end; sub.increment(ec))
      if (sub->path().filename().string().rfind(package + ":", 0) == 0) subzones.push_back(sub->path());
    std::sort(subzones.begin(), subzones.end());
    for (const fs::path& sub : subzones) {
      RaplZone subzone = zone_at(sub, true);
      if (subzone.name == "dram") zones.push_back(subzone);
    }
  }
  if (zones.empty())
    why_none = "no RAPL package zone under " + powercap_root + " (the CPU or the hypervisor exposes none)";
  return zones;
}

std::unique_ptr<EnergyMeter> make_rapl_meter(const std::string& powercap_root) {
  return std::make_unique<RaplMeter>(powercap_root);
}

std::string powercap_root() {
  const char* root = std::getenv("MLBENCH_POWERCAP_ROOT");
  return root != nullptr && *root != '\0' ? root : "/sys/class/powercap";
}

}  // namespace mlbench
