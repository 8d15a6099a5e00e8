/*
 * vm/fault.c - the page-fault state machine, shared by the SIGSEGV trap
 * (native mode) and vm_access (trace mode).
 *
 *                      find VMA (grow stack) -- none/forbidden --> SEGV
 *                              |
 *            +-----------------+------------------+
 *        PTE none        present, write,       present, access allowed
 *            |           PTE not writable               |
 *   read: map zero frame       |               set A (and D on write)
 *   write: new zeroed frame  do_wp_page          native: D trap or
 *                        zero/shared: copy      TLB refill (not pgfault)
 *                        sole owner: reuse
 *
 * Counting: pgfault counts faults that change what a PTE maps or grants
 * (demand-zero, zero-frame map, COW copy or reuse); the same access
 * sequence gives the same pgfault in both modes.  tlb_refill and
 * dirty_trap are native-only, emulator-only counters.
 *
 * Host mappings: a native fault ends with hosttlb_fill, which replaces
 * the host mapping of va (MAP_FIXED) in the same lock section, so a PTE
 * whose frame changed never leaves a stale host mapping behind.  A
 * non-native fault that changes a frame revokes the host mapping first.
 *
 * Running out of frames is not an error here: FAULT_OOM goes back to the
 * caller, which (until reclaim and the OOM killer land) kills the faulting
 * task as vm.oom_kill_allocating_task would.
 *
 * Locking: the machine lock, taken by the entry points.  SIGSAFE.
 */
#include "vm/fault.h"

#include <errno.h>
#include <string.h>

#include "vm/hosttlb.h"
#include "vm/rmap.h"

static bool vma_allows(const struct vma *v, bool write)
{
	if (write)
		return v->prot & VM_PROT_WRITE;
	return v->prot & (VM_PROT_READ | VM_PROT_WRITE);
}

/* Make the allocated frame pfn an anonymous page of (mm, va); 0/-ENOMEM. */
static SIGSAFE int anon_page_init(struct mm *mm, pfn_t pfn, vaddr_t va)
{
	struct vm *vm = mm->vm;
	struct page *pg = phys_page(&vm->phys, pfn);

	if (rmap_add(vm, pg, mm, va) < 0)
		return -ENOMEM;
	pg->flags = PG_anon;
	pg->_refcount = 1;
	pg->_mapcount = 1;
	pg->index = va;
	vm->st.nr_anon_pages++;
	mm->rss_anon++;
	return 0;
}

/* A fresh anonymous frame mapped at (mm, va); 0 or -ENOMEM. */
static SIGSAFE int new_anon_page(struct mm *mm, vaddr_t va, pfn_t *out)
{
	pfn_t pfn;

	if (vm_page_alloc(mm->vm, &pfn) < 0)
		return -ENOMEM;
	if (anon_page_init(mm, pfn, va) < 0) {
		vm_page_free(mm->vm, pfn);
		return -ENOMEM;
	}
	*out = pfn;
	return 0;
}

static const pte_t anon_rw = PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_ACCESSED |
			     PTE_DIRTY;

/*
 * Anonymous fault-around (opt-in: vm_config.anon_fault_around = n > 1).  A
 * write to untouched memory maps the whole naturally aligned block of n
 * pages around va at once, from one buddy block, when the block lies in
 * the VMA and all its PTEs are none: Linux's multi-size THP for anonymous
 * memory, except that the block is split at once (buddy_split) and each
 * frame is an ordinary page from then on.  It costs one pgfault for n
 * pages; fault_around counts the n - 1 mapped ahead.  Any condition unmet,
 * no block free, or no rmap item: false, and the caller maps one page.
 */
static SIGSAFE bool anon_fault_around(struct mm *mm, struct vma *v, pte_t *ptep,
				      vaddr_t va)
{
	struct vm *vm = mm->vm;
	unsigned n = vm->cfg.anon_fault_around, i, k;
	vaddr_t start = va & ~((vaddr_t)n * PAGE_SIZE - 1);
	pte_t *first = ptep - ((va - start) >> PAGE_SHIFT);
	pfn_t pfn;

	if (n < 2 || start < v->start || start + n * PAGE_SIZE > v->end)
		return false;
	for (i = 0; i < n; i++)
		if (!pte_none(first[i]))
			return false;
	if (buddy_alloc(vm->buddy, (unsigned)__builtin_ctz(n), &pfn) < 0)
		return false;
	buddy_split(vm->buddy, pfn, (unsigned)__builtin_ctz(n));
	vm->st.pgalloc_normal += n;
	for (i = 0; i < n; i++)
		if (anon_page_init(mm, pfn + i, start + i * PAGE_SIZE) < 0)
			goto out_unwind;
	memset(phys_addr(&vm->phys, pfn), 0, (size_t)n * PAGE_SIZE);
	for (i = 0; i < n; i++)
		mm_set_pte(mm, first + i, start + i * PAGE_SIZE,
			   pfn_pte(pfn + i, anon_rw));
	vm->st.fault_around += n - 1;
	return true;

out_unwind:
	for (k = 0; k < n; k++) {
		if (k < i) /* drops the last reference: frees the frame */
			mm_release_pte(mm, start + k * PAGE_SIZE,
				       pfn_pte(pfn + k, anon_rw));
		else
			vm_page_free(vm, pfn + k);
	}
	return false;
}

