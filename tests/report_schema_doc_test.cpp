// reports/README.md ("JSON") is the schema document of mlbench's reports. It must name every
// key the JSON writer writes, so a field added to the writer without a word in the document
// fails here (issue 16: the schema was described in three places that had drifted apart).
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan
#include <set>
#include <sstream>
#include <string>

#include "reports/json_report.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace {

using mlbench::test_support::fresh_seed;

// The identifiers of reports/README.md's "## JSON" section.
std::set<std::string> documented_words() {
  std::ifstream in(std::string(MLBENCH_SOURCE_DIR) + "/reports/README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::size_t start = doc.find("\n## JSON");
  EXPECT_NE(start, std::string::npos) << "reports/README.md has no \"## JSON\" section";
  const std::size_t end = doc.find("\n## ", start + 1);
  const std::string section = doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
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

}  // namespace
