// reports/README.md ("JSON") is the schema document of mlbench's reports. Its field list is
// generated from the field tables (reports/json_fields.h) and must equal them, and its prose
// must name every key the JSON writer writes and no snake_case key it does not write, so a
// field added, renamed or removed without the document fails here (issue 16: the schema was
// described in three places that had drifted apart).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan
#include <set>
#include <sstream>
#include <string>

#include "reports/json_fields.h"
#include "reports/json_report.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace {

using mlbench::test_support::fresh_seed;

std::string readme_path() { return std::string(MLBENCH_SOURCE_DIR) + "/reports/README.md"; }

std::string readme() {
  std::ifstream in(readme_path());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// reports/README.md's "## JSON" section.
std::string json_section() {
  const std::string doc = readme();
  const std::size_t start = doc.find("\n## JSON");
  EXPECT_NE(start, std::string::npos) << "reports/README.md has no \"## JSON\" section";
  if (start == std::string::npos) return "";
  const std::size_t end = doc.find("\n## ", start + 1);
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The identifiers of the "## JSON" section.
std::set<std::string> documented_words() {
  const std::string section = json_section();
  std::set<std::string> words;
  const std::regex identifier("[A-Za-z_][A-Za-z0-9_]*");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), identifier); it != std::sregex_iterator(); ++it)
    words.insert(it->str());
  return words;
}

// Every object key under `j`, as "path.key". The members of objects whose keys are data (a
// shape's dimension names, notes, the absent backends' names) are not schema and are skipped.
void collect_keys(const nlohmann::ordered_json& j, const std::string& path, std::set<std::string>& keys,
                  std::set<std::string>& paths) {
  static const std::set<std::string> data_keyed = {"shape", "notes", "absent_backends", "libraries"};
  if (j.is_array()) {
    for (const auto& element : j) collect_keys(element, path + "[]", keys, paths);
    return;
  }
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    keys.insert(it.key());
    paths.insert(path + "." + it.key());
    if (data_keyed.count(it.key()) == 0) collect_keys(it.value(), path + "." + it.key(), keys, paths);
  }
}

TEST(ReportSchemaDocument, NamesEveryKeyTheJsonWriterWrites) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  // Every kind of row: CPU, MPI, GPU kernel and end to end, multi-GPU, failed and errored rows,
  // throttled GPU rows, peaks; once with repetitions and aggregates, once aggregates only.
  const mlbench::RunReport report = mlbench::reports::fakes::full_run_report(rng);
  const std::set<std::string> words = documented_words();
  std::set<std::string> keys, paths;
  collect_keys(mlbench::reports::to_json(report), "", keys, paths);
  mlbench::reports::JsonOptions aggregates_only;
  aggregates_only.aggregates_only = true;
  collect_keys(mlbench::reports::to_json(report, aggregates_only), "", keys, paths);
  ASSERT_GT(keys.size(), 50u) << "the fabricated report wrote too little to check";
  for (const std::string& path : paths) {
    const std::string key = path.substr(path.rfind('.') + 1);
    EXPECT_TRUE(words.count(key)) << path << ": written by reports/json_report.cpp, not named in reports/README.md";
  }
}

// Every key the writer writes for the fabricated full report, both JSON layouts.
std::set<std::string> written_keys() {
  std::mt19937_64 rng(fresh_seed());
  const mlbench::RunReport report = mlbench::reports::fakes::full_run_report(rng);
  std::set<std::string> keys, paths;
  collect_keys(mlbench::reports::to_json(report), "", keys, paths);
  mlbench::reports::JsonOptions aggregates_only;
  aggregates_only.aggregates_only = true;
  collect_keys(mlbench::reports::to_json(report, aggregates_only), "", keys, paths);
  return keys;
}

// The field list of the document: every key of the field tables with its type, where it sits
// in a report.
std::string generated_field_list() {
  namespace fields = mlbench::reports::json_fields;
  std::vector<std::string> lines = fields::schema_lines<mlbench::MachineContext>("context.mlbench.");
  for (const auto& more : {fields::schema_lines<mlbench::VariantResult>("benchmarks[].mlbench."),
                           fields::schema_lines<mlbench::RunInfo>("mlbench.run.")})
    lines.insert(lines.end(), more.begin(), more.end());
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

constexpr const char* kListStart = "<!-- fields: generated from reports/json_fields.h -->\n```text\n";
constexpr const char* kListEnd = "```\n<!-- end of fields -->";

// MLBENCH_WRITE_SCHEMA_DOC=1 writes the generated list into reports/README.md (after a change
// of a field table) instead of comparing.
TEST(ReportSchemaDocument, ItsFieldListIsTheFieldTables) {
  const std::string doc = readme();
  const std::size_t start = doc.find(kListStart);
  ASSERT_NE(start, std::string::npos) << "reports/README.md has no \"" << kListStart << "\" marker";
  const std::size_t from = start + std::string(kListStart).size();
  const std::size_t end = doc.find(kListEnd, from);
  ASSERT_NE(end, std::string::npos) << "reports/README.md has no \"" << kListEnd << "\" marker";
  const std::string expected = generated_field_list();
  const char* write = std::getenv("MLBENCH_WRITE_SCHEMA_DOC");
  if (write != nullptr && std::string(write) == "1") {
    std::ofstream(readme_path()) << doc.substr(0, from) + expected + doc.substr(end);
    GTEST_SKIP() << "wrote the field list into " << readme_path();
  }
  EXPECT_EQ(doc.substr(from, end - from), expected)
      << "reports/README.md's field list differs from the field tables (reports/json_fields.h); "
         "rerun with MLBENCH_WRITE_SCHEMA_DOC=1 to write it";
}

// A snake_case name in backticks in the prose is a key: one the writer no longer writes (or
// never wrote) is a stale or wrong word of the document. (Single words, `runs`, `serial`, are
// keys or values alike and cannot be told apart.)
TEST(ReportSchemaDocument, NamesNoSnakeCaseKeyTheWriterDoesNotWrite) {
  const std::set<std::string> keys = written_keys();
  const std::string section = json_section();
  const std::regex quoted("`([a-z][a-z0-9]*(_[a-z0-9]+)+)`");
  int checked = 0;
  for (auto it = std::sregex_iterator(section.begin(), section.end(), quoted); it != std::sregex_iterator(); ++it) {
    ++checked;
    EXPECT_TRUE(keys.count((*it)[1].str())) << "reports/README.md names `" << (*it)[1] << "`, which no report has";
  }
  EXPECT_GT(checked, 50);
}

}  // namespace
