#!/usr/bin/env bash
# A/A calibration of `mlbench compare`: N back-to-back runs of one build on one machine, every
# pair compared; with nothing changed, every row "slower" or "faster" is a false alarm of the
# noise rule (docs/reliability.md, "Two back-to-back quick runs").
# Usage: scripts/aa_calibration.sh MLBENCH N DIR [run options...]
#   e.g. scripts/aa_calibration.sh build/mlbench 8 /tmp/aa all --preset quick --no-peaks --backends serial,openmp
set -euo pipefail
mlbench=$1 runs=$2 dir=$3
shift 3
mkdir -p "$dir"
for i in $(seq 1 "$runs"); do
  "$mlbench" "$@" --quiet --json "$dir/run$i.json" >/dev/null
done
rm -f "$dir"/pair-*.csv
for a in $(seq 1 "$runs"); do
  for b in $(seq $((a + 1)) "$runs"); do
    "$mlbench" compare "$dir/run$a.json" "$dir/run$b.json" --csv "$dir/pair-$a-$b.csv" >/dev/null
  done
done
echo "verdicts over $((runs * (runs - 1) / 2)) pairs of $runs runs ($*):"
# the verdict is the last CSV column
tail -q -n +2 "$dir"/pair-*.csv | awk -F, '{print $NF}' | sort | uniq -c
