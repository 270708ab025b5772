#!/usr/bin/env bash
# The whole test suite, after scripts/setup.sh --tests has built ./build:
#   1. the CPU build with AddressSanitizer + UndefinedBehaviorSanitizer, and its ctest;
#   2. the libFuzzer targets (report parser, command line) for a bounded number of executions;
#   3. the ctest suite of ./build (CPU tests; GPU tests run where a GPU is, skip elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ci-sanitizers.sh
./scripts/ci-fuzz.sh
ctest --test-dir build --output-on-failure -j2
