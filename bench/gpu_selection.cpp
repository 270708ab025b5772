#include "bench/gpu_selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>

#include "bench/types.h"

namespace mlbench {

namespace {

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// A whole number, sign allowed (so that "-1" is reported as negative, not as malformed).
bool parse_int(const std::string& text, long long& value) {
  if (text.empty()) return false;
  std::size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
  if (i == text.size()) return false;
  for (std::size_t j = i; j < text.size(); ++j)
    if (!std::isdigit(static_cast<unsigned char>(text[j]))) return false;
  if (text.size() - i > 9) {  // beyond any device count; keep the value out of overflow
    value = text[0] == '-' ? LLONG_MIN : LLONG_MAX;
    return true;
  }
  value = std::strtoll(text.c_str(), nullptr, 10);
  return true;
}

std::string gpus_here(int device_count) {
  return device_count == 1 ? "1 GPU here (ordinal 0)"
                           : fmt::format("{} GPUs here (ordinals 0-{})", device_count, device_count - 1);
}

std::vector<int> powers_of_two_and(int n) {
  std::vector<int> counts;
  for (int c = 1; c < n; c *= 2) counts.push_back(c);
  counts.push_back(n);
  return counts;
}

}  // namespace

GpuSelection select_gpus(const std::string& raw_spec, int device_count) {
  const std::string spec = trimmed(raw_spec);
  if (spec.empty()) throw InputError("--gpus needs N, all or a list of GPU ordinals such as 0,1");
  // The text first, so that a typo is named as such on any machine; then the devices.
  const bool all = spec == "all", list = spec.find(',') != std::string::npos;
  long long count = 0;
  std::vector<long long> ordinals;
  if (list) {
    for (std::size_t start = 0; start <= spec.size();) {
      const std::size_t comma = std::min(spec.find(',', start), spec.size());
      const std::string item = trimmed(spec.substr(start, comma - start));
      long long ordinal = 0;
      if (!parse_int(item, ordinal)) throw InputError(fmt::format("--gpus {}: '{}' is not a GPU ordinal", spec, item));
      if (ordinal < 0) throw InputError(fmt::format("--gpus {}: GPU ordinals are not negative, got {}", spec, item));
      if (std::find(ordinals.begin(), ordinals.end(), ordinal) != ordinals.end())
        throw InputError(fmt::format("--gpus {}: GPU {} is listed twice", spec, item));
      ordinals.push_back(ordinal);
      start = comma + 1;
    }
  } else if (!all) {
    if (!parse_int(spec, count)) throw InputError("--gpus: '" + spec + "' is not N, all or a list of GPU ordinals");
    if (count < 1) throw InputError(fmt::format("--gpus must be at least 1, got {}", spec));
  }
  if (device_count < 0) throw InputError("--gpus: this mlbench was built without CUDA (`mlbench list` says why)");
  if (device_count == 0) throw InputError("--gpus " + spec + ": no CUDA device here");

  GpuSelection selection;
  if (list) {
    for (long long ordinal : ordinals) {
      if (ordinal >= device_count)
        throw InputError(fmt::format("--gpus {}: there is no GPU {}; {}", spec, ordinal, gpus_here(device_count)));
      selection.devices.push_back(static_cast<int>(ordinal));
    }
    for (int c = 1; c <= static_cast<int>(selection.devices.size()); ++c) selection.counts.push_back(c);
    return selection;
  }
  if (all) count = device_count;
  if (count > device_count) throw InputError(fmt::format("--gpus {}: only {}", spec, gpus_here(device_count)));
  for (int d = 0; d < count; ++d) selection.devices.push_back(d);
  selection.counts = powers_of_two_and(static_cast<int>(count));
  return selection;
}

namespace {
int g_this_process_gpu = 0;
}
void set_this_process_gpu(int ordinal) { g_this_process_gpu = ordinal; }
int this_process_gpu() { return g_this_process_gpu; }

}  // namespace mlbench
