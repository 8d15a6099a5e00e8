/*
 * vm/mm.c - address spaces (see mm.h for the layout and invariants 1-4).
 *
 * Frame references.  An anonymous frame's _refcount counts the PTEs that
 * map it (and, later, the swap cache); _mapcount counts PTEs only; each
 * mapping has an rmap item.  mm_release_pte drops one mapping and frees
 * the frame when the last reference goes.  The shared zero frame
 * (PTE_SPECIAL) is never counted.
 *
 * Host mappings (native mode, vm/hosttlb.c).  Every path here that removes a
 * PTE or changes its frame revokes the host mapping first, so no window
 * ever maps a frame that was freed (invariant 4).
 *
 * Locking: the machine lock, held by every caller.  The functions marked
 * SIGSAFE run on the fault path.
 */
#include "vm/mm.h"

#include <errno.h>
#include <string.h>

#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/filemap.h"
#include "vm/hosttlb.h"
#include "vm/page_alloc.h"
#include "vm/rmap.h"
#include "vm/shmem.h"
#include "vm/vma.h"
#include "vm/vmstat.h"

/* ---- frames and PTEs ---------------------------------------------- */

static SIGSAFE int mm_pt_alloc(void *ctx, pfn_t *pfn)
{
	struct vm *vm = ctx;
	int err = vm_page_alloc(vm, GFP_FAULT_META, pfn);

	if (!err)
		phys_page(&vm->phys, *pfn)->flags = PG_pgtable;
	return err;
}

static SIGSAFE void mm_pt_free(void *ctx, pfn_t pfn)
{
	struct vm *vm = ctx;

	phys_page(&vm->phys, pfn)->flags = 0;
	vm->pt_frees++;
	vm_page_free(vm, pfn);
}

SIGSAFE void page_put(struct vm *vm, struct page *pg)
{
	BUG_ON(pg->_refcount <= 0);
	if (--pg->_refcount > 0)
		return;
	BUG_ON(pg->_mapcount != 0 || pg->rmap ||
	       (pg->flags &
		(PG_swapcache | PG_locked | PG_writeback | PG_file)));
	if (pg->flags & PG_lru)
		reclaim_page_gone(vm, pg);
	if ((pg->flags & PG_anon) && vm->cfg.exact_frames)
		vm->exact_used--;
	pg->flags = 0;
	pg->lru_info = 0;
	pg->private = 0;
	vm_page_free(vm, phys_pfn(&vm->phys, pg));
}

SIGSAFE void page_unmapped(struct vm *vm, struct page *pg)
{
	if (--pg->_mapcount)
		return;
	if (pg->flags & PG_file)
		vm->pcache->nr_mapped--;
	else
		vm->nr_anon_pages--;
}

SIGSAFE void mm_release_pte(struct mm *mm, vaddr_t va, pte_t old)
{
	struct page *pg;

	if (pte_is_swap(old)) {
		if (!pte_is_exact_evicted(old))
			swap_entry_free(mm->vm, pte_to_swp_entry(old));
		mm->swapents--;
		return;
	}
	if (!pte_present(old) || (old & PTE_SPECIAL))
		return;
	pg = phys_page(&mm->vm->phys, pte_pfn(old));
	if ((old & PTE_DIRTY) && (pg->flags & PG_file)) /* shared: PG_dirty */
		filemap_dirty(mm->vm, pg);
	rmap_del(mm->vm, pg, mm, va);
	page_unmapped(mm->vm, pg);
	mm_rss_add_page(mm, pg, -1);
	if (pg->flags & PG_swapcache)
		swap_cache_release_unused(mm->vm, pg);
	page_put(mm->vm, pg);
}

static SIGSAFE void release_visit(void *arg, vaddr_t va, pte_t old)
{
	mm_release_pte(arg, va, old);
}

/* Drop every PTE in [start, end): host mappings first, then frames. */
static void mm_zap_range(struct mm *mm, vaddr_t start, vaddr_t end)
{
	hosttlb_shootdown(mm, start, end);
	swtlb_flush_all(&mm->swtlb);
	pt_unmap_range(&mm->pt, start, end, release_visit, mm);
}

