// --markdown: the markdown report, a section per machine (reports/markdown.h).
#include "reports/exporter.h"
#include "reports/markdown.h"

namespace mlbench::reports {

Exporter markdown_exporter() {
  Exporter e;
  e.name = "markdown";
  e.title = "markdown";
  e.help = "Write the markdown report";
  e.render = [](const std::vector<RunReport>& machines, const OutputPaths&) { return render_markdown(machines); };
  return e;
}

}  // namespace mlbench::reports
