#include "reports/html_report.h"

#include <fmt/format.h>

#include <map>
#include <sstream>

#include "reports/charts.h"
#include "reports/markdown.h"
#include "reports/svg.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

// Phone first: one column, tables and charts scroll sideways inside their own box (the page
// itself never does); from 900 px the page widens and charts fit the column.
constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f6f4; color: #1b1b1b; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 10px 12px 40px; }
header.page { border-bottom: 3px solid #0072b2; margin-bottom: 8px; }
h1 { font-size: 1.3rem; margin: 0.6em 0 0.4em; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.8em 0 0.5em; padding-bottom: 2px; border-bottom: 1px solid #d8d8d8; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 1.2em 0 0.4em; }
p, li { overflow-wrap: anywhere; }
ul { padding-left: 1.1em; margin: 0.4em 0; }
li { margin: 2px 0; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.86em; background: #ebebe8;
  padding: 0 3px; border-radius: 3px; }
.table-wrap, .chart { overflow-x: auto; -webkit-overflow-scrolling: touch; background: #fff; border: 1px solid #dcdcdc;
  border-radius: 4px; margin: 8px 0; }
table { border-collapse: collapse; font-size: 0.8rem; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid #eee; white-space: nowrap; text-align: left; vertical-align: top; }
th { background: #efefec; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafaf8; }
figure { margin: 12px 0; }
figure svg { display: block; width: 760px; max-width: none; height: auto; }
figcaption { font-size: 0.8rem; color: #555; margin-top: 2px; }
nav.toc { font-size: 0.85rem; background: #fff; border: 1px solid #dcdcdc; border-radius: 4px; padding: 4px 10px; }
nav.toc summary { cursor: pointer; font-weight: 600; }
nav.toc ul { columns: 1; }
footer { margin-top: 32px; font-size: 0.8rem; color: #666; }
@media (max-width: 899px) {
  figcaption::after { content: " \2014  the chart scrolls sideways"; }
}
@media (min-width: 900px) {
  main { padding: 16px 28px 48px; }
  h1 { font-size: 1.6rem; }
  table { font-size: 0.86rem; }
  figure svg { width: 100%; }
  nav.toc ul { columns: 2; }
}
)css";

std::string escape_html(const std::string& text) { return svg::escape(text); }

// `code`, **bold**, the rest escaped.
std::string inline_html(const std::string& text) {
  std::string out;
  bool bold = false;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '`') {
      const std::size_t end = text.find('`', i + 1);
      if (end != std::string::npos) {
        out += "<code>" + escape_html(text.substr(i + 1, end - i - 1)) + "</code>";
        i = end + 1;
        continue;
      }
    }
    if (text.compare(i, 2, "**") == 0) {
      out += bold ? "</strong>" : "<strong>";
      bold = !bold;
      i += 2;
      continue;
    }
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '|') {
      out += "|";
      i += 2;
      continue;
    }
    out += escape_html(std::string(1, text[i]));
    ++i;
  }
  if (bold) out += "</strong>";
  return out;
}

// The cells of a markdown table row "| a | b \| c |".
std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::size_t start = line.find('|') + 1, end = line.rfind('|');
  for (std::size_t i = start; i < end; ++i) {
    if (line[i] == '\\' && i + 1 < end && line[i + 1] == '|') {
      cell += "\\|";
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  cells.push_back(cell);
  for (std::string& c : cells) {
    const std::size_t a = c.find_first_not_of(' '), b = c.find_last_not_of(' ');
    c = a == std::string::npos ? "" : c.substr(a, b - a + 1);
  }
  return cells;
}

std::string anchor_of(const std::string& title) { return "s-" + slug(title); }

}  // namespace

std::string markdown_to_html(const std::string& markdown, const std::string& id_prefix) {
  std::string out;
  std::vector<std::string> paragraph, list, table;
  auto flush = [&] {
    if (!paragraph.empty()) {
      std::string joined;
      for (const std::string& l : paragraph) joined += (joined.empty() ? "" : " ") + l;
      out += "<p>" + inline_html(joined) + "</p>\n";
      paragraph.clear();
    }
    if (!list.empty()) {
      out += "<ul>\n";
      for (const std::string& item : list) out += "<li>" + inline_html(item) + "</li>\n";
      out += "</ul>\n";
      list.clear();
    }
    if (!table.empty()) {
      // Header, separator (alignment), body.
      const std::vector<std::string> header = table_cells(table[0]);
      std::vector<bool> right(header.size(), false);
      std::size_t body_from = 1;
      if (table.size() > 1 && table[1].find("---") != std::string::npos) {
        const std::vector<std::string> seps = table_cells(table[1]);
        for (std::size_t i = 0; i < seps.size() && i < right.size(); ++i)
          right[i] = !seps[i].empty() && seps[i].back() == ':';
        body_from = 2;
      }
      auto cell = [&](const char* tag, std::size_t i, const std::string& text) {
        const bool num = i < right.size() && right[i];
        return fmt::format("<{0}{1}>{2}</{0}>", tag, num ? " class=\"num\"" : "", inline_html(text));
      };
      out += "<div class=\"table-wrap\"><table>\n<thead><tr>";
      for (std::size_t i = 0; i < header.size(); ++i) out += cell("th", i, header[i]);
      out += "</tr></thead>\n<tbody>\n";
      for (std::size_t r = body_from; r < table.size(); ++r) {
        const std::vector<std::string> cells = table_cells(table[r]);
        out += "<tr>";
        for (std::size_t i = 0; i < cells.size(); ++i) out += cell("td", i, cells[i]);
        out += "</tr>\n";
      }
      out += "</tbody></table></div>\n";
      table.clear();
    }
  };
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) {
      flush();
      continue;
    }
    std::size_t level = 0;
    while (level < line.size() && line[level] == '#') ++level;
    if (level >= 1 && level <= 4 && level < line.size() && line[level] == ' ') {
      flush();
      const std::string title = line.substr(level + 1);
      out += fmt::format("<h{0} id=\"{1}\">{2}</h{0}>\n", level, id_prefix + anchor_of(title), inline_html(title));
      continue;
    }
    if (line.rfind("- ", 0) == 0) {
      if (!paragraph.empty() || !table.empty()) flush();
      list.push_back(line.substr(2));
      continue;
    }
    if (line.front() == '|') {
      if (!paragraph.empty() || !list.empty()) flush();
      table.push_back(line);
      continue;
    }
    if (!list.empty() && line.rfind("  ", 0) == 0) {  // a list item's continuation
      list.back() += " " + line.substr(2);
      continue;
    }
    if (!list.empty() || !table.empty()) flush();
    paragraph.push_back(line);
  }
  flush();
  return out;
}

namespace {

// A chart inline: without its XML declaration, its ids (patterns) made unique in the page.
std::string inline_chart(const Chart& chart, std::size_t index) {
  std::string svg = chart.svg;
  if (svg.rfind("<?xml", 0) == 0) svg = svg.substr(svg.find("?>") + 2);
  const std::string prefix = fmt::format("c{}-", index);
  for (auto [from, to] : {std::pair{std::string(" id=\""), " id=\"" + prefix}, {"url(#", "url(#" + prefix}})
    for (std::size_t p = svg.find(from); p != std::string::npos; p = svg.find(from, p + to.size()))
      svg.replace(p, from.size(), to);
  const std::size_t open = svg.find("<svg ");
  if (open != std::string::npos)
    svg.insert(open + 5, "role=\"img\" aria-label=\"" + svg::escape(chart.title) + "\" class=\"chart-svg\" ");
  const std::string stem = chart.file_name.substr(0, chart.file_name.rfind('.'));
  return "<figure id=\"" + prefix + escape_html(stem) + "\"><div class=\"chart\">" + svg + "</div><figcaption>" +
         escape_html(chart.title) + " (" + escape_html(chart.file_name) + ")</figcaption></figure>\n";
}

// Markdown split at its "## " headings: (title, text) per part, the first part untitled.
std::vector<std::pair<std::string, std::string>> sections(const std::string& markdown) {
  std::vector<std::pair<std::string, std::string>> parts(1);
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("## ", 0) == 0) parts.push_back({line.substr(3), ""});
    parts.back().second += line + "\n";
  }
  return parts;
}

}  // namespace

