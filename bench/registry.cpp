#include <algorithm>

#include "bench/backend.h"

namespace mlbench {

bool BackendInfo::supports_precision(Precision p) const {
  return std::find(precisions.begin(), precisions.end(), p) != precisions.end();
}

bool BackendInfo::uses_tensor_cores_at(Precision p) const {
  return std::find(tensor_core_precisions.begin(), tensor_core_precisions.end(), p) != tensor_core_precisions.end();
}

void Registry::add(BackendInfo info) {
  if (find(info.workload, info.name) != nullptr)
    throw std::logic_error("backend '" + info.name + "' registered twice for " + info.workload);
  backends_.push_back(std::move(info));
}

void Registry::replace(BackendInfo info) {
  for (auto& b : backends_)
    if (b.workload == info.workload && b.name == info.name) {
      b = std::move(info);
      return;
    }
  throw std::logic_error("backend '" + info.name + "' of " + info.workload + " replaced but never registered");
}

const BackendInfo* Registry::find(const std::string& workload, const std::string& backend) const {
  for (const auto& b : backends_)
    if (b.workload == workload && b.name == backend) return &b;
  return nullptr;
}

std::vector<const BackendInfo*> Registry::backends_for(const std::string& workload) const {
  std::vector<const BackendInfo*> out;
  for (const auto& b : backends_)
    if (b.workload == workload) out.push_back(&b);
  return out;
}

std::vector<std::string> Registry::backend_names() const {
  std::vector<std::string> names;
  for (const auto& b : backends_)
    if (std::find(names.begin(), names.end(), b.name) == names.end()) names.push_back(b.name);
  return names;
}

}  // namespace mlbench
