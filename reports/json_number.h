// Numbers in mlbench's JSON files: JSON has no NaN or infinity, and a failed verification may
// well report an infinite error, so those are written as the strings "nan", "inf", "-inf".
#pragma once

#include <cmath>

#include <nlohmann/json.hpp>

namespace mlbench::reports {

inline nlohmann::ordered_json json_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

}  // namespace mlbench::reports
