#include "bench/thread_binding.h"

#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

namespace mlbench {

namespace {

struct PinRequest {
  std::optional<PinMode> mode;  // unset: no command line recorded one (tests, `mlbench info`)
  std::string problem;
};
// Process-wide like the binding it describes: written once by the CLI before any run.
PinRequest& pin_request() {
  static PinRequest request;
  return request;
}

std::string env_or_unset(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "unset";
}

}  // namespace

std::string to_string(PinMode mode) {
  switch (mode) {
    case PinMode::none: return "none";
    case PinMode::cores: return "cores";
    case PinMode::threads: return "threads";
  }
  return "none";
}

std::optional<PinMode> parse_pin_mode(const std::string& text) {
  for (PinMode m : {PinMode::none, PinMode::cores, PinMode::threads})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

void record_pin_request(PinMode requested, const std::string& problem) { pin_request() = {requested, problem}; }

bool openmp_threads_bound() { return omp_get_proc_bind() != omp_proc_bind_false && omp_get_num_places() > 0; }

std::vector<int> openmp_thread_cpus() {
  std::vector<int> cpus;
  if (openmp_threads_bound()) {
    for (int place = 0; place < omp_get_num_places(); ++place) {
      std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(place)));
      omp_get_place_proc_ids(place, ids.data());
      cpus.insert(cpus.end(), ids.begin(), ids.end());
    }
  } else {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (pthread_getaffinity_np(pthread_self(), sizeof mask, &mask) == 0)
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &mask)) cpus.push_back(cpu);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  if (cpus.empty()) return "none";
  std::string text;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    text += (text.empty() ? "" : ",") + (j == i ? std::to_string(cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]));
    i = j + 1;
  }
  return text;
}

namespace {
std::string describe_binding() {
  const std::string variables =
      fmt::format("OMP_PROC_BIND={} OMP_PLACES={}", env_or_unset("OMP_PROC_BIND"), env_or_unset("OMP_PLACES"));
  const std::string places = fmt::format("{} place{}", omp_get_num_places(), omp_get_num_places() == 1 ? "" : "s");
  const PinRequest& request = pin_request();
  if (const char* by_mlbench = std::getenv(kPinnedByMlbenchVariable); by_mlbench != nullptr && openmp_threads_bound())
    return fmt::format("pinned by mlbench (--pin {}): {}, {}", by_mlbench, variables, places);
  const bool user_set = std::getenv("OMP_PROC_BIND") != nullptr || std::getenv("OMP_PLACES") != nullptr;
  if (user_set)
    return fmt::format(
        "from the environment: {}, {}{}", variables,
        openmp_threads_bound() ? places : "threads not bound, they may migrate between cores",
        request.mode && *request.mode != PinMode::none ? " (mlbench leaves a binding the user set alone)" : "");
  if (!request.problem.empty())
    return "none: threads may migrate between cores (pinning failed: " + request.problem + ")";
  if (request.mode == PinMode::none) return "none (--pin none): threads may migrate between cores";
  return "none: threads may migrate between cores";
}
}  // namespace

std::string describe_thread_pinning() {
  const char* note = std::getenv(kRankPinningNoteVariable);
  return describe_binding() + (note != nullptr && *note != '\0' ? std::string("; ") + note : std::string());
}

WidenedAffinity::WidenedAffinity() {
  if (!openmp_threads_bound()) return;
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int place = 0; place < omp_get_num_places(); ++place) {
    std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(place)));
    omp_get_place_proc_ids(place, ids.data());
    for (int id : ids)
      if (id >= 0 && id < CPU_SETSIZE) CPU_SET(id, &all);
  }
  if (CPU_COUNT(&all) == 0 || pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) != 0) return;
  changed_ = pthread_setaffinity_np(pthread_self(), sizeof all, &all) == 0;
}

WidenedAffinity::~WidenedAffinity() {
  if (changed_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
}

}  // namespace mlbench
