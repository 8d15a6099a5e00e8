/*
 * vm/fault.c - the page-fault state machine, shared by the SIGSEGV trap
 * (native mode) and vm_access (trace mode).
 *
 *                      find VMA (grow stack) -- none/forbidden --> SEGV
 *                              |
 *         +--------------------+------------------+-----------------+
 *     PTE none       present, write,       present, access    swap entry
 *         |          PTE not writable         allowed             |
 *  read: zero frame        |              set A (and D on     in the swap
 *  write: new frame    do_wp_page         write); native: D   cache? map it
 *                 zero/shared: copy       trap or TLB refill  (read-only
 *                 sole owner: reuse       (not pgfault)       unless it is
 *                                                             exclusive and
 *                                         not: FAULT_SWAPIN - written)
 *                                         the resolver reads it, retries
 *
 * File and shmem mappings (vm/filemap.h, vm/shmem.h): a none PTE in one
 * is a page cache lookup - do_file_fault: mapped when cached (minor, with
 * fault-around of the cached neighbours on a read), else FAULT_FILEREAD:
 * the resolver reads it with the lock dropped (readahead included) and
 * runs the fault again (major); a shmem page in swap is FAULT_SWAPIN like
 * an anonymous one.  A write to a MAP_PRIVATE file page copies it into an
 * anonymous page (do_wp_page, or do_cow_file for a page not yet mapped);
 * a write granted through a MAP_SHARED mapping dirties the page
 * (filemap_dirty).  An access beyond the end of the file is FAULT_SIGBUS.
 *
 * Counting (vm/vmstat.h): a fault that changes what a PTE maps or grants
 * is one event of its kind - anon_fault (a fresh zeroed frame; arg: pages
 * mapped), zero_page_map, cow_fault, cow_reuse, swapin_fault (arg: pages
 * read, 0 when the page was in the swap cache; major when it read) - and
 * file_fault, shmem_fault (arg: pages read, 0 when cached) - and
 * moves pgfault with it, counted when it succeeds (a fault retried after
 * reclaim or a read counts once); the same access sequence gives the same
 * pgfault in both modes.  A write to a swapped-out page that is shared is
 * two events, a swap-in and a COW copy, as if it had been read first.
 * tlb_refill and dirty_trap are native-only events that are not faults.
 *
 * Host mappings: a native fault ends with hosttlb_fill, which replaces
 * the host mapping of va (MAP_FIXED) in the same lock section, so a PTE
 * whose frame changed never leaves a stale host mapping behind.  A
 * non-native fault that changes a frame revokes the host mapping first.
 *
 * A restartable fault.  Running out of frames is not an error here: the
 * resolver undoes what it started (tables the walk made are freed again)
 * and returns FAULT_NOMEM; the entry points drop the lock, let reclaim
 * work (reclaim/reclaim.h) and run the fault again from the start, or,
 * when reclaim cannot help, call the OOM killer (reclaim/oom.h).  The
 * host refusing a mapping (mmap ENOMEM) is a different outcome: the task
 * ends with VM_EXIT_HOST_NOMEM, since no emulated reclaim frees host
 * memory.
 *
 * Locking: the machine lock, taken by the entry points.  SIGSAFE.
 */
#include "vm/fault.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define OOM_WAIT_NS  1000000L /* a victim still exiting: 1 ms between tries */
#define BUSY_WAIT_NS 100000L  /* a page being written: 100 us */

#include "reclaim/oom.h"
#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/filemap.h"
#include "vm/hosttlb.h"
#include "vm/page_alloc.h"
#include "vm/rmap.h"
#include "vm/shmem.h"
#include "vm/vma.h"
#include "vm/vmstat.h"

/*
 * SIGSAFE, lock held.  A fault of mm at va resolved as kind e (ANON_FAULT,
 * ZERO_PAGE_MAP, COW_FAULT, COW_REUSE, ...): pgfault (and pgmajfault when
 * major) move with it, and the owner's minflt/majflt.  Inline: every exact
 * miss counts one.
 */
static inline SIGSAFE void vm_count_fault(struct vm *vm, enum vm_event e,
					  struct mm *mm, vaddr_t va, pfn_t pfn,
					  bool major, int64_t arg)
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
		if (e == VME_SWAPIN_FAULT || e == VME_SHMEM_FAULT)
			owner->ru.swapins += (uint64_t)arg;
	}
	vm_event(vm, e, mm, va, pfn, 0, arg);
}

