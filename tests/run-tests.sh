#!/usr/bin/env bash
# Run each test binary given; print each one's verdict and a closing
# "N passed, N failed" line; exit non-zero when any failed.
set -u
pass=0
fail=0
failed=()
for t in "$@"; do
	start=$EPOCHREALTIME
	if "$t"; then
		pass=$((pass + 1))
		verdict=ok
	else
		fail=$((fail + 1))
		failed+=("$t")
		verdict=FAILED
	fi
	printf '%-40s %s (%ss)\n' "$(basename "$t")" "$verdict" \
		"$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
done
[ ${#failed[@]} -eq 0 ] || printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
