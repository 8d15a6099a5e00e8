#!/usr/bin/env bash
# Line coverage per folder of the emulated kernel, from the .gcda files a
# --coverage build left in $1 (make coverage).  Prints one line per folder
# and a total: lines executed / lines instrumented.
set -eu
build=${1:-build/cov}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in base mmu vm reclaim swap; do
	[ -d "$build/$dir" ] || continue
	for gcda in "$build/$dir"/*.gcda; do
		[ -e "$gcda" ] || continue
		src="$dir/$(basename "${gcda%.gcda}").c"
		(cd "$tmp" && gcov -n -o "$OLDPWD/$(dirname "$gcda")" \
			"$OLDPWD/$src" 2>/dev/null) |
			awk -v f="$src" '/^File/ { cur = $2 } /^Lines executed/ &&
				cur ~ f"'"'"'$" { split($2, a, ":"); sub("%", "", a[2]);
				print f, a[2], $4; exit }'
	done
done | awk '{ split($1, p, "/"); dir = p[1]; run = $2 * $3 / 100;
	hit[dir] += run; tot[dir] += $3; H += run; T += $3;
	printf "%-24s %6.1f%% of %5d lines\n", $1, $2, $3 }
	END { for (d in tot) printf "%-24s %6.1f%% of %5d lines\n", d "/ (all)",
		100 * hit[d] / tot[d], tot[d];
		printf "%-24s %6.1f%% of %5d lines\n", "total", 100 * H / T, T }'
