/*
 * vm/vmstat.c - the counter funnel (vmstat.h), vm_stat() and the text of
 * /proc/vmstat (vm/procfs.c has the other /proc files).
 *
 * vmstat lists the gauges (nr_*) and then every counter of VM_EVENTS under
 * its /proc/vmstat name; counters Linux does not have carry a "vmemu_"
 * prefix so nobody mistakes them for kernel ones.  Formatting happens
 * outside the machine lock, on a snapshot.
 *
 * Locking: the machine lock around the counters and the snapshot.
 * vm_event and vm_event_task are SIGSAFE.
 */
#include "vm/vmstat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/evlog.h"
#include "vm/filemap.h"
#include "vm/mm.h"
#include "vm/vmlog.h"

const struct vm_event_desc vm_event_desc[NR_VM_EVENTS] = {
#define VM_EVENT_DESC(id, fld, proc, fl, text) \
	[VME_##id] = { #fld, #proc, fl, text, offsetof(struct vm_stat, fld) },
	VM_EVENTS(VM_EVENT_DESC)
#undef VM_EVENT_DESC
};

/*
 * SIGSAFE.  Hand one event to the log, if it records this kind.  Out of
 * line and cold: without a log an event is its count alone (vmstat.h).
 */
__attribute__((noinline, cold)) SIGSAFE void
vm_event_log(struct vm *vm, enum vm_event e, int pid, vaddr_t va, pfn_t pfn,
	     uint64_t slot, int64_t arg)
{
	unsigned kind = vmlog_kind(e);
	struct evlog_event ev;

	if (!evlog_enabled(vm->log, kind))
		return;
	ev = (struct evlog_event){
		evlog_now(vm->log), va, pfn, slot, arg, kind, pid
	};
	evlog_emit(vm->log, &ev);
}

__attribute__((noinline, cold)) SIGSAFE void
vm_event_log_mm(struct vm *vm, enum vm_event e, const struct mm *mm, vaddr_t va,
		pfn_t pfn, uint64_t slot, int64_t arg)
{
	vm_event_log(vm, e, mm && mm->owner ? mm->owner->pid : 0, va, pfn, slot,
		     arg);
}

SIGSAFE void vm_event_task(struct vm *vm, enum vm_event e,
			   const struct vm_task *t, vaddr_t va, int64_t arg)
{
	vm_event_pid(vm, e, t ? t->pid : 0, va, 0, 0, arg);
}

/* ---- vm_stat --------------------------------------------------------- */

void vm_stat(struct vm *vm, struct vm_stat *st)
{
	struct reclaim_counts rc;
	struct list_head *n;

	memset(st, 0, sizeof(*st));
	if (!vm_valid(vm))
		return;
	vm_lock(vm);
	for (unsigned e = 0; e < NR_VM_EVENTS; e++)
		*(uint64_t *)((char *)st + vm_event_desc[e].off) = vm->ev[e];
	st->nr_free_pages = buddy_nr_free(vm->buddy);
	st->nr_anon_pages = vm->nr_anon_pages;
	if (vm->reclaim) {
		reclaim_get_counts(vm, &rc);
		st->nr_active_anon = rc.nr_active_anon;
		st->nr_inactive_anon = rc.nr_inactive_anon;
		st->nr_isolated_anon = rc.nr_isolated_anon;
		st->nr_active_file = rc.nr_active_file;
		st->nr_inactive_file = rc.nr_inactive_file;
	}
	filemap_stat(vm, st);
	st->nr_swapcached = swap_cached_pages(vm);
	st->nr_swap_free = swap_free_pages(vm);
	list_for_each(n, &vm->tasks) {
		struct mm *mm = list_entry(n, struct vm_task, node)->mm;

		if (!mm)
			continue;
		st->nr_page_table_pages += mm->pt.nr_tables;
		st->tlb_hit += mm->swtlb.hits;
		st->tlb_miss += mm->swtlb.misses;
		st->tlb_flush += mm->swtlb.flushes;
	}
	vm_unlock(vm);
}

/* ---- /proc texts ------------------------------------------------------ */

/* The gauges, in /proc/vmstat's order (they come first there). */
#define GAUGE(name)                                   \
	{                                             \
#name, offsetof(struct vm_stat, name) \
	}
static const struct {
	const char *name;
	size_t off;
} vmstat_gauges[] = {
	GAUGE(nr_free_pages),  GAUGE(nr_inactive_anon),
	GAUGE(nr_active_anon), GAUGE(nr_isolated_anon),
	GAUGE(nr_anon_pages),  GAUGE(nr_page_table_pages),
	GAUGE(nr_swapcached),  GAUGE(nr_inactive_file),
	GAUGE(nr_active_file), GAUGE(nr_file_pages),
	GAUGE(nr_shmem),       GAUGE(nr_dirty),
	GAUGE(nr_writeback),   GAUGE(nr_mapped),
};

static uint64_t stat_at(const struct vm_stat *st, size_t off)
{
	return *(const uint64_t *)((const char *)st + off);
}

unsigned vmstat_names(char (*names)[VMSTAT_NAME_MAX], unsigned max)
{
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(vmstat_gauges) && n < max; i++)
		snprintf(names[n++], VMSTAT_NAME_MAX, "%s",
			 vmstat_gauges[i].name);
	for (unsigned e = 0; e < NR_VM_EVENTS && n < max; e++)
		snprintf(names[n++], VMSTAT_NAME_MAX, "%s%s",
			 (vm_event_desc[e].flags & VMS_LINUX) ? "" : "vmemu_",
			 vm_event_desc[e].procname);
	return n;
}

unsigned vmstat_values(struct vm *vm, uint64_t *v, unsigned max)
{
	struct vm_stat st;
	unsigned n = 0;

	vm_stat(vm, &st);
	for (size_t i = 0; i < ARRAY_SIZE(vmstat_gauges) && n < max; i++)
		v[n++] = stat_at(&st, vmstat_gauges[i].off);
	for (unsigned e = 0; e < NR_VM_EVENTS && n < max; e++)
		v[n++] = stat_at(&st, vm_event_desc[e].off);
	return n;
}

int vmstat_text(struct vm *vm, char *buf, size_t len)
{
	static char names[VMSTAT_MAX_LINES][VMSTAT_NAME_MAX];
	uint64_t v[VMSTAT_MAX_LINES];
	unsigned n = vmstat_names(names, VMSTAT_MAX_LINES);
	size_t used = 0;

	vmstat_values(vm, v, VMSTAT_MAX_LINES);
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(used < len ? buf + used : NULL,
				 used < len ? len - used : 0, "%s %llu\n",
				 names[i], (unsigned long long)v[i]);

		if (k < 0)
			return -EIO;
		used += (size_t)k;
	}
	return (int)used;
}
