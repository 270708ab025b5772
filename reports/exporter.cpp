// The exporter registry (reports/exporter.h): the listed exporters, then the registered ones.
#include "reports/exporter.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace mlbench::reports {

namespace {

bool is_option_name(const std::string& name) {
  return !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos &&
         name.front() != '-';
}

bool is_choice(const ExporterOption& option, const std::string& value) {
  return option.choices.empty() ||
         std::find(option.choices.begin(), option.choices.end(), value) != option.choices.end();
}

// An exporter's own options: well-formed, defaults among the choices, and no name another
// exporter's option or path option (--json) already has, since they share one command line.
void check_options(const Exporter& e, const std::deque<Exporter>& known) {
  std::set<std::string> taken;
  for (const Exporter& other : known) {
    taken.insert(other.name);
    for (const ExporterOption& option : other.options) taken.insert(option.name);
  }
  taken.insert(e.name);
  for (const ExporterOption& option : e.options) {
    const std::string where = "exporter " + e.name + "'s option '" + option.name + "'";
    if (!is_option_name(option.name)) throw std::logic_error(where + " is not a lower-case option name");
    if (option.help.empty()) throw std::logic_error(where + " has no help");
    if (!taken.insert(option.name).second) throw std::logic_error(where + " is another option's name too");
    const bool text_default_ok = option.text_default.empty() || is_choice(option, option.text_default);
    const bool list_default_ok = std::all_of(option.list_default.begin(), option.list_default.end(),
                                             [&](const std::string& v) { return is_choice(option, v); });
    if (!text_default_ok || !list_default_ok) throw std::logic_error(where + " has a default that is not a choice");
  }
}

void check_descriptor(const Exporter& e, const std::deque<Exporter>& known) {
  if (!is_option_name(e.name)) throw std::logic_error("exporter name '" + e.name + "' is not a lower-case option name");
  if (e.title.empty() || e.help.empty()) throw std::logic_error("exporter " + e.name + " has no title or help");
  if ((e.target == Exporter::Target::file || e.target == Exporter::Target::console) && !e.render)
    throw std::logic_error("file or console exporter " + e.name + " has no render");
  if (e.target == Exporter::Target::directory && (!e.write || e.file_noun.empty() || e.file_extension.empty()))
    throw std::logic_error("directory exporter " + e.name + " has no write, file noun or file extension");
  for (const Exporter& other : known)
    if (other.name == e.name) throw std::logic_error("two exporters are named " + e.name);
  check_options(e, known);
}

std::deque<Exporter>& registry() {
  static std::deque<Exporter> all = [] {
    std::deque<Exporter> listed;
    for (Exporter& e : listed_exporters()) {
      check_descriptor(e, listed);
      listed.push_back(std::move(e));
    }
    return listed;
  }();
  return all;
}

}  // namespace

const std::deque<Exporter>& exporters() { return registry(); }

const Exporter* find_exporter(const std::string& name) {
  for (const Exporter& e : registry())
    if (e.name == name) return &e;
  return nullptr;
}

ExporterOptionValue exporter_option(const OutputPaths& paths, const std::string& exporter,
                                    const ExporterOption& option) {
  if (const auto values = paths.options.find(exporter); values != paths.options.end())
    if (const auto value = values->second.find(option.name); value != values->second.end()) return value->second;
  ExporterOptionValue value;
  if (option.kind == ExporterOption::Kind::text) value.text = option.text_default;
  if (option.kind == ExporterOption::Kind::list) value.list = option.list_default;
  return value;
}

void register_exporter(Exporter exporter) {
  std::deque<Exporter>& all = registry();
  check_descriptor(exporter, all);
  all.push_back(std::move(exporter));
}

}  // namespace mlbench::reports