/* Make the allocated frame pfn an anonymous page of (mm, va); 0/-ENOMEM. */
static SIGSAFE int anon_page_init(struct mm *mm, pfn_t pfn, vaddr_t va)
{
	struct vm *vm = mm->vm;
	struct page *pg = phys_page(&vm->phys, pfn);

	pg->index = va; /* first: the rmap maps the page's own index directly */
	if (rmap_add(vm, pg, mm, va) < 0)
		return -ENOMEM;
	pg->flags = PG_anon;
	pg->_refcount = 1;
	pg->_mapcount = 1;
	vm->nr_anon_pages++;
	mm_rss_add(mm, 1);
	reclaim_page_new(vm, pg);
	return 0;
}

/*
 * A frame for a new data page of (mm, va).  Exact replacement keeps at
 * most exact_frames of them: with all in use, the policy's victim goes
 * first, and 1 says it was rewired into the new page already
 * (reclaim_exact_evict).  Else 0, or -ENOMEM.
 */
static ALWAYS_INLINE SIGSAFE int data_page_alloc(struct mm *mm, vaddr_t va,
						 pfn_t *pfn)
{
	struct vm *vm = mm->vm;

	if (!vm->cfg.exact_frames)
		return vm_page_alloc(vm, GFP_USER, pfn);
	if (vm->exact_used >= vm->cfg.exact_frames)
		return reclaim_exact_evict(vm, mm, va, pfn); /* its frame */
	if (vm_page_alloc(vm, GFP_USER, pfn) < 0)
		return -ENOMEM;
	vm->exact_used++;
	return 0;
}

/* A fresh anonymous frame mapped at (mm, va); 0 or -ENOMEM. */
static ALWAYS_INLINE SIGSAFE int new_anon_page(struct mm *mm, vaddr_t va,
					       pfn_t *out)
{
	pfn_t pfn;
	int r = data_page_alloc(mm, va, &pfn);

	if (r < 0)
		return -ENOMEM;
	if (r == 0 && anon_page_init(mm, pfn, va) < 0) {
		if (mm->vm->cfg.exact_frames)
			mm->vm->exact_used--;
		vm_page_free(mm->vm, pfn);
		return -ENOMEM;
	}
	*out = pfn;
	return 0;
}

static const pte_t anon_rw = PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_ACCESSED |
			     PTE_DIRTY;

/* Frames carry data, except in exact replacement. */
static inline bool has_data(const struct vm *vm)
{
	return !vm->cfg.exact_frames;
}

/* Exact replacement maps a read miss writable but clean, like a write. */
static inline pte_t exact_pte(pfn_t pfn, unsigned flags)
{
	return pfn_pte(pfn,
		       (flags & FAULT_WRITE) ? anon_rw : anon_rw & ~PTE_DIRTY);
}

/*
 * Anonymous fault-around (opt-in: vm_config.anon_fault_around = n > 1).  A
 * write to untouched memory maps the whole naturally aligned block of n
 * pages around va at once, from one buddy block, when the block lies in
 * the VMA and all its PTEs are none: Linux's multi-size THP for anonymous
 * memory, except that the block is split at once (buddy_split) and each
 * frame is an ordinary page from then on.  It costs one pgfault for n
 * pages; fault_around counts the n - 1 mapped ahead.  The block is taken
 * opportunistically (__GFP_NORETRY: no reclaim for it); when only
 * fragmentation stands in the way, direct compaction may free one
 * (vm/compact.h).  Any condition unmet, no block free, or no rmap item:
 * 0, and the caller maps one page; else the number of pages mapped.
 */
