// --chart DIR: the SVG charts (reports/charts.h) of every machine, file names prefixed by the
// machine when there are several, and the comparison charts across machines.
#include <utility>

#include "reports/charts.h"
#include "reports/exporter.h"
#include "reports/text_format.h"

namespace mlbench::reports {

namespace {

void write_chart_files(const std::vector<RunReport>& machines, const std::string& directory) {
  std::vector<Chart> charts;
  std::vector<const MachineContext*> contexts;
  for (const RunReport& m : machines) contexts.push_back(&m.machine);
  const std::vector<std::string> names = distinct_machine_names(contexts);
  for (std::size_t index = 0; index < machines.size(); ++index) {
    const RunReport& m = machines[index];
    std::vector<Chart> speedup = speedup_charts(m), scaling = scaling_charts(m), roofline = roofline_charts(m);
    // Several machines: keep their file names apart.
    std::string prefix = machines.size() > 1 ? slug(names[index]) + "_" : "";
    for (auto* list : {&speedup, &scaling, &roofline})
      for (Chart& c : *list) {
        c.file_name = prefix + c.file_name;
        charts.push_back(std::move(c));
      }
  }
  if (machines.size() > 1)
    for (Chart& c : comparison_charts(machines)) charts.push_back(std::move(c));
  write_charts(directory, charts);
}

}  // namespace

Exporter chart_exporter() {
  Exporter e;
  e.name = "chart";
  e.title = "SVG charts";
  e.help = "Write SVG charts into this directory";
  e.saved_runs_help = "Write SVG charts (speedup, scaling, machine comparison) into DIR";
  e.target = Exporter::Target::directory;
  e.file_noun = "chart";
  e.file_extension = ".svg";
  e.write = [](const std::vector<RunReport>& machines, const std::string& directory, const OutputPaths&) {
    write_chart_files(machines, directory);
  };
  return e;
}

}  // namespace mlbench::reports
