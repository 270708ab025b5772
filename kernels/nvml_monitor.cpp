#include "kernels/nvml_monitor.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace mlbench::kernels {

namespace {

// The slice of nvml.h used here, declared by hand (signatures and values as in nvml.h; enums
// are passed as int, which is what a C enum is at the ABI level).
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlErrorNotSupported = 3;
constexpr int kNvmlClockSm = 1, kNvmlClockMem = 2;                   // nvmlClockType_t
constexpr int kNvmlTemperatureGpu = 0;                               // nvmlTemperatureSensors_t
constexpr int kNvmlPerfPolicyPower = 0, kNvmlPerfPolicyThermal = 1;  // nvmlPerfPolicyType_t
struct nvmlViolationTime_t {
  unsigned long long referenceTime;  // CPU timestamp, µs
  unsigned long long violationTime;  // ns
};

// Loaded once per process; every entry point resolved or the reason why not.
class Nvml {
 public:
  static Nvml& instance() {
    static Nvml nvml;
    return nvml;
  }
  ~Nvml() {
    if (initialized_) shutdown_();
    // The library stays mapped: NVML's own atexit handlers may still run.
  }

  const std::string& unavailable() const { return unavailable_; }
  const std::string& version() const { return version_; }

  GpuStateSample read(int device) {
    GpuStateSample s;
    if (!unavailable_.empty()) {
      s.unavailable_reason = unavailable_;
      return s;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    nvmlDevice_t handle = nullptr;
    if (const std::string why = handle_of(device, handle); !why.empty()) {
      s.unavailable_reason = "NVML not available: " + why;
      return s;
    }
    s.available = true;
    unsigned int value = 0;
    if (clock_info_(handle, kNvmlClockSm, &value) == kNvmlSuccess) s.sm_clock_mhz = value;
    if (clock_info_(handle, kNvmlClockMem, &value) == kNvmlSuccess) s.memory_clock_mhz = value;
    if (temperature_(handle, kNvmlTemperatureGpu, &value) == kNvmlSuccess) s.temperature_c = value;
    if (power_usage_(handle, &value) == kNvmlSuccess) s.power_w = value / 1000.0;  // milliwatts
    unsigned long long reasons = 0;
    if (throttle_reasons_(handle, &reasons) == kNvmlSuccess) {
      s.throttle_reason_bits = reasons;
      s.throttle_reasons = performance_throttle_reasons(reasons);
    }
    if (violation_status_ != nullptr) {
      nvmlViolationTime_t t{};
      if (violation_status_(handle, kNvmlPerfPolicyPower, &t) == kNvmlSuccess)
        s.power_violation_ns = static_cast<double>(t.violationTime);
      if (violation_status_(handle, kNvmlPerfPolicyThermal, &t) == kNvmlSuccess)
        s.thermal_violation_ns = static_cast<double>(t.violationTime);
    }
    return s;
  }

  // NVML's total-energy counter of CUDA device `device`, in millijoules since the driver was
  // loaded (Volta and later); "" on success, else why not.
  std::string total_energy_mj(int device, unsigned long long& millijoules) {
    if (!unavailable_.empty()) return unavailable_;
    if (total_energy_ == nullptr)
      return "NVML total energy not available: libnvidia-ml.so.1 has no nvmlDeviceGetTotalEnergyConsumption";
    std::lock_guard<std::mutex> lock(mutex_);
    nvmlDevice_t handle = nullptr;
    if (const std::string why = handle_of(device, handle); !why.empty()) return "NVML not available: " + why;
    const nvmlReturn_t status = total_energy_(handle, &millijoules);
    if (status == kNvmlSuccess) return {};
    return fmt::format("NVML total energy not available on GPU {}: {}{}", device, error_string_(status),
                       status == kNvmlErrorNotSupported ? " (the counter exists from Volta on)" : "");
  }

 private:
  Nvml() {
    library_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library_ == nullptr) {
      const char* why = dlerror();
      unavailable_ = std::string("NVML not available: ") + (why != nullptr ? why : "cannot load libnvidia-ml.so.1");
      return;
    }
    const bool resolved =
        resolve(init_, "nvmlInit_v2") && resolve(shutdown_, "nvmlShutdown") &&
        resolve(error_string_, "nvmlErrorString") && resolve(handle_by_index_, "nvmlDeviceGetHandleByIndex_v2") &&
        resolve(clock_info_, "nvmlDeviceGetClockInfo") && resolve(temperature_, "nvmlDeviceGetTemperature") &&
        resolve(power_usage_, "nvmlDeviceGetPowerUsage") &&
        // Renamed "clocks event reasons" in CUDA 12.2's NVML; the old name stays for a while.
        (resolve(throttle_reasons_, "nvmlDeviceGetCurrentClocksEventReasons") ||
         resolve(throttle_reasons_, "nvmlDeviceGetCurrentClocksThrottleReasons"));
    if (!resolved) return;  // unavailable_ names the missing entry point
    // Optional: a better device match, the cumulative limiter times, the version.
    resolve(handle_by_pci_bus_id_, "nvmlDeviceGetHandleByPciBusId_v2");
    resolve(violation_status_, "nvmlDeviceGetViolationStatus");
    resolve(total_energy_, "nvmlDeviceGetTotalEnergyConsumption");
    const nvmlReturn_t status = init_();
    if (status != kNvmlSuccess) {
      unavailable_ = std::string("NVML not available: nvmlInit_v2 failed: ") + error_string_(status);
      return;
    }
    initialized_ = true;
    using VersionFn = nvmlReturn_t (*)(char*, unsigned int);
    VersionFn get_version = nullptr;
    char text[96] = {};
    if (resolve(get_version, "nvmlSystemGetNVMLVersion") && get_version(text, sizeof text) == kNvmlSuccess)
      version_ = text;
    unavailable_.clear();  // optional entry points may have been missing: that is fine
  }

