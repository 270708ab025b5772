#!/usr/bin/env bash
# Issue 13's zero-false-failure sweep: `mlbench all` at awkward sizes, at every precision, on every
# backend available here; every row must verify ok.
#   scripts/verification_sweep.sh [-b BUILD_DIR] [-o OUT_DIR] [-s SIZES] [PRECISION...]
# Defaults: ./build, OUT_DIR build/verification_sweep, sizes 1,7,33,257,1000,1025, precisions
# fp64 fp32 tf32 bf16 fp16. Timing is kept short (the sweep is about verification: the exact
# check, the accuracy check and the re-check of the last timed output all still run). Writes
# OUT_DIR/<precision>.csv and .log; prints, per precision, mlbench's exit code, the rows by status
# and every row that is not ok; exit status 1 when any precision had a row not ok or exit != 0.
# Extra mlbench options (e.g. --gpus all) come from MLBENCH_SWEEP_ARGS.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${MLBENCH_BUILD_DIR:-build} out="" sizes=1,7,33,257,1000,1025
while getopts "b:o:s:" option; do
  case $option in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    s) sizes=$OPTARG ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
out=${out:-$build/verification_sweep}
precisions=("$@")
[ ${#precisions[@]} -gt 0 ] || precisions=(fp64 fp32 tf32 bf16 fp16)
mkdir -p "$out"
bad=0
for precision in "${precisions[@]}"; do
  start=$SECONDS
  # shellcheck disable=SC2086
  "$build/mlbench" all --size "$sizes" --precision "$precision" --no-peaks --time-budget 0.01 --max-repetitions 2 \
    --csv "$out/$precision.csv" ${MLBENCH_SWEEP_ARGS:-} >"$out/$precision.log" 2>&1
  code=$?
  summary=$(python3 - "$out/$precision.csv" <<'EOF'
import csv, sys, collections
try:
    rows = list(csv.DictReader(open(sys.argv[1])))
except OSError:
    rows = []
count = collections.Counter(r["status"] for r in rows)
print(" ".join(f"{s}={n}" for s, n in sorted(count.items())) or "no rows")
for r in rows:
    if r["status"] != "ok":
        print(f"  NOT OK: {r['workload']} size {r['size']} {r['backend']} {r['timing']}: {r['status']} {r['error_message']}")
EOF
)
  echo "$precision: exit $code, $(head -1 <<<"$summary") ($((SECONDS - start)) s)"
  tail -n +2 <<<"$summary"
  grep -E 'left out|absent' "$out/$precision.log" | sed 's/^/  /'
  if [ "$code" -ne 0 ] || grep -q 'NOT OK' <<<"$summary" || grep -q '^no rows' <<<"$summary"; then bad=1; fi
done
[ "$bad" -eq 0 ] && echo "verification_sweep: every row ok" || echo "verification_sweep: rows not ok (logs in $out)"
exit "$bad"