/* ---- accessed and dirty bits --------------------------------------- */

struct clear_ctx {
	struct mm *mm;
	pte_t bit;
	uint64_t n;
};

static SIGSAFE void clear_bit_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct clear_ctx *c = arg;

	if (!pte_present(*ptep) || !(*ptep & c->bit))
		return;
	c->n++;
	mm_set_pte(c->mm, ptep, va,
		   *ptep & ~(c->bit == PTE_ACCESSED ? c->bit | PTE_AGED :
						      c->bit));
}

SIGSAFE uint64_t mm_clear_young(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct clear_ctx c = { mm, PTE_ACCESSED, 0 };

	hosttlb_shootdown(mm, start, end);
	pt_for_each(&mm->pt, start, end, clear_bit_visit, &c);
	return c.n;
}

SIGSAFE uint64_t mm_clean(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct clear_ctx c = { mm, PTE_DIRTY, 0 };

	hosttlb_wrprotect(mm, start, end);
	pt_for_each(&mm->pt, start, end, clear_bit_visit, &c);
	return c.n;
}

/* ---- create / destroy / fork --------------------------------------- */

static int mm_alloc(struct vm *vm, struct vm_task *owner, struct mm **out)
{
	struct pt_mem pm = phys_pt_mem(&vm->phys, mm_pt_alloc, mm_pt_free, vm);
	struct mm *mm = slab_alloc(vm->mm_cache);
	int err;

	if (!mm)
		return -ENOMEM;
	memset(mm, 0, sizeof(*mm));
	mm->vm = vm;
	mm->owner = owner;
	mm->task_size = vm->task_size;
	list_init(&mm->vmas);
	err = swtlb_init(&mm->swtlb, vm->cfg.tlb_entries);
	if (err)
		goto out_mm;
	err = pt_init(&mm->pt, &pm);
	if (err)
		goto out_tlb;
	if (vm->cfg.mode == VM_MODE_NATIVE) {
		err = trap_window_create(mm->task_size, mm, &mm->win);
		if (err)
			goto out_pt;
	}
	*out = mm;
	return 0;

out_pt:
	pt_destroy(&mm->pt);
out_tlb:
	swtlb_destroy(&mm->swtlb);
out_mm:
	slab_free(vm->mm_cache, mm);
	return err;
}

int mm_create(struct vm *vm, struct vm_task *owner, struct mm **out)
{
	struct mm *mm;
	int err = mm_alloc(vm, owner, &mm);

	if (err)
		return err;
	mm->start_brk = mm->brk = MM_START_BRK;
	mm->mmap_base = mm->task_size - MM_MMAP_GAP;
	err = vma_insert(mm, mm->task_size - MM_STACK_INIT, mm->task_size,
			 VM_PROT_READ | VM_PROT_WRITE, VMA_ANON | VMA_STACK);
	if (err) {
		mm_destroy(mm);
		return err;
	}
	*out = mm;
	return 0;
}

void mm_destroy(struct mm *mm)
{
	struct vm *vm = mm->vm;

	if (mm->win)
		trap_window_destroy(mm->win); /* every host mapping gone */
	mm->win = NULL;
	pt_unmap_range(&mm->pt, 0, mm->task_size, release_visit, mm);
	pt_destroy(&mm->pt);
	vma_free_all(mm);
	filemap_release_dead(vm); /* shmem objects it was the last user of */
	vm_count(vm, VME_TLB_HIT, mm->swtlb.hits);
	vm_count(vm, VME_TLB_MISS, mm->swtlb.misses);
	vm_count(vm, VME_TLB_FLUSH, mm->swtlb.flushes);
	swtlb_destroy(&mm->swtlb);
	slab_free(vm->mm_cache, mm);
}

