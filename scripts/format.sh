#!/usr/bin/env bash
# Formats the project's C++/CUDA sources with clang-format and .clang-format (the style the
# code is written in). `scripts/format.sh` rewrites the files in place; `scripts/format.sh
# --check` changes nothing, names every file that is not formatted and exits 1 if there is one
# (scripts/test.sh's `format` stage). The files are the ones git tracks, so generated and
# build files are never touched. clang-format 14 (Debian's clang-format package, installed by
# scripts/setup.sh --tests) defines the layout; $CLANG_FORMAT picks another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fix
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac
tool=${CLANG_FORMAT:-}
if [ -z "$tool" ]; then
  for candidate in clang-format-14 clang-format; do
    command -v "$candidate" >/dev/null 2>&1 && { tool=$candidate; break; }
  done
fi
[ -n "$tool" ] || { echo "format.sh: clang-format not found (apt-get install clang-format)" >&2; exit 2; }

mapfile -t files < <(git ls-files -- '*.cpp' '*.h' '*.cu' '*.cuh')
if [ "$mode" = fix ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 32 "$tool" -i --style=file
  echo "format.sh: formatted ${#files[@]} files with $("$tool" --version)"
  exit 0
fi
# --dry-run --Werror reports "FILE:LINE:COL: error: code should be clang-formatted" per change;
# any other error (a bad .clang-format, an unreadable file) fails the check rather than passing it.
report=$(printf '%s\0' "${files[@]}" | { xargs -0 -n 32 "$tool" --style=file --dry-run --Werror 2>&1 || true; })
pattern='^\(.*\):[0-9][0-9]*:[0-9][0-9]*: \(warning\|error\): code should be clang-formatted.*'
other=$(grep -E '^[^ ]+: (error|warning):|^[^ ]+:[0-9]+:[0-9]+: (error|warning):|^error:' <<<"$report" |
  grep -v 'code should be clang-formatted' || true)
if [ -n "$other" ]; then
  echo "format.sh: clang-format failed: $(head -n 1 <<<"$other")" >&2
  exit 2
fi
mapfile -t unformatted < <(sed -n "s/$pattern/\1/p" <<<"$report" | sort -u)
if ((${#unformatted[@]})); then
  printf 'format.sh: not formatted (run scripts/format.sh): %s\n' "${unformatted[@]}"
  echo "format.sh: ${#unformatted[@]} of ${#files[@]} files differ from .clang-format ($("$tool" --version))"
  exit 1
fi
echo "format.sh: all ${#files[@]} files formatted ($("$tool" --version))"
