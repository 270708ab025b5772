#!/usr/bin/env bash
# CI stage "gbench-tools" (issue 14): the clients of mlbench's JSON, run for real on a small run
# of ./build/mlbench: Debian's libbenchmark-tools compare.py, SciPy's Mann-Whitney U test against
# `mlbench compare`'s, and github-action-benchmark's googlecpp extraction
# (tests/gbench_tools/check_gbench_tools.py); then .github/workflows/bench.yml against the
# GitHub workflow schema (check-jsonschema's built-in vendor.github-workflows). Needs
# `scripts/setup.sh --tests` (python3-scipy, libbenchmark-tools, the check-jsonschema venv).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MLBENCH_BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -f /usr/share/benchmark/compare.py ] || { echo "compare.py missing: run scripts/setup.sh --tests"; exit 1; }
[ -x "$build/ci-venv/bin/check-jsonschema" ] || { echo "check-jsonschema missing: run scripts/setup.sh --tests"; exit 1; }
/usr/bin/python3 tests/gbench_tools/check_gbench_tools.py "$build/mlbench" "$work"
"$build/ci-venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/bench.yml