  template <class Fn>
  bool resolve(Fn& fn, const char* name) {
    dlerror();
    fn = reinterpret_cast<Fn>(dlsym(library_, name));
    if (fn == nullptr) unavailable_ = std::string("NVML not available: libnvidia-ml.so.1 has no ") + name;
    return fn != nullptr;
  }

  // NVML numbers devices its own way (all of them, PCI order); CUDA may not (CUDA_VISIBLE_DEVICES,
  // CUDA_DEVICE_ORDER): match by PCI bus id where both say it.
  std::string handle_of(int device, nvmlDevice_t& handle) {
    if (auto it = handles_.find(device); it != handles_.end()) {
      handle = it->second;
      return {};
    }
    char bus_id[64] = {};
    nvmlReturn_t status = -1;
    if (handle_by_pci_bus_id_ != nullptr && cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, device) == cudaSuccess)
      status = handle_by_pci_bus_id_(bus_id, &handle);
    else
      cudaGetLastError();
    if (status != kNvmlSuccess) status = handle_by_index_(static_cast<unsigned int>(device), &handle);
    if (status != kNvmlSuccess)
      return fmt::format("no NVML device for CUDA device {}: {}", device, error_string_(status));
    handles_[device] = handle;
    return {};
  }

  void* library_ = nullptr;
  bool initialized_ = false;
  std::string unavailable_ = "NVML not available: not loaded";
  std::string version_;
  std::mutex mutex_;
  std::map<int, nvmlDevice_t> handles_;

  nvmlReturn_t (*init_)() = nullptr;
  nvmlReturn_t (*shutdown_)() = nullptr;
  const char* (*error_string_)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*handle_by_index_)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*handle_by_pci_bus_id_)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*clock_info_)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*temperature_)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power_usage_)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*throttle_reasons_)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*violation_status_)(nvmlDevice_t, int, nvmlViolationTime_t*) = nullptr;
  nvmlReturn_t (*total_energy_)(nvmlDevice_t, unsigned long long*) = nullptr;  // mJ
};

