#!/bin/bash
# Prepares the one device call of all.sh from /work/main (any checkout of main): puts branch
# attnwg (made from docs/results/h200-2026-12-04-session12/attn-prepared/attnwg.patch when the
# branch is absent) into a worktree, copies the files it changes (docs/results left out) into
# /work/main/.wt-attnwg/tree with all.sh and the commit id, and makes git ignore that folder.
# Then: run with command "bash .wt-attnwg/all.sh", carry [".wt-attnwg"], kind nvidia-h200,
# timeout_s 590. Only the changed files travel: main's tracked tree is close to the 64 MiB a
# call may carry.
set -e
repo=$(git rev-parse --show-toplevel)
here=$(cd "$(dirname "$0")" && pwd)
patch=$repo/docs/results/h200-2026-12-04-session12/attn-prepared/attnwg.patch
if ! git -C "$repo" rev-parse -q --verify attnwg >/dev/null; then
  git -C "$repo" worktree add -q /tmp/attnwg-wt -b attnwg
  git -C /tmp/attnwg-wt apply --3way "$patch"
  git -C /tmp/attnwg-wt commit -qm "attention: Hopper wgmma FlashAttention tiles (attnwg.patch)"
fi
mkdir -p "$repo/.git/info" && { grep -qxF '/.wt-*/' "$repo/.git/info/exclude" 2>/dev/null || echo '/.wt-*/' >>"$repo/.git/info/exclude"; }
rm -rf "$repo/.wt-attnwg" && mkdir -p "$repo/.wt-attnwg/tree"
git -C "$repo" diff --name-only --diff-filter=AMR "main...attnwg" -- . ':!docs/results' | while read -r f; do
  mkdir -p "$repo/.wt-attnwg/tree/$(dirname "$f")"
  git -C "$repo" show "attnwg:$f" >"$repo/.wt-attnwg/tree/$f"
done
cp "$here/all.sh" "$repo/.wt-attnwg/all.sh"
git -C "$repo" log -1 --format='%H %s' attnwg >"$repo/.wt-attnwg/commit.txt"
du -sh "$repo/.wt-attnwg"
