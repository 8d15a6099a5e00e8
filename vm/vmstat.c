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
 * vm_event, vm_event_task and vm_count_fault are SIGSAFE.
 */
#include "vm/vmstat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/mm.h"

#define NSEC_PER_SEC 1000000000ULL

const struct vm_event_desc vm_event_desc[NR_VM_EVENTS] = {
#define VM_EVENT_DESC(id, fld, proc, fl, text) \
	[VME_##id] = { #fld, #proc, fl, text, offsetof(struct vm_stat, fld) },
	VM_EVENTS(VM_EVENT_DESC)
#undef VM_EVENT_DESC
};

/* SIGSAFE: ns since the machine was created. */
static uint64_t vm_now_ns(const struct vm *vm)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec -
	       vm->t0_ns;
}

/* SIGSAFE.  Hand one event to the log (none yet: the evlog issue). */
static void vm_log(struct vm *vm, enum vm_event e, int pid, vaddr_t va,
		   pfn_t pfn, uint64_t slot, int64_t arg)
{
	if (!vm->log)
		return;
	(void)vm_now_ns(vm);
	(void)e, (void)pid, (void)va, (void)pfn, (void)slot, (void)arg;
}

static int mm_pid(const struct mm *mm)
{
	return mm && mm->owner ? mm->owner->pid : 0;
}

SIGSAFE void vm_event(struct vm *vm, enum vm_event e, struct mm *mm, vaddr_t va,
		      pfn_t pfn, uint64_t slot, int64_t arg)
{
	vm_event_pid(vm, e, mm_pid(mm), va, pfn, slot, arg);
}

SIGSAFE void vm_event_pid(struct vm *vm, enum vm_event e, int pid, vaddr_t va,
			  pfn_t pfn, uint64_t slot, int64_t arg)
{
	BUG_ON(!(vm_event_desc[e].flags & VMS_EVENT));
	vm->ev[e]++;
	vm_log(vm, e, pid, va, pfn, slot, arg);
}

SIGSAFE void vm_event_task(struct vm *vm, enum vm_event e,
			   const struct vm_task *t, vaddr_t va, int64_t arg)
{
	vm_event_pid(vm, e, t ? t->pid : 0, va, 0, 0, arg);
}

SIGSAFE void vm_count_fault(struct vm *vm, enum vm_event e, struct mm *mm,
			    vaddr_t va, pfn_t pfn, bool major, int64_t arg)
{
	struct vm_task *owner = mm->owner;

	vm_count(vm, VME_PGFAULT, 1);
	if (major)
		vm_count(vm, VME_PGMAJFAULT, 1);
	if (owner) {
		if (major)
			owner->ru.majflt++;
		else
			owner->ru.minflt++;
		if (e == VME_SWAPIN_FAULT)
			owner->ru.swapins += (uint64_t)arg;
	}
	vm_event(vm, e, mm, va, pfn, 0, arg);
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
	reclaim_get_counts(vm, &rc);
	st->nr_active_anon = rc.nr_active_anon;
	st->nr_inactive_anon = rc.nr_inactive_anon;
	st->nr_isolated_anon = rc.nr_isolated_anon;
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
	GAUGE(nr_swapcached),
};

/* snprintf into buf at *used, keeping the length it would need. */
static int put_line(char *buf, size_t len, size_t *used, const char *prefix,
		    const char *name, uint64_t v)
{
	int n = snprintf(*used < len ? buf + *used : NULL,
			 *used < len ? len - *used : 0, "%s%s %llu\n", prefix,
			 name, (unsigned long long)v);

	if (n < 0)
		return -EIO;
	*used += (size_t)n;
	return 0;
}

static uint64_t stat_at(const struct vm_stat *st, size_t off)
{
	return *(const uint64_t *)((const char *)st + off);
}

int vmstat_text(struct vm *vm, char *buf, size_t len)
{
	struct vm_stat st;
	size_t used = 0;
	int err = 0;

	vm_stat(vm, &st);
	for (size_t i = 0; i < ARRAY_SIZE(vmstat_gauges) && !err; i++)
		err = put_line(buf, len, &used, "", vmstat_gauges[i].name,
			       stat_at(&st, vmstat_gauges[i].off));
	for (unsigned e = 0; e < NR_VM_EVENTS && !err; e++) {
		const struct vm_event_desc *d = &vm_event_desc[e];

		err = put_line(buf, len, &used,
			       (d->flags & VMS_LINUX) ? "" : "vmemu_",
			       d->procname, stat_at(&st, d->off));
	}
	return err ? err : (int)used;
}
