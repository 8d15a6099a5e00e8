/*
 * vm/hosttlb.c - host mappings in native mode: the emulated hardware TLB
 * (see hosttlb.h).
 *
 * A page's host mapping (memfd frame mapped at window base + va) is its TLB
 * entry.  PTE_HMAP_R/PTE_HMAP_W record what it grants (mm.h invariant 4):
 *
 *   PTE                               host mapping wanted
 *   present, accessed, not W or not D  read-only   (a write traps: D bit)
 *   present, accessed, W and D         read-write
 *   anything else                      none        (a touch traps: A bit,
 *                                                   or a real fault)
 *
 * Installing maps a run of neighbours that want the same protection over
 * consecutive frames in one call (fault-around; such runs are also what
 * the host merges into one mapping).  Downgrades and revokes work on
 * ranges, one host call per run.  When the host is short of map slots
 * (mmu/mapslots.h), a window is flushed whole: one mmap over it gives back
 * every slot it held and every page's next touch is a refill.
 *
 * Locking: the machine lock, held by every caller.  Everything is SIGSAFE.
 */
#include <errno.h>

#include "vm/hosttlb.h"
#include "vm/vmstat.h"

#define FAULT_AROUND_PAGES 16

static pte_t hmap_want(pte_t pte)
{
	bool rw = (pte & PTE_WRITE) && (pte & PTE_DIRTY);

	return rw ? PTE_HMAP : PTE_HMAP_R;
}

/*
 * Neighbour at distance d (+/-) can share va's host mapping call.  A host
 * mapping is a TLB entry, which real hardware only holds for pages whose
 * A bit is set: a page aged by mm_clear_young must trap on its next touch.
 */
static bool hmap_joinable(pte_t base, pte_t nb, long d)
{
	return pte_present(nb) && (nb & PTE_ACCESSED) &&
	       hmap_want(nb) == hmap_want(base) &&
	       (nb & PTE_HMAP) != hmap_want(nb) &&
	       pte_pfn(nb) == pte_pfn(base) + (pfn_t)d;
}

/* Revoke every host mapping of mm and clear the HMAP bits (TLB full). */
static SIGSAFE void hmap_clear_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	if (*ptep & PTE_HMAP)
		pt_set(&((struct mm *)arg)->pt, ptep, *ptep & ~PTE_HMAP);
	(void)va;
}

/*
 * Replacing the whole window by one PROT_NONE mapping gives back every map
 * slot it held.  If even that fails, the host can no longer be kept in
 * step with the PTEs (a stale writable mapping could leak a COW write),
 * so it is a bug, not an error to carry on from.
 */
SIGSAFE void hosttlb_flush_mm(struct mm *mm)
{
	int err = hostmap_revoke(mm->win, 0, mm->task_size >> PAGE_SHIFT);

	BUG_ON(err);
	pt_for_each(&mm->pt, 0, mm->task_size, hmap_clear_visit, mm);
	vm_event(mm->vm, VME_HMAP_FLUSH, mm, 0, 0, 0, 0);
}

/* Flush every window of the machine (the host is out of map slots). */
static SIGSAFE void hosttlb_flush_all(struct vm *vm)
{
	struct list_head *n;

	list_for_each(n, &vm->tasks) {
		struct mm *mm = list_entry(n, struct vm_task, node)->mm;

		if (mm && mm->win)
			hosttlb_flush_mm(mm);
	}
}

/* Over the map-slot budget: flush this window, then all if need be. */
static SIGSAFE void hmap_make_room(struct mm *mm)
{
	hosttlb_flush_mm(mm);
	if (!mapslots_recount(&mm->vm->mapslots)) {
		hosttlb_flush_all(mm->vm);
		if (!mapslots_recount(&mm->vm->mapslots))
			mapslots_give_up(&mm->vm->mapslots);
	}
}

