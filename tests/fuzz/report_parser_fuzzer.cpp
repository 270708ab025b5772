// libFuzzer target: arbitrary bytes as a saved JSON report, the input of `mlbench report` and
// `mlbench compare`. InputError is the expected answer to bad input. Anything else is a bug:
// another exception type, a crash, a hang, a leak or a sanitizer report. A report that parses
// is also rendered the way `report` / `compare` would (in memory), and its JSON rendering must
// parse again: `mlbench report a.json --json b.json` must write what mlbench can read back.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <typeinfo>
#include <vector>

#include "bench/types.h"
#include "reports/charts.h"
#include "reports/compare.h"
#include "reports/csv.h"
#include "reports/json_report.h"
#include "reports/markdown.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using mlbench::InputError;
using mlbench::RunReport;
namespace reports = mlbench::reports;

void render_everything(const RunReport& report) {
  (void)reports::render_console_table(report);
  (void)reports::render_markdown(report);
  (void)reports::render_csv(report);
  (void)reports::speedup_charts(report);
  (void)reports::scaling_charts(report);
  (void)reports::comparison_charts({report, report});

  std::string json = reports::render_json(report);
  try {
    (void)reports::parse_report(json, "round-trip");
  } catch (const InputError& e) {
    mlbench::fuzz::fail(std::string("a parsed report rendered to JSON does not parse again: ") + e.what());
  }

  try {
    const reports::Comparison comparison = reports::compare({{"base.json", report}, {"new.json", report}});
    (void)reports::render_compare_markdown(comparison, 5.0);
    (void)reports::render_compare_csv(comparison);
    (void)reports::gate_failures(comparison, 5.0);
  } catch (const InputError&) {
    // compare refuses runs with no row in common; a report compared with itself has them
    // unless every row failed, which is allowed.
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mlbench::fuzz::keep_stderr_for_reports();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    RunReport report;
    try {
      report = reports::parse_report(text, "fuzz");
    } catch (const InputError&) {
      return 0;  // the expected answer to bad input
    }
    render_everything(report);
  } catch (const std::exception& e) {
    mlbench::fuzz::fail(std::string("unexpected ") + typeid(e).name() + ": " + e.what());
  }
  return 0;
}