SIGSAFE uint64_t mm_total_vm(struct mm *mm)
{
	struct list_head *n;
	uint64_t pages = 0;

	list_for_each(n, &mm->vmas) {
		struct vma *v = list_entry(n, struct vma, node);

		pages += (v->end - v->start) >> PAGE_SHIFT;
	}
	return pages;
}

SIGSAFE void mm_reap(struct mm *mm)
{
	if (mm->reaped)
		return;
	mm->reaped = true; /* first: no fault maps anything from now on */
	if (mm->win)
		hosttlb_flush_mm(mm);
	swtlb_flush_all(&mm->swtlb);
	pt_unmap_range(&mm->pt, 0, mm->task_size, release_visit, mm);
}

struct dup_ctx {
	struct mm *parent, *child;
	int err;
};

/* Share one PTE with the child; private writable pages become COW. */
static SIGSAFE void dup_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct dup_ctx *c = arg;
	pte_t pte = *ptep, cpte;
	pte_t *cptep;
	struct page *pg;

	if (c->err || !(pte_present(pte) || pte_is_swap(pte)))
		return;
	if (mm_find_vma(c->parent, va)->flags & VMA_SHARED)
		return; /* the child faults them in from the page cache */
	if (pt_walk_alloc(&c->child->pt, va, &cptep) < 0)
		goto out_nomem;
	if (pte_is_swap(pte)) { /* the slot gains a reference */
		if (!pte_is_exact_evicted(pte) &&
		    swap_entry_dup(c->parent->vm, pte_to_swp_entry(pte)) < 0)
			goto out_clear;
		pt_set(&c->child->pt, cptep, pte);
		c->child->swapents++;
		return;
	}
	if (!(pte & PTE_SPECIAL)) {
		pg = phys_page(&c->parent->vm->phys, pte_pfn(pte));
		if (rmap_add(c->parent->vm, pg, c->child, va) < 0)
			goto out_clear;
		pg->_refcount++;
		pg->_mapcount++;
		mm_rss_add_page(c->child, pg, 1);
		if (pte & PTE_WRITE)
			pte = (pte & ~PTE_WRITE) | PTE_COW;
		pt_set(&c->parent->pt, ptep, pte);
	}
	cpte = pte & ~PTE_HMAP;
	pt_set(&c->child->pt, cptep, cpte);
	return;
out_clear:
	pt_clear(&c->child->pt, va); /* frees the tables the walk made */
out_nomem:
	c->err = -ENOMEM;
}

int mm_dup(struct mm *parent, struct vm_task *owner, struct mm **out)
{
	struct dup_ctx c = { .parent = parent };
	int err = mm_alloc(parent->vm, owner, &c.child);

	if (err)
		return err;
	c.child->start_brk = parent->start_brk;
	c.child->brk = parent->brk;
	c.child->mmap_base = parent->mmap_base;
	err = vma_dup_all(c.child, parent);
	if (err)
		goto out_child;
	pt_for_each(&parent->pt, 0, parent->task_size, dup_visit, &c);
	/* The parent's writable host mappings are now stale: downgrade. */
	swtlb_flush_all(&parent->swtlb);
	hosttlb_wrprotect(parent, 0, parent->task_size);
	err = c.err;
	if (err)
		goto out_child;
	*out = c.child;
	return 0;

out_child:
	mm_destroy(c.child); /* parent pages stay COW: a write reuses them */
	return err;
}

/* ---- VMAs seen from the fault path --------------------------------- */

SIGSAFE struct vma *mm_find_vma(struct mm *mm, vaddr_t va)
{
	return vma_find(mm, va);
}

SIGSAFE struct vma *mm_grow_stack(struct mm *mm, vaddr_t va)
{
	struct vma *stack = vma_next_above(mm, va);
	vaddr_t new_start = PAGE_ROUND_DOWN(va);
	struct vma *prev;

	if (!stack || !(stack->flags & VMA_STACK) || va >= stack->start)
		return NULL;
	if (new_start < mm->task_size - MM_STACK_MAX)
		return NULL;
	if (stack->node.prev != &mm->vmas) {
		prev = list_entry(stack->node.prev, struct vma, node);
		if (prev->end + MM_STACK_GUARD_GAP > new_start)
			return NULL;
	}
	stack->start = new_start;
	return stack;
}

