// Markdown report and the plain-text console table.
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

// Column headers of every result table in the markdown report, in order.
const std::vector<std::string>& markdown_columns();

// Header (machine, GPU or why absent, OpenBLAS core and warnings, seed, date), one table per
// workload/precision/shape with one row per result, notes, a multi-GPU scaling table where
// there are multi-GPU rows, and the break-even of size sweeps.
std::string render_markdown(const RunReport& report);
// Several machines: one section per report, headed by its machine.
std::string render_markdown(const std::vector<RunReport>& reports);

// Fixed-width table for stdout: one block per shape, one line per result.
std::string render_console_table(const RunReport& report);

// Escapes text for a markdown table cell ("|" and newlines).
std::string markdown_cell(const std::string& text);

}  // namespace mlbench::reports
