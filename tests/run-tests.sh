#!/usr/bin/env bash
# Run each test binary given, each under a time limit: print each one's
# verdict and a closing "N passed, N failed" line; exit non-zero when any
# failed.  A binary that runs past $TEST_TIMEOUT seconds (default 300) is
# killed and counts as failed ("TIMEOUT"): a hang is a failure, with the
# binary's name.
set -u
limit=${TEST_TIMEOUT:-300}
pass=0
fail=0
failed=()
for t in "$@"; do
	start=$EPOCHREALTIME
	timeout --kill-after=10 "$limit" "$t"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		verdict=ok
	else
		fail=$((fail + 1))
		failed+=("$(basename "$t")")
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			verdict="FAILED: TIMEOUT after ${limit}s"
		else
			verdict="FAILED (exit $rc)"
		fi
	fi
	printf '%-40s %s (%ss)\n' "$(basename "$t")" "$verdict" \
		"$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
done
[ ${#failed[@]} -eq 0 ] || printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