SIGSAFE int hosttlb_fill(struct mm *mm, vaddr_t va, pte_t *ptep)
{
	pte_t pte = *ptep;
	unsigned idx = PT_INDEX(0, va);
	long lo = 0, hi = 1;
	int prot, err;

	BUG_ON(!pte_present(pte));
	if (should_fail(&mm->vm->fail_host_map, PAGE_SIZE))
		return -ENOMEM; /* as the host's mmap would say */
	if (!mapslots_charge(&mm->vm->mapslots))
		hmap_make_room(mm);
	prot = hmap_want(pte) == PTE_HMAP ? HOSTMAP_PROT_RW : HOSTMAP_PROT_READ;
	/* Fault-around inside this PTE table, over consecutive frames. */
	while (hi - lo < FAULT_AROUND_PAGES && idx + hi < PT_ENTRIES &&
	       hmap_joinable(pte, ptep[hi], hi))
		hi++;
	while (hi - lo < FAULT_AROUND_PAGES && (long)idx + lo > 0 &&
	       hmap_joinable(pte, ptep[lo - 1], lo - 1))
		lo--;
	/* The host has no fault-around for writes to shared mappings. */
	err = hostmap_map(mm->win, va + (vaddr_t)lo * PAGE_SIZE,
			  mm->vm->phys.memfd, pte_pfn(pte) + (pfn_t)lo,
			  (size_t)(hi - lo),
			  prot | (hi - lo > 1 && prot == HOSTMAP_PROT_RW ?
					  HOSTMAP_POPULATE :
					  0));
	if (err == -ENOMEM) {
		/* Out of host map slots: flush this TLB, map just va. */
		hosttlb_flush_mm(mm);
		lo = 0;
		hi = 1;
		err = hostmap_map(mm->win, va, mm->vm->phys.memfd, pte_pfn(pte),
				  1, prot);
	}
	if (err == -ENOMEM) {
		/* Other windows hold the slots: flush them all. */
		hosttlb_flush_all(mm->vm);
		err = hostmap_map(mm->win, va, mm->vm->phys.memfd, pte_pfn(pte),
				  1, prot);
	}
	if (err)
		return err;
	for (long d = lo; d < hi; d++)
		pt_set(&mm->pt, ptep + d,
		       (ptep[d] & ~PTE_HMAP) | hmap_want(ptep[d]));
	return 0;
}

struct hmap_span {
	struct mm *mm;
	vaddr_t lo, hi;		    /* revoke: extent of pages with HMAP */
	vaddr_t run_start, run_end; /* wrprotect: current run */
	bool failed;		    /* a host call failed: flush instead */
};

static SIGSAFE void revoke_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct hmap_span *s = arg;

	if (!(*ptep & PTE_HMAP))
		return;
	pt_set(&s->mm->pt, ptep, *ptep & ~PTE_HMAP);
	if (s->lo == s->hi)
		s->lo = va;
	s->hi = va + PAGE_SIZE;
}

SIGSAFE bool hosttlb_shootdown(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct hmap_span s = { .mm = mm };

	if (!mm->win)
		return false;
	pt_for_each(&mm->pt, start, end, revoke_visit, &s);
	if (s.hi <= s.lo)
		return false;
	if (hostmap_revoke(mm->win, s.lo, (s.hi - s.lo) >> PAGE_SHIFT) < 0)
		hosttlb_flush_mm(mm); /* no slot to split with: revoke it all */
	return true;
}

static SIGSAFE void wrprotect_flush(struct hmap_span *s)
{
	if (s->run_end > s->run_start)
		mapslots_charge(
			&s->mm->vm->mapslots); /* a split: next install checks */
	if (s->run_end > s->run_start &&
	    hostmap_protect(s->mm->win, s->run_start,
			    (s->run_end - s->run_start) >> PAGE_SHIFT,
			    HOSTMAP_PROT_READ) < 0)
		s->failed = true;
	s->run_start = s->run_end = 0;
}

static SIGSAFE void wrprotect_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct hmap_span *s = arg;

	if (!(*ptep & PTE_HMAP_W))
		return;
	pt_set(&s->mm->pt, ptep, *ptep & ~PTE_HMAP_W);
	if (s->run_end != va)
		wrprotect_flush(s);
	if (s->run_end == 0)
		s->run_start = va;
	s->run_end = va + PAGE_SIZE;
}

SIGSAFE void hosttlb_wrprotect(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct hmap_span s = { .mm = mm };

	if (!mm->win)
		return;
	pt_for_each(&mm->pt, start, end, wrprotect_visit, &s);
	wrprotect_flush(&s);
	if (s.failed)
		hosttlb_flush_mm(mm);
}
