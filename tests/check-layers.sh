#!/usr/bin/env bash
# Layering check (docs/architecture.md): every #include "..." of a source
# file must point at a folder its own folder may depend on.  Dependencies
# run one way:
#
#   cli -> workloads -> user -> vm/vm.h (the public API)
#                               vm, reclaim, swap (the emulated kernel)
#                                 -> mmu (the hardware model) -> base
#
#   base/                base/
#   mmu/                 base/ mmu/
#   vm/ reclaim/ swap/   base/ mmu/ vm/ reclaim/ swap/  (vm/vm.h: nothing)
#   user/                vm/vm.h user/
#   workloads/           vm/vm.h user/ workloads/
#   cli/                 vm/vm.h user/ workloads/ cli/
#   tests/               anything
#
# Usage: check-layers.sh [ROOT]   (default: the repository)
#        check-layers.sh --self-test   (shows that a violation is caught)
# Prints one line per violation (file:line: what) and exits 1 if any.
set -u

allowed() { # folder, included path -> 0 when allowed
	local dir=$1 inc=$2
	case "$dir" in
	base) [[ $inc == base/* ]] ;;
	mmu) [[ $inc == base/* || $inc == mmu/* ]] ;;
	vm | reclaim | swap) [[ $inc =~ ^(base|mmu|vm|reclaim|swap)/ ]] ;;
	user) [[ $inc == vm/vm.h || $inc == user/* ]] ;;
	workloads) [[ $inc == vm/vm.h || $inc =~ ^(user|workloads)/ ]] ;;
	cli) [[ $inc == vm/vm.h || $inc =~ ^(user|workloads|cli)/ ]] ;;
	*) true ;;
	esac
}

check_tree() {
	local root=$1 bad=0 f dir line inc n
	while IFS= read -r f; do
		dir=${f%%/*}
		n=0
		while IFS= read -r line; do
			n=$((n + 1))
			[[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
			inc=${BASH_REMATCH[1]}
			if [ "$f" = vm/vm.h ]; then
				echo "$f:$n: the public API includes \"$inc\" (it must stand alone)"
				bad=1
			elif ! allowed "$dir" "$inc"; then
				echo "$f:$n: $dir/ may not include \"$inc\""
				bad=1
			fi
		done <"$root/$f"
	done < <(cd "$root" && find base mmu vm reclaim swap user workloads cli \
		-name '*.[ch]' 2>/dev/null | sort)
	return $bad
}

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/mmu" "$tmp/workloads" "$tmp/vm"
	printf '#include "base/types.h"\n' >"$tmp/mmu/ok.h"
	printf '#include "vm/vm.h"\n' >"$tmp/workloads/ok.c"
	check_tree "$tmp" >/dev/null || { echo "self-test: a clean tree failed"; exit 1; }
	printf '#include "vm/phys.h"\n' >"$tmp/mmu/bad.h"
	printf '#include "vm/machine.h"\n' >"$tmp/workloads/bad.c"
	printf '#include "vm/machine.h"\n' >"$tmp/vm/vm.h"
	out=$(check_tree "$tmp")
	[ $? -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ] ||
		{ echo "self-test: violations not caught: $out"; exit 1; }
	echo "check-layers: self-test ok"
	exit 0
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if check_tree "$root"; then
	echo "check-layers: ok"
else
	exit 1
fi
