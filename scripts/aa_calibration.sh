#!/usr/bin/env bash
# Calibration of the `mlbench compare --fail-above` gate (docs/ci.md): N back-to-back runs of one
# build on one machine, then for every pair (a < b) of runs:
#   A/A        compare run a with run b: nothing changed, every row the gate fails is a false alarm;
#   x1.3, x3   compare run a with run b with every repetition time and statistic scaled by 1.3
#              (or 3) by `mlbench report --scale-times`: a faithful 30 % (200 %) slowdown that
#              keeps run b's noise; every row not failed is a miss;
#   self1.3, self3  each run against itself scaled: the slowdown alone, without the shifts
#              between two processes (what the rank test can see inside one run's spread).
# Prints, per case: row pairs compared, rows failed by the gate (%), pairs whose gate exited 1;
# then per case and backend the rows failed and the rows too few runs to decide (from each
# pair's compare CSV, kept in DIR/pairs/), and the other programs' load of the runs
# (mlbench.run.other_load_cores) with DIR/runs.log (date, wall time, load average of each run).
# Usage: scripts/aa_calibration.sh MLBENCH N DIR [FAIL_ABOVE_PCT] -- [run options...]
#   e.g. scripts/aa_calibration.sh build/mlbench 8 /tmp/aa 10 -- all --preset quick --no-peaks
# With existing DIR/run*.json and N=0 it only compares them again. AA_COMPARE_OPTIONS adds
# options to every compare (e.g. AA_COMPARE_OPTIONS=--real-time). AA_POOL=K judges the gate
# with K runs a side: consecutive groups of K runs pooled (mlbench report --pool), each group
# compared with every later one (pairs in DIR/pairs-poolK/).
set -euo pipefail
mlbench=$1 runs=$2 dir=$3
shift 3
fail_above=10
if [ "${1:-}" != "--" ] && [ $# -gt 0 ]; then fail_above=$1; shift; fi
[ "${1:-}" = "--" ] && shift
mkdir -p "$dir"
# Machine state of each run (date, wall time, load average before and after) in DIR/runs.log.
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N) load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  "$mlbench" "$@" --quiet --json "$dir/run$i.json" >/dev/null
  printf 'run%d %s %.0f s, load average %s before, %s after\n' "$i" "$(date -u +%FT%TZ)" \
    "$(echo "$(date +%s.%N) - $start" | bc)" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/runs.log"
done
mapfile -t reports < <(ls "$dir"/run*.json | sort -V)
n=${#reports[@]}
# AA_POOL=K: the gate with K runs a side. Consecutive runs 1..K, K+1..2K, ... are pooled into
# one report each (mlbench report --pool), and the cases below compare those groups.
pairs_dir="$dir/pairs"
if [ -n "${AA_POOL:-}" ]; then
  pooled=()
  for ((g = 0; g + AA_POOL <= n; g += AA_POOL)); do
    out="$dir/pool$AA_POOL-$((g / AA_POOL + 1)).json"
    "$mlbench" report "${reports[@]:g:AA_POOL}" --pool --json "$out" >/dev/null
    pooled+=("$out")
  done
  reports=("${pooled[@]}") n=${#pooled[@]} pairs_dir="$dir/pairs-pool$AA_POOL"
  echo "runs pooled $AA_POOL a side: $n groups of consecutive runs"
fi
((n >= 2)) || { echo "need at least 2 runs (or groups) in $dir"; exit 2; }
scaled() { echo "$dir/scaled$1-$(basename "${reports[$(($2 - 1))]}")"; }  # factor, report number
for i in $(seq 1 "$n"); do
  for f in 1.3 3; do "$mlbench" report "${reports[$((i - 1))]}" --scale-times "$f" --json "$(scaled "$f" "$i")" >/dev/null; done
done

echo "gate --fail-above $fail_above over $((n * (n - 1) / 2)) pairs of $n runs ($*)"
printf '%-6s %10s %12s %8s %14s\n' case "row pairs" "gate failed" "%" "pairs exit 1"
for case in aa 1.3 3 self1.3 self3; do
  rows=0 failed=0 exit1=0
  pairs=0
  for a in $(seq 1 "$n"); do
    for b in $(seq $((a + 1)) "$n") $([[ $case == self* ]] && echo "$a"); do
      [[ $case == self* ]] && [ "$b" != "$a" ] && continue
      pairs=$((pairs + 1))
      new=${reports[$((b - 1))]}
      [ "$case" = aa ] || new=$(scaled "${case#self}" "$b")
      status=0
      csv="$pairs_dir/$case-$a-$b.csv"
      mkdir -p "$pairs_dir"
      # shellcheck disable=SC2086  # AA_COMPARE_OPTIONS: more compare options, e.g. --real-time
      "$mlbench" compare "${reports[$((a - 1))]}" "$new" --fail-above "$fail_above" --csv "$csv" ${AA_COMPARE_OPTIONS:-} \
        >/dev/null 2>"$dir/pair.err" || status=$?
      [ "$status" -le 1 ] || { cat "$dir/pair.err"; exit "$status"; }
      ((status == 1)) && exit1=$((exit1 + 1))
      # rows both runs timed (ratio > 0), and the gate's one line per failed row
      rows=$((rows + $(awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "ratio") r = i; next } $r > 0' "$csv" | wc -l)))
      failed=$((failed + $(grep -c '^mlbench: gate: ' "$dir/pair.err" || true)))
    done
  done
  printf '%-6s %10d %12d %8.2f %14s\n' "$case" "$rows" "$failed" "$(echo "100 * $failed / $rows" | bc -l)" \
    "$exit1/$pairs"
done
# Per case and backend, from the CSVs: a row fails when its lower bound is above the limit.
python3 - "$pairs_dir" "$fail_above" <<'PY'
import collections, csv, glob, os, sys
pairs, limit = sys.argv[1], 1 + float(sys.argv[2]) / 100
for case in ["aa", "1.3", "3", "self1.3", "self3"]:
    count = collections.defaultdict(lambda: [0, 0, 0])  # rows, failed, undecided
    for path in glob.glob(os.path.join(pairs, case + "-*.csv")):
        for r in csv.DictReader(open(path)):
            if not r["ratio"] or float(r["ratio"]) <= 0:
                continue
            key = r["backend"] + " (" + r["time"] + ")"
            count[key][0] += 1
            count[key][1] += r["verdict"] == "slower" and float(r["ratio_low"]) > limit
            count[key][2] += r["verdict"] == "too_few_runs"
    print("{:7s} ".format(case) + ", ".join("{} {}/{} failed, {} undecided".format(k, v[1], v[0], v[2])
                                            for k, v in sorted(count.items())))
PY
[ -f "$dir/runs.log" ] && cat "$dir/runs.log"
echo "other programs' load (CPUs) per run:"
for r in "${reports[@]}"; do
  printf '  %s %s\n' "$(basename "$r")" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mlbench"]["run"].get("other_load_cores"))' "$r")"
done
