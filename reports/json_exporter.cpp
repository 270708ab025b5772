// --json: the Google Benchmark JSON report with mlbench's fields (reports/json_report.h). One
// file holds one machine: Google Benchmark's format has one context.
#include "reports/exporter.h"
#include "reports/json_report.h"

namespace mlbench::reports {

Exporter json_exporter() {
  Exporter e;
  e.name = "json";
  e.title = "JSON";
  e.help = "Write the JSON report (Google Benchmark format + mlbench fields)";
  e.saved_runs_help = "Write the merged JSON report (runs of one machine only)";
  e.several_machines = false;
  e.render = [](const std::vector<RunReport>& machines, const OutputPaths& paths) {
    return render_json(machines.front(), paths.json_options);
  };
  return e;
}

}  // namespace mlbench::reports
