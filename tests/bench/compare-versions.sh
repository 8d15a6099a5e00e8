#!/usr/bin/env bash
# Compare one benchmark between an older revision and the working tree, in
# the same run: the old one is built in a temporary worktree, then old and
# new run alternately (so drift and noise hit both alike), and the lines
# matching PATTERN are printed side by side, each run's medians as the
# benchmark prints them.
#
#   tests/bench/compare-versions.sh OLD_REV [BENCH] [ROUNDS] [PATTERN]
#   e.g. tests/bench/compare-versions.sh e374faf bench_native 3 'first touch'
set -euo pipefail
old=${1:?usage: $0 OLD_REV [BENCH] [ROUNDS] [PATTERN]}
bench=${2:-bench_native}
rounds=${3:-3}
pattern=${4:-.}
top=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$tmp/old" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
git -C "$top" worktree add --detach "$tmp/old" "$old" >/dev/null 2>&1
make -C "$tmp/old" -s -j2 "build/bench/$bench" >/dev/null
make -C "$top" -s -j2 "build/bench/$bench" >/dev/null
for r in $(seq 1 "$rounds"); do
	echo "== round $r: old ($old)"
	"$tmp/old/build/bench/$bench" | grep -E "$pattern" || true
	echo "== round $r: new ($(git -C "$top" rev-parse --short HEAD)+tree)"
	"$top/build/bench/$bench" | grep -E "$pattern" || true
done