// GPU rows' energy: NVML's total-energy counter summed over the devices a row runs on. The
// counter covers the whole board (GPU, HBM, regulators), not the host; it is refreshed every few
// tens of milliseconds, so the runner keeps the window at a second or more.
class NvmlEnergyMeter final : public EnergyMeter {
 public:
  explicit NvmlEnergyMeter(std::vector<int> devices) : devices_(std::move(devices)) {
    for (int device : devices_) {
      unsigned long long mj = 0;
      if (std::string why = Nvml::instance().total_energy_mj(device, mj); !why.empty()) {
        unavailable_ = std::move(why);
        return;
      }
      source_ += (source_.empty() ? "NVML total energy (board): GPU " : " + GPU ") + std::to_string(device);
    }
  }
  std::string unavailable_reason() const override { return unavailable_; }
  double minimum_window_s() const override { return 1.0; }
  void start() override {
    start_error_.clear();
    start_mj_.assign(devices_.size(), 0);
    for (std::size_t i = 0; i < devices_.size() && start_error_.empty(); ++i)
      start_error_ = Nvml::instance().total_energy_mj(devices_[i], start_mj_[i]);
  }
  EnergyWindow stop() override {
    EnergyWindow w;
    if (!unavailable_.empty() || !start_error_.empty()) {
      w.unavailable_reason = !unavailable_.empty() ? unavailable_ : start_error_;
      return w;
    }
    unsigned long long total_mj = 0;
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      unsigned long long end_mj = 0;
      if (std::string why = Nvml::instance().total_energy_mj(devices_[i], end_mj); !why.empty()) {
        w.unavailable_reason = std::move(why);
        return w;
      }
      if (end_mj < start_mj_[i]) {  // a 64-bit counter of millijoules does not wrap: the driver reloaded
        w.unavailable_reason =
            fmt::format("NVML total energy of GPU {} went backwards (driver reloaded?)", devices_[i]);
        return w;
      }
      total_mj += end_mj - start_mj_[i];
    }
    if (total_mj == 0) {
      w.unavailable_reason = "NVML total energy did not advance during the window";
      return w;
    }
    w.measured = true;
    w.source = source_;
    w.joules = static_cast<double>(total_mj) * 1e-3;
    return w;
  }

 private:
  std::vector<int> devices_;
  std::string unavailable_, source_, start_error_;
  std::vector<unsigned long long> start_mj_;
};

}  // namespace

std::vector<std::string> performance_throttle_reasons(std::uint64_t bits) {
  using namespace nvml_reason;
  static const std::pair<std::uint64_t, const char*> named[] = {
      {kSwPowerCap, "power cap"},           {kHwSlowdown, "HW slowdown"},           {kSwThermalSlowdown, "thermal"},
      {kHwThermalSlowdown, "thermal (HW)"}, {kHwPowerBrakeSlowdown, "power brake"}, {kSyncBoost, "sync boost"}};
  std::vector<std::string> names;
  for (const auto& [bit, name] : named)
    if ((bits & bit) != 0) names.emplace_back(name);
  return names;
}

GpuStateSample read_gpu_state(int device) { return Nvml::instance().read(device); }

std::string nvml_unavailable_reason() { return Nvml::instance().unavailable(); }

std::string nvml_version() { return Nvml::instance().version(); }

std::string read_total_energy_mj(int device, std::uint64_t& millijoules) {
  unsigned long long mj = 0;
  std::string why = Nvml::instance().total_energy_mj(device, mj);
  millijoules = mj;
  return why;
}

std::unique_ptr<EnergyMeter> make_nvml_energy_meter(std::vector<int> devices) {
  return std::make_unique<NvmlEnergyMeter>(std::move(devices));
}

}  // namespace mlbench::kernels
