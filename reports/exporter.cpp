// The exporter registry (reports/exporter.h): the listed exporters, then the registered ones.
#include "reports/exporter.h"

#include <stdexcept>

namespace mlbench::reports {

namespace {

void check_descriptor(const Exporter& e, const std::deque<Exporter>& known) {
  if (e.name.empty() || e.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos ||
      e.name.front() == '-')
    throw std::logic_error("exporter name '" + e.name + "' is not a lower-case option name");
  if (e.title.empty() || e.help.empty()) throw std::logic_error("exporter " + e.name + " has no title or help");
  if (e.target == Exporter::Target::file && !e.render)
    throw std::logic_error("file exporter " + e.name + " has no render");
  if (e.target == Exporter::Target::directory && (!e.write || e.file_noun.empty() || e.file_extension.empty()))
    throw std::logic_error("directory exporter " + e.name + " has no write, file noun or file extension");
  for (const Exporter& other : known)
    if (other.name == e.name) throw std::logic_error("two exporters are named " + e.name);
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

void register_exporter(Exporter exporter) {
  std::deque<Exporter>& all = registry();
  check_descriptor(exporter, all);
  all.push_back(std::move(exporter));
}

}  // namespace mlbench::reports