/* ---- mmap / munmap / mprotect / brk -------------------------------- */

#define MM_PROT_MASK (VM_PROT_READ | VM_PROT_WRITE)
#define MM_FLAGS_MASK \
	(VM_MAP_SHARED | VM_MAP_PRIVATE | VM_MAP_FIXED | VM_MAP_ANON)

static int mm_check_flags(int prot, int flags)
{
	if (prot & ~MM_PROT_MASK || flags & ~MM_FLAGS_MASK)
		return -EINVAL;
	if (!(flags & VM_MAP_SHARED) == !(flags & VM_MAP_PRIVATE))
		return -EINVAL;
	/* Files: mm_mmap_file (vm_mmap_file).  Shared anon: shmem. */
	return (flags & VM_MAP_ANON) ? 0 : -EINVAL;
}

/* Where a new mapping of len bytes goes; 0 for none (hint is advisory). */
static vaddr_t mm_place(struct mm *mm, vaddr_t hint, uint64_t len)
{
	hint = PAGE_ROUND_DOWN(hint);
	if (hint >= MM_MMAP_MIN_ADDR && hint <= mm->task_size - len &&
	    vma_range_free(mm, hint, hint + len))
		return hint;
	return vma_unmapped_area(mm, len);
}

/* The address of a new mapping of *len bytes (rounded up); 0 or -errno. */
static int mm_map_range(struct mm *mm, vaddr_t hint, uint64_t *len, int flags,
			vaddr_t *va)
{
	int err;

	if (*len == 0)
		return -EINVAL;
	if (*len > mm->task_size)
		return -ENOMEM;
	*len = PAGE_ROUND_UP(*len);
	if (!(flags & VM_MAP_FIXED)) {
		*va = mm_place(mm, hint, *len);
		return *va ? 0 : -ENOMEM;
	}
	if (!PAGE_ALIGNED(hint))
		return -EINVAL;
	if (hint < MM_MMAP_MIN_ADDR)
		return -EPERM;
	if (hint > mm->task_size - *len)
		return -ENOMEM;
	err = mm_munmap(mm, hint, *len);
	*va = hint;
	return err;
}

uint64_t mm_mmap(struct mm *mm, vaddr_t hint, uint64_t len, int prot, int flags)
{
	struct filemap *fm;
	vaddr_t va;
	int err = mm_check_flags(prot, flags);

	if (!err && (flags & VM_MAP_SHARED) && mm->vm->cfg.exact_frames)
		err = -EINVAL; /* shmem needs data: exact frames hold none */
	if (!err)
		err = mm_map_range(mm, hint, &len, flags, &va);
	if (err)
		return (uint64_t)(int64_t)err;
	if (!(flags & VM_MAP_SHARED)) {
		err = vma_insert(mm, va, va + len, (unsigned)prot, VMA_ANON);
		return err ? (uint64_t)(int64_t)err : va;
	}
	fm = shmem_create(mm->vm, len);
	if (!fm)
		return (uint64_t)-ENOMEM;
	err = vma_insert_file(mm, va, va + len, (unsigned)prot, VMA_SHARED, fm,
			      0);
	if (err) { /* no VMA took it: the object goes at once */
		filemap_get(fm);
		filemap_put(mm->vm, fm);
		filemap_release_dead(mm->vm);
	}
	return err ? (uint64_t)(int64_t)err : va;
}

