#!/bin/bash
# Puts the files branch attnwg changed (docs/results left out) into /work/main/.wt-attnwg/tree,
# with gpu.sh and the commit, for the `run` tool: gpu.sh copies them over the tree that travels
# (main's). Only the changed files: main's tracked tree is close to the 64 MiB a call may carry.
set -e
branch=${1:-attnwg}
rm -rf /work/main/.wt-attnwg && mkdir -p /work/main/.wt-attnwg/tree
git -C /work/main diff --name-only --diff-filter=AMR "main...$branch" -- . ':!docs/results' | while read -r f; do
  mkdir -p "/work/main/.wt-attnwg/tree/$(dirname "$f")"
  git -C /work/main show "$branch:$f" >"/work/main/.wt-attnwg/tree/$f"
done
cp "$(dirname "$0")/gpu.sh" /work/main/.wt-attnwg/gpu.sh
git -C /work/main log -1 --format='%H %s' "$branch" >/work/main/.wt-attnwg/commit.txt
du -sh /work/main/.wt-attnwg
