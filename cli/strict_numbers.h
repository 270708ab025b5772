// Numbers on the command line and in the environment, read strictly: integers in base 10 only,
// without leading zeros (CLI11 reads "010" as 8, "0x3" as 3 and "-1" as 2^64-1 for an unsigned
// option; "010" is refused rather than guessed as 8 or 10), within the
// type's range (no silent saturation), and floating-point values finite (NaN passes every
// CLI::Range). Header-only, like common_options.h: the tests and fuzzers build cli/*.cpp
// piecemeal.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/types.h"

namespace mlbench::cli {

// parse_decimal (base 10, no sign, no leading zeros, within a maximum) is bench/types.h's: the
// workload descriptors read option values with it too.
using mlbench::parse_decimal;

// A finite decimal floating-point number ("2", "0.5", "1e-3"); nullopt for NaN, inf, hex
// floats, overflow ("1e400") and trailing text.
inline std::optional<double> parse_finite(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Transform for integer options: base 10, digits only, no leading zero (so CLI11's own
// conversion cannot read octal or hex), at most 2^64 - 1; the option's Range check follows.
inline CLI::Validator strict_decimal() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (!parse_decimal(value))
          return "'" + value + "' is not a whole number in base 10 without leading zeros (0 .. 18446744073709551615)";
        return "";
      },
      "", "");
}

// Transform for floating-point options: finite decimal numbers only.
inline CLI::Validator strict_finite() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (!parse_finite(value)) return "'" + value + "' is not a finite number";
        return "";
      },
      "", "");
}

// Adds the strict transforms to every integer and floating-point option of `app` and of its
// option groups and subcommands (by CLI11's type name), so that options added later by anyone
// are covered too. Call once the options are declared.
inline void harden_numeric_options(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    // The name may carry the validators' descriptions ("INT:INT in [1 - 4096]").
    const std::string type = option->get_type_name();
    const auto is = [&type](const std::string& name) {
      return type.compare(0, name.size(), name) == 0 &&
             (type.size() == name.size() || !std::isalpha(static_cast<unsigned char>(type[name.size()])));
    };
    if (is("INT") || is("UINT"))
      option->transform(strict_decimal());
    else if (is("FLOAT"))
      option->transform(strict_finite());
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) harden_numeric_options(*sub);
}

// The largest thread count mlbench accepts, from --threads or the environment.
inline constexpr std::uint64_t kMaxThreads = 4096;

// OpenMP's thread-count list ("8", "8,4"): comma-separated whole numbers 1..kMaxThreads in base
// 10, spaces around each allowed. Plain character code, no allocation: cli/main.cpp calls it
// before any library, libstdc++ included, has initialized (see environment_guard there).
inline bool valid_thread_count_list(const char* value) {
  const char* p = value;
  while (true) {
    while (*p == ' ') ++p;
    const char* digits = p;
    std::uint64_t count = 0;
    while (*p >= '0' && *p <= '9') {
      count = count * 10 + static_cast<std::uint64_t>(*p - '0');
      if (count > kMaxThreads) return false;
      ++p;
    }
    if (p == digits || count == 0 || (*digits == '0' && p - digits > 1)) return false;
    while (*p == ' ') ++p;
    if (*p == '\0') return true;
    if (*p != ',') return false;
    ++p;
  }
}

// The environment variables that set what an option would, bounded like the option: a thread
// count, or OpenMP's comma list of them, each 1..4096 (libgomp crashes starting 100000 threads).
inline constexpr const char* kThreadCountVariables[] = {"OMP_NUM_THREADS", "OMP_THREAD_LIMIT"};

// The one-line problem with them, "" when all are fine. `lookup` reads a variable (getenv, or
// main's, which also knows the values it held back from libgomp).
inline std::string environment_problem(const char* (*lookup)(const char*) = [](const char* name) -> const char* {
  return std::getenv(name);
}) {
  for (const char* name : kThreadCountVariables) {
    const char* raw = lookup(name);
    if (raw == nullptr || raw[0] == '\0' || valid_thread_count_list(raw)) continue;
    const std::string value = raw;
    return std::string(name) + "=" + value.substr(0, 40) + (value.size() > 40 ? "..." : "") +
           ": each thread count must be a whole number from 1 to " + std::to_string(kMaxThreads) + " (like --threads)";
  }
  return "";
}

}  // namespace mlbench::cli