static SIGSAFE unsigned anon_fault_around(struct mm *mm, struct vma *v,
					  pte_t *ptep, vaddr_t va)
{
	struct vm *vm = mm->vm;
	unsigned n = vm->cfg.anon_fault_around, i, k;
	vaddr_t start = va & ~((vaddr_t)n * PAGE_SIZE - 1);
	pte_t *first = ptep - ((va - start) >> PAGE_SHIFT);
	pfn_t pfn;

	if (n < 2 || start < v->start || start + n * PAGE_SIZE > v->end)
		return 0;
	for (i = 0; i < n; i++)
		if (!pte_none(first[i]))
			return 0;
	if (vm_alloc_pages(vm, (unsigned)__builtin_ctz(n),
			   GFP_USER | __GFP_NORETRY, &pfn) < 0 &&
	    compact_alloc_pages(vm, (unsigned)__builtin_ctz(n),
				GFP_USER | __GFP_NORETRY, &pfn) < 0)
		return 0;
	buddy_split(vm->buddy, pfn, (unsigned)__builtin_ctz(n));
	for (i = 0; i < n; i++)
		if (anon_page_init(mm, pfn + i, start + i * PAGE_SIZE) < 0)
			goto out_unwind;
	memset(phys_addr(&vm->phys, pfn), 0, (size_t)n * PAGE_SIZE);
	for (i = 0; i < n; i++)
		mm_set_pte(mm, first + i, start + i * PAGE_SIZE,
			   pfn_pte(pfn + i, anon_rw));
	vm_count(vm, VME_FAULT_AROUND, n - 1);
	return n;

out_unwind:
	for (k = 0; k < n; k++) {
		if (k < i) /* drops the last reference: frees the frame */
			mm_release_pte(mm, start + k * PAGE_SIZE,
				       pfn_pte(pfn + k, anon_rw));
		else
			vm_page_free(vm, pfn + k);
	}
	return 0;
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
	unsigned n;
	pfn_t pfn;

	if (!has_data(vm)) {
		if (new_anon_page(mm, va, &pfn) < 0)
			return FAULT_NOMEM;
		mm_set_pte(mm, ptep, va, exact_pte(pfn, flags));
		vm_count_fault(vm, VME_ANON_FAULT, mm, va, pfn, false, 1);
		return FAULT_DONE;
	}
	if (!(flags & FAULT_WRITE)) {
		mm_set_pte(mm, ptep, va,
			   pfn_pte(vm->zero_pfn, PTE_PRESENT | PTE_USER |
							 PTE_ACCESSED |
							 PTE_SPECIAL));
		vm_count_fault(vm, VME_ZERO_PAGE_MAP, mm, va, vm->zero_pfn,
			       false, 0);
		return FAULT_DONE;
	}
	n = anon_fault_around(mm, v, ptep, va);
	if (n) {
		vm_count_fault(vm, VME_ANON_FAULT, mm, va, pte_pfn(*ptep),
			       false, n);
		return FAULT_DONE;
	}
	if (new_anon_page(mm, va, &pfn) < 0)
		return FAULT_NOMEM;
	memset(phys_addr(&vm->phys, pfn), 0, PAGE_SIZE);
	mm_set_pte(mm, ptep, va, pfn_pte(pfn, anon_rw));
	vm_count_fault(vm, VME_ANON_FAULT, mm, va, pfn, false, 1);
	return FAULT_DONE;
}

/* Write to a present, write-protected page of a writable VMA. */
/*
 * Is pg this PTE's alone, so that a write may reuse it?  A page in the swap
 * cache is, when nothing else maps it or holds its slot: it then leaves
 * the cache (its copy in swap is about to be stale).
 */
static SIGSAFE bool page_exclusive(struct vm *vm, struct page *pg)
{
	if (pg->flags & PG_file)
		return false; /* the page cache's: a private write copies */
	if (!(pg->flags & PG_swapcache))
		return pg->_refcount == 1;
	if (pg->_mapcount != 1 || pg->_refcount != 2 ||
	    (pg->flags & PG_writeback) ||
	    swap_slot_count(vm, swp_offset(pg->swap)) != 0)
		return false;
	delete_from_swap_cache(vm, pg, 0);
	return true;
}

static SIGSAFE enum fault_result do_wp_page(struct mm *mm, pte_t *ptep,
					    vaddr_t va, unsigned flags)
{
	struct vm *vm = mm->vm;
	pte_t old = *ptep;
	const pte_t rw = anon_rw;
	pfn_t pfn;

	if (!(old & PTE_SPECIAL) &&
	    page_exclusive(vm, phys_page(&vm->phys, pte_pfn(old)))) {
		if (!has_data(vm))
			reclaim_page_access(vm,
					    phys_page(&vm->phys, pte_pfn(old)));
		mm_set_pte(mm, ptep, va, (old | rw) & ~PTE_COW);
		vm_count_fault(vm, VME_COW_REUSE, mm, va, pte_pfn(old), false,
			       0);
		return FAULT_DONE;
	}
	if (new_anon_page(mm, va, &pfn) < 0)
		return FAULT_NOMEM;
	if (!has_data(vm))
		; /* nothing to copy */
	else if (old & PTE_SPECIAL)
		memset(phys_addr(&vm->phys, pfn), 0, PAGE_SIZE);
	else
		memcpy(phys_addr(&vm->phys, pfn),
		       phys_addr(&vm->phys, pte_pfn(old)), PAGE_SIZE);
	replace_pte(mm, ptep, va, pfn_pte(pfn, rw), flags);
	mm_release_pte(mm, va, old);
	/* Over the zero frame it is a fresh zeroed page: demand-zero. */
	vm_count_fault(vm, (old & PTE_SPECIAL) ? VME_ANON_FAULT : VME_COW_FAULT,
		       mm, va, pfn, false,
		       (old & PTE_SPECIAL) ? 1 : (int64_t)pte_pfn(old));
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
			vm_event(vm, VME_DIRTY_TRAP, mm, va, pte_pfn(old), 0,
				 0);
		else if (!(old & need))
			vm_event(vm, VME_TLB_REFILL, mm, va, pte_pfn(old), 0,
				 0);
		/* else: another thread resolved it first; nothing to count */
	}
	if ((flags & FAULT_WRITE) && !(old & PTE_DIRTY))
		filemap_dirty(vm, phys_page(&vm->phys, pte_pfn(old)));
	if (val != old)
		mm_set_pte(mm, ptep, va, val);
	if (!has_data(vm))
		reclaim_page_access(vm, phys_page(&vm->phys, pte_pfn(old)));
	return FAULT_DONE;
}

