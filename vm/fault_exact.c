/*
 * vm/fault_exact.c - the access path of exact replacement
 * (vm_config.exact_frames; trace mode): vm_access_next and
 * vm_access_batch come here.  A hit in the software TLB reaches the
 * policy as page_access.  A TLB miss walks the page table as hardware
 * does: a PTE that grants the access with nothing to set is a hit too;
 * anything else runs the fault (vm/fault.c: an evicted page's entry is
 * do_exact_refault, the policy's miss).  Nothing waits:
 * no swap I/O, no reclaim rounds.  Batches take the machine lock once
 * per BATCH_LOCK_RUN accesses and load the PTEs (or struct pages) of
 * the accesses PREFETCH_AHEAD ahead; the fault of such an access takes
 * the slot that walk found, while no page table was freed since (tables
 * never move: vm->pt_frees).
 *
 * Locking: the machine lock, taken here.
 */
#include "vm/fault.h"

#include "reclaim/reclaim.h"
#include "vm/mm.h"
#include "vm/vma.h"

#define BATCH_LOCK_RUN 1024 /* vm_access_batch: accesses per lock hold */
#define PREFETCH_AHEAD 16   /* and how far ahead it loads PTEs */

/*
 * SIGSAFE, lock held.  Whether the PTE at va grants the access without a
 * fault, as the hardware walk decides it: present, with the right to
 * write for a write, and its A bit (and D, for a write) already set - the
 * fault would only tell the policy (do_access).  The VMA is asked all the
 * same: a PROT_NONE area keeps present PTEs (mm_mprotect).
 */
static inline SIGSAFE bool walk_grants(struct mm *mm, vaddr_t va, int write,
				       pte_t pte)
{
	pte_t need = PTE_PRESENT | PTE_ACCESSED |
		     (write ? PTE_WRITE | PTE_DIRTY : 0);
	struct vma *v;

	if ((pte & need) != need || mm->reaped)
		return false;
	v = vma_find(mm, va);
	return v && vma_allows(v, write);
}

/*
 * SIGSAFE, lock held.  An access the software TLB did not serve: the
 * page walk (or the slot walked ahead, if not NULL), then either a hit
 * the walk grants (walk_grants) or the fault (a policy's miss, a bit to
 * set, a SEGV), then the TLB fill.  Out of line, so that the hit loop
 * stays small.  Anything but FAULT_DONE has marked t killed.
 */
static SIGSAFE __attribute__((noinline)) enum fault_result
exact_tlb_miss(struct vm_task *t, struct mm *mm, vaddr_t va, int write,
	       pte_t *walked)
{
	struct fault_state fs = { 0 };
	enum fault_result r;

	if (!walked && va < mm->task_size)
		walked = pt_walk(&mm->pt, va);
	if (atomic_load(&t->kill_reason)) {
		r = FAULT_KILLED;
	} else if (walked && !mm->vm->exact_walk_faults &&
		   walk_grants(mm, va, write, *walked)) {
		mm->vm->exact_walk_hits++;
		fs.ptep = walked;
		reclaim_page_access(mm->vm,
				    phys_page(&mm->vm->phys, pte_pfn(*walked)));
		r = FAULT_DONE;
	} else {
		fs.walked = walked;
		r = fault_handle(mm, va, write ? FAULT_WRITE : 0, &fs);
	}
	if (r == FAULT_NOMEM)
		r = FAULT_HOST_NOMEM;
	if (r == FAULT_DONE) {
		bool w = (*fs.ptep & PTE_WRITE) && (*fs.ptep & PTE_DIRTY);

		/* A read's lookup missed: va has no entry (the fault only
		   flushes).  A write's may have found it read-only. */
		if (write)
			swtlb_fill(&mm->swtlb, PAGE_ROUND_DOWN(va), w,
				   pte_pfn(*fs.ptep));
		else
			swtlb_fill_absent(&mm->swtlb, PAGE_ROUND_DOWN(va), w,
					  pte_pfn(*fs.ptep));
	} else {
		fault_kill(t, r, va);
	}
	return r;
}

