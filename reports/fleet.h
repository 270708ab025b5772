// The fleet report (mlbench fleet, docs/cluster.md): every rank of an MPI job ran the ordinary
// single-process suite on its own share of a node at the same time; this gathers their rows into
// one table with a column per rank and flags the ranks whose figures fall outside the fleet's
// spread beyond noise.
//
// The rule, per row and rank r (samples: the row's repetition times; CPU times on a
// single-threaded CPU row, as `mlbench compare` compares them, real times on every other row):
//   slow on the row  when the one-sided Mann-Whitney U test says r's times are larger than the
//                    pooled times of the other ranks (p < alpha), AND r's median exceeds the
//                    slowest other rank's median by more than the margin;
//   fast on the row  likewise, below the fastest other rank's median;
//   the margin       the larger of kFleetFloor and 3 standard errors of the two medians' ratio,
//                    estimated from the repetitions (IQR) of r and of the pooled others.
// A rank is flagged slow (fast) when it is slow (fast) on more than half of the rows it was
// compared on: rows disturbed by a neighbour do not flag a rank, a rank that is slow everywhere
// is. Rows with fewer than kFleetMinRuns repetitions on a rank, or
// whose sets are too small for the test to reach alpha, are not compared.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

inline constexpr double kFleetAlpha = 0.001;
// Ranks that share a node differ among themselves by up to this much in A/A runs (which rank
// the OS schedules last); a smaller difference is never flagged. docs/cluster.md gives the
// measurements.
inline constexpr double kFleetFloor = 0.25;
inline constexpr int kFleetMinRuns = 5;

enum class FleetFlag { none, slow, fast };
std::string to_string(FleetFlag flag);

struct FleetMember {
  int rank = 0;
  RunReport report;  // the rank's own report: its machine context and rows
};

struct FleetCell {
  bool present = false;  // the rank has this row
  bool ok = false;       // verified, with a median
  double median_s = 0;
  int runs = 0;
  bool compared = false;  // enough repetitions here and on other ranks to decide
  double ratio = 0;       // this median over the pooled others' median (of the times compared)
  double p_slow = 1, p_fast = 1;
  double margin = 0;
  FleetFlag flag = FleetFlag::none;
  std::string status;  // "ok" or the row's status and error
};

struct FleetRow {
  std::string name;
  bool on_cpu_time = false;      // compared on CPU time (a single-threaded CPU row), else real time
  std::vector<FleetCell> cells;  // by member index
};

struct FleetVerdict {
  int rank = 0;
  FleetFlag flag = FleetFlag::none;
  int compared_rows = 0, slow_rows = 0, fast_rows = 0;
};

struct FleetReport {
  std::vector<FleetMember> members;  // in rank order
  std::vector<FleetRow> rows;        // rank 0's order, then rows only other ranks have
  std::vector<FleetVerdict> verdicts;
  double alpha = kFleetAlpha;
};

FleetReport analyze_fleet(std::vector<FleetMember> members, double alpha = kFleetAlpha);
// True when some rank is flagged.
bool fleet_has_outliers(const FleetReport& fleet);

std::string render_fleet_markdown(const FleetReport& fleet);
// {"mlbench_fleet": 1, "alpha", "floor", "ranks": [{rank, host, flag, ..., "report": <the
// rank's own JSON report>}], "rows": [{name, cells: [...]}]}; every rank's report is embedded
// whole, so the fleet file can be read back (parse_fleet_report recomputes the analysis).
std::string render_fleet_json(const FleetReport& fleet);
// Throws InputError naming `source` on a file that is not a fleet report.
FleetReport parse_fleet_report(const std::string& text, const std::string& source);

// A saved file given to `report` or `compare`: an ordinary report, or a fleet report (then
// `fleet` holds it and `report` is empty). InputError naming `path` when it is neither.
struct ReportOrFleet {
  RunReport report;
  std::optional<FleetReport> fleet;
};
ReportOrFleet read_report_or_fleet(const std::string& path);
// Rank `rank`'s own report in `fleet` (read from `source`); InputError naming the ranks it has.
RunReport fleet_rank_report(const FleetReport& fleet, int rank, const std::string& source);

}  // namespace mlbench::reports
