/*
 * vm/vmstat.h - the counter funnel: every event counter of the machine is
 * bumped here and nowhere else, so that the event log (which emits from
 * the same call) and the counters can never drift apart.
 *
 * VM_EVENTS (vm/vm_events.h) lists every counter once: its id, its struct vm_stat field
 * (a contract name), its /proc/vmstat name, and whether it is
 *
 *   VMS_LINUX  a counter Linux has under that name (else /proc/vmstat
 *              shows it as "vmemu_<name>": emulator-only);
 *   VMS_EVENT  an event kind: each count is one event (vm_event), with
 *              the time, the pid, va, pfn, swap slot and an argument.
 *              Pure counters (no VMS_EVENT) move by vm_count only; the
 *              events that explain them carry their amounts (a direct
 *              reclaim's end carries pages scanned and reclaimed).
 *
 * Attribution (docs/architecture.md): an event about an address space -
 * a fault, an eviction, a swap-in - carries the pid of the task whose
 * address space it is, even when another task's thread touched the window
 * (the PTE, the frame and the rss that change are that task's, as Linux
 * accounts a remote fault to the target mm).  An emulated SIGSEGV is the
 * faulting task's: it is the one that ends.  pid 0 is the machine itself
 * (kswapd, the zero page).
 *
 * Per-task usage (struct vm_rusage): a fault event also bumps the owner's
 * minflt (majflt when it needed I/O), here, in the same call.
 *
 * Locking: the machine lock guards vm->ev (and the owner's ru); every
 * function here is SIGSAFE.  The software TLB's hit/miss/flush counts are
 * kept lock-free per address space (mmu/swtlb.h) and summed by vm_stat:
 * they are counters only, never events (a hit is not an event).
 */
#ifndef VMEMU_VMSTAT_H
#define VMEMU_VMSTAT_H

#include "vm/machine.h"

/* The static description of each counter (vmstat.c). */
struct vm_event_desc {
	const char *field;    /* struct vm_stat member */
	const char *procname; /* /proc/vmstat name (without "vmemu_") */
	unsigned flags;	      /* VMS_* */
	const char *doc;
	size_t off; /* offsetof(struct vm_stat, field) */
};
extern const struct vm_event_desc vm_event_desc[NR_VM_EVENTS];

/* SIGSAFE, lock held.  A pure counter moves by n (never an event kind). */
static inline void vm_count(struct vm *vm, enum vm_event e, uint64_t n)
{
	vm->ev[e] += n;
}

/* SIGSAFE, lock held.  The log's side of vm_event, vm_event_pid. */
void vm_event_log(struct vm *vm, enum vm_event e, int pid, vaddr_t va,
		  pfn_t pfn, uint64_t slot, int64_t arg);
void vm_event_log_mm(struct vm *vm, enum vm_event e, const struct mm *mm,
		     vaddr_t va, pfn_t pfn, uint64_t slot, int64_t arg);

/*
 * SIGSAFE, lock held.  One event of kind e: its counter moves by one and,
 * when the log records e, the event is emitted.  mm: the address space it
 * is about (its owner's pid is the event's), or NULL for the machine.
 * Inline: without a log an event is one increment (the fault path runs
 * several per fault).
 */
static inline void vm_event(struct vm *vm, enum vm_event e, struct mm *mm,
			    vaddr_t va, pfn_t pfn, uint64_t slot, int64_t arg)
{
	BUG_ON(!(vm_event_desc[e].flags & VMS_EVENT));
	vm->ev[e]++;
	if (unlikely(vm->log))
		vm_event_log_mm(vm, e, mm, va, pfn, slot, arg);
}

/* SIGSAFE, lock held.  As vm_event, with the pid given (0: the machine). */
static inline void vm_event_pid(struct vm *vm, enum vm_event e, int pid,
				vaddr_t va, pfn_t pfn, uint64_t slot,
				int64_t arg)
{
	BUG_ON(!(vm_event_desc[e].flags & VMS_EVENT));
	vm->ev[e]++;
	if (unlikely(vm->log))
		vm_event_log(vm, e, pid, va, pfn, slot, arg);
}
/* SIGSAFE, lock held.  As vm_event, for a task (spawn, exit, SIGSEGV). */
void vm_event_task(struct vm *vm, enum vm_event e, const struct vm_task *t,
		   vaddr_t va, int64_t arg);

/* /proc/vmstat's text, like snprintf (takes the lock itself). */
int vmstat_text(struct vm *vm, char *buf, size_t len);

/* /proc/vmstat's lines: their names, and a snapshot of their values. */
#define VMSTAT_MAX_LINES 128
#define VMSTAT_NAME_MAX	 48
unsigned vmstat_names(char (*names)[VMSTAT_NAME_MAX], unsigned max);
unsigned vmstat_values(struct vm *vm, uint64_t *v, unsigned max);

#endif /* VMEMU_VMSTAT_H */