/* A batch's walk ahead of an access: its va's slot, and when it was found. */
struct walked {
	pte_t *ptep;	/* NULL: none */
	uint64_t frees; /* vm->pt_frees then */
};

/*
 * SIGSAFE, lock held.  One access in exact replacement: a hit in the
 * software TLB reaches the policy as page_access, anything else goes to
 * exact_tlb_miss, with the slot that w (if not NULL) found ahead, and the
 * access's next use for OPT.  Nothing here waits (no swap I/O, no reclaim
 * rounds): frames short of page tables end the task with
 * VM_EXIT_HOST_NOMEM.  Anything but FAULT_DONE has marked t killed.
 */
static inline SIGSAFE enum fault_result exact_one(struct vm_task *t,
						  struct mm *mm, vaddr_t va,
						  int write, uint64_t next_use,
						  const struct walked *w)
{
	struct vm *vm = mm->vm;
	pfn_t pfn;

	vm->exact_next = next_use;
	vm->exact_mm = mm;
	vm->exact_va = va;
	if (likely(va < mm->task_size) &&
	    swtlb_lookup_pfn(&mm->swtlb, va, write, &pfn)) {
		reclaim_page_access(vm, phys_page(&vm->phys, pfn));
		return FAULT_DONE;
	}
	return exact_tlb_miss(t, mm, va, write,
			      w && w->frees == vm->pt_frees ? w->ptep : NULL);
}

int fault_exact_access(struct vm_task *t, uint64_t va, int write,
		       uint64_t next_use)
{
	enum fault_result r;

	vm_lock(t->vm);
	r = exact_one(t, t->mm, va, write, next_use, NULL);
	vm_unlock(t->vm);
	if (r == FAULT_DONE)
		return 0;
	task_exit_if_killed(t);
	return fault_errno(r);
}

/*
 * Lock held.  Start loading what the access to va will touch: its struct
 * page when the TLB will serve it (the policy's hit), else its PTE (the
 * walk; the upper tables are hot), whose slot goes to *w for its fault.
 */
static inline void prefetch_access(struct mm *mm, vaddr_t va, struct walked *w)
{
	pfn_t pfn;

	w->ptep = NULL;
	if (va >= mm->task_size)
		return;
	if (swtlb_peek(&mm->swtlb, va, &pfn)) {
		__builtin_prefetch(phys_page(&mm->vm->phys, pfn));
		return;
	}
	w->ptep = pt_walk(&mm->pt, va);
	if (w->ptep) {
		__builtin_prefetch(w->ptep);
		w->frees = mm->vm->pt_frees;
	}
}

int fault_exact_batch(struct vm_task *t, const struct vm_ref *ref, size_t n,
		      size_t *done)
{
	struct mm *mm = t->mm;
	enum fault_result r = FAULT_DONE;
	struct walked ahead[PREFETCH_AHEAD]; /* [i % PREFETCH_AHEAD]: i's */
	size_t i = 0;

	for (unsigned k = 0; k < PREFETCH_AHEAD; k++)
		ahead[k].ptep = NULL;
	while (i < n && r == FAULT_DONE) {
		size_t end = MIN(n, i + BATCH_LOCK_RUN);

		vm_lock(t->vm);
		for (; i < end; i++) {
			struct walked *w = &ahead[i % PREFETCH_AHEAD];

			r = exact_one(t, mm, ref[i].va, ref[i].write != 0,
				      ref[i].next_use, w);
			if (i + PREFETCH_AHEAD < n) /* i's slot, now free */
				prefetch_access(mm, ref[i + PREFETCH_AHEAD].va,
						w);
			else
				w->ptep = NULL;
			if (r != FAULT_DONE)
				break;
		}
		vm_unlock(t->vm);
	}
	if (done)
		*done = i;
	if (r == FAULT_DONE)
		return 0;
	task_exit_if_killed(t);
	return fault_errno(r);
}
