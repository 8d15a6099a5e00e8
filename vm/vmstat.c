/*
 * vm/vmstat.c - the machine's /proc files: vmstat, buddyinfo, slabinfo.
 *
 * vmstat lists the counters of struct vm_stat under their /proc/vmstat
 * names; counters Linux does not have carry a "vmemu_" prefix so nobody
 * mistakes them for kernel ones.  Formatting happens outside the machine
 * lock, on a snapshot.  Not reachable from the trap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vm/machine.h"

/* clang-format off */
#define STAT(name, linux) { #name, offsetof(struct vm_stat, name), linux }

static const struct {
	const char *name;
	size_t off;
	int is_linux;
} vmstat_fields[] = {
	STAT(nr_free_pages, 1),	  STAT(nr_anon_pages, 1),
	STAT(nr_page_table_pages, 1), STAT(pgalloc_normal, 1),
	STAT(pgfree, 1),	  STAT(pgfault, 1),
	STAT(pgmajfault, 1),	  STAT(pswpin, 1),
	STAT(pswpout, 1),	  STAT(pgscan_kswapd, 1),
	STAT(pgscan_direct, 1),	  STAT(pgsteal_kswapd, 1),
	STAT(pgsteal_direct, 1),  STAT(allocstall, 1),
	STAT(oom_kill, 1),	  STAT(cow_fault, 0),
	STAT(cow_reuse, 0),	  STAT(zero_page_map, 0),
	STAT(tlb_refill, 0),	  STAT(dirty_trap, 0),
	STAT(segv, 0),		  STAT(tlb_hit, 0),
	STAT(tlb_miss, 0),	  STAT(tlb_flush, 0),
	STAT(hmap_flush, 0),	  STAT(fault_around, 0),
};
/* clang-format on */

static int vmstat_text(struct vm *vm, char *buf, size_t len)
{
	struct vm_stat st;
	size_t used = 0;

	vm_stat(vm, &st);
	for (size_t i = 0; i < ARRAY_SIZE(vmstat_fields); i++) {
		uint64_t v = *(const uint64_t *)((const char *)&st +
						 vmstat_fields[i].off);
		int n = snprintf(used < len ? buf + used : NULL,
				 used < len ? len - used : 0, "%s%s %llu\n",
				 vmstat_fields[i].is_linux ? "" : "vmemu_",
				 vmstat_fields[i].name, (unsigned long long)v);
		if (n < 0)
			return -EIO;
		used += (size_t)n;
	}
	return (int)used;
}

int vm_procfs(struct vm *vm, const char *name, char *buf, size_t len)
{
	int n;

	if (!vm_valid(vm) || !name || (!buf && len))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	if (strcmp(name, "vmstat") == 0)
		return vmstat_text(vm, buf, len);
	vm_lock(vm);
	if (strcmp(name, "buddyinfo") == 0)
		n = buddy_info(vm->buddy, buf, len);
	else if (strcmp(name, "slabinfo") == 0)
		n = slab_info(vm->slab, buf, len);
	else
		n = -ENOENT;
	vm_unlock(vm);
	return n;
}