std::string render_html(const std::vector<RunReport>& machines) {
  std::size_t chart_index = 0;
  std::string body, toc;
  for (std::size_t index = 0; index < machines.size(); ++index) {
    const RunReport& m = machines[index];
    // Machines share section titles: their ids differ by a prefix.
    const std::string prefix = machines.size() > 1 ? fmt::format("m{}-", index + 1) : "";
    std::map<std::string, Chart> speedup;
    for (Chart& c : speedup_charts(m)) speedup.emplace(c.file_name, std::move(c));
    body += "<section class=\"machine\">\n";
    for (const auto& [title, text] : sections(render_markdown(m))) {
      body += markdown_to_html(text, prefix);
      if (title.empty()) continue;
      toc += "<li><a href=\"#" + prefix + anchor_of(title) + "\">" + escape_html(title) + "</a></li>\n";
      if (auto it = speedup.find("speedup_" + slug(title) + ".svg"); it != speedup.end())
        body += inline_chart(it->second, chart_index++);
    }
    std::vector<Chart> more = scaling_charts(m);
    for (Chart& c : roofline_charts(m)) more.push_back(std::move(c));
    if (!more.empty()) {
      const std::string title = "Scaling and roofline: " + machine_label(m.machine);
      body += "<h2 id=\"" + prefix + anchor_of(title) + "\">" + escape_html(title) + "</h2>\n";
      toc += "<li><a href=\"#" + prefix + anchor_of(title) + "\">" + escape_html(title) + "</a></li>\n";
      for (const Chart& c : more) body += inline_chart(c, chart_index++);
    }
    body += "</section>\n";
  }
  if (machines.size() > 1) {
    const std::vector<Chart> across = comparison_charts(machines);
    if (!across.empty()) {
      body += "<section class=\"comparison\">\n<h1 id=\"s-across-machines\">Across machines</h1>\n";
      toc += "<li><a href=\"#s-across-machines\">Across machines</a></li>\n";
      for (const Chart& c : across) body += inline_chart(c, chart_index++);
      body += "</section>\n";
    }
  }
  const RunInfo& run = machines.empty() ? RunInfo{} : machines.front().run;
  std::string title = "mlbench report";
  if (!machines.empty()) title += ": " + machine_label(machines.front().machine);
  if (machines.size() > 1) title += fmt::format(" and {} more", machines.size() - 1);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"mlbench " +
      escape_html(run.mlbench_version) +
      "\">\n"
      "<title>" +
      escape_html(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<main>\n";
  out += "<header class=\"page\"><p>mlbench " + escape_html(run.mlbench_version) + " · " + escape_html(run.started_at) +
         (run.finished_at.empty() ? "" : " to " + escape_html(run.finished_at)) + "</p></header>\n";
  if (!toc.empty())
    out += "<nav class=\"toc\"><details open><summary>Contents</summary><ul>\n" + toc + "</ul></details></nav>\n";
  out += body;
  out +=
      "<footer>Written by mlbench " + escape_html(run.mlbench_version) +
      ". One self-contained file: styles and charts inline, nothing fetched. The same run as JSON, markdown and CSV: "
      "<code>mlbench report RUN.json --json/--markdown/--csv</code>.</footer>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace mlbench::reports