static SIGSAFE void replace_pte(struct mm *mm, pte_t *ptep, vaddr_t va,
				pte_t val, unsigned flags)
{
	if ((*ptep & PTE_HMAP) && !(flags & FAULT_NATIVE))
		hosttlb_shootdown(mm, va, va + PAGE_SIZE);
	mm_set_pte(mm, ptep, va, val & ~PTE_HMAP);
}

static SIGSAFE enum fault_result do_anonymous(struct mm *mm, struct vma *v,
					      pte_t *ptep, vaddr_t va,
					      unsigned flags)
{
	struct vm *vm = mm->vm;
	pfn_t pfn;

	vm->st.pgfault++;
	if ((flags & FAULT_WRITE) && anon_fault_around(mm, v, ptep, va))
		return FAULT_DONE;
	if (!(flags & FAULT_WRITE)) {
		vm->st.zero_page_map++;
		mm_set_pte(mm, ptep, va,
			   pfn_pte(vm->zero_pfn, PTE_PRESENT | PTE_USER |
							 PTE_ACCESSED |
							 PTE_SPECIAL));
		return FAULT_DONE;
	}
	if (new_anon_page(mm, va, &pfn) < 0)
		return FAULT_OOM;
	memset(phys_addr(&vm->phys, pfn), 0, PAGE_SIZE);
	mm_set_pte(mm, ptep, va, pfn_pte(pfn, anon_rw));
	return FAULT_DONE;
}

/* Write to a present, write-protected page of a writable VMA. */
static SIGSAFE enum fault_result do_wp_page(struct mm *mm, pte_t *ptep,
					    vaddr_t va, unsigned flags)
{
	struct vm *vm = mm->vm;
	pte_t old = *ptep;
	const pte_t rw = anon_rw;
	pfn_t pfn;

	vm->st.pgfault++;
	if (!(old & PTE_SPECIAL) &&
	    phys_page(&vm->phys, pte_pfn(old))->_refcount == 1) {
		vm->st.cow_reuse++;
		mm_set_pte(mm, ptep, va, (old | rw) & ~PTE_COW);
		return FAULT_DONE;
	}
	if (new_anon_page(mm, va, &pfn) < 0)
		return FAULT_OOM;
	if (old & PTE_SPECIAL) {
		memset(phys_addr(&vm->phys, pfn), 0, PAGE_SIZE);
	} else {
		memcpy(phys_addr(&vm->phys, pfn),
		       phys_addr(&vm->phys, pte_pfn(old)), PAGE_SIZE);
		vm->st.cow_fault++;
	}
	replace_pte(mm, ptep, va, pfn_pte(pfn, rw), flags);
	mm_release_pte(mm, va, old);
	return FAULT_DONE;
}

/* The PTE already grants the access: A/D bits, or a host TLB refill. */
static SIGSAFE enum fault_result do_access(struct mm *mm, pte_t *ptep,
					   vaddr_t va, unsigned flags)
{
	struct vm *vm = mm->vm;
	pte_t old = *ptep, val = old | PTE_ACCESSED;

	if (flags & FAULT_WRITE)
		val |= PTE_DIRTY;
	if (flags & FAULT_NATIVE) {
		pte_t need = (flags & FAULT_WRITE) ? PTE_HMAP_W : PTE_HMAP_R;

		if ((flags & FAULT_WRITE) && !(old & PTE_DIRTY))
			vm->st.dirty_trap++;
		else if (!(old & need))
			vm->st.tlb_refill++;
		/* else: another thread resolved it first; nothing to count */
	}
	if (val != old)
		mm_set_pte(mm, ptep, va, val);
	return FAULT_DONE;
}

SIGSAFE enum fault_result fault_handle(struct mm *mm, vaddr_t va,
				       unsigned flags, pte_t **ptepp)
{
	bool write = flags & FAULT_WRITE;
	struct vma *v;
	pte_t *ptep;

	if (va >= mm->task_size)
		return FAULT_SEGV;
	va = PAGE_ROUND_DOWN(va);
	v = mm_find_vma(mm, va);
	if (!v)
		v = mm_grow_stack(mm, va);
	if (!v || !vma_allows(v, write))
		return FAULT_SEGV;
	if (pt_walk_alloc(&mm->pt, va, &ptep) < 0)
		return FAULT_OOM;
	*ptepp = ptep; /* the slot stays: its PTE is present on FAULT_DONE */
	if (pte_none(*ptep)) {
		enum fault_result r = do_anonymous(mm, v, ptep, va, flags);

		if (r != FAULT_DONE) /* free the tables the walk just made */
			pt_clear(&mm->pt, va);
		return r;
	}
	BUG_ON(!pte_present(*ptep)); /* swap entries: the swap issue */
	if (write && !(*ptep & PTE_WRITE))
		return do_wp_page(mm, ptep, va, flags);
	return do_access(mm, ptep, va, flags);
}

