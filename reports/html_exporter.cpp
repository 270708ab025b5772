// --html: one self-contained page, charts inline (reports/html_report.h).
#include "reports/exporter.h"
#include "reports/html_report.h"

namespace mlbench::reports {

Exporter html_exporter() {
  Exporter e;
  e.name = "html";
  e.title = "HTML";
  e.help = "Write one self-contained HTML page: context, tables, charts and notes";
  e.render = [](const std::vector<RunReport>& machines, const OutputPaths&) { return render_html(machines); };
  return e;
}

}  // namespace mlbench::reports