uint64_t mm_mmap_file(struct mm *mm, vaddr_t hint, uint64_t len, int prot,
		      int flags, struct filemap *fm, uint64_t pgoff, bool rw)
{
	unsigned vflags = 0;
	vaddr_t va;
	int err;

	if (prot & ~MM_PROT_MASK || flags & ~MM_FLAGS_MASK ||
	    (flags & VM_MAP_ANON) ||
	    !(flags & VM_MAP_SHARED) == !(flags & VM_MAP_PRIVATE))
		return (uint64_t)-EINVAL;
	err = mm_map_range(mm, hint, &len, flags, &va);
	if (err)
		return (uint64_t)(int64_t)err;
	if (flags & VM_MAP_SHARED)
		vflags = VMA_SHARED | (rw ? 0 : VMA_NOWRITE);
	err = vma_insert_file(mm, va, va + len, (unsigned)prot, vflags, fm,
			      pgoff);
	return err ? (uint64_t)(int64_t)err : va;
}

/* 0 when [va, va+len) is a valid page-aligned range of this space. */
static int mm_check_range(struct mm *mm, vaddr_t va, uint64_t len)
{
	if (!PAGE_ALIGNED(va) || len == 0)
		return -EINVAL;
	if (va >= mm->task_size || len > mm->task_size - va)
		return -EINVAL;
	return 0;
}

int mm_check_range_mapped(struct mm *mm, vaddr_t va, uint64_t len)
{
	int err = mm_check_range(mm, va, len);

	if (err)
		return err;
	return vma_range_mapped(mm, va, va + PAGE_ROUND_UP(len)) ? 0 : -ENOMEM;
}

int mm_munmap(struct mm *mm, vaddr_t va, uint64_t len)
{
	int err = mm_check_range(mm, va, len);

	if (err)
		return err;
	len = PAGE_ROUND_UP(len);
	err = vma_remove_range(mm, va, va + len);
	if (err)
		return err;
	mm_zap_range(mm, va, va + len);
	filemap_release_dead(mm->vm); /* shmem objects it unmapped for good */
	return 0;
}

static SIGSAFE void wrprotect_pte_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	if (pte_present(*ptep) && (*ptep & PTE_WRITE))
		pt_set(&((struct mm *)arg)->pt, ptep, *ptep & ~PTE_WRITE);
	(void)va;
}

int mm_mprotect(struct mm *mm, vaddr_t va, uint64_t len, int prot)
{
	int err;

	if (prot & ~MM_PROT_MASK)
		return -EINVAL;
	if (len == 0 && PAGE_ALIGNED(va))
		return 0;
	err = mm_check_range(mm, va, len);
	if (err)
		return err;
	len = PAGE_ROUND_UP(len);
	if (!vma_range_mapped(mm, va, va + len))
		return -ENOMEM;
	if ((prot & VM_PROT_WRITE) &&
	    vma_range_has(mm, va, va + len, VMA_NOWRITE))
		return -EACCES; /* a file opened read-only, mapped shared */
	err = vma_set_prot(mm, va, va + len, (unsigned)prot);
	if (err)
		return err;
	/* More rights: the next access faults them in.  Fewer: shoot down. */
	swtlb_flush_all(&mm->swtlb);
	if (!(prot & VM_PROT_WRITE)) {
		hosttlb_wrprotect(mm, va, va + len);
		pt_for_each(&mm->pt, va, va + len, wrprotect_pte_visit, mm);
	}
	if (prot == VM_PROT_NONE) /* write implies read, as on x86 */
		hosttlb_shootdown(mm, va, va + len);
	return 0;
}

uint64_t mm_brk(struct mm *mm, vaddr_t new_end)
{
	vaddr_t old_top = PAGE_ROUND_UP(mm->brk);
	vaddr_t new_top = PAGE_ROUND_UP(new_end);

	if (new_end == 0 || new_end < mm->start_brk || new_end > mm->mmap_base)
		return mm->brk;
	if (new_top > old_top) {
		if (!vma_range_free(mm, old_top, new_top) ||
		    vma_insert(mm, old_top, new_top,
			       VM_PROT_READ | VM_PROT_WRITE,
			       VMA_ANON | VMA_HEAP) < 0)
			return mm->brk;
	} else if (new_top < old_top) {
		if (mm_munmap(mm, new_top, old_top - new_top) < 0)
			return mm->brk;
	}
	mm->brk = new_end;
	return mm->brk;
}
