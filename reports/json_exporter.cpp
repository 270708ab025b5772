// --json: the Google Benchmark JSON report with mlbench's fields (reports/json_report.h). One
// file holds one machine: Google Benchmark's format has one context. Its options (--time-unit,
// --aggregates-only, --aggregates) are declared here and read back into JsonOptions.
#include "reports/exporter.h"
#include "reports/json_report.h"

namespace mlbench::reports {

namespace {

// --time-unit, --aggregates-only, --aggregates (JsonOptions).
struct JsonFormatOptions {
  ExporterOption time_unit, aggregates_only, aggregates;
};

JsonFormatOptions json_format_options() {
  JsonFormatOptions o;
  o.time_unit.name = "time-unit";
  o.time_unit.help =
      "JSON time unit of every entry (default: per benchmark, the coarsest in which its median reads at least 10; "
      "compare.py pairs only entries of equal unit, so give one when comparing runs with it)";
  o.time_unit.choices = {"ns", "us", "ms", "s"};
  o.aggregates_only.name = "aggregates-only";
  o.aggregates_only.kind = ExporterOption::Kind::flag;
  o.aggregates_only.help =
      "JSON: only the aggregates of rows with repetitions, as Google Benchmark's --benchmark_report_aggregates_only "
      "(the repetition times stay in each row's mlbench.samples)";
  o.aggregates.name = "aggregates";
  o.aggregates.kind = ExporterOption::Kind::list;
  o.aggregates.help =
      "JSON: the aggregates to write, comma separated (default mean,median,stddev,cv); --aggregates median with "
      "--aggregates-only gives trackers that read every entry (github-action-benchmark) one value per row";
  o.aggregates.choices = {"mean", "median", "stddev", "cv"};
  o.aggregates.list_default = JsonOptions{}.aggregates;
  return o;
}

// The JSON options as given in `paths`, their defaults where not. render_json checks them again
// (InputError for an unknown unit or aggregate).
JsonOptions json_options(const OutputPaths& paths, const JsonFormatOptions& declared) {
  JsonOptions options;
  options.time_unit = exporter_option(paths, "json", declared.time_unit).text;
  options.aggregates_only = exporter_option(paths, "json", declared.aggregates_only).flag;
  options.aggregates = exporter_option(paths, "json", declared.aggregates).list;
  return options;
}

}  // namespace

Exporter json_exporter() {
  const JsonFormatOptions declared = json_format_options();
  Exporter e;
  e.name = "json";
  e.title = "JSON";
  e.help = "Write the JSON report (Google Benchmark format + mlbench fields)";
  e.saved_runs_help = "Write the merged JSON report (runs of one machine only)";
  e.several_machines = false;
  e.options = {declared.time_unit, declared.aggregates_only, declared.aggregates};
  e.render = [declared](const std::vector<RunReport>& machines, const OutputPaths& paths) {
    return render_json(machines.front(), json_options(paths, declared));
  };
  return e;
}

}  // namespace mlbench::reports
