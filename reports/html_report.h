// The HTML report (--html FILE): one self-contained page per run (or per set of machines) with
// the machine context, the result tables, the charts and the notes. Nothing is fetched: styles
// and SVG charts are inline, no script, no font, no image file; the CSS lays the page out for a
// phone as for a laptop (tables scroll sideways in their own box, charts scale to the width).
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

// One report per machine (merge runs of one machine first), as write_reports takes them.
std::string render_html(const std::vector<RunReport>& machines);

// The HTML of a markdown text as the markdown writer produces it: headings, bullet lists,
// tables (alignment from the separator row), paragraphs, `code` and **bold**; everything else
// is text, escaped. Headings get ids `id_prefix` + "s-" + slug(title).
std::string markdown_to_html(const std::string& markdown, const std::string& id_prefix = "");

}  // namespace mlbench::reports