/*
 * Exact replacement: the page was evicted (vm/mm.h: exact_evicted_pte):
 * a major fault that brings it back in a fresh frame - a policy's miss.
 */
static ALWAYS_INLINE SIGSAFE enum fault_result
do_exact_refault(struct mm *mm, pte_t *ptep, vaddr_t va, unsigned flags)
{
	struct vm *vm = mm->vm;
	pfn_t pfn;

	if (new_anon_page(mm, va, &pfn) < 0)
		return FAULT_NOMEM;
	mm->swapents--;
	mm_set_pte(mm, ptep, va, exact_pte(pfn, flags));
	vm_event(vm, VME_PSWPIN, mm, va, pfn, 0, 0);
	vm_count_fault(vm, VME_SWAPIN_FAULT, mm, va, pfn, true, 1);
	return FAULT_DONE;
}

/*
 * A swap entry whose page is in the swap cache: map it.  Read-only while
 * it stays in the cache; an exclusive page (no other PTE holds its slot)
 * leaves the cache on a write, or when swap is more than half full (as
 * Linux frees the slot of a page it swaps in then), and a write maps it
 * writable.  A write to a shared one goes on to the COW copy.
 */
static SIGSAFE enum fault_result do_swap_page(struct mm *mm, pte_t *ptep,
					      vaddr_t va, unsigned flags,
					      struct fault_state *fs)
{
	struct vm *vm = mm->vm;
	swp_entry_t e = pte_to_swp_entry(*ptep);
	struct page *pg = swap_cache_page(vm, swp_offset(e));
	bool write = flags & FAULT_WRITE;
	pte_t val;
	pfn_t pfn;

	if (!pg || (pg->flags & PG_locked)) {
		fs->slot = swp_offset(e);
		return FAULT_SWAPIN;
	}
	if (rmap_add(vm, pg, mm, va) < 0)
		return FAULT_NOMEM;
	pfn = phys_pfn(&vm->phys, pg);
	swap_ra_hit(vm, pg);
	pg->_refcount++;
	if (pg->_mapcount++ == 0)
		vm->nr_anon_pages++;
	mm_rss_add(mm, 1);
	mm->swapents--;
	swap_entry_free(vm, e); /* this PTE's slot reference */
	val = pfn_pte(pfn, PTE_PRESENT | PTE_USER | PTE_ACCESSED);
	/* page_exclusive takes an exclusive page out of the cache. */
	if ((write || swap_half_full(vm)) && page_exclusive(vm, pg)) {
		if (write)
			val |= PTE_WRITE | PTE_DIRTY;
	}
	mm_set_pte(mm, ptep, va, val);
	vm_count_fault(vm, VME_SWAPIN_FAULT, mm, va, pfn, fs->major, fs->nread);
	if (write && !(val & PTE_WRITE))
		return do_wp_page(mm, ptep, va, flags);
	return FAULT_DONE;
}

/* ---- file and shmem pages ---------------------------------------------- */

