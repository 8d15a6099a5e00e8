/*
 * vm/ldt.c - each task's segment table (the hardware model is
 * mmu/segment.h), named after Linux's arch/x86/kernel/ldt.c, which keeps
 * a process's Local Descriptor Table: the public vm_seg_* calls.
 *
 *   vm_seg_access(t, seg, off, write)
 *     |  seg_translate: off < limit?  prot allows it?
 *     |     no --> emulated SIGSEGV: VM_EXIT_SEGV, segv_cause LIMIT/PERM
 *     v
 *   vm_access(t, base + off, write)    the page walk as usual
 *
 * Defaults (made on first use from the task's layout, vm/mm.h; the
 * numbers are in vm/vm.h and docs/segmentation.md): code and data where
 * a program image would be (below start_brk, from ld's 0x400000), heap
 * from start_brk up to mmap_base, stack the top RLIMIT_STACK bytes.
 *
 * Invariants:
 *  1. t->seg is valid (mmu/segment.h's invariants) once t->seg_ready.
 *  2. A segment fault sets segv_cause/segv_seg only when it is the kill
 *     that counts (task_mark_killed returned true), under the lock.
 *
 * Locking: the machine lock guards t->seg (the task's thread and a
 * controlling thread may both call).  Not SIGSAFE (vm_* entry points).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "vm/machine.h"
#include "vm/mm.h"
#include "vm/vmstat.h"

#define LDT_CODE_BASE (4ULL << 20) /* x86-64 ld's text address 0x400000 */
#define LDT_DATA_BASE (8ULL << 20)

_Static_assert(SEG_MAX == VM_SEG_MAX, "one segment count");
_Static_assert(SEG_READ == VM_PROT_READ && SEG_WRITE == VM_PROT_WRITE,
	       "segment prot uses VM_PROT_*");
_Static_assert(LDT_DATA_BASE < MM_START_BRK, "data below the heap");

/* Lock held, t->mm live.  The default table from t's layout. */
static void ldt_defaults(struct vm_task *t)
{
	const struct mm *mm = t->mm;
	const unsigned rw = SEG_READ | SEG_WRITE;
	uint64_t stack = MIN(MM_STACK_MAX, mm->task_size);

	seg_table_init(&t->seg);
	seg_set(&t->seg, VM_SEG_CODE, LDT_CODE_BASE,
		LDT_DATA_BASE - LDT_CODE_BASE, SEG_READ);
	seg_set(&t->seg, VM_SEG_DATA, LDT_DATA_BASE,
		mm->start_brk - LDT_DATA_BASE, rw);
	seg_set(&t->seg, VM_SEG_HEAP, mm->start_brk,
		mm->mmap_base - mm->start_brk, rw);
	seg_set(&t->seg, VM_SEG_STACK, mm->task_size - stack, stack, rw);
	t->seg_ready = true;
}

/* Lock held.  t's table, made if needed; NULL once t has no mm. */
static struct seg_table *ldt_get(struct vm_task *t)
{
	if (!t->seg_ready) {
		if (!t->mm)
			return NULL;
		ldt_defaults(t);
	}
	return &t->seg;
}

int vm_seg_get(struct vm_task *t, unsigned seg, struct vm_seg *out)
{
	struct seg_table *st;
	int err = -EINVAL;

	if (!task_valid(t) || seg >= SEG_MAX || !out)
		return -EINVAL;
	vm_lock(t->vm);
	st = ldt_get(t);
	if (st) {
		*out = (struct vm_seg){ st->seg[seg].base, st->seg[seg].limit,
					(int)st->seg[seg].prot };
		err = 0;
	}
	vm_unlock(t->vm);
	return err;
}

int vm_seg_set(struct vm_task *t, unsigned seg, const struct vm_seg *s)
{
	struct seg_table *st;
	int err = -EINVAL;

	if (!task_valid(t) || !s || s->prot < 0)
		return -EINVAL;
	vm_lock(t->vm);
	st = ldt_get(t);
	if (st)
		err = seg_set(st, seg, s->base, s->limit, (unsigned)s->prot);
	vm_unlock(t->vm);
	return err;
}

int vm_seg_translate(struct vm_task *t, unsigned seg, uint64_t off, int write,
		     uint64_t *linear)
{
	struct seg_table *st;
	int r = -EINVAL;

	if (!task_valid(t) || !linear || (write != 0 && write != 1))
		return -EINVAL;
	vm_lock(t->vm);
	st = ldt_get(t);
	if (st)
		r = (int)seg_translate(st, seg, off, write, linear);
	vm_unlock(t->vm);
	return r;
}

/* Lock held.  The segment fault ends t (if no other kill came first). */
static void ldt_fault(struct vm_task *t, unsigned seg, uint64_t off, bool write,
		      enum seg_result r)
{
	const struct seg_desc *d = seg < SEG_MAX ? &t->seg.seg[seg] : NULL;

	if (!task_mark_killed(t, VM_EXIT_SEGV, off))
		return;
	t->segv_cause = r == SEG_FAULT_LIMIT ? VM_SEGV_SEG_LIMIT :
					       VM_SEGV_SEG_PERM;
	t->segv_seg = (int)seg;
	if (r == SEG_FAULT_PERM)
		snprintf(t->exit.msg, sizeof(t->exit.msg),
			 "segment %u does not allow %s", seg,
			 write ? "writing" : "reading");
	else if (d)
		snprintf(t->exit.msg, sizeof(t->exit.msg),
			 "segment %u: offset %#" PRIx64 " >= limit %#" PRIx64,
			 seg, off, d->limit);
	else
		snprintf(t->exit.msg, sizeof(t->exit.msg),
			 "segment %u: no such segment", seg);
	vm_event_task(t->vm, VME_SEGV, t, off, t->segv_cause);
}

int vm_seg_access(struct vm_task *t, unsigned seg, uint64_t off, int write)
{
	struct seg_table *st;
	enum seg_result r = SEG_FAULT_LIMIT;
	uint64_t linear = 0;

	if (!task_valid(t) || (write != 0 && write != 1))
		return -EINVAL;
	vm_lock(t->vm);
	st = ldt_get(t);
	if (!st) {
		vm_unlock(t->vm);
		return -EINVAL;
	}
	r = seg_translate(st, seg, off, write, &linear);
	if (r != SEG_OK)
		ldt_fault(t, seg, off, write, r);
	vm_unlock(t->vm);
	if (r == SEG_OK)
		return vm_access(t, linear, write);
	task_exit_if_killed(t);
	return -EFAULT;
}
