// The console table (reports/markdown.h, render_console_table): what a run and `report` print
// when they are done, one block per shape; several machines each under "== host ==". It has no
// option: it is printed wherever OutputPaths::console says (standard output, or standard error
// when a report went to standard output).
#include <fmt/format.h>

#include "reports/exporter.h"
#include "reports/markdown.h"

namespace mlbench::reports {

Exporter console_exporter() {
  Exporter e;
  e.name = "console";
  e.title = "console table";
  e.help = "The table printed when a run or report is done (standard error when a report goes to standard output)";
  e.target = Exporter::Target::console;
  e.render = [](const std::vector<RunReport>& machines, const OutputPaths&) {
    std::string text;
    for (std::size_t i = 0; i < machines.size(); ++i) {
      if (machines.size() > 1) text += fmt::format("{}== {} ==\n", i ? "\n" : "", machines[i].machine.hostname);
      text += render_console_table(machines[i]);
    }
    return text;
  };
  return e;
}

}  // namespace mlbench::reports
