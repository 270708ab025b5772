#!/bin/bash
# Puts the attnwg worktree's committed tree (docs/results left out: 55 MB) into
# /work/main/.wt-attnwg/tree, with gpu.sh and the commit, for the `run` tool.
set -e
rm -rf /work/main/.wt-attnwg && mkdir -p /work/main/.wt-attnwg/tree
git -C /work/wt/attnwg archive HEAD --format=tar -- . ':!docs/results' | tar -x -C /work/main/.wt-attnwg/tree
cp "$(dirname "$0")/gpu.sh" /work/main/.wt-attnwg/gpu.sh
git -C /work/wt/attnwg log -1 --format='%H %s' > /work/main/.wt-attnwg/commit.txt
du -sh /work/main/.wt-attnwg
