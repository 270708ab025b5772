// --csv: one CSV row per result, every machine in one table (reports/csv.h).
#include "reports/csv.h"
#include "reports/exporter.h"

namespace mlbench::reports {

Exporter csv_exporter() {
  Exporter e;
  e.name = "csv";
  e.title = "CSV";
  e.help = "Write one CSV row per result";
  e.render = [](const std::vector<RunReport>& machines, const OutputPaths&) { return render_csv(machines); };
  return e;
}

}  // namespace mlbench::reports