static inline uint64_t size_pages(const struct filemap *fm)
{
	return (fm->size + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* The PTE of a page cache page in v: writable in a writable shared one. */
static inline pte_t file_pte(const struct vma *v, pfn_t pfn)
{
	pte_t val = PTE_PRESENT | PTE_USER | PTE_ACCESSED;

	if ((v->flags & VMA_SHARED) && (v->prot & VM_PROT_WRITE))
		val |= PTE_WRITE;
	return pfn_pte(pfn, val);
}

/* Map page cache page pg at (mm, va) with val; 0 or -ENOMEM (rmap). */
static SIGSAFE int map_cached(struct mm *mm, pte_t *ptep, vaddr_t va,
			      struct page *pg, pte_t val)
{
	struct vm *vm = mm->vm;

	if (rmap_add(vm, pg, mm, va) < 0)
		return -ENOMEM;
	filemap_mapped(vm, pg);
	mm_rss_add_page(mm, pg, 1);
	mm_set_pte(mm, ptep, va, val);
	return 0;
}

/*
 * Fault-around (Linux's filemap_map_pages): a read fault also maps the
 * cached, idle neighbours in its aligned block of FILE_FAULT_AROUND pages
 * whose PTEs are none - young (x86 maps them so) and clean.  Pages being
 * read and the readahead marker are left to fault.  Returns pages mapped.
 */
static SIGSAFE unsigned file_fault_around(struct mm *mm, struct vma *v,
					  pte_t *ptep, vaddr_t va)
{
	struct vm *vm = mm->vm;
	vaddr_t start = va & ~((vaddr_t)FILE_FAULT_AROUND * PAGE_SIZE - 1);
	pte_t *first = ptep - ((va - start) >> PAGE_SHIFT);
	unsigned n = 0;

	for (unsigned i = 0; i < FILE_FAULT_AROUND; i++) {
		vaddr_t a = start + i * PAGE_SIZE;
		struct page *pg;

		if (a == va || a < v->start || a >= v->end ||
		    !pte_none(first[i]) ||
		    filemap_pgoff(v, a) >= size_pages(v->file))
			continue;
		pg = filemap_find(vm, v->file, filemap_pgoff(v, a));
		if (!pg || (pg->flags & (PG_locked | PG_readahead)))
			continue;
		if (map_cached(mm, first + i, a, pg,
			       file_pte(v, phys_pfn(&vm->phys, pg))) < 0)
			break;
		n++;
	}
	vm_count(vm, VME_FILE_FAULT_AROUND, n);
	return n;
}

/* Map pg (cached, idle) at va for this fault, counted as kind. */
static SIGSAFE enum fault_result map_file_page(struct mm *mm, struct vma *v,
					       pte_t *ptep, vaddr_t va,
					       struct page *pg, unsigned flags,
					       struct fault_state *fs,
					       enum vm_event kind)
{
	struct vm *vm = mm->vm;
	pfn_t pfn = phys_pfn(&vm->phys, pg);
	pte_t val = file_pte(v, pfn);

	if (flags & FAULT_WRITE)
		val |= PTE_DIRTY; /* shared: a private write copies first */
	if (map_cached(mm, ptep, va, pg, val) < 0)
		return FAULT_NOMEM;
	if (flags & FAULT_WRITE)
		filemap_dirty(vm, pg);
	else
		file_fault_around(mm, v, ptep, va);
	vm_count_fault(vm, kind, mm, va, pfn, fs->major, fs->nread);
	return FAULT_DONE;
}

/* A private write to file page pg, not mapped here: an anonymous copy. */
static SIGSAFE enum fault_result do_cow_file(struct mm *mm, pte_t *ptep,
					     vaddr_t va, struct page *pg,
					     struct fault_state *fs)
{
	struct vm *vm = mm->vm;
	pfn_t pfn;

	if (new_anon_page(mm, va, &pfn) < 0)
		return FAULT_NOMEM;
	memcpy(phys_addr(&vm->phys, pfn),
	       phys_addr(&vm->phys, phys_pfn(&vm->phys, pg)), PAGE_SIZE);
	mm_set_pte(mm, ptep, va, pfn_pte(pfn, anon_rw));
	vm_count_fault(vm, VME_COW_FAULT, mm, va, pfn, fs->major,
		       (int64_t)phys_pfn(&vm->phys, pg));
	return FAULT_DONE;
}

static SIGSAFE enum fault_result do_shmem_fault(struct mm *mm, struct vma *v,
						pte_t *ptep, vaddr_t va,
						unsigned flags,
						struct fault_state *fs)
{
	uint64_t pgoff = filemap_pgoff(v, va), slot;
	struct page *pg;
	bool fresh;

	if (pgoff >= size_pages(v->file))
		return FAULT_SIGBUS;
	switch (shmem_get_page(mm->vm, v->file, pgoff, &pg, &slot, &fresh)) {
	case SHMEM_NOMEM:
		return FAULT_NOMEM;
	case SHMEM_SWAPIN:
		fs->slot = slot;
		return FAULT_SWAPIN;
	case SHMEM_BUSY:
		return FAULT_BUSY;
	case SHMEM_PAGE:
		break;
	}
	return map_file_page(mm, v, ptep, va, pg, flags, fs, VME_SHMEM_FAULT);
}

/* A none PTE in a file or shmem mapping. */
static SIGSAFE enum fault_result do_file_fault(struct mm *mm, struct vma *v,
					       pte_t *ptep, vaddr_t va,
					       unsigned flags,
					       struct fault_state *fs)
{
	struct filemap *fm = v->file;
	uint64_t pgoff = filemap_pgoff(v, va);
	struct page *pg;

	if (fm->kind == FILEMAP_SHMEM)
		return do_shmem_fault(mm, v, ptep, va, flags, fs);
	pg = pgoff < size_pages(fm) ? filemap_find(mm->vm, fm, pgoff) : NULL;
	fs->file = fm;
	fs->pgoff = pgoff;
	fs->ra_async = pg && (pg->flags & PG_readahead);
	if (!pg || (pg->flags & PG_locked))
		return FAULT_FILEREAD; /* the reader also knows the size */
	if (fs->ra_async) {
		pg->flags &= ~(uint32_t)PG_readahead;
		return FAULT_FILEREAD; /* the next window, then again */
	}
	if (!fs->nread)
		filemap_hit(fm);
	if ((flags & FAULT_WRITE) && !(v->flags & VMA_SHARED))
		return do_cow_file(mm, ptep, va, pg, fs);
	return map_file_page(mm, v, ptep, va, pg, flags, fs, VME_FILE_FAULT);
}

/*
 * A write to a present, write-protected page of a shared mapping (made
 * writable by mprotect since): grant it, and dirty the page.
 */
static SIGSAFE enum fault_result do_shared_wp(struct mm *mm, pte_t *ptep,
					      vaddr_t va)
{
	struct vm *vm = mm->vm;
	pfn_t pfn = pte_pfn(*ptep);
	struct page *pg = phys_page(&vm->phys, pfn);

	BUG_ON(!(pg->flags & PG_file));
	mm_set_pte(mm, ptep, va, *ptep | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED);
	filemap_dirty(vm, pg);
	vm_count_fault(vm,
		       (pg->flags & PG_swapbacked) ? VME_SHMEM_FAULT :
						     VME_FILE_FAULT,
		       mm, va, pfn, false, 0);
	return FAULT_DONE;
}

SIGSAFE enum fault_result fault_handle(struct mm *mm, vaddr_t va,
				       unsigned flags, struct fault_state *fs)
{
	bool write = flags & FAULT_WRITE;
	struct vma *v;
	pte_t *ptep;

	if (va >= mm->task_size || mm->reaped)
		return FAULT_SEGV;
	va = PAGE_ROUND_DOWN(va);
	v = mm_find_vma(mm, va);
	if (!v)
		v = mm_grow_stack(mm, va);
	if (!v || !vma_allows(v, write))
		return FAULT_SEGV;
	if (fs->walked) { /* the caller's walk (fault_exact.c) */
		ptep = fs->walked;
		fs->walked = NULL;
	} else if (pt_walk_alloc(&mm->pt, va, &ptep) < 0) {
		return FAULT_NOMEM;
	}
	fs->ptep = ptep; /* the slot stays: its PTE is present on FAULT_DONE */
	if (pte_none(*ptep)) {
		enum fault_result r =
			v->file ? do_file_fault(mm, v, ptep, va, flags, fs) :
				  do_anonymous(mm, v, ptep, va, flags);

		if (r != FAULT_DONE) /* free the tables the walk just made */
			pt_clear(&mm->pt, va);
		return r;
	}
	if (pte_is_exact_evicted(*ptep))
		return do_exact_refault(mm, ptep, va, flags);
	if (pte_is_swap(*ptep))
		return do_swap_page(mm, ptep, va, flags, fs);
	if (!pte_present(*ptep)) /* file entries: the file-pages issue */
		vm_bug(__FILE__, __LINE__, "fault on a file entry");
	if (write && !(*ptep & PTE_WRITE))
		return (v->flags & VMA_SHARED) ?
			       do_shared_wp(mm, ptep, va) :
			       do_wp_page(mm, ptep, va, flags);
	return do_access(mm, ptep, va, flags);
}

/* ---- entry points ---------------------------------------------------- */

SIGSAFE void fault_kill(struct vm_task *self, enum fault_result r, vaddr_t va)
{
	switch (r) {
	case FAULT_SEGV:
		if (task_mark_killed(self, VM_EXIT_SEGV, va))
			vm_event_task(self->vm, VME_SEGV, self, va, 0);
		break;
	case FAULT_HOST_NOMEM:
		task_mark_killed(self, VM_EXIT_HOST_NOMEM, va);
		break;
	case FAULT_SIGBUS:
		task_mark_killed(self, VM_EXIT_SIGBUS, va);
		break;
	case FAULT_OOM:	   /* out_of_memory marked whom it chose */
	case FAULT_KILLED: /* already marked */
	case FAULT_DONE:
	case FAULT_NOMEM:
	case FAULT_SWAPIN:
	case FAULT_RETRY:
	case FAULT_FILEREAD:
	case FAULT_BUSY:
		break;
	}
}

/*
 * Lock held (dropped for the read or the wait).  The page of fs->slot is
 * not in the swap cache, or is being read: bring it in, or wait for it.
 * FAULT_RETRY: run the fault again (it will find the page in the cache).
 */
static SIGSAFE enum fault_result fault_swapin(struct mm *mm,
					      struct vm_task *self, vaddr_t va,
					      struct fault_state *fs)
{
	struct vm *vm = mm->vm;
	struct page *waitp = NULL;
	unsigned nread;

	switch (swapin(vm, mm, self, fs->slot, va, &nread, &waitp)) {
	case SWAPIN_CACHED:
		fs->major = fs->major || nread;
		fs->nread += nread;
		return FAULT_RETRY;
	case SWAPIN_STALE:
		return FAULT_RETRY;
	case SWAPIN_WAIT:
		reclaim_memstall(vm, self, true);
		swap_wait_page(vm, waitp);
		reclaim_memstall(vm, self, false);
		return FAULT_RETRY;
	case SWAPIN_NOMEM:
		return FAULT_NOMEM;
	case SWAPIN_EIO:
		break;
	}
	return FAULT_SIGBUS;
}

/*
 * Lock held (dropped for the read or the wait).  fs->file's page at
 * fs->pgoff must be read, or is being read, or its readahead marker was
 * hit: read it (and its window), or wait.  FAULT_RETRY: run the fault
 * again.  A read that failed, or a page beyond the end of the file, is
 * the task's SIGBUS.
 */
static SIGSAFE enum fault_result
fault_fileread(struct mm *mm, struct vm_task *self, struct fault_state *fs)
{
	struct vm *vm = mm->vm;
	struct page *waitp = NULL;
	unsigned nread;

	switch (filemap_read(vm, mm, self, fs->file, fs->pgoff, fs->ra_async,
			     &nread, &waitp)) {
	case FREAD_CACHED:
		fs->major = fs->major || (nread && !fs->ra_async);
		fs->nread += nread;
		return FAULT_RETRY;
	case FREAD_WAIT:
		reclaim_memstall(vm, self, true);
		filemap_wait_page(vm, waitp);
		reclaim_memstall(vm, self, false);
		return FAULT_RETRY;
	case FREAD_NOMEM:
		return FAULT_NOMEM;
	case FREAD_EIO:
	case FREAD_EOF:
		break;
	}
	return FAULT_SIGBUS;
}

/* Lock held (dropped while it sleeps).  A page is being written. */
static SIGSAFE enum fault_result fault_busy(struct vm *vm)
{
	static const struct timespec busy_wait = { 0, BUSY_WAIT_NS };

	vm_unlock(vm);
	nanosleep(&busy_wait, NULL);
	vm_lock(vm);
	return FAULT_RETRY;
}

/*
 * SIGSAFE.  Resolve a fault of mm at va on behalf of self (the task whose
 * access it is; NULL on a thread that is no task's), restarting it after
 * a swap read, a wait for another's read, or reclaim when frames ran out.
 * Called without the machine lock; returns with it held.  FAULT_DONE:
 * fs->ptep is va's present PTE and, in native mode, the host mapping is
 * installed.  Anything else: self (if any) is marked killed, or already
 * was (FAULT_KILLED).
 */
enum fault_result fault_resolve(struct mm *mm, vaddr_t va, unsigned flags,
				struct vm_task *self, struct fault_state *fs)
{
	static const struct timespec oom_wait = { 0, OOM_WAIT_NS };
	struct vm *vm = mm->vm;
	struct reclaim_retry rr;
	unsigned oom_retries = 0; /* OOM said "retry" (a kill, free memory) */
	enum fault_result r;

	reclaim_retry_init(&rr, 0, GFP_USER);
	rr.self = self;
	*fs = (struct fault_state){ 0 };
	vm_lock(vm);
	for (;;) {
		if (self && atomic_load(&self->kill_reason))
			return FAULT_KILLED;
		r = fault_handle(mm, va, flags, fs);
		if (r == FAULT_SWAPIN)
			r = fault_swapin(mm, self, va, fs);
		if (r == FAULT_FILEREAD)
			r = fault_fileread(mm, self, fs);
		if (r == FAULT_BUSY)
			r = fault_busy(vm);
		if (r == FAULT_RETRY)
			continue;
		if (r == FAULT_DONE && (flags & FAULT_NATIVE) &&
		    hosttlb_fill(mm, PAGE_ROUND_DOWN(va), fs->ptep) < 0)
			r = FAULT_HOST_NOMEM; /* even after flushing windows */
		if (r == FAULT_NOMEM && !has_data(vm))
			r = FAULT_HOST_NOMEM; /* exact: no reclaim for tables */
		if (r != FAULT_NOMEM)
			break;
		vm_unlock(vm);
		if (reclaim_retry(vm, &rr)) {
			vm_lock(vm);
			continue;
		}
		vm_lock(vm);
		switch (out_of_memory(vm, self, rr.order,
				      oom_retries >= MAX_RECLAIM_RETRIES)) {
		case OOM_GIVE_UP:
			r = FAULT_OOM;
			break;
		case OOM_WAIT: /* a victim still exits: let it */
			vm_unlock(vm);
			nanosleep(&oom_wait, NULL);
			vm_lock(vm);
			/* fall through */
		case OOM_RETRY:
			rr.no_progress_loops = 0; /* memory comes back */
			oom_retries++;
			continue;
		}
		break;
	}
	if (r != FAULT_DONE && self)
		fault_kill(self, r, va);
	return r;
}

/*
 * SIGSAFE.  The SIGSEGV resolver: owner is the mm of the window.  A trap by
 * a thread that is not the window's task is resolved in the window's
 * address space all the same (the controlling thread may read a task's
 * memory).  A bad access is an emulated SIGSEGV of the *faulting* task -
 * never of the window's owner - and on a thread that is no task's, a real
 * crash.  A trap taken while this thread holds the machine lock means
 * emulator code touched a window (DESIGN §8): a bug, said loudly instead
 * of a silent self-deadlock.
 */
SIGSAFE enum trap_verdict fault_trap_resolve(void *owner, vaddr_t va,
					     bool write)
{
	struct mm *mm = owner;
	struct fault_state fs;
	enum fault_result r;

	if (vm_lock_held())
		vm_bug(__FILE__, __LINE__,
		       "trap taken with the machine lock held: emulator "
		       "code touched a task window");
	r = fault_resolve(mm, va, FAULT_NATIVE | (write ? FAULT_WRITE : 0),
			  vm_current, &fs);
	vm_unlock(mm->vm);
	return r == FAULT_DONE ? TRAP_RETRY : TRAP_KILL;
}

int fault_errno(enum fault_result r)
{
	return r == FAULT_OOM ? -ENOMEM : -EFAULT;
}

int vm_access_batch(struct vm_task *t, const struct vm_ref *ref, size_t n,
		    size_t *done)
{
	size_t i;
	int err = 0;

	if (!task_valid(t) || !t->mm || (!ref && n))
		return -EINVAL;
	if (t->vm->cfg.exact_frames)
		return fault_exact_batch(t, ref, n, done);
	for (i = 0; i < n && !err; i++)
		err = vm_access_next(t, ref[i].va, ref[i].write != 0,
				     ref[i].next_use);
	if (done)
		*done = err ? i - 1 : i;
	return err;
}

int vm_access_next(struct vm_task *t, uint64_t va, int write, uint64_t next_use)
{
	struct fault_state fs;
	struct mm *mm;
	enum fault_result r;
	pte_t pte;

	if (!task_valid(t) || !t->mm || (write != 0 && write != 1))
		return -EINVAL;
	if (t->vm->cfg.exact_frames)
		return fault_exact_access(t, va, write, next_use);
	mm = t->mm;
	if (likely(va < mm->task_size) && swtlb_lookup(&mm->swtlb, va, write))
		return 0;
	r = fault_resolve(mm, va, write ? FAULT_WRITE : 0, t, &fs);
	if (r == FAULT_DONE) {
		pte = *fs.ptep;
		swtlb_fill(&mm->swtlb, PAGE_ROUND_DOWN(va),
			   (pte & PTE_WRITE) && (pte & PTE_DIRTY),
			   pte_pfn(pte));
	}
	vm_unlock(t->vm);
	if (r == FAULT_DONE)
		return 0;
	task_exit_if_killed(t);
	return fault_errno(r);
}

int vm_access(struct vm_task *t, uint64_t va, int write)
{
	return vm_access_next(t, va, write, UINT64_MAX);
}

/*
 * One page of vm_read/vm_write: fault it in as t's own access would, then
 * copy through the direct map in the same lock section (the frame cannot
 * change in between).  0 or vm_access's error.
 */
static int copy_page(struct vm_task *t, uint64_t va, void *buf, size_t n,
		     bool write)
{
	struct vm *vm = t->vm;
	struct fault_state fs;
	enum fault_result r;
	uint8_t *frame;

	if (!t->mm)
		return -EINVAL;
	r = fault_resolve(t->mm, va, write ? FAULT_WRITE : 0, t, &fs);
	if (r == FAULT_DONE) {
		frame = (uint8_t *)phys_addr(&vm->phys, pte_pfn(*fs.ptep)) +
			(va & (PAGE_SIZE - 1));
		if (write)
			memcpy(frame, buf, n);
		else
			memcpy(buf, frame, n);
	}
	vm_unlock(vm);
	if (r == FAULT_DONE)
		return 0;
	task_exit_if_killed(t);
	return fault_errno(r);
}

static int vm_copy(struct vm_task *t, uint64_t va, void *buf, size_t len,
		   bool write)
{
	uint8_t *p = buf;

	if (!task_valid(t) || (!buf && len) || !has_data(t->vm))
		return -EINVAL; /* exact replacement: frames hold no data */
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