/* ---- entry points ---------------------------------------------------- */

static SIGSAFE void fault_kill(struct vm_task *t, enum fault_result r,
			       vaddr_t va)
{
	if (r == FAULT_SEGV) {
		t->vm->st.segv++;
		task_mark_killed(t, VM_EXIT_SEGV, va);
	} else {
		t->vm->st.oom_kill++;
		task_mark_killed(t, VM_EXIT_OOM_KILLED, va);
	}
}

/*
 * SIGSAFE.  The SIGSEGV resolver: owner is the mm of the window.  A trap by
 * a thread that is not the window's task is resolved in the window's
 * address space all the same (the controlling thread may read a task's
 * memory).  A bad access is an emulated SIGSEGV of the *faulting* task -
 * never of the window's owner - and on a thread that is no task's, a real
 * crash.
 */
SIGSAFE enum trap_verdict fault_trap_resolve(void *owner, vaddr_t va,
					     bool write)
{
	struct mm *mm = owner;
	struct vm *vm = mm->vm;
	struct vm_task *self = vm_current;
	bool own = self && self->mm == mm;
	enum fault_result r;
	pte_t *ptep;

	vm_lock(vm);
	if (own && atomic_load(&self->kill_reason)) {
		vm_unlock(vm);
		return TRAP_KILL;
	}
	r = fault_handle(mm, va, FAULT_NATIVE | (write ? FAULT_WRITE : 0),
			 &ptep);
	if (r == FAULT_DONE && hosttlb_fill(mm, PAGE_ROUND_DOWN(va), ptep) < 0)
		r = FAULT_OOM; /* the host refused a mapping even after a flush */
	if (r != FAULT_DONE && self)
		fault_kill(self, r, va);
	vm_unlock(vm);
	return r == FAULT_DONE ? TRAP_RETRY : TRAP_KILL;
}

int vm_access(struct vm_task *t, uint64_t va, int write)
{
	struct vm *vm;
	struct mm *mm;
	enum fault_result r;
	pte_t pte, *ptep;

	if (!task_valid(t) || !t->mm || (write != 0 && write != 1))
		return -EINVAL;
	mm = t->mm;
	if (likely(va < mm->task_size) && swtlb_lookup(&mm->swtlb, va, write))
		return 0;
	vm = t->vm;
	vm_lock(vm);
	if (atomic_load(&t->kill_reason)) {
		vm_unlock(vm);
		task_exit_if_killed(t);
		return -EFAULT;
	}
	r = fault_handle(mm, va, write ? FAULT_WRITE : 0, &ptep);
	if (r == FAULT_DONE) {
		pte = *ptep;
		swtlb_fill(&mm->swtlb, PAGE_ROUND_DOWN(va),
			   (pte & PTE_WRITE) && (pte & PTE_DIRTY));
		vm_unlock(vm);
		return 0;
	}
	fault_kill(t, r, va);
	vm_unlock(vm);
	task_exit_if_killed(t);
	return r == FAULT_SEGV ? -EFAULT : -ENOMEM;
}

/*
 * One page of vm_read/vm_write: fault it in as t's access would, then copy
 * through the direct map in the same lock section (so the frame cannot
 * change in between).  0 or vm_access's error.
 */
static int copy_page(struct vm_task *t, uint64_t va, void *buf, size_t n,
		     bool write)
{
	struct vm *vm = t->vm;
	uint8_t *frame;
	pte_t *ptep;
	int err;

	for (;;) {
		err = vm_access(t, va, write);
		if (err)
			return err;
		vm_lock(vm);
		ptep = t->mm ? pt_walk(&t->mm->pt, va) : NULL;
		if (ptep && pte_present(*ptep) &&
		    (!write || (*ptep & PTE_WRITE)))
			break;
		vm_unlock(vm); /* changed since the access: again */
	}
	frame = (uint8_t *)phys_addr(&vm->phys, pte_pfn(*ptep)) +
		(va & (PAGE_SIZE - 1));
	if (write)
		memcpy(frame, buf, n);
	else
		memcpy(buf, frame, n);
	vm_unlock(vm);
	return 0;
}

static int vm_copy(struct vm_task *t, uint64_t va, void *buf, size_t len,
		   bool write)
{
	uint8_t *p = buf;

	if (!task_valid(t) || (!buf && len))
		return -EINVAL;
	while (len) {
		size_t n = MIN(len, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
		int err = copy_page(t, va, p, n, write);

		if (err)
			return err;
		va += n;
		p += n;
		len -= n;
	}
	return 0;
}

int vm_read(struct vm_task *t, uint64_t va, void *buf, size_t len)
{
	return vm_copy(t, va, buf, len, false);
}

int vm_write(struct vm_task *t, uint64_t va, const void *buf, size_t len)
{
	return vm_copy(t, va, (void *)(uintptr_t)buf, len, true);
}
